#!/usr/bin/env bash
# Third-party interop through the loopback stack, with sigstore-js on the other side.
#   js_interop_test.sh CASE MODELSIGN SOURCE_DIR     (state dir from MODELSIGN_SIGSTORE_STACK)
# CASE js-sign-modelsign-verify: a bundle sigstore-js signs (js-sign.mjs) has the upstream
#   v1.0.0 keyless fixture's statement shape and verifies with `modelsign verify sigstore`
#   and the stack's trust config; a tampered file, another identity, another issuer and the
#   production root each make it fail.
# CASE js-sign-rekor-v2-modelsign-verify: the same with a Rekor v2 entry (trust_config.v2.json):
#   no SET, so the signing time comes from the RFC 3161 timestamp.
# CASE js-sign-js-verify: js-verify.mjs accepts that bundle for its signer and refuses it for
#   another identity, another issuer and another root.
# Exit 77 (skip) without a stack unless CI is set.
set -euo pipefail

CASE=$1 MODELSIGN=$2 SRC=$3
source "$(dirname "${BASH_SOURCE[0]}")/require_stack.sh"
STACK_SRC="$SRC/tests/sigstore-stack"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ISSUER=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).oidc_issuer)' "$DIR/stack.json")
ID=js-signer@example.com

mkdir -p "$work/model/sub dir"
printf 'weights' >"$work/model/model.bin"
printf '{"layers": 2}\n' >"$work/model/config.json"
printf 'tokens' >"$work/model/sub dir/vocab.txt"
SIGN_ARGS=() TRUST="$DIR/trust_config.json"
if [[ "$CASE" == js-sign-rekor-v2-modelsign-verify ]]; then SIGN_ARGS=(--rekor-v2) TRUST="$DIR/trust_config.v2.json"; fi
node "$STACK_SRC/js-sign.mjs" --state-dir "$DIR" --model "$work/model" --out "$work/model.sig" --email "$ID" "${SIGN_ARGS[@]}" ||
  fail "js-sign.mjs could not sign"

case "$CASE" in
js-sign-modelsign-verify | js-sign-rekor-v2-modelsign-verify)
  # The statement has the upstream keyless fixture's shape: same keys and types at every
  # level, same predicate type and serialization, and a resource per file.
  node - "$work/model.sig" "$SRC/tests/testdata/model-transparency/scripts/tests/v1.0.0-sigstore/model.sig" <<'EOF' || fail "statement shape differs from upstream's"
const fs = require('fs');
const statement = (f) => JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(f)).dsseEnvelope.payload, 'base64'));
const shape = (v) => Array.isArray(v) ? [shape(v[0])] : v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, k === 'digest' && typeof v[k] === 'object' ? Object.keys(v[k]) : shape(v[k])])) : typeof v;
const ours = statement(process.argv[2]);
const theirs = statement(process.argv[3]);
const a = JSON.stringify(shape(ours)), b = JSON.stringify(shape(theirs));
if (a !== b) { console.error(`ours   ${a}\nupstream ${b}`); process.exit(1); }
for (const k of ['_type', 'predicateType']) if (ours[k] !== theirs[k]) { console.error(`${k}: ${ours[k]} vs ${theirs[k]}`); process.exit(1); }
if (JSON.stringify(ours.predicate.serialization) !== JSON.stringify(theirs.predicate.serialization)) process.exit(1);
const names = ours.predicate.resources.map((r) => r.name).join(',');
if (names !== 'config.json,model.bin,sub dir/vocab.txt') { console.error(`resources ${names}`); process.exit(1); }
EOF
  echo "ok: statement shaped as upstream's v1.0.0 keyless fixture"

  verify() {
    "$MODELSIGN" verify sigstore "$work/model" --signature "$work/model.sig" "$@" >"$work/out" 2>&1
  }
  stackroot=(--trust-config "$TRUST")
  verify "${stackroot[@]}" --identity "$ID" --identity-provider "$ISSUER" ||
    fail "modelsign refused sigstore-js's bundle: $(cat "$work/out")"
  grep -q "identity: $ID" "$work/out" || fail "no identity in: $(cat "$work/out")"
  echo "ok: modelsign verifies sigstore-js's bundle: $(tr '\n' ' ' <"$work/out")"
  if [[ ${#SIGN_ARGS[@]} -gt 0 ]]; then
    node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1])); const t = b.verificationMaterial.tlogEntries[0];
      process.exit(t.kindVersion.version === "0.0.2" && !t.inclusionPromise ? 0 : 1)' "$work/model.sig" ||
      fail "not a Rekor v2 (dsse 0.0.2, no SET) entry"
    grep -q "signed at: .*RFC 3161 timestamp" "$work/out" || fail "the time should come from the TSA: $(cat "$work/out")"
    echo "ok: Rekor v2 dsse 0.0.2 entry, time from the RFC 3161 timestamp"
  fi

  expect_refusal() { # WHAT PATTERN ARGS...
    local what=$1 pattern=$2
    shift 2
    if verify "$@"; then fail "$what: modelsign accepted the bundle"; fi
    grep -Eq "$pattern" "$work/out" || fail "$what: expected /$pattern/, got: $(cat "$work/out")"
    echo "ok: $what refused: $(head -c 200 "$work/out" | tr '\n' ' ')"
  }
  expect_refusal "another identity" "identity mismatch" "${stackroot[@]}" --identity "x$ID" --identity-provider "$ISSUER"
  expect_refusal "another issuer" "issuer mismatch" "${stackroot[@]}" --identity "$ID" --identity-provider https://accounts.google.com
  expect_refusal "the production root" "not a transparency log of the trusted root|Fulcio CA|not valid" --trusted-root "$SRC/src/root/builtin/trusted_root.production.json" --identity "$ID" --identity-provider "$ISSUER"
  printf 'weightz' >"$work/model/model.bin"
  expect_refusal "a tampered model file" "model.bin" "${stackroot[@]}" --identity "$ID" --identity-provider "$ISSUER"
  ;;
js-sign-js-verify)
  jsverify() {
    node "$STACK_SRC/js-verify.mjs" --bundle "$work/model.sig" "$@" >"$work/out" 2>&1
  }
  jsverify --trusted-root "$DIR/trusted_root.json" --identity "$ID" --issuer "$ISSUER" ||
    fail "js-verify.mjs refused its own signer: $(cat "$work/out")"
  echo "ok: $(cat "$work/out")"
  # The identity is matched exactly, not as sigstore-js's unanchored pattern.
  for other in "other@example.com" "js-signer@example" "signer@example.com"; do
    if jsverify --trusted-root "$DIR/trusted_root.json" --identity "$other" --issuer "$ISSUER"; then
      fail "js-verify.mjs accepted identity $other"
    fi
    grep -q "certificate identity error" "$work/out" || fail "identity $other: $(cat "$work/out")"
    echo "ok: identity $other refused"
  done
  if jsverify --trusted-root "$DIR/trusted_root.json" --identity "$ID" --issuer https://accounts.google.com; then
    fail "js-verify.mjs accepted another issuer"
  fi
  echo "ok: another issuer refused"
  # Another root: the public-good production root (the same shape, other keys).
  if jsverify --trusted-root "$SRC/src/root/builtin/trusted_root.production.json" --identity "$ID" --issuer "$ISSUER"; then
    fail "js-verify.mjs accepted the bundle under the production root"
  fi
  echo "ok: production root refused: $(head -c 200 "$work/out")"
  ;;
*) fail "unknown case $CASE" ;;
esac
