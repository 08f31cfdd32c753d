// Checks that the loopback stack behaves like Sigstore where clients depend on it.
//   node stack-test.mjs CASE     (state dir from MODELSIGN_SIGSTORE_STACK)
// Exit 0 pass, 1 fail, 77 skipped (stack absent and CI unset).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const dir = process.env.MODELSIGN_SIGSTORE_STACK;
if (!dir || !fs.existsSync(path.join(dir, 'stack.json'))) {
  const msg = `the Sigstore test stack is not running (MODELSIGN_SIGSTORE_STACK=${dir ?? ''}); start it with scripts/sigstore-stack.sh start DIR`;
  if (process.env.CI) { console.error(`FAIL: ${msg}`); process.exit(1); }
  console.error(`SKIP: ${msg}`);
  process.exit(77);
}
const stack = JSON.parse(fs.readFileSync(path.join(dir, 'stack.json'), 'utf8'));
const ca = fs.readFileSync(path.join(dir, 'ca.pem'));

function request(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, text, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
const postJSON = (url, obj) => request(url, { method: 'POST', body: JSON.stringify(obj), headers: { 'Content-Type': 'application/json' } });

async function token(params) {
  const r = await request(`${stack.base_url}/control/token?${new URLSearchParams(params)}`);
  assert.equal(r.status, 200);
  return r.text;
}

// A Fulcio v2 request as clients send it: the key and a signature over the token's subject.
function certRequest(jwt, key, challenge) {
  const pem = key.publicKey.export({ format: 'pem', type: 'spki' });
  return {
    credentials: { oidcIdentityToken: jwt },
    publicKeyRequest: {
      publicKey: { algorithm: 'ECDSA', content: pem },
      proofOfPossession: crypto.sign('sha256', Buffer.from(challenge), key.privateKey).toString('base64'),
    },
  };
}
const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const fulcio = (req) => postJSON(`${stack.fulcio_url}/api/v2/signingCert`, req);
function leafOf(r) {
  assert.equal(r.status, 201, r.text);
  const chain = r.json.signedCertificateEmbeddedSct.chain.certificates;
  assert.equal(chain.length, 2);
  return new crypto.X509Certificate(chain[0]);
}
const sameKey = (cert, key) => cert.publicKey.export({ format: 'der', type: 'spki' })
  .equals(key.publicKey.export({ format: 'der', type: 'spki' }));

// Each refusal is checked next to the acceptance it differs from in one respect only.
const cases = {
  async fulcio_accepts_valid_request() {
    const key = newKey();
    const leaf = leafOf(await fulcio(certRequest(await token({ email: 'alice@example.com' }), key, 'alice@example.com')));
    assert.ok(sameKey(leaf, key), 'the certificate is for the requested key');
    assert.equal(leaf.subjectAltName, 'email:alice@example.com');
    assert.ok(leaf.verify(new crypto.X509Certificate(Buffer.from(
      JSON.parse(fs.readFileSync(path.join(dir, 'trusted_root.json'))).certificateAuthorities[0].certChain.certificates[0].rawBytes, 'base64')).publicKey),
    'the leaf chains to the CA in trusted_root.json');
    // Without email the subject is certified.
    const leaf2 = leafOf(await fulcio(certRequest(await token({ sub: 'builder-7' }), key, 'builder-7')));
    assert.equal(leaf2.subjectAltName, 'URI:builder-7');
    // The Kubernetes projected token file is a token Fulcio accepts, for k8s_identity.
    const k8s = fs.readFileSync(path.join(dir, 'k8s-token'), 'utf8');
    const k8sSub = JSON.parse(Buffer.from(k8s.split('.')[1], 'base64url')).sub;
    assert.equal(leafOf(await fulcio(certRequest(k8s, key, k8sSub))).subjectAltName, `URI:${stack.k8s_identity}`);
  },
  async fulcio_refuses_expired_token() {
    const key = newKey();
    leafOf(await fulcio(certRequest(await token({ email: 'a@example.com', exp_in: 60 }), key, 'a@example.com')));
    const r = await fulcio(certRequest(await token({ email: 'a@example.com', exp_in: -60 }), key, 'a@example.com'));
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.code, 16);
    assert.match(r.json.message, /expired/);
  },
  async fulcio_refuses_wrong_audience() {
    const key = newKey();
    leafOf(await fulcio(certRequest(await token({ email: 'a@example.com', aud: 'sigstore' }), key, 'a@example.com')));
    const r = await fulcio(certRequest(await token({ email: 'a@example.com', aud: 'other-service' }), key, 'a@example.com'));
    assert.equal(r.status, 401, r.text);
    assert.match(r.json.message, /audience/);
  },
  async fulcio_refuses_forged_token() {
    const jwt = (await token({ email: 'a@example.com' })).split('.');
    const claims = JSON.parse(Buffer.from(jwt[1], 'base64url'));
    claims.email = 'mallory@example.com';
    jwt[1] = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const r = await fulcio(certRequest(jwt.join('.'), newKey(), 'mallory@example.com'));
    assert.equal(r.status, 401, r.text);
    assert.match(r.json.message, /signature/);
  },
  async fulcio_refuses_bad_proof_of_possession() {
    const key = newKey();
    const jwt = await token({ email: 'a@example.com' });
    leafOf(await fulcio(certRequest(jwt, key, 'a@example.com')));
    const byOtherKey = certRequest(jwt, newKey(), 'a@example.com');
    byOtherKey.publicKeyRequest.publicKey = certRequest(jwt, key, '').publicKeyRequest.publicKey;
    for (const req of [certRequest(jwt, key, 'b@example.com'), byOtherKey]) { // other subject, other key
      const r = await fulcio(req);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.code, 3);
      assert.match(r.json.message, /could not be verified/);
    }
  },
  async github_token_endpoint() {
    const good = await request(`${stack.github_token_url}&audience=sigstore`, { headers: { Authorization: `bearer ${stack.github_request_token}` } });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.json.count, 1);
    const claims = JSON.parse(Buffer.from(good.json.value.split('.')[1], 'base64url'));
    assert.equal(claims.sub, 'repo:octo/model:ref:refs/heads/main');
    assert.equal(claims.aud, 'sigstore');
    assert.equal(claims.email, undefined);
    const key = newKey();
    const leaf = leafOf(await fulcio(certRequest(good.json.value, key, claims.sub)));
    assert.equal(leaf.subjectAltName, `URI:${stack.github_identity}`);
    const bad = await request(`${stack.github_token_url}&audience=sigstore`, { headers: { Authorization: `bearer ${stack.github_request_token}x` } });
    assert.equal(bad.status, 401);
    const none = await request(`${stack.github_token_url}&audience=sigstore`);
    assert.equal(none.status, 401);
  },
  async oidc_authorization_code_pkce() {
    const conf = (await request(`${stack.oidc_issuer}/.well-known/openid-configuration`)).json;
    assert.equal(conf.issuer, stack.oidc_issuer);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    const redirect = 'http://127.0.0.1:9/callback';
    const auth = await request(`${conf.authorization_endpoint}?${new URLSearchParams({
      response_type: 'code', client_id: 'sigstore', redirect_uri: redirect, state: 's1',
      code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid email' })}`);
    assert.equal(auth.status, 302);
    const loc = new URL(auth.headers.location);
    assert.equal(loc.searchParams.get('state'), 's1');
    const exchange = (v) => request(conf.token_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: loc.searchParams.get('code'), code_verifier: v, redirect_uri: redirect, client_id: 'sigstore' }).toString() });
    const wrong = await exchange(`${verifier}x`);
    assert.equal(wrong.status, 400, 'a wrong PKCE verifier is refused');
    // The code was spent by the failed attempt, as a one-time code should be: get another.
    const auth2 = await request(`${conf.authorization_endpoint}?${new URLSearchParams({
      response_type: 'code', client_id: 'sigstore', redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256' })}`);
    loc.searchParams.set('code', new URL(auth2.headers.location).searchParams.get('code'));
    const ok = await exchange(verifier);
    assert.equal(ok.status, 200, ok.text);
    const jwks = (await request(conf.jwks_uri)).json;
    const [h, p, s] = ok.json.id_token.split('.');
    assert.ok(crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: jwks.keys[0], format: 'jwk', dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')),
      'the id_token verifies with the JWKS');
    const noPkce = await request(`${conf.authorization_endpoint}?${new URLSearchParams({ response_type: 'code', client_id: 'sigstore', redirect_uri: redirect })}`);
    assert.equal(noPkce.status, 400, 'PKCE is required');
  },
  async rekor_stores_canonical_entries() {
    const key = newKey();
    const pem = key.publicKey.export({ format: 'pem', type: 'spki' });
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const type = 'application/vnd.in-toto+json';
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${payload.length} `), payload]);
    const sig = crypto.sign('sha256', pae, key.privateKey).toString('base64');
    const envelope = JSON.stringify({ payload: payload.toString('base64'), payloadType: type, signatures: [{ sig }] });
    const proposal = (env) => ({ apiVersion: '0.0.1', kind: 'dsse', spec: { proposedContent: { envelope: env, verifiers: [Buffer.from(pem).toString('base64')] } } });
    const root = JSON.parse(fs.readFileSync(path.join(dir, 'trusted_root.json')));
    const v1Key = crypto.createPublicKey({ key: Buffer.from(root.tlogs[0].publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' });
    const log = async (env) => {
      const r = await postJSON(`${stack.rekor_url}/api/v1/log/entries`, proposal(env));
      assert.equal(r.status, 201, r.text);
      const entry = Object.values(r.json)[0];
      // The SET verifies with the log key of trusted_root.json (canonical JSON, sorted keys).
      const set = JSON.stringify({ body: entry.body, integratedTime: entry.integratedTime, logID: entry.logID, logIndex: entry.logIndex });
      assert.ok(crypto.verify('sha256', Buffer.from(set), v1Key, Buffer.from(entry.verification.signedEntryTimestamp, 'base64')), 'SET verifies');
      return JSON.parse(Buffer.from(entry.body, 'base64'));
    };
    const body = await log(envelope);
    assert.deepEqual(body, {
      apiVersion: '0.0.1', kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(envelope).digest('hex') },
        payloadHash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(payload).digest('hex') },
        signatures: [{ signature: sig, verifier: Buffer.from(pem).toString('base64') }],
      },
    });
    await postJSON(`${stack.base_url}/control/faults`, { rekor: ['bad-body'] });
    const bad = await log(envelope);
    assert.notEqual(bad.spec.payloadHash.value, body.spec.payloadHash.value, 'bad-body: the entry records another payload');
    const forged = JSON.stringify({ ...JSON.parse(envelope), payload: Buffer.from('{}').toString('base64') });
    const refused = await postJSON(`${stack.rekor_url}/api/v1/log/entries`, proposal(forged));
    assert.equal(refused.status, 400, 'an envelope whose signature does not verify is refused');
    assert.match(refused.json.message, /verify/);
    // Rekor v2: a dsse 0.0.2 body.
    const v2req = { dsseRequestV002: { envelope: JSON.parse(envelope), verifiers: [{ publicKey: { rawBytes: key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' }] } };
    const v2 = await postJSON(`${stack.rekor_v2_url}/api/v2/log/entries`, v2req);
    assert.equal(v2.status, 201, v2.text);
    assert.deepEqual(v2.json.kindVersion, { kind: 'dsse', version: '0.0.2' });
    const v2body = JSON.parse(Buffer.from(v2.json.canonicalizedBody, 'base64'));
    assert.equal(v2body.spec.dsseV002.payloadHash.digest, crypto.createHash('sha256').update(payload).digest('base64'));
    assert.equal(v2body.spec.dsseV002.signatures[0].content, sig);
    assert.equal(Buffer.from(v2.json.inclusionProof.rootHash, 'base64').toString('hex'),
      crypto.createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(v2.json.canonicalizedBody, 'base64')])).digest('hex'),
      'the one-entry tree root is the leaf hash of the body');
  },
  async fault_queue_in_order() {
    await request(`${stack.base_url}/control/reset`, { method: 'POST' });
    const set = await postJSON(`${stack.base_url}/control/faults`, { fulcio: ['503', 'other-key', '429'] });
    assert.equal(set.status, 200);
    const key = newKey();
    const req = certRequest(await token({ email: 'a@example.com' }), key, 'a@example.com');
    assert.equal((await fulcio(req)).status, 503);
    assert.ok(!sameKey(leafOf(await fulcio(req)), key), 'other-key: a certificate for a different key');
    assert.equal((await fulcio(req)).status, 429);
    assert.ok(sameKey(leafOf(await fulcio(req)), key), 'queue empty: normal service again');
    await postJSON(`${stack.base_url}/control/faults`, { fulcio: ['reset'] });
    await assert.rejects(fulcio(req), /socket hang up|ECONNRESET/);
    assert.ok(sameKey(leafOf(await fulcio(req)), key));
    // reset clears queued faults.
    await postJSON(`${stack.base_url}/control/faults`, { fulcio: ['500'], rekor: ['500'] });
    await request(`${stack.base_url}/control/reset`, { method: 'POST' });
    assert.ok(sameKey(leafOf(await fulcio(req)), key));
    const bad = await postJSON(`${stack.base_url}/control/faults`, { ctlog: ['500'] });
    assert.equal(bad.status, 400, 'an unknown service is refused');
  },
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`unknown case ${name}; cases: ${Object.keys(cases).join(' ')}`);
  process.exit(2);
}
try {
  await cases[name]();
  console.log(`PASS ${name}`);
} catch (e) {
  console.error(`FAIL ${name}:`, e);
  process.exit(1);
} finally {
  await request(`${stack.base_url}/control/reset`, { method: 'POST' }).catch(() => {});
}
