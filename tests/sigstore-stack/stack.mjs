// A loopback Sigstore deployment for tests: one HTTPS server on 127.0.0.1 that routes to the
// Sigstore project's own @sigstore/mock services (Fulcio CA + CT log, Rekor v1/v2 logs, TSA),
// so certificates, SCTs, SETs, checkpoints and timestamps are shaped and signed as Sigstore's.
// What the mock leaves out and real Sigstore does, this file adds:
//   - an OIDC issuer (ES256 JWTs) and a GitHub-Actions-style token endpoint;
//   - Fulcio's token checks (signature, iss, aud, exp) and proof of possession;
//   - Rekor's canonical entry bodies (the mock logs the proposed entry verbatim) and its
//     signature check of the submitted envelope;
//   - RFC 3161 DER requests with nonces of any size (the mock takes JSON only);
//   - a fault queue per service, for client retry and error tests.
// Usage: node stack.mjs STATE_DIR (STATE_DIR/tls/server.{pem,key} must exist). Writes the
// trust files and, last, STATE_DIR/stack.json once the server answers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const x509 = require('@peculiar/x509');
const mock = require('@sigstore/mock');
const pkijs = require('pkijs');
const asn1js = require('asn1js');
const { TransparencyLogEntry } = require('@sigstore/protobuf-specs');

// Real Fulcio puts e-mail identities in an rfc822Name SAN; the mock CA always writes a URI
// SAN. Its CA builds the extension through this shared module object, so a subclass that
// maps an e-mail-looking value to an rfc822Name gives Fulcio's certificate shape.
const BaseSAN = x509.SubjectAlternativeNameExtension;
x509.SubjectAlternativeNameExtension = class extends BaseSAN {
  constructor(names, ...rest) {
    if (Array.isArray(names)) {
      names = names.map((n) => (n.type === 'url' && /^[^:/@\s]+@[^:/@\s]+$/.test(n.value)
        ? { type: 'email', value: n.value } : n));
    }
    super(names, ...rest);
  }
};

const stateDir = path.resolve(process.argv[2] || '');
if (!process.argv[2]) {
  console.error('usage: node stack.mjs STATE_DIR');
  process.exit(2);
}
const b64 = (buf) => Buffer.from(buf).toString('base64');
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = (key) => key.export({ format: 'der', type: 'spki' });

// ---------------------------------------------------------------- OIDC issuer and tokens
const oidcKey = newKey();
const OIDC_KID = 'stack-oidc-1';
let base = ''; // https://127.0.0.1:PORT, known once listening
const issuer = () => `${base}/oidc`;

function mintToken(claims, expIn = 600) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', kid: OIDC_KID };
  const body = { iss: issuer(), aud: 'sigstore', iat: now, nbf: now, exp: now + expIn, ...claims };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(body))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: oidcKey.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

// Fulcio's token checks. Returns the claims or throws with the reason.
function checkToken(jwt) {
  const parts = String(jwt || '').split('.');
  if (parts.length !== 3) throw new Error('not a JWT (expected three dot-separated parts)');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  if (header.alg !== 'ES256' || header.kid !== OIDC_KID) throw new Error('unknown signing key or algorithm');
  const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: oidcKey.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  if (!ok) throw new Error('token signature does not verify with the issuer JWKS');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  if (claims.iss !== issuer()) throw new Error(`unknown issuer ${claims.iss}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes('sigstore')) throw new Error(`audience ${JSON.stringify(claims.aud)} does not contain "sigstore"`);
  if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) throw new Error('token expired');
  if (claims.email && claims.email_verified !== true) throw new Error('email not verified');
  return claims;
}

// The identity Fulcio certifies: e-mail for e-mail tokens, the workflow URI for GitHub
// Actions tokens, else the subject.
function sanFor(claims) {
  if (claims.email) return claims.email;
  if (claims.job_workflow_ref) return `https://github.com/${claims.job_workflow_ref}`;
  return claims.sub;
}

const GITHUB_CLAIMS = {
  sub: 'repo:octo/model:ref:refs/heads/main', repository: 'octo/model', repository_owner: 'octo',
  ref: 'refs/heads/main', sha: '0123456789abcdef0123456789abcdef01234567', event_name: 'push',
  workflow: 'sign', job_workflow_ref: 'octo/model/.github/workflows/sign.yml@refs/heads/main',
  runner_environment: 'github-hosted',
};
const K8S_CLAIMS = {
  sub: 'system:serviceaccount:models:signer',
  'kubernetes.io': { namespace: 'models', serviceaccount: { name: 'signer' } },
};
const DEFAULT_OAUTH_EMAIL = 'oauth-user@example.com';
const githubRequestToken = b64url(crypto.randomBytes(24));
const authCodes = new Map(); // code -> {challenge, redirectUri, clientId, nonce, email}

// ---------------------------------------------------------------- Sigstore services (mock)
const ctLog = await mock.initializeCTLog(newKey());
const ca = await mock.initializeCA(newKey(), ctLog);
// The identity claim the mock's Fulcio handler certifies; set by this file after the checks.
const SAN_CLAIM = 'stack_san';
const fulcio = mock.fulcioHandler(ca, { subjectClaim: SAN_CLAIM });
const tsaKey = newKey();
const tsa = await mock.initializeTSA(tsaKey);
const rekorKey = newKey();
const rekorV2Key = newKey();
let rekor; // mock TLog objects need the URL (its host names the checkpoints)
let rekorV2;

const faults = { fulcio: [], rekor: [], rekor_v2: [], tsa: [] };
class HttpError extends Error {
  constructor(status, body) { super(typeof body === 'string' ? body : body.message); this.status = status; this.body = body; }
}
// Fulcio answers with gRPC-gateway errors: {"code": <grpc code>, "message": ...}.
const fulcioError = (status, grpc, message) => new HttpError(status, { code: grpc, message, details: [] });
const rekorError = (status, message) => new HttpError(status, { code: status, message });

function verifyPoP(keyPem, subject, sigB64) {
  const key = crypto.createPublicKey(keyPem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const hash = { secp384r1: 'sha384', secp521r1: 'sha512' }[curve] || (key.asymmetricKeyType === 'ed25519' ? null : 'sha256');
  return crypto.verify(hash, Buffer.from(subject), key, Buffer.from(sigB64 || '', 'base64'));
}

async function signingCert(body, fault) {
  const req = JSON.parse(body);
  const token = req?.credentials?.oidcIdentityToken;
  let claims;
  try {
    claims = checkToken(token);
  } catch (e) {
    throw fulcioError(401, 16, `There was an error processing the identity token: ${e.message}`);
  }
  const subject = claims.email || claims.sub;
  if (req.publicKeyRequest) {
    const pem = req.publicKeyRequest.publicKey?.content;
    let ok = false;
    try { ok = verifyPoP(pem, subject, req.publicKeyRequest.proofOfPossession); } catch { ok = false; }
    if (!ok) throw fulcioError(400, 3, 'The signature supplied in the request could not be verified');
  } else if (req.certificateSigningRequest) {
    const csrPem = Buffer.from(req.certificateSigningRequest, 'base64').toString();
    const csr = new x509.Pkcs10CertificateRequest(csrPem.includes('BEGIN') ? csrPem : req.certificateSigningRequest);
    if (!(await csr.verify())) throw fulcioError(400, 3, 'The CSR signature could not be verified');
    req.publicKeyRequest = { publicKey: { content: csr.publicKey.toString('pem') } };
    delete req.certificateSigningRequest;
  } else {
    throw fulcioError(400, 3, 'publicKeyRequest or certificateSigningRequest is required');
  }
  if (fault === 'other-key') req.publicKeyRequest.publicKey.content = newKey().publicKey.export({ format: 'pem', type: 'spki' });
  // The mock reads the claims from the token without checking it: hand it the checked claims
  // plus the identity to certify.
  const parts = token.split('.');
  parts[1] = b64url(JSON.stringify({ ...claims, [SAN_CLAIM]: sanFor(claims) }));
  req.credentials.oidcIdentityToken = parts.join('.');
  const r = await fulcio.fn(JSON.stringify(req));
  if (r.statusCode >= 300) throw fulcioError(400, 3, r.response);
  return r;
}

// Verifies each DSSE signature with its verifier (Rekor refuses entries that do not verify).
function verifyDsse(envelope, verifierPems) {
  const payload = Buffer.from(envelope.payload, 'base64');
  const type = Buffer.from(envelope.payloadType);
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
  const keys = verifierPems.map((pem) => (pem.includes('CERTIFICATE') ? new crypto.X509Certificate(pem).publicKey : crypto.createPublicKey(pem)));
  if (!envelope.signatures?.length) throw rekorError(400, 'the envelope has no signatures');
  return envelope.signatures.map((s) => {
    const i = keys.findIndex((k) => {
      const curve = k.asymmetricKeyDetails?.namedCurve;
      const hash = k.asymmetricKeyType === 'ed25519' ? null : ({ secp384r1: 'sha384', secp521r1: 'sha512' }[curve] || 'sha256');
      try { return crypto.verify(hash, pae, k, Buffer.from(s.sig, 'base64')); } catch { return false; }
    });
    if (i < 0) throw rekorError(400, 'could not verify envelope signature with any verifier');
    return { sig: s.sig, verifier: i };
  });
}

// Rekor v1: dsse 0.0.1 is stored as upstream's canonical form; hashedrekord proposals are
// already canonical.
async function rekorV1(body, fault) {
  const e = JSON.parse(body);
  let canonical;
  if (e.kind === 'dsse' && e.apiVersion === '0.0.1') {
    const { envelope, verifiers } = e.spec?.proposedContent || {};
    if (typeof envelope !== 'string' || !Array.isArray(verifiers)) throw rekorError(400, 'dsse: proposedContent.envelope and verifiers required');
    const env = JSON.parse(envelope);
    const pems = verifiers.map((v) => Buffer.from(v, 'base64').toString());
    const sigs = verifyDsse(env, pems);
    canonical = {
      apiVersion: '0.0.1', kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(envelope).toString('hex') },
        payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')).toString('hex') },
        signatures: sigs.map((s) => ({ signature: s.sig, verifier: verifiers[s.verifier] })),
      },
    };
    if (fault === 'bad-body') canonical.spec.payloadHash.value = sha256('another payload').toString('hex');
  } else if (e.kind === 'hashedrekord' && e.apiVersion === '0.0.1') {
    canonical = e;
    if (fault === 'bad-body') canonical.spec.data.hash.value = sha256('another artifact').toString('hex');
  } else {
    throw rekorError(400, `unsupported entry kind ${e.kind} ${e.apiVersion}`);
  }
  return { statusCode: 201, response: JSON.stringify(await rekor.log(canonical)), contentType: 'application/json' };
}

// Rekor v2 (rekor-tiles): a dsse request is stored as a dsse 0.0.2 body.
async function rekorV2Entry(body, fault) {
  const d = JSON.parse(body).dsseRequestV002;
  if (!d?.envelope || !Array.isArray(d.verifiers)) throw rekorError(400, 'dsseRequestV002 with envelope and verifiers required');
  const pems = d.verifiers.map((v) => {
    const der = Buffer.from(v.x509Certificate?.rawBytes || v.publicKey?.rawBytes || '', 'base64');
    return v.x509Certificate ? new crypto.X509Certificate(der).toString()
      : crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' });
  });
  const sigs = verifyDsse(d.envelope, pems);
  let payload = Buffer.from(d.envelope.payload, 'base64');
  if (fault === 'bad-body') payload = Buffer.from('another payload');
  const canonical = {
    apiVersion: '0.0.2', kind: 'dsse',
    spec: {
      dsseV002: {
        payloadHash: { algorithm: 'SHA2_256', digest: b64(sha256(payload)) },
        signatures: sigs.map((s) => ({ content: s.sig, verifier: d.verifiers[s.verifier] })),
      },
    },
  };
  const entry = await rekorV2.logV2(canonical);
  // The mock's v2 proof is for a one-entry tree but carries a random index (in Rekor v2 the
  // entry's index is its index in the tree: 0 here) and decodes its hex root hash as base64.
  entry.logIndex = '0';
  entry.inclusionProof.logIndex = '0';
  entry.inclusionProof.rootHash = sha256(Buffer.concat([Buffer.from([0]), entry.canonicalizedBody]));
  return { statusCode: 201, response: JSON.stringify(TransparencyLogEntry.toJSON(entry)), contentType: 'application/json' };
}

// TSA: the mock's TSTInfo and SignedData, with the request read from DER (RFC 3161) or JSON.
// A DER request's nonce is copied as its INTEGER bytes, so 64-bit nonces survive.
const HASH_OIDS = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' };
async function timestamp(body, contentType, fault) {
  let req;
  let nonce;
  if (/timestamp-query/.test(contentType)) {
    let q;
    try { q = pkijs.TimeStampReq.fromBER(new Uint8Array(body).buffer); } catch (e) { throw new HttpError(400, `invalid timestamp request: ${e.message}`); }
    req = {
      artifactHash: Buffer.from(q.messageImprint.hashedMessage.valueBlock.valueHexView),
      hashAlgorithmOID: q.messageImprint.hashAlgorithm.algorithmId,
      nonce: 0,
      policyOID: q.reqPolicy || '1.3.6.1.4.1.57264.2',
      certReq: q.certReq ?? false,
    };
    nonce = q.nonce;
  } else {
    const j = JSON.parse(body);
    req = {
      artifactHash: Buffer.from(j.artifactHash || '', 'base64'),
      hashAlgorithmOID: HASH_OIDS[String(j.hashAlgorithm || 'sha256').toLowerCase().replace('-', '')] || HASH_OIDS.sha256,
      nonce: j.nonce || 1234567890, policyOID: j.tsaPolicyOID || '1.3.6.1.4.1.57264.2', certReq: j.certificates ?? false,
    };
  }
  if (fault === 'wrong-imprint') req.artifactHash = sha256(Buffer.concat([req.artifactHash, Buffer.from('x')]));
  const tstInfo = tsa.tstInfo(req);
  // Whole seconds: with milliseconds, a genTime whose trailing zeros are dropped (".12Z", as
  // RFC 3161 requires) is refused by sigstore-js, which reads only three fraction digits.
  tstInfo.genTime = new Date(Math.floor(Date.now() / 1000) * 1000);
  if (/timestamp-query/.test(contentType)) tstInfo.nonce = nonce; // undefined: no nonce, as asked
  if (fault === 'wrong-nonce') {
    const bytes = Buffer.from(tstInfo.nonce ? tstInfo.nonce.valueBlock.valueHexView : [1]);
    bytes[bytes.length - 1] ^= 1;
    tstInfo.nonce = new asn1js.Integer({ valueHex: bytes });
  }
  const signedData = await tsa.signedData(tstInfo, req.certReq);
  const content = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema(true) });
  const resp = new pkijs.TimeStampResp({ status: new pkijs.PKIStatusInfo({ status: 0 }), timeStampToken: new pkijs.ContentInfo({ schema: content.toSchema() }) });
  return { statusCode: 201, response: Buffer.from(resp.toSchema().toBER(false)), contentType: 'application/timestamp-reply' };
}

// ---------------------------------------------------------------- HTTP routing
function send(res, status, body, type = 'application/json', headers = {}) {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': data.length, ...headers });
  res.end(data);
}

async function readBody(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 8 << 20) throw new HttpError(413, 'request too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const SERVICES = {
  '/api/v2/signingCert': ['fulcio', (b, t, f) => signingCert(b, f)],
  '/api/v1/log/entries': ['rekor', (b, t, f) => rekorV1(b, f)],
  '/rekor-v2/api/v2/log/entries': ['rekor_v2', (b, t, f) => rekorV2Entry(b, f)],
  '/api/v1/timestamp': ['tsa', timestamp],
};

async function route(req, res) {
  const url = new URL(req.url, base);
  const q = url.searchParams;
  const p = url.pathname;
  if (req.method === 'POST' && SERVICES[p]) {
    const [name, handler] = SERVICES[p];
    const fault = faults[name].shift();
    if (fault === 'reset') { req.socket.destroy(); return; }
    if (['500', '503', '429'].includes(fault)) {
      send(res, Number(fault), { code: Number(fault), message: `injected fault ${fault}` });
      return;
    }
    const body = await readBody(req);
    const r = await handler(body, req.headers['content-type'] || '', fault);
    send(res, r.statusCode, r.response, r.contentType);
    return;
  }
  if (req.method === 'GET' && p === '/oidc/.well-known/openid-configuration') {
    send(res, 200, {
      issuer: issuer(), authorization_endpoint: `${issuer()}/authorize`, token_endpoint: `${issuer()}/token`,
      jwks_uri: `${issuer()}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'], scopes_supported: ['openid', 'email'],
      grant_types_supported: ['authorization_code'], code_challenge_methods_supported: ['S256'],
    });
  } else if (req.method === 'GET' && p === '/oidc/jwks') {
    send(res, 200, { keys: [{ ...oidcKey.publicKey.export({ format: 'jwk' }), kid: OIDC_KID, alg: 'ES256', use: 'sig' }] });
  } else if (req.method === 'GET' && p === '/oidc/authorize') {
    // Auto-approves; PKCE S256 is required as Sigstore's issuer requires it.
    const redirect = q.get('redirect_uri') || '';
    if (q.get('response_type') !== 'code' || !q.get('code_challenge') || q.get('code_challenge_method') !== 'S256') {
      send(res, 400, { error: 'invalid_request', error_description: 'response_type=code and a PKCE S256 code_challenge are required' });
      return;
    }
    const code = b64url(crypto.randomBytes(16));
    authCodes.set(code, { challenge: q.get('code_challenge'), redirectUri: redirect, clientId: q.get('client_id') || 'sigstore', nonce: q.get('nonce'), email: q.get('login_hint') || DEFAULT_OAUTH_EMAIL });
    if (redirect === 'urn:ietf:wg:oauth:2.0:oob') {
      send(res, 200, `${code}\n`, 'text/plain');
      return;
    }
    const to = new URL(redirect);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(to.hostname)) {
      send(res, 400, { error: 'invalid_request', error_description: 'redirect_uri must be a loopback address or the OOB URN' });
      return;
    }
    to.searchParams.set('code', code);
    if (q.has('state')) to.searchParams.set('state', q.get('state'));
    send(res, 302, '', 'text/plain', { Location: to.toString() });
  } else if (req.method === 'POST' && p === '/oidc/token') {
    const f = new URLSearchParams((await readBody(req)).toString());
    const c = authCodes.get(f.get('code') || '');
    authCodes.delete(f.get('code') || '');
    if (f.get('grant_type') !== 'authorization_code' || !c) {
      send(res, 400, { error: 'invalid_grant', error_description: 'unknown or used authorization code' });
    } else if (b64url(sha256(f.get('code_verifier') || '')) !== c.challenge) {
      send(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
    } else if ((f.get('redirect_uri') || '') !== c.redirectUri) {
      send(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri does not match the authorization request' });
    } else {
      const claims = { sub: c.email, email: c.email, email_verified: true, aud: c.clientId };
      if (c.nonce) claims.nonce = c.nonce;
      send(res, 200, { access_token: b64url(crypto.randomBytes(16)), token_type: 'Bearer', expires_in: 600, id_token: mintToken(claims) });
    }
  } else if (req.method === 'GET' && p === '/control/token') {
    const claims = { sub: q.get('sub') || q.get('email') || 'stack-user' };
    if (q.has('email')) Object.assign(claims, { email: q.get('email'), email_verified: true });
    if (q.has('aud')) claims.aud = q.get('aud');
    send(res, 200, mintToken(claims, q.has('exp_in') ? Number(q.get('exp_in')) : 600), 'text/plain');
  } else if (req.method === 'GET' && p === '/github/token') {
    if ((req.headers.authorization || '') !== `bearer ${githubRequestToken}` && (req.headers.authorization || '') !== `Bearer ${githubRequestToken}`) {
      send(res, 401, { message: 'Bad credentials' });
      return;
    }
    const aud = q.get('audience') || 'https://github.com/octo';
    send(res, 200, { count: 1, value: mintToken({ ...GITHUB_CLAIMS, aud }) });
  } else if (req.method === 'POST' && p === '/control/faults') {
    const f = JSON.parse((await readBody(req)).toString());
    for (const k of Object.keys(f)) {
      if (!faults[k] || !Array.isArray(f[k])) throw new HttpError(400, `unknown service ${k}; expected ${Object.keys(faults).join(', ')}`);
      faults[k].push(...f[k].map(String));
    }
    send(res, 200, faults);
  } else if (req.method === 'POST' && p === '/control/reset') {
    for (const k of Object.keys(faults)) faults[k] = [];
    send(res, 200, faults);
  } else if (req.method === 'GET' && p === '/control/faults') {
    send(res, 200, faults);
  } else {
    send(res, 404, { code: 404, message: `no route for ${req.method} ${p}` });
  }
}

// ---------------------------------------------------------------- start and trust files
const tlsDir = path.join(stateDir, 'tls');
const server = https.createServer({
  key: fs.readFileSync(path.join(tlsDir, 'server.key')),
  cert: fs.readFileSync(path.join(tlsDir, 'server.pem')),
}, (req, res) => {
  route(req, res).catch((e) => {
    if (res.headersSent) { res.destroy(); return; }
    if (e instanceof HttpError) send(res, e.status, e.body);
    else send(res, 400, { code: 400, message: e.message });
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
base = `https://127.0.0.1:${server.address().port}`;
rekor = await mock.initializeTLog(base, rekorKey);
rekorV2 = await mock.initializeTLog(`${base}/rekor-v2`, rekorV2Key);

// Every key is valid from a minute ago, so clocks read to the second still fall inside.
const since = { start: new Date(Date.now() - 60_000).toISOString() };
const keyEntry = (url, der, keyId) => ({
  baseUrl: url, hashAlgorithm: 'SHA2_256',
  publicKey: { rawBytes: b64(der), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: since },
  logId: { keyId: b64(keyId) },
});
const trustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [keyEntry(base, spki(rekorKey.publicKey), sha256(spki(rekorKey.publicKey))),
    keyEntry(`${base}/rekor-v2`, spki(rekorV2Key.publicKey), sha256(spki(rekorV2Key.publicKey)))],
  certificateAuthorities: [{
    subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: base,
    certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor: since,
  }],
  ctlogs: [keyEntry(`${base}/ct`, ctLog.publicKey, ctLog.logID)],
  timestampAuthorities: [{
    subject: { organization: 'sigstore.mock', commonName: 'tsa' }, uri: `${base}/api/v1/timestamp`,
    certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] },
    validFor: since,
  }],
};
const service = (url, v) => ({ url, majorApiVersion: v, validFor: since, operator: 'modelsign-test-stack' });
const signingConfig = (tlogs) => ({
  mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
  caUrls: [service(base, 1)], oidcUrls: [service(issuer(), 1)], rekorTlogUrls: tlogs,
  tsaUrls: [service(`${base}/api/v1/timestamp`, 1)],
  rekorTlogConfig: { selector: 'ANY' }, tsaConfig: { selector: 'ANY' },
});
const both = signingConfig([service(base, 1), service(`${base}/rekor-v2`, 2)]);
const v2only = signingConfig([service(`${base}/rekor-v2`, 2)]);
const trustConfig = (sc) => ({ mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json', trustedRoot, signingConfig: sc });

const write = (name, data, mode = 0o644) => {
  const tmp = path.join(stateDir, `.${name}.tmp`);
  fs.writeFileSync(tmp, typeof data === 'string' ? data : `${JSON.stringify(data, null, 2)}\n`, { mode });
  fs.renameSync(tmp, path.join(stateDir, name));
};
fs.copyFileSync(path.join(tlsDir, 'ca.pem'), path.join(stateDir, 'ca.pem'));
write('trusted_root.json', trustedRoot);
write('signing_config.json', both);
write('trust_config.json', trustConfig(both));
write('trust_config.v2.json', trustConfig(v2only));
write('k8s-token', mintToken(K8S_CLAIMS, 24 * 3600), 0o600);
// Written last: its presence means the stack is ready.
write('stack.json', {
  base_url: base, fulcio_url: base, rekor_url: base, rekor_v2_url: `${base}/rekor-v2`,
  tsa_url: `${base}/api/v1/timestamp`, oidc_issuer: issuer(),
  github_token_url: `${base}/github/token?run=1`, github_request_token: githubRequestToken,
  // Identities the stack's Fulcio certifies for its ambient tokens.
  github_identity: sanFor(GITHUB_CLAIMS), k8s_identity: sanFor(K8S_CLAIMS),
  oauth_identity: DEFAULT_OAUTH_EMAIL, // /oidc/authorize without login_hint
  pid: process.pid,
}, 0o600);
console.log(`sigstore stack listening on ${base}`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
