#!/usr/bin/env bash
# `modelsign sign sigstore` against the loopback Sigstore stack (tests/sigstore-stack).
#   sign_sigstore_cli_test.sh CASE MODELSIGN SOURCE_DIR   (state dir from MODELSIGN_SIGSTORE_STACK)
# Every failure case checks its message and that no signature file was written.
# Exit 77 (skip) without a stack unless CI is set.
set -euo pipefail

CASE=$1 MODELSIGN=$2 SRC=$3
source "$(dirname "${BASH_SOURCE[0]}")/../sigstore-stack/require_stack.sh"
work=$(mktemp -d)
cleanup() {
  if [[ -n "${HSM_DIR:-}" ]]; then "$SRC/softhsm-fixtures/softhsm-teardown.sh" "$HSM_DIR" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py() { /usr/bin/python3 "$@"; }
field() { py -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$DIR/stack.json" "$1"; }
BASE=$(field base_url) ISSUER=$(field oidc_issuer) CA="$DIR/ca.pem"
# Rekor v1 only: the stack's trust config with its v2 log removed (with both, ANY picks v2).
py - "$DIR/trust_config.json" "$work/trust_v1.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["signingConfig"]["rekorTlogUrls"] = [u for u in c["signingConfig"]["rekorTlogUrls"] if u["majorApiVersion"] == 1]
json.dump(c, open(sys.argv[2], "w"))
PY
TRUST="$work/trust_v1.json"

ctl() { curl -fsS --cacert "$CA" "$@"; }
token() { ctl "$BASE/control/token?$1"; }
faults() { ctl -X POST -H 'Content-Type: application/json' -d "$1" "$BASE/control/faults" >/dev/null; }
ctl -X POST "$BASE/control/reset" >/dev/null

mkdir -p "$work/model/sub"
printf 'weights' >"$work/model/model.bin"
printf '{"layers": 2}\n' >"$work/model/config.json"
printf 'tokens' >"$work/model/sub/vocab.txt"
SIG="$work/model.sig"

out="" err="" rc=0
ms() {
  set +e
  out=$("$MODELSIGN" "$@" 2>"$work/err")
  rc=$?
  set -e
  err=$(cat "$work/err")
}
sign() { ms sign sigstore --trust-config "$TRUST" --ca-file "$CA" --signature "$SIG" "$@" "$work/model"; }
verify() { ms verify sigstore --signature "$SIG" "$@" "$work/model"; }
expect_ok() { [[ $rc -eq 0 ]] || fail "expected success, got rc=$rc: $err"; }
expect_signed() {
  expect_ok
  [[ "$out" == "Signing succeeded: $SIG"* ]] || fail "unexpected output: $out"
  [[ -s "$SIG" ]] || fail "no signature written"
}
expect_fail() {  # message; and no signature file
  [[ $rc -ne 0 ]] || fail "expected a failure (wanted '$1'), got success: $out"
  [[ "$err" == *"$1"* ]] || fail "error lacks '$1': $err"
  [[ ! -e "$SIG" ]] || fail "a signature file was written although signing failed"
}
no_secret_in() {  # the token never appears in output or errors
  [[ "$out$err" != *"$1"* ]] || fail "the identity token appears in the output"
}
verify_as() {  # identity: passes with the stack's root, fails with production and for another identity
  verify --trust-config "$DIR/trust_config.json" --identity "$1" --identity-provider "$2"
  [[ $rc -eq 0 && "$out" == "Verification succeeded"* ]] || fail "verify sigstore refused the bundle: $err"
  verify --trusted-root "$SRC/src/root/builtin/trusted_root.production.json" --identity "$1" --identity-provider "$2"
  [[ $rc -ne 0 && "$err" == *"not a transparency log of the trusted root"* ]] ||
    fail "the production root accepted the bundle or failed otherwise: $err"
  verify --trust-config "$DIR/trust_config.json" --identity "mallory@example.com" --identity-provider "$2"
  [[ $rc -ne 0 && "$err" == *"identity mismatch"* ]] || fail "another identity was accepted: $err"
}
js_verify() {
  node "$SRC/tests/sigstore-stack/js-verify.mjs" --bundle "$SIG" --trusted-root "$DIR/trusted_root.json" \
    --identity "$1" --issuer "$ISSUER" >/dev/null || fail "sigstore-js does not verify the bundle for $1"
}
cert_key_of_bundle() {  # the public key (PEM) the bundle's Fulcio certificate certifies
  py -c 'import json,sys,base64; print(json.load(open(sys.argv[1]))["verificationMaterial"]["certificate"]["rawBytes"])' "$SIG" |
    base64 -d | openssl x509 -inform DER -noout -pubkey
}

ID=alice@example.com
case "$CASE" in
ephemeral-rekor-v1)
  T=$(token "sub=alice&email=$ID")
  SIGSTORE_ID_TOKEN=$T sign
  expect_signed
  no_secret_in "$T"
  [[ "$out" == *"identity: $ID"* ]] || fail "the certified identity is not printed: $out"
  [[ "$err" == *"signing as $ID"* ]] || fail "the identity is not announced before signing: $err"
  # The upstream keyless shape: certificate, one dsse 0.0.1 entry with SET and proof, a timestamp.
  py - "$SIG" <<'PY' || fail "bundle shape"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
vm = b["verificationMaterial"]
assert set(vm) == {"certificate", "tlogEntries", "timestampVerificationData"}, vm.keys()
e, = vm["tlogEntries"]
assert e["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}, e["kindVersion"]
assert "signedEntryTimestamp" in e["inclusionPromise"] and "checkpoint" in e["inclusionProof"]
assert len(vm["timestampVerificationData"]["rfc3161Timestamps"]) == 1
assert "keyid" not in b["dsseEnvelope"]["signatures"][0]
PY
  verify_as "$ID" "$ISSUER"
  js_verify "$ID"
  ;;
ephemeral-rekor-v2)
  TRUST="$DIR/trust_config.v2.json"
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_signed
  py -c 'import json,sys; e,=json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"]; assert e["kindVersion"]["version"]=="0.0.2"' "$SIG" ||
    fail "not a Rekor v2 entry"
  verify_as "$ID" "$ISSUER"
  js_verify "$ID"
  # --json: the keyless facts in a "sigstore" object.
  rm -f "$SIG"
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign --json
  expect_ok
  py -c 'import json,sys; j=json.loads(sys.argv[1]); s=j["sigstore"]
assert j["method"]=="sigstore" and j["signer"]==sys.argv[2] and s["identity"]==sys.argv[2], j
assert s["issuer"]==sys.argv[3] and len(s["rekor_log_indexes"])==1 and s["rfc3161_timestamps"]==1, j' "$out" "$ID" "$ISSUER" ||
    fail "unexpected --json output: $out"
  ;;
pem-key)
  ms keygen --private-key "$work/k.pem" --public-key "$work/k.pub"
  expect_ok
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign --private-key "$work/k.pem"
  expect_signed
  [[ "$(cert_key_of_bundle)" == "$(openssl pkey -pubin -in "$work/k.pub")" ]] ||
    fail "Fulcio did not certify the given key"
  verify_as "$ID" "$ISSUER"
  ;;
pkcs11-key)
  env=$("$SRC/softhsm-fixtures/softhsm-setup.sh" --keys 'ec-p256')
  eval "$env"
  HSM_DIR=$MODELSIGN_SOFTHSM_DIR
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign --pkcs11-uri "$MODELSIGN_PKCS11_URI_EC_P256"
  expect_signed
  [[ "$(cert_key_of_bundle)" == "$(openssl pkey -pubin -in "$MODELSIGN_PKCS11_PUB_EC_P256")" ]] ||
    fail "Fulcio did not certify the token's key"
  verify_as "$ID" "$ISSUER"
  ;;
tpm2-key)
  T=$(token "sub=alice&email=$ID")
  SIGSTORE_ID_TOKEN=$T bash "$SRC/tests/tpm2/swtpm.sh" run bash -c '
    set -e
    "$1" keygen --tpm2 --key-file "$2/k.tss2.pem" --public-key "$2/k.pub" >/dev/null
    "$1" sign sigstore --trust-config "$3" --ca-file "$4" --signature "$5" --tpm2-key "$2/k.tss2.pem" "$2/model" >"$2/out"
  ' _ "$MODELSIGN" "$work" "$TRUST" "$CA" "$SIG" || fail "TPM keyless signing failed"
  [[ -s "$SIG" ]] || fail "no signature written"
  [[ "$(cert_key_of_bundle)" == "$(openssl pkey -pubin -in "$work/k.pub")" ]] || fail "Fulcio did not certify the TPM key"
  verify_as "$ID" "$ISSUER"
  ;;
token-flag)
  T=$(token "sub=bob&email=bob@example.com")
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign --identity_token "$T"  # the flag wins
  expect_signed
  no_secret_in "$T"
  verify --trust-config "$DIR/trust_config.json" --identity bob@example.com --identity-provider "$ISSUER"
  expect_ok
  ;;
token-github)
  GH=$(field github_identity)
  env -u SIGSTORE_ID_TOKEN ACTIONS_ID_TOKEN_REQUEST_URL="$(field github_token_url)" \
    ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(field github_request_token)" "$MODELSIGN" sign sigstore \
    --trust-config "$TRUST" --ca-file "$CA" --signature "$SIG" "$work/model" >"$work/out" 2>"$work/err" ||
    fail "GitHub ambient signing failed: $(cat "$work/err")"
  verify --trust-config "$DIR/trust_config.json" --identity "$GH" --identity-provider "$ISSUER"
  [[ $rc -eq 0 ]] || fail "the GitHub workflow identity does not verify: $err"
  rm -f "$SIG"
  BEARER=wrong-request-token-0123456789
  set +e
  env -u SIGSTORE_ID_TOKEN ACTIONS_ID_TOKEN_REQUEST_URL="$(field github_token_url)" \
    ACTIONS_ID_TOKEN_REQUEST_TOKEN=$BEARER "$MODELSIGN" sign sigstore \
    --trust-config "$TRUST" --ca-file "$CA" --signature "$SIG" "$work/model" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  out=$(cat "$work/out") err=$(cat "$work/err")
  expect_fail "GitHub Actions token endpoint at"
  [[ "$err" == *"HTTP 401"* && "$err" == *"id-token: write"* ]] || fail "unclear error for a wrong bearer: $err"
  no_secret_in "$BEARER"
  ;;
token-k8s)
  K8S=$(field k8s_identity)
  env -u SIGSTORE_ID_TOKEN MODELSIGN_K8S_TOKEN_FILE="$DIR/k8s-token" "$MODELSIGN" sign sigstore \
    --trust-config "$TRUST" --ca-file "$CA" --signature "$SIG" "$work/model" >"$work/out" 2>"$work/err" ||
    fail "Kubernetes token file signing failed: $(cat "$work/err")"
  grep -q "token file" "$work/err" || fail "the token source is not named: $(cat "$work/err")"
  verify --trust-config "$DIR/trust_config.json" --identity "$K8S" --identity-provider "$ISSUER"
  [[ $rc -eq 0 ]] || fail "the service account identity does not verify: $err"
  ;;
no-token)
  set +e
  env -u SIGSTORE_ID_TOKEN -u ACTIONS_ID_TOKEN_REQUEST_URL -u MODELSIGN_K8S_TOKEN_FILE "$MODELSIGN" sign sigstore \
    --trust-config "$TRUST" --ca-file "$CA" --signature "$SIG" "$work/model" </dev/null >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  out=$(cat "$work/out") err=$(cat "$work/err")
  expect_fail "No OIDC token available"
  [[ "$err" == *"id-token: write"* && "$err" == *"network"* ]] || fail "the checklist is missing: $err"
  ;;
oauth-loopback | oauth-oob)
  # A person at a terminal: `script` gives modelsign a pty; curl plays the browser.
  command -v script >/dev/null || fail "script (util-linux) is needed"
  OOB=()
  [[ "$CASE" == oauth-oob ]] && OOB=(--oauth-force-oob)
  mkfifo "$work/in"
  env -u SIGSTORE_ID_TOKEN -u ACTIONS_ID_TOKEN_REQUEST_URL -u MODELSIGN_K8S_TOKEN_FILE \
    script -q -e -c "$(printf '%q ' "$MODELSIGN" sign sigstore --trust-config "$TRUST" --ca-file "$CA" \
      --signature "$SIG" "${OOB[@]}" "$work/model")" /dev/null <"$work/in" >"$work/pty" 2>&1 &
  pid=$!
  exec 3>"$work/in"
  url=""
  for _ in $(seq 100); do
    url=$(grep -ao 'https://[^[:space:]]*/authorize?[^[:space:]]*' "$work/pty" | head -1 || true)
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || { kill "$pid" 2>/dev/null; fail "no login address printed: $(cat "$work/pty")"; }
  [[ "$url" == *code_challenge_method=S256* && "$url" == *state=* ]] || fail "not a PKCE request: $url"
  if [[ "$CASE" == oauth-oob ]]; then
    [[ "$url" == *redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob* ]] || fail "not an OOB request: $url"
    code=$(ctl "$url")
    printf '%s\n' "$code" >&3
  else
    loc=$(curl -sS --cacert "$CA" -o /dev/null -w '%{redirect_url}' "$url")
    [[ "$loc" == http://localhost:*/auth/callback\?* ]] || fail "the issuer did not redirect to the loopback: $loc"
    curl -sS "$loc" | grep -q "Signed in" || fail "the loopback listener did not answer"
  fi
  set +e
  wait "$pid"
  rc=$?
  set -e
  exec 3>&-
  out=$(cat "$work/pty")
  [[ $rc -eq 0 ]] || fail "interactive signing failed: $out"
  OAUTH_ID=$(field oauth_identity)
  [[ "$out" == *"Signing succeeded"* && "$out" == *"identity: $OAUTH_ID"* ]] || fail "unexpected output: $out"
  verify --trust-config "$DIR/trust_config.json" --identity "$OAUTH_ID" --identity-provider "$ISSUER"
  [[ $rc -eq 0 ]] || fail "the interactive login's identity does not verify: $err"
  ;;
expired-token)
  T=$(token "sub=alice&email=$ID&exp_in=-60")
  SIGSTORE_ID_TOKEN=$T sign
  expect_fail "expired at"
  no_secret_in "$T"
  ;;
wrong-audience)
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID&aud=other") sign
  expect_fail "is for audience 'other', not 'sigstore'"
  ;;
not-a-jwt)
  SIGSTORE_ID_TOKEN=not-a-token sign
  expect_fail "is not a JWT"
  ;;
fulcio-500-then-success)
  faults '{"fulcio": ["500"]}'
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_signed
  [[ "$err" == *"Fulcio at"*"HTTP 500"*"retrying"* ]] || fail "the retry is not reported: $err"
  ;;
fulcio-down)
  py - "$TRUST" "$work/t.json" <<'PY'
import json, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()  # closed port
c = json.load(open(sys.argv[1]))
c["signingConfig"]["caUrls"][0]["url"] = "https://127.0.0.1:%d" % port
json.dump(c, open(sys.argv[2], "w"))
PY
  TRUST="$work/t.json"
  T=$(token "sub=alice&email=$ID")
  SIGSTORE_ID_TOKEN=$T sign
  expect_fail "Fulcio at https://127.0.0.1:"
  [[ "$err" == *"gave up after"* ]] || fail "no bounded retry: $err"
  no_secret_in "$T"
  ;;
fulcio-other-key)
  faults '{"fulcio": ["other-key"]}'
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_fail "returned a certificate for another key"
  ;;
rekor-429-and-tsa-reset-then-success)
  faults '{"rekor": ["429"], "tsa": ["reset"]}'
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_signed
  [[ "$err" == *"Rekor at"*"HTTP 429"*"retrying"* ]] || fail "the Rekor retry is not reported: $err"
  [[ "$err" == *"TSA at"*"retrying"* ]] || fail "the TSA retry is not reported: $err"
  verify_as "$ID" "$ISSUER"
  ;;
fulcio-refuses-token)
  # Fulcio's own 4xx (a token signed by an unknown key) is not retried and is quoted.
  T=$(token "sub=alice&email=$ID")
  FORGED="${T%.*}.$(printf 'forged-signature-bytes-0123456789' | base64 -w0 | tr '+/' '-_' | tr -d '=')"
  SIGSTORE_ID_TOKEN=$FORGED sign
  expect_fail "Fulcio at https://127.0.0.1:"
  [[ "$err" == *"answered HTTP 4"* && "$err" != *retrying* ]] || fail "a 4xx was retried or not quoted: $err"
  no_secret_in "$FORGED"
  ;;
rekor-down)
  py - "$TRUST" "$work/t.json" <<'PY'
import json, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
c = json.load(open(sys.argv[1]))
for u in c["signingConfig"]["rekorTlogUrls"]: u["url"] = "https://127.0.0.1:%d" % port
json.dump(c, open(sys.argv[2], "w"))
PY
  TRUST="$work/t.json"
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_fail "Rekor at https://127.0.0.1:"
  ;;
rekor-bad-body)
  faults '{"rekor": ["bad-body"]}'
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_fail "the Rekor entry does not match the bundle"
  [[ "$err" == *"Rekor at"* ]] || fail "the service is not named: $err"
  ;;
tsa-wrong-nonce)
  faults '{"tsa": ["wrong-nonce"]}'
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_fail "another nonce than the request's"
  ;;
tsa-wrong-imprint)
  faults '{"tsa": ["wrong-imprint"]}'
  SIGSTORE_ID_TOKEN=$(token "sub=alice&email=$ID") sign
  expect_fail "a message imprint that is not the hash of this signature"
  ;;
trust-from-tuf-offline)
  # Without --trust-config the trust comes from the TUF cache (sigstore_trust.h); --offline
  # with an empty cache must fail before any signing, saying how to bring trust material.
  T=$(token "sub=alice&email=$ID")
  SIGSTORE_ID_TOKEN=$T XDG_CACHE_HOME="$work/empty-cache" \
    ms sign sigstore --offline --ca-file "$CA" --signature "$SIG" "$work/model"
  expect_fail "--offline"
  [[ "$err" == *"TUF"* && "$err" == *"--trusted-root"* ]] || fail "the error does not explain the TUF cache: $err"
  no_secret_in "$T"
  ;;
audit-log-and-ci-outputs)
  # Keyless signing leaves the audit line and the CI step outputs every sign path leaves,
  # with the keyless identity and the Rekor log index.
  T=$(token "sub=alice&email=$ID")
  SIGSTORE_ID_TOKEN=$T GITHUB_OUTPUT="$work/gh_out" sign --audit-log "$work/audit.log"
  expect_signed
  grep -qx 'method=sigstore' "$work/gh_out" || fail "no method in the outputs: $(cat "$work/gh_out")"
  grep -qE '^rekor_log_index=[0-9]+$' "$work/gh_out" || fail "no Rekor log index in the outputs: $(cat "$work/gh_out")"
  grep -qx "signer=$ID" "$work/gh_out" || fail "the signer is not the identity: $(cat "$work/gh_out")"
  line=$(tail -1 "$work/audit.log")
  [[ "$line" == *'"result":"success"'* && "$line" == *"\"identity\":\"$ID\""* && "$line" == *'"rekor_log_index":'[0-9]* ]] ||
    fail "the audit line lacks the keyless facts: $line"
  "$MODELSIGN" audit verify "$work/audit.log" >/dev/null || fail "the audit log does not verify"
  no_secret_in "$T"
  [[ "$(cat "$work/audit.log" "$work/gh_out")" != *"$T"* ]] || fail "the token is in the audit log or outputs"
  ;;
auto-method-keyless)
  # `sign MODEL_PATH` with an OIDC identity in the environment chooses keyless and signs.
  T=$(token "sub=alice&email=$ID")
  SIGSTORE_ID_TOKEN=$T ms sign --trust-config "$TRUST" --ca-file "$CA" --signature "$SIG" "$work/model"
  expect_signed
  [[ "$err" == *"signing method: sigstore (an OIDC identity token is in SIGSTORE_ID_TOKEN"* ]] ||
    fail "the chosen method is not announced: $err"
  verify_as "$ID" "$ISSUER"
  no_secret_in "$T"
  ;;
*) fail "unknown case $CASE" ;;
esac
ctl -X POST "$BASE/control/reset" >/dev/null
[[ -n "${VERBOSE:-}" ]] && echo "$err" >&2
echo "PASS: $CASE"
