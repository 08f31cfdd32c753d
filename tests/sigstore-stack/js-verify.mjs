// Verifies a Sigstore DSSE bundle with sigstore-js (@sigstore/verify) against a given trusted
// root and identity; exit 0 iff it verifies.
//   node js-verify.mjs --bundle B --trusted-root T --identity SAN --issuer ISS
// sigstore-js matches the SAN as an unanchored regular expression; the identity is escaped and
// anchored here, so this checks the exact SAN.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const { values: opt } = parseArgs({
  options: {
    bundle: { type: 'string' }, 'trusted-root': { type: 'string' },
    identity: { type: 'string' }, issuer: { type: 'string' },
  },
});
if (!opt.bundle || !opt['trusted-root'] || !opt.identity || !opt.issuer) {
  console.error('usage: node js-verify.mjs --bundle B --trusted-root T --identity SAN --issuer ISS');
  process.exit(2);
}
try {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(opt['trusted-root'], 'utf8')));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(opt.bundle, 'utf8')));
  const escaped = opt.identity.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const signer = new Verifier(toTrustMaterial(root)).verify(toSignedEntity(bundle), {
    subjectAlternativeName: `^${escaped}$`,
    extensions: { issuer: opt.issuer },
  });
  console.log(`verified: identity ${opt.identity}, issuer ${signer.identity?.extensions?.issuer ?? opt.issuer}`);
} catch (e) {
  console.error(`verification failed: ${e.code ? `${e.code}: ` : ''}${e.message}`);
  process.exit(1);
}
