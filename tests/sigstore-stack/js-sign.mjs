// Signs a model with sigstore-js against the loopback stack, as a third-party client would:
// a model_signing v1.0 in-toto statement (files serialization, SHA-256) in a DSSE bundle with
// a Fulcio certificate, a Rekor entry and an RFC 3161 timestamp, the services taken by
// sigstore-js from the signing config in STATE_DIR/trust_config.json (Rekor v1), or
// trust_config.v2.json with --rekor-v2.
//   node js-sign.mjs --state-dir D --model DIR --out BUNDLE [--email E | --sub S] [--rekor-v2]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const { values: opt } = parseArgs({
  options: {
    'state-dir': { type: 'string' }, model: { type: 'string' }, out: { type: 'string' },
    email: { type: 'string' }, sub: { type: 'string' }, 'rekor-v2': { type: 'boolean' },
  },
});
if (!opt['state-dir'] || !opt.model || !opt.out) {
  console.error('usage: node js-sign.mjs --state-dir D --model DIR --out BUNDLE [--email E | --sub S]');
  process.exit(2);
}
const caFile = path.resolve(opt['state-dir'], 'ca.pem');
// Node reads extra CAs only at start-up: run again with the stack's CA.
if (process.env.NODE_EXTRA_CA_CERTS !== caFile) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } });
  process.exit(r.status ?? 1);
}

const require = createRequire(import.meta.url);
const { bundleBuilderFromSigningConfig } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');
const { SigningConfig } = require('@sigstore/protobuf-specs');
const stack = JSON.parse(fs.readFileSync(path.join(opt['state-dir'], 'stack.json'), 'utf8'));
const modelDir = path.resolve(opt.model);
const outFile = path.resolve(opt.out);

// model_signing's file order: paths compared component by component.
function listFiles(dir, rel = []) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (full === outFile || (rel.length === 0 && ['.git', '.gitattributes', '.github', '.gitignore'].includes(e.name))) continue;
    if (e.isDirectory()) out.push(...listFiles(full, [...rel, e.name]));
    else if (e.isFile()) out.push([...rel, e.name]);
    else throw new Error(`${full}: only regular files and directories can be signed`);
  }
  return out;
}
const cmp = (a, b) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return Buffer.compare(Buffer.from(a[i]), Buffer.from(b[i]));
  }
  return a.length - b.length;
};
const files = listFiles(modelDir).sort(cmp);
const resources = files.map((parts) => ({
  algorithm: 'sha256',
  digest: crypto.createHash('sha256').update(fs.readFileSync(path.join(modelDir, ...parts))).digest('hex'),
  name: parts.join('/'),
}));
const root = crypto.createHash('sha256');
for (const r of resources) root.update(Buffer.from(r.digest, 'hex'));
const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: path.basename(modelDir), digest: { sha256: root.digest('hex') } }],
  predicateType: 'https://model_signing/signature/v1.0',
  predicate: {
    serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false },
    resources,
  },
};

const tokenUrl = new URL(`${stack.base_url}/control/token`);
if (opt.sub) tokenUrl.searchParams.set('sub', opt.sub);
else tokenUrl.searchParams.set('email', opt.email || 'js-signer@example.com');
const tokenResp = await fetch(tokenUrl);
if (!tokenResp.ok) throw new Error(`token endpoint answered ${tokenResp.status}`);

const identityToken = await tokenResp.text();
const trustConfig = JSON.parse(fs.readFileSync(path.join(opt['state-dir'], opt['rekor-v2'] ? 'trust_config.v2.json' : 'trust_config.json'), 'utf8'));
const builder = bundleBuilderFromSigningConfig({
  signingConfig: SigningConfig.fromJSON(trustConfig.signingConfig),
  identityProvider: { getToken: async () => identityToken },
  bundleType: 'dsseEnvelope',
  fetchOptions: { timeout: 10000, retry: 0 },
});
const bundle = bundleToJSON(await builder.create({
  data: Buffer.from(JSON.stringify(statement, null, 2)), type: 'application/vnd.in-toto+json',
}));
fs.writeFileSync(outFile, `${JSON.stringify(bundle, null, 2)}\n`);
console.log(`signed ${files.length} files of ${modelDir} into ${outFile}`);
