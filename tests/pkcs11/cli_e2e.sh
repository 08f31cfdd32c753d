#!/usr/bin/env bash
# End-to-end checks of the modelsign CLI against a private token: SoftHSM, or NSS's
# softoken when MODELSIGN_TEST_TOKEN=Softoken (made by $MODELSIGN_SOFTOKEN_SETUP for the
# module $MODELSIGN_SOFTOKEN_MODULE; modelsign gets its initialisation arguments from
# MODELSIGN_PKCS11_INIT_ARGS and its module from module-path= in every URI).
# usage: cli_e2e.sh MODELSIGN_BINARY SOURCE_DIR CASE
#   CASE: sign-verify | certificate | keygen | list | concurrent | wrong-pin | pin-leak
set -euo pipefail
MODELSIGN=$1
SRC=$2
CASE=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
# The independent model_signing-style verifier (tests/interop), sharing no code with us.
interop() { /usr/bin/python3 "$SRC/tests/interop/verify_like_model_signing.py" "$@"; }

TOKEN=${MODELSIGN_TEST_TOKEN:-SoftHSM}
. "$SRC/softhsm-fixtures/lib.sh"
softhsm_begin e2e
MODQ=""  # the query attribute that names the token's module, for softoken
case "$TOKEN" in
SoftHSM) setup_token() { softhsm_token "$@"; } ;;
Softoken)
  setup_token() {
    local env
    env=$("$MODELSIGN_SOFTOKEN_SETUP" "$MODELSIGN_SOFTOKEN_MODULE" "$SRC" "$@")
    eval "$env"
    HSM_DIR=$MODELSIGN_SOFTHSM_DIR
    MODQ="module-path=$MODELSIGN_PKCS11_MODULE"
    unset MODELSIGN_PKCS11_PIN
  } ;;
*) echo "unknown MODELSIGN_TEST_TOKEN '$TOKEN' (SoftHSM or Softoken)" >&2; exit 2 ;;
esac
# uri_q URI [ATTR...]: URI with the token's module (unless it names one) and ATTRs in
# its query.
uri_q() {
  local u=$1 a; shift
  case "$u" in *module-*) ;; *) if [ -n "$MODQ" ]; then set -- "$MODQ" "$@"; fi ;; esac
  for a in "$@"; do case "$u" in *\?*) u="$u&$a" ;; *) u="$u?$a" ;; esac; done
  printf '%s' "$u"
}
# add_p256_key LABEL ID PIN: one more P-256 key on the token, made outside modelsign.
add_p256_key() {
  if [ "$TOKEN" = Softoken ]; then
    "$MODELSIGN_SOFTOKEN_SETUP" --add-p256 "$MODELSIGN_PKCS11_MODULE" "$MODELSIGN_PKCS11_TOKEN" "$3" "$1" "$2"
  else
    pkcs11-tool --module "$MODELSIGN_PKCS11_MODULE" --token-label "$MODELSIGN_PKCS11_TOKEN" --login \
      --pin "$3" --keypairgen --key-type EC:prime256v1 --label "$1" --id "$2" >/dev/null 2>&1
  fi
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
    interop key --public-key "${!pub_var}" --signature "$sig" "$WORK/m" \
      | grep -qx 'Verification succeeded' || fail "the independent verifier rejects $k"
  done
  # A changed file must fail verification.
  printf 'tampered' >> "$WORK/m/model.bin"
  if "$MODELSIGN" verify key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" \
       --signature "$WORK/EC_P256.sig" "$WORK/m" 2>/dev/null; then
    fail "a tampered model verified"
  fi
  if interop key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" --signature "$WORK/EC_P256.sig" \
       "$WORK/m" >/dev/null 2>&1; then
    fail "the independent verifier accepted a tampered model"
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
  interop certificate --certificate-chain "$MODELSIGN_PKCS11_CA" --signature "$WORK/m.sig" "$WORK/m" \
    | grep -qx 'Verification succeeded' || fail "the independent verifier rejects the certificate bundle"
  ;;
keygen)
  setup_token --keys ''
  make_model "$WORK/m"
  new_uri=$(uri_q "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=release-key" "pin-source=file:$MODELSIGN_PKCS11_PIN_FILE")
  out=$("$MODELSIGN" keygen --pkcs11-uri "$new_uri" --key-type ec-p384 --public-key "$WORK/release.pub.pem")
  uri=$(printf '%s\n' "$out" | sed -n 's/^Generated ec-p384 key //p')
  [ -n "$uri" ] || fail "keygen printed no URI: $out"
  case "$uri" in *"object=release-key;type=private"*) ;; *) fail "unexpected URI $uri" ;; esac
  "$MODELSIGN" sign pkcs11-key --pkcs11-uri "$(uri_q "$uri" "pin-source=file:$MODELSIGN_PKCS11_PIN_FILE")" "$WORK/m" >/dev/null \
    || fail "sign with the generated key"
  "$MODELSIGN" verify key --public-key "$WORK/release.pub.pem" "$WORK/m" >/dev/null \
    || fail "verify with the keygen PEM"
  interop key --public-key "$WORK/release.pub.pem" --signature "$WORK/m.sig" "$WORK/m" \
    | grep -qx 'Verification succeeded' || fail "the independent verifier rejects the keygen key's signature"
  # The private key is sensitive and never extractable, as pkcs11-tool reports it (it
  # cannot load softoken, whose attributes the C++ keygen tests read raw instead).
  if [ "$TOKEN" = SoftHSM ]; then
    pkcs11-tool --module "$MODELSIGN_PKCS11_MODULE" --token-label "$MODELSIGN_PKCS11_TOKEN" --login \
      --pin 1234 --list-objects --type privkey 2>/dev/null \
      | grep -q 'Access: *sensitive, always sensitive, never extractable, local' || fail "key attributes"
  fi
  # A second keygen with the same label is refused and leaves the token unchanged.
  if "$MODELSIGN" keygen --pkcs11-uri "$new_uri" 2>"$WORK/err"; then
    fail "keygen replaced a key"
  fi
  grep -q "already holds" "$WORK/err" || fail "unexpected keygen error: $(cat "$WORK/err")"
  ;;
list)
  # Softoken (NSS 3.87) has no Ed25519: an RSA key instead, and keygen must say so.
  if [ "$TOKEN" = Softoken ]; then second=rsa-2048; else second=ed25519; fi
  setup_token --keys "ec-p256 $second"
  "$MODELSIGN" pkcs11 list --module "$MODELSIGN_PKCS11_MODULE" > "$WORK/tokens"
  grep -q "token=$MODELSIGN_PKCS11_TOKEN" "$WORK/tokens" || fail "token not listed: $(cat "$WORK/tokens")"
  MODELSIGN_PKCS11_PIN=1234 "$MODELSIGN" pkcs11 list --pkcs11-uri "$(uri_q "pkcs11:token=$MODELSIGN_PKCS11_TOKEN")" > "$WORK/keys"
  grep -q "object=$second;type=private" "$WORK/keys" || fail "$second key not listed"
  grep -q "private key EC P-256  sensitive=yes extractable=no" "$WORK/keys" || fail "flags not listed"
  if [ "$TOKEN" = Softoken ]; then
    if "$MODELSIGN" keygen --key-type ed25519 --pkcs11-uri \
         "$(uri_q "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=ed" "pin-source=file:$MODELSIGN_PKCS11_PIN_FILE")" \
         2>"$WORK/err"; then
      fail "softoken made an Ed25519 key"
    fi
    grep -q "does not support CKM_EC_EDWARDS_KEY_PAIR_GEN" "$WORK/err" || fail "unexpected keygen error: $(cat "$WORK/err")"
  fi
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
    interop key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" --signature "$WORK/m$i.sig" "$WORK/m$i" \
      | grep -qx 'Verification succeeded' || fail "the independent verifier rejects signature $i"
  done
  ;;
wrong-pin)
  setup_token --keys ec-p256
  make_model "$WORK/m"
  secret="S3cret-Wrong-77"
  if MODELSIGN_PKCS11_PIN=$secret "$MODELSIGN" sign pkcs11-key \
       --pkcs11-uri "$(uri_q "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=ec-p256")" "$WORK/m" >"$WORK/out" 2>"$WORK/err"; then
    fail "signed with a wrong PIN"
  fi
  grep -q "wrong PIN for token '$MODELSIGN_PKCS11_TOKEN'" "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"
  grep -q "CKR_PIN_INCORRECT" "$WORK/err" || fail "no CK_RV in: $(cat "$WORK/err")"
  if grep -q "$secret" "$WORK/err" "$WORK/out"; then fail "the PIN was printed"; fi
  [ ! -e "$WORK/m.sig" ] || fail "a signature was written"
  # pin-value in the URI is not echoed either.
  "$MODELSIGN" sign pkcs11-key --pkcs11-uri "$(uri_q "pkcs11:token=nope;object=ec-p256" "pin-value=$secret")" \
    "$WORK/m" 2>"$WORK/err2" && fail "signed with a missing token"
  grep -q "no PKCS#11 token matches" "$WORK/err2" || fail "unexpected error: $(cat "$WORK/err2")"
  if grep -q "$secret" "$WORK/err2"; then fail "the pin-value was printed"; fi
  ;;
pin-leak)
  # Every error path of the provider that the CLI can reach, with the PIN in the URI's
  # path (";pin-value=") or query ("?pin-value="), plain or percent-encoded: the PIN
  # must appear in no output (stderr, --json, the debug log).
  PIN="Pin-Leak-4242"
  ENCODED="Pin%2DLeak%2D4242"
  setup_token --keys ec-p256 --pin "$PIN" --cert
  make_model "$WORK/m"
  T=$MODELSIGN_PKCS11_TOKEN
  n=0
  no_pin_in_output() {  # EXPECT(ok|fail|any) ARGS...: runs modelsign with the debug log on
    local expect=$1; shift
    n=$((n + 1))
    local rc=0
    "$MODELSIGN" --log-level debug "$@" >"$WORK/out.$n" 2>"$WORK/err.$n" || rc=$?
    if [ "$expect" = ok ] && [ $rc -ne 0 ]; then fail "case $n failed: $* :: $(cat "$WORK/err.$n")"; fi
    if [ "$expect" = fail ] && [ $rc -eq 0 ]; then fail "case $n succeeded: $*"; fi
    if grep -qF -e "$PIN" -e "$ENCODED" "$WORK/out.$n" "$WORK/err.$n"; then
      fail "case $n printed the PIN: $* :: $(cat "$WORK/out.$n" "$WORK/err.$n")"
    fi
  }
  uris=(
    "pkcs11:object=typo;pin-value=$PIN"
    "pkcs11:token=$T;object=typo;pin-value=$PIN"
    "pkcs11:token=$T;object=typo?pin-value=$PIN"
    "pkcs11:token=$T;object=typo;pin-value=$ENCODED"
    "pkcs11:token=$T;object=typo;PIN-VALUE=$PIN"
    "pkcs11:token=$T;object=typo;pin%2Dvalue=$PIN"
    "pkcs11:token=nope;object=ec-p256;pin-value=$PIN"
    "pkcs11:token=$T;object=ec-p256;type=bogus;pin-value=$PIN"
    "pkcs11:token=$T;object=ec-p256;pin-value=$PIN?pin-source=file:/nonexistent"
    "pkcs11:token=$T;object=ec-p256;pin-value=$PIN?module-path=relative/lib.so"
    "pkcs11:token=$T;object=ec-p256;pin-value=$PIN?module-name=no-such-module"
    "pkcs11:token=$T;object=ec-p256;pin-value=$PIN?module-path=/nonexistent/lib.so"
    "pkcs11:token=$T;object=ec-p256;pin-value=x$PIN"
    "pkcs11:token=$T;pin-value=$PIN"
    "pkcs12:token=$T;object=ec-p256;pin-value=$PIN"
    "pkcs11:token=$T;object=ec-p256;vendor-thing=1;pin-value=$PIN;type=public"
  )
  for u in "${uris[@]}"; do
    u=$(uri_q "$u")
    no_pin_in_output fail sign pkcs11-key --pkcs11-uri "$u" --signature "$WORK/s.sig" "$WORK/m"
    no_pin_in_output fail sign pkcs11-key --json --pkcs11-uri "$u" --signature "$WORK/s.sig" "$WORK/m"
    no_pin_in_output fail verify key --json --pkcs11-uri "$u" --signature "$WORK/none.sig" "$WORK/m"
    rm -f "$WORK/new.pub"
    # keygen never replaces a key: with the label of the existing key it must fail too.
    no_pin_in_output fail keygen --pkcs11-uri "${u//typo/ec-p256}" --public-key "$WORK/new.pub"
    no_pin_in_output any pkcs11 list --pkcs11-uri "$u"
  done
  # Paths that get past the URI: certificate for another key, an existing label at
  # keygen, an ambiguous key, and success with the debug log on.
  good=$(uri_q "pkcs11:token=$T;object=ec-p256;pin-value=$PIN")
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
    -keyout "$WORK/other.key" -out "$WORK/other.pem" 2>/dev/null
  no_pin_in_output fail sign pkcs11-certificate --pkcs11-uri "$good" --signing-certificate "$WORK/other.pem" \
    --signature "$WORK/s.sig" "$WORK/m"
  rm -f "$WORK/new.pub"
  no_pin_in_output fail keygen --pkcs11-uri "$good" --public-key "$WORK/new.pub"
  no_pin_in_output ok sign pkcs11-key --json --pkcs11-uri "$good" --signature "$WORK/s.sig" "$WORK/m"
  no_pin_in_output ok verify key --json --pkcs11-uri "$good" --signature "$WORK/s.sig" "$WORK/m"
  no_pin_in_output ok pkcs11 list --pkcs11-uri "$good"
  no_pin_in_output ok sign pkcs11-certificate --json --pkcs11-uri "$good" \
    --signing-certificate "$MODELSIGN_PKCS11_CERT_EC_P256" --signature "$WORK/c.sig" "$WORK/m"
  add_p256_key ec-p256 09 "$PIN"
  no_pin_in_output fail sign pkcs11-key --json --pkcs11-uri "$good" --signature "$WORK/s.sig" "$WORK/m"
  grep -q "matches 2 private keys" "$WORK/err.$n" || fail "not the ambiguity error: $(cat "$WORK/err.$n")"
  ;;
*)
  echo "unknown case $CASE" >&2; exit 2 ;;
esac
echo "ok: $CASE ($TOKEN)"
