#!/usr/bin/env bash
# The CI integration through the real binary: `sign MODEL_PATH` choosing its method from
# the environment, the CI outputs, the audit log (8 concurrent signers, tampering), and
# `verify MODEL_PATH` choosing from the signature.
# Usage: ci_cli_test.sh MODELSIGN
set -uo pipefail
MS=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else fail "$what"; fi; }

# A clean environment: none of the variables the method choice looks at.
clean_env=(env -u CI -u GITHUB_ACTIONS -u GITLAB_CI -u SIGSTORE_ID_TOKEN -u SIGNING_PRIVATE_KEY
           -u ACTIONS_ID_TOKEN_REQUEST_URL -u ACTIONS_ID_TOKEN_REQUEST_TOKEN -u GITHUB_OUTPUT
           -u GITHUB_STEP_SUMMARY -u MODELSIGN_AUDIT_LOG -u MODELSIGN_CI_DOTENV)

mkdir model && echo weights > model/w.bin && echo config > model/c.json
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem 2>/dev/null
chmod 600 key.pem
openssl pkey -in key.pem -pubout -out key.pub 2>/dev/null

# 1. Nothing available: exit 2, the troubleshooting words, what was looked at.
"${clean_env[@]}" GITHUB_ACTIONS=true "$MS" sign model >out 2>err; rc=$?
check "no method: exit 2" test "$rc" = 2
for s in "No OIDC token available" "Private key not found" "SIGSTORE_ID_TOKEN is not set" \
         "SIGNING_PRIVATE_KEY is not set" "id-token: write" "permissions 600"; do
  check "no method: says '$s'" grep -qF "$s" err
done

# 2. SIGNING_PRIVATE_KEY on a simulated GitHub runner: key method, outputs, summary, audit line.
: >gh_out; : >gh_sum
"${clean_env[@]}" CI=true GITHUB_ACTIONS=true GITHUB_OUTPUT="$W/gh_out" GITHUB_STEP_SUMMARY="$W/gh_sum" \
  GITHUB_SHA=0123abc GITHUB_REPOSITORY=octo/model GITHUB_RUN_ID=7 GITHUB_SERVER_URL=https://github.example \
  SIGNING_PRIVATE_KEY="$(cat key.pem)" "$MS" sign model --audit-log audit.log >out 2>err; rc=$?
check "env key: exit 0" test "$rc" = 0
check "env key: the log says which method and why" \
  grep -qF "signing method: key (no OIDC identity is available, and SIGNING_PRIVATE_KEY holds a private key)" err
check "env key: model.sig written" test -s model.sig
check "GITHUB_OUTPUT has model_hash" grep -qE '^model_hash=sha256:[0-9a-f]{64}$' gh_out
check "GITHUB_OUTPUT has signature_path" grep -qx 'signature_path=model.sig' gh_out
check "GITHUB_OUTPUT has method" grep -qx 'method=key' gh_out
check "GITHUB_OUTPUT has signer" grep -qE '^signer=[0-9a-f]+$' gh_out
check "no ::set-output anywhere" bash -c "! grep -q set-output '$W/out' '$W/err' '$W/gh_out'"
check "step summary is a table" grep -qF '| model_hash | <code>sha256:' gh_sum
check "the key never reaches the audit log" bash -c "! grep -q 'BEGIN' '$W/audit.log'"
/usr/bin/python3 - "$W/audit.log" <<'PY' || fail "audit line fields"
import json, sys
line = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for k in ("time", "operation", "result", "model_path", "root_digest", "signature_path", "method",
          "method_reason", "signer", "rekor_log_index", "ci", "host", "modelsign_version", "seq", "prev"):
    assert k in line, k
assert line["operation"] == "sign" and line["result"] == "success" and line["method"] == "key"
assert line["ci"]["platform"] == "github-actions" and line["ci"]["commit_sha"] == "0123abc"
assert line["ci"]["run_url"] == "https://github.example/octo/model/actions/runs/7"
print("ok: audit line fields")
PY

# 3. verify MODEL_PATH picks key from the signature; the wrong flag is refused.
"${clean_env[@]}" "$MS" verify model --public-key key.pub --audit-log audit.log >out 2>err
check "verify without method: exit 0" test $? = 0
"${clean_env[@]}" "$MS" verify model --certificate-chain key.pub >out 2>err; rc=$?
check "verify with a certificate flag for a key signature: exit 2" test "$rc" = 2
check "... says what the signature needs" grep -qF -- "--public-key PEM" err
"${clean_env[@]}" "$MS" verify model >out 2>err; rc=$?
check "verify with no key: exit 2 and names the hint" bash -c "test $rc = 2 && grep -qF 'public key hint' '$W/err'"

# 4. GitLab: dotenv from MODELSIGN_CI_DOTENV under GITLAB_CI, and --ci-dotenv.
"${clean_env[@]}" CI=true GITLAB_CI=true MODELSIGN_CI_DOTENV="$W/gl.env" \
  "$MS" sign key --private-key key.pem model >out 2>err
check "GitLab: dotenv written" grep -qx 'method=key' gl.env
check "GitLab: dotenv has signature_path" grep -qx 'signature_path=model.sig' gl.env
"${clean_env[@]}" "$MS" sign key --private-key key.pem --ci-dotenv "$W/flag.env" model >out 2>err
check "--ci-dotenv outside CI" grep -qE '^model_hash=sha256:' flag.env

# 5. An OIDC identity picks keyless: `sign sigstore` runs and checks the token (a malformed
# one here) before any network call; the audit log records the keyless attempt.
"${clean_env[@]}" SIGSTORE_ID_TOKEN=eyJ.x.y SIGNING_PRIVATE_KEY="$(cat key.pem)" \
  "$MS" sign model --audit-log audit.log >out 2>err; rc=$?
check "keyless chosen: exit 1" test "$rc" = 1
check "keyless chosen: the log says why" grep -qF "signing method: sigstore (an OIDC identity token is in SIGSTORE_ID_TOKEN" err
check "keyless chosen: the keyless signer checked the token" grep -qF "the identity token from SIGSTORE_ID_TOKEN has a payload that is not base64url" err
check "keyless chosen: recorded as a sigstore failure" bash -c "tail -1 '$W/audit.log' | grep -q '\"method\":\"sigstore\",\"method_reason\":\"an OIDC identity token is in SIGSTORE_ID_TOKEN'"
"${clean_env[@]}" ACTIONS_ID_TOKEN_REQUEST_URL=https://x ACTIONS_ID_TOKEN_REQUEST_TOKEN=t \
  "$MS" sign model --private-key key.pem >out 2>err
check "an explicit key flag wins over ambient OIDC" grep -qF "signing method: key (--private-key was given)" err

# 6. A failed verification is recorded too.
echo changed >>model/w.bin
"${clean_env[@]}" "$MS" verify key --public-key key.pub model --audit-log audit.log >out 2>err
check "tampered model: verify fails" test $? = 1
check "the failure is in the audit log" bash -c "tail -1 '$W/audit.log' | grep -q '\"result\":\"failure\"'"
"${clean_env[@]}" "$MS" audit verify audit.log >out 2>err
check "audit log intact after mixed operations" grep -qF "Audit log intact: 4 line(s)" out

# 7. Eight concurrent signers, 50 operations each, one audit log: 400 intact chained lines.
rm -f par.log
for w in 1 2 3 4 5 6 7 8; do
  mkdir -p "m$w" && echo "$w" >"m$w/f"
  (for i in $(seq 1 50); do
     "${clean_env[@]}" MODELSIGN_AUDIT_LOG="$W/par.log" "$MS" sign key --private-key key.pem "m$w" >/dev/null 2>&1 || echo x >>"$W/par.err"
   done) &
done
wait
check "concurrent signers all succeeded" test ! -e par.err
check "400 lines" test "$(wc -l <par.log)" = 400
"${clean_env[@]}" "$MS" audit verify --json par.log >out 2>err
check "400 lines chained and intact" grep -qF '"lines": 400' out

# 8. Tampering: each kind named, exit 1.
tamper() {  # NAME PYTHON-EXPRESSION-ON-lines EXPECTED-TEXT
  /usr/bin/python3 -c "
import sys
lines = open('par.log').read().splitlines(True)
$2
open('t.log', 'w').write(''.join(lines))"
  "${clean_env[@]}" "$MS" audit verify t.log >out 2>err; rc=$?
  check "tampering ($1): exit 1" test "$rc" = 1
  check "tampering ($1): says '$3'" grep -qF "$3" err
}
tamper edited "lines[9] = lines[9].replace('\"success\"', '\"failure\"')" "line 10 was edited"
tamper removed "del lines[99]" "a line was removed before line 100"
tamper inserted "lines.insert(5, lines[4])" "was inserted: line 6 links to line 4"
tamper reordered "lines[20], lines[21] = lines[21], lines[20]" "line 21 is out of order"

echo "$failures failure(s)"
test "$failures" = 0
