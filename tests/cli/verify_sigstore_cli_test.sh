#!/usr/bin/env bash
# `verify sigstore` end to end on the four upstream keyless fixtures (signed on the
# Sigstore production instance): --trusted-root, --trust-config, the identity policy,
# --json, --offline without a TUF cache, and offline operation (the verification library
# links no HTTP library; only the CLI's TUF client does). Trust over TUF is tested
# against a loopback repository in tests/tuf/cli_verify_tuf_test.cpp; nothing here
# touches the network.
# Usage: verify_sigstore_cli_test.sh MODELSIGN_BINARY TESTDATA_DIR OFFLINE_VERIFIER_BINARY
# (OFFLINE_VERIFIER_BINARY: a program linking only the verification library, e.g. the
# keyless library tests.)
set -uo pipefail
MODELSIGN=$(realpath "$1")
TESTDATA=$(realpath "$2")
OFFLINE_VERIFIER=$(realpath "$3")
FIX="$TESTDATA/model-transparency/scripts/tests"
PROD_ROOT="$TESTDATA/sigstore/trusted_root.production.json"
STAGING_ROOT="$TESTDATA/sigstore/trusted_root.staging.json"
TRUST_CONFIG="$TESTDATA/model-transparency/tests/_signing/testdata/custom_trust_config.json"
ID=stefanb@us.ibm.com
ISSUER=https://sigstore.verify.ibm.com/oauth2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A TUF cache of our own, empty: never the user's.
export XDG_CACHE_HOME="$WORK/cache"
PASSED=0
FAILED=()

fail() {
  echo "    assertion failed: $*" >&2
  sed 's/^/    stdout: /' "$WORK/out" | head -20 >&2
  sed 's/^/    stderr: /' "$WORK/err" | head -20 >&2
  exit 1
}
ms() { RC=0; "$MODELSIGN" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?; }
expect_rc() { [[ $RC -eq $1 ]] || fail "exit code $RC, expected $1"; }
out_has() { grep -qF -- "$1" "$WORK/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$WORK/err" || fail "stderr lacks '$1'"; }
run_case() {
  if ( set -e; "case_$1" ); then PASSED=$((PASSED + 1)); echo "PASS $1"
  else FAILED+=("$1"); echo "FAIL $1"; fi
}
# vsig VERSION ARGS...: verify fixture VERSION-sigstore (v1.0.1 records ignore-me as unsigned).
vsig() {
  local v=$1; shift
  local extra=()
  [[ -e "$FIX/$v-sigstore/ignore-me" ]] && extra=(--ignore-paths "$FIX/$v-sigstore/ignore-me")
  ms verify sigstore "$FIX/$v-sigstore" --signature "$FIX/$v-sigstore/model.sig" "${extra[@]}" "$@"
}

case_four_fixtures_verify_with_the_production_trusted_root() {
  for v in v0.3.1 v1.0.0 v1.0.1 v1.1.0; do
    vsig $v --identity "$ID" --identity-provider "$ISSUER" --trusted-root "$PROD_ROOT"
    expect_rc 0
    out_has "Verification succeeded"
    out_has "identity: $ID"
    out_has "issuer: $ISSUER"
    out_has "(Rekor integrated time)"
    out_has "Rekor log index: "
  done
}
case_underscore_spellings_and_trusted_root_file() {
  vsig v1.1.0 --identity "$ID" --identity_provider "$ISSUER" --trusted_root "$PROD_ROOT"
  expect_rc 0
  out_has "trusted root: $PROD_ROOT"
}
case_upstream_trust_config_verifies_and_warns_about_its_tsa() {
  vsig v1.1.0 --identity "$ID" --identity-provider "$ISSUER" --trust-config "$TRUST_CONFIG"
  expect_rc 0
  err_has "not from a TSA of the trusted root"
}
case_staging_root_rejects_production_signatures() {
  vsig v1.1.0 --identity "$ID" --identity-provider "$ISSUER" --trusted-root "$STAGING_ROOT"
  expect_rc 1
  err_has "which is not a transparency log of the trusted root"
}
case_offline_without_a_tuf_cache_says_how_to_bring_a_trusted_root() {
  for flags in "" "--use-staging"; do
    # shellcheck disable=SC2086
    vsig v1.1.0 --identity "$ID" --identity-provider "$ISSUER" --offline $flags
    expect_rc 1
    err_has "offline (--offline), and the TUF cache of the Sigstore"
    err_has "no TUF cache at $XDG_CACHE_HOME/modelsign/tuf/tuf-repo-cdn.sigst"
    err_has "pass --trusted-root FILE"
    err_has "run \`modelsign trust update$([[ -n $flags ]] && echo " $flags")\` on a machine with network access"
  done
  [[ ! -e "$XDG_CACHE_HOME/modelsign/tuf/tuf-repo-cdn.sigstore.dev/timestamp.json" ]] || fail "--offline wrote a cache"
}
case_other_identity_or_issuer_fails() {
  vsig v1.0.0 --identity alice@example.com --identity-provider "$ISSUER" --trusted-root "$PROD_ROOT"
  expect_rc 1
  err_has "identity mismatch: wanted alice@example.com, certificate has $ID"
  vsig v1.0.0 --identity "$ID" --identity-provider https://accounts.google.com --trusted-root "$PROD_ROOT"
  expect_rc 1
  err_has "issuer mismatch: wanted https://accounts.google.com, certificate has $ISSUER"
}
case_identity_regex_is_anchored() {
  vsig v1.1.0 --identity 'stefanb@.*\.ibm\.com' --identity-regex --identity-provider "$ISSUER" \
       --trusted-root "$PROD_ROOT"
  expect_rc 0
  vsig v1.1.0 --identity 'stefanb' --identity-regex --identity-provider "$ISSUER" --trusted-root "$PROD_ROOT"
  expect_rc 1
  err_has "identity mismatch"
}
case_json_reports_the_keyless_facts() {
  vsig v1.1.0 --identity "$ID" --identity-provider "$ISSUER" --trusted-root "$PROD_ROOT" --json
  expect_rc 0
  python3 - "$WORK/out" <<'PY' || fail "json fields"
import json, sys
j = json.load(open(sys.argv[1]))
s = j["sigstore"]
assert j["method"] == "sigstore", j
assert s["identity"] == "stefanb@us.ibm.com" and s["issuer"] == "https://sigstore.verify.ibm.com/oauth2", s
assert s["signing_time"] == "2025-10-10T02:12:20Z" and s["signing_time_source"] == "Rekor integrated time", s
assert s["rekor_log_index"] == 598151086, s
PY
}
case_key_and_certificate_methods_refuse_keyless_bundles() {
  ms verify sigstore "$FIX/v1.1.0-certificate" --signature "$FIX/v1.1.0-certificate/model.sig" \
     --identity "$ID" --identity-provider "$ISSUER" --trusted-root "$PROD_ROOT"
  expect_rc 1
  err_has "not Sigstore keyless material: verify it with 'verify certificate'"
}
case_missing_identity_is_a_usage_error() {
  vsig v1.1.0 --identity-provider "$ISSUER"
  expect_rc 2  # usage error
  err_has "identity"
}
case_offline_verifier_links_no_http_library() {
  # The verification library must not be able to reach the network: a program that links
  # it (and verifies keyless bundles) has no HTTP/TLS client library. The CLI itself links
  # libcurl for `trust update` only, through a separate library.
  local libs
  libs=$(ldd "$OFFLINE_VERIFIER") || fail "ldd failed on $OFFLINE_VERIFIER"
  [[ "$libs" == *libcrypto* ]] || fail "ldd output does not look right: $libs"
  if grep -Ei 'libcurl|libssl\.|libhttp|libnghttp|libcpr|libboost_beast' <<<"$libs"; then
    fail "the offline verifier links an HTTP library: $(grep -Ei 'curl|libssl|http' <<<"$libs")"
  fi
}

for c in four_fixtures_verify_with_the_production_trusted_root underscore_spellings_and_trusted_root_file \
         upstream_trust_config_verifies_and_warns_about_its_tsa staging_root_rejects_production_signatures \
         offline_without_a_tuf_cache_says_how_to_bring_a_trusted_root \
         other_identity_or_issuer_fails identity_regex_is_anchored json_reports_the_keyless_facts \
         key_and_certificate_methods_refuse_keyless_bundles missing_identity_is_a_usage_error \
         offline_verifier_links_no_http_library; do
  run_case "$c"
done
echo "$PASSED passed, ${#FAILED[@]} failed"
[[ ${#FAILED[@]} -eq 0 ]]
