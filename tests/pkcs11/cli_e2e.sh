#!/usr/bin/env bash
# End-to-end checks of the modelsign CLI against a private SoftHSM token.
# usage: cli_e2e.sh MODELSIGN_BINARY SOURCE_DIR CASE
#   CASE: sign-verify | certificate | keygen | list | concurrent | wrong-pin
set -euo pipefail
MODELSIGN=$1
SRC=$2
CASE=$3

fail() { echo "FAIL: $*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelsign-e2e.XXXXXX")
HSM_DIR=""
cleanup() {
  if [ -n "$HSM_DIR" ]; then "$SRC/softhsm-fixtures/softhsm-teardown.sh" "$HSM_DIR"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

setup_token() {
  local env
  env=$("$SRC/softhsm-fixtures/softhsm-setup.sh" "$@")
  eval "$env"
  HSM_DIR=$MODELSIGN_SOFTHSM_DIR
  unset MODELSIGN_PKCS11_PIN
}

make_model() {
  mkdir -p "$1/sub"
  printf 'weights of %s\n' "$1" > "$1/model.bin"
  printf '{"layers": 2}\n' > "$1/config.json"
  head -c 4096 /dev/urandom > "$1/sub/tensor.bin"
}

case "$CASE" in
sign-verify)
  setup_token --keys 'ec-p256 ec-p384'
  make_model "$WORK/m"
  for k in EC_P256 EC_P384; do
    uri_var=MODELSIGN_PKCS11_URI_$k; pub_var=MODELSIGN_PKCS11_PUB_$k
    sig="$WORK/$k.sig"
    "$MODELSIGN" sign pkcs11-key --pkcs11_uri "${!uri_var}" --signature "$sig" "$WORK/m" \
      | grep -q '^Signing succeeded: ' || fail "sign $k"
    grep -q '"publicKey":{"hint":"' "$sig" || fail "$k bundle has no key hint"
    # With the token's own public key, and with the PEM p11tool exported.
    "$MODELSIGN" verify key --pkcs11-uri "${!uri_var}" --signature "$sig" "$WORK/m" \
      | grep -qx 'Verification succeeded' || fail "verify $k via token"
    "$MODELSIGN" verify key --public-key "${!pub_var}" --signature "$sig" "$WORK/m" \
      | grep -qx 'Verification succeeded' || fail "verify $k via exported PEM"
  done
  # A changed file must fail verification.
  printf 'tampered' >> "$WORK/m/model.bin"
  if "$MODELSIGN" verify key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" \
       --signature "$WORK/EC_P256.sig" "$WORK/m" 2>/dev/null; then
    fail "a tampered model verified"
  fi
  ;;
certificate)
  setup_token --keys ec-p256 --cert
  make_model "$WORK/m"
  "$MODELSIGN" sign pkcs11-certificate --pkcs11-uri "$MODELSIGN_PKCS11_URI_EC_P256" \
    --signing-certificate "$MODELSIGN_PKCS11_CERT_EC_P256" --certificate-chain "$MODELSIGN_PKCS11_CA" \
    "$WORK/m" | grep -q '^Signing succeeded: ' || fail "sign pkcs11-certificate"
  grep -q '"x509CertificateChain"' "$WORK/m.sig" || fail "no certificate chain in the bundle"
  "$MODELSIGN" verify certificate --certificate-chain "$MODELSIGN_PKCS11_CA" "$WORK/m" \
    | grep -qx 'Verification succeeded' || fail "verify certificate"
  ;;
keygen)
  setup_token --keys ''
  make_model "$WORK/m"
  out=$("$MODELSIGN" keygen --pkcs11-uri "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=release-key?pin-source=file:$MODELSIGN_PKCS11_PIN_FILE" \
          --key-type ec-p384 --public-key "$WORK/release.pub.pem")
  uri=$(printf '%s\n' "$out" | sed -n 's/^Generated ec-p384 key //p')
  [ -n "$uri" ] || fail "keygen printed no URI: $out"
  case "$uri" in *"object=release-key;type=private"*) ;; *) fail "unexpected URI $uri" ;; esac
  "$MODELSIGN" sign pkcs11-key --pkcs11-uri "$uri?pin-source=file:$MODELSIGN_PKCS11_PIN_FILE" "$WORK/m" >/dev/null \
    || fail "sign with the generated key"
  "$MODELSIGN" verify key --public-key "$WORK/release.pub.pem" "$WORK/m" >/dev/null \
    || fail "verify with the keygen PEM"
  # The private key is sensitive and never extractable, as pkcs11-tool reports it.
  pkcs11-tool --module "$MODELSIGN_PKCS11_MODULE" --token-label "$MODELSIGN_PKCS11_TOKEN" --login \
    --pin 1234 --list-objects --type privkey 2>/dev/null \
    | grep -q 'Access: *sensitive, always sensitive, never extractable, local' || fail "key attributes"
  # A second keygen with the same label is refused and leaves the token unchanged.
  if "$MODELSIGN" keygen --pkcs11-uri "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=release-key?pin-source=file:$MODELSIGN_PKCS11_PIN_FILE" \
       2>"$WORK/err"; then
    fail "keygen replaced a key"
  fi
  grep -q "already holds" "$WORK/err" || fail "unexpected keygen error: $(cat "$WORK/err")"
  ;;
list)
  setup_token --keys 'ec-p256 ed25519'
  "$MODELSIGN" pkcs11 list --module "$MODELSIGN_PKCS11_MODULE" > "$WORK/tokens"
  grep -q "token=$MODELSIGN_PKCS11_TOKEN" "$WORK/tokens" || fail "token not listed: $(cat "$WORK/tokens")"
  MODELSIGN_PKCS11_PIN=1234 "$MODELSIGN" pkcs11 list --pkcs11-uri "pkcs11:token=$MODELSIGN_PKCS11_TOKEN" > "$WORK/keys"
  grep -q "object=ed25519;type=private" "$WORK/keys" || fail "ed25519 key not listed"
  grep -q "private key EC P-256  sensitive=yes extractable=no" "$WORK/keys" || fail "flags not listed"
  ;;
concurrent)
  # Four processes sign four models with the same token key at the same time.
  setup_token --keys ec-p256
  pids=()
  for i in 1 2 3 4; do
    make_model "$WORK/m$i"
    "$MODELSIGN" sign pkcs11-key --pkcs11-uri "$MODELSIGN_PKCS11_URI_EC_P256" "$WORK/m$i" \
      > "$WORK/out$i" 2>&1 &
    pids+=($!)
  done
  for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" || fail "signer $i failed: $(cat "$WORK/out$i")"
  done
  for i in 1 2 3 4; do
    "$MODELSIGN" verify key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" "$WORK/m$i" >/dev/null \
      || fail "signature $i does not verify"
  done
  ;;
wrong-pin)
  setup_token --keys ec-p256
  make_model "$WORK/m"
  secret="S3cret-Wrong-77"
  if MODELSIGN_PKCS11_PIN=$secret "$MODELSIGN" sign pkcs11-key \
       --pkcs11-uri "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=ec-p256" "$WORK/m" >"$WORK/out" 2>"$WORK/err"; then
    fail "signed with a wrong PIN"
  fi
  grep -q "wrong PIN for token 'modelsign-test'" "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"
  grep -q "CKR_PIN_INCORRECT" "$WORK/err" || fail "no CK_RV in: $(cat "$WORK/err")"
  if grep -q "$secret" "$WORK/err" "$WORK/out"; then fail "the PIN was printed"; fi
  [ ! -e "$WORK/m.sig" ] || fail "a signature was written"
  # pin-value in the URI is not echoed either.
  "$MODELSIGN" sign pkcs11-key --pkcs11-uri "pkcs11:token=nope;object=ec-p256?pin-value=$secret" \
    "$WORK/m" 2>"$WORK/err2" && fail "signed with a missing token"
  grep -q "no PKCS#11 token matches" "$WORK/err2" || fail "unexpected error: $(cat "$WORK/err2")"
  if grep -q "$secret" "$WORK/err2"; then fail "the pin-value was printed"; fi
  ;;
*)
  echo "unknown case $CASE" >&2; exit 2 ;;
esac
echo "ok: $CASE"
