#!/usr/bin/env bash
# End-to-end tests of `modelsign keygen|sign|verify` through the real binary, plus an
# independent cross-check of every bundle with tests/interop/verify_like_model_signing.py.
#
# Usage: sign_verify_cli_test.sh MODELSIGN_BINARY TESTDATA_DIR
# Needs: openssl (CLI), /usr/bin/python3 with python3-cryptography (override with $PYTHON3).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 MODELSIGN_BINARY TESTDATA_DIR" >&2
  exit 2
fi
MODELSIGN=$(realpath "$1")
TESTDATA=$(realpath "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHECKER="$HERE/../interop/verify_like_model_signing.py"
PYTHON3=${PYTHON3:-/usr/bin/python3}

for tool in openssl "$PYTHON3" sha256sum; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 1; }
done
"$PYTHON3" -c 'import cryptography' || { echo "$PYTHON3 lacks python3-cryptography" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
umask 022  # like a checkout: keys are made 0600 explicitly where needed
# Nothing from the caller's environment may change what modelsign does.
unset SIGNING_PRIVATE_KEY MODELSIGN_KEY_PASSWORD

PASSED=0
FAILED=()

# --- helpers (used inside cases, which run in subshells with set -e) --------------------

fail() {
  echo "    assertion failed: $*" >&2
  if [[ -f "$CASE_DIR/out" ]]; then sed 's/^/    stdout: /' "$CASE_DIR/out" | head -20 >&2; fi
  if [[ -f "$CASE_DIR/err" ]]; then sed 's/^/    stderr: /' "$CASE_DIR/err" | head -20 >&2; fi
  exit 1
}

# ms ARGS...: runs modelsign; stdout -> $CASE_DIR/out, stderr -> $CASE_DIR/err, status -> RC.
ms() {
  RC=0
  "$MODELSIGN" "$@" >"$CASE_DIR/out" 2>"$CASE_DIR/err" || RC=$?
}

# check ARGS...: runs the independent checker with the same conventions.
check() {
  RC=0
  "$PYTHON3" "$CHECKER" "$@" >"$CASE_DIR/out" 2>"$CASE_DIR/err" || RC=$?
}

expect_rc() { [[ $RC -eq $1 ]] || fail "exit code $RC, expected $1"; }
out_has() { grep -qF -- "$1" "$CASE_DIR/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$CASE_DIR/err" || fail "stderr lacks '$1'"; }
out_lacks() { ! grep -qF -- "$1" "$CASE_DIR/out" || fail "stdout contains '$1'"; }
neither_has() {
  ! grep -qF -- "$1" "$CASE_DIR/out" "$CASE_DIR/err" || fail "output contains '$1'"
}
expect_ok_sign() { expect_rc 0; out_has "Signing succeeded"; }
expect_ok_verify() { expect_rc 0; out_has "Verification succeeded"; }
expect_fail_verify() {  # [TEXT]: exit 1, the failure line, and TEXT somewhere on stderr
  expect_rc 1
  err_has "Verification failed with error: "
  err_has "${1:-}"
}
no_temp_files() {
  local left
  left=$(find "$1" -maxdepth 1 -name '.modelsign-*')
  [[ -z "$left" ]] || fail "temporary files left behind: $left"
}

# payload SIG: the DSSE payload (statement) bytes of a bundle, on stdout.
payload() {
  "$PYTHON3" -c 'import base64,json,sys
sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["dsseEnvelope"]["payload"]))' "$1"
}

# resources SIG: the signed resource names, one per line.
resources() {
  payload "$1" | "$PYTHON3" -c 'import json,sys
for r in json.load(sys.stdin)["predicate"]["resources"]: print(r["name"])'
}

# recorded_ignores SIG: predicate.serialization.ignore_paths, sorted, one per line.
recorded_ignores() {
  payload "$1" | "$PYTHON3" -c 'import json,sys
for p in sorted(json.load(sys.stdin)["predicate"]["serialization"].get("ignore_paths", [])): print(p)'
}

# new_model DIR: a small model with nested directories, a unicode name and an empty file.
new_model() {
  mkdir -p "$1/sub/dir"
  head -c 70000 /dev/urandom >"$1/weights.bin"
  printf '{"layers": 2}' >"$1/config.json"
  printf 'tokens' >"$1/sub/dir/tokenizer.txt"
  printf 'ünïcødé' >"$1/sub/名前.txt"
  : >"$1/empty"
}

# private_copy SRC DST: a 0600 copy of a key (keys from a checkout are 0644).
private_copy() { install -m 600 "$1" "$2"; }

run_case() {
  local name=$1
  CASE_DIR="$WORK/cases/$name"
  mkdir -p "$CASE_DIR"
  local rc=0
  set +e
  (
    set -e
    cd "$CASE_DIR"
    "case_$name"
  ) 2>"$CASE_DIR/log"
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    echo "PASS $name"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name"
    sed 's/^/  /' "$CASE_DIR/log"
    FAILED+=("$name")
  fi
}

# --- shared material: keys and a test PKI made with the openssl CLI ---------------------

SHARED="$WORK/shared"
mkdir -p "$SHARED/pki/newcerts"
for c in 256 384 521; do
  "$MODELSIGN" keygen --private-key "$SHARED/p$c.pem" --public-key "$SHARED/p$c.pub" \
    --key-type "ec-p$c" >/dev/null
done

(
  cd "$SHARED/pki"
  cat >ca.cnf <<'EOF'
[ ca ]
default_ca = ca_default
[ ca_default ]
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_int ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  : >index.txt
  echo 01 >serial
  # issue CSR OUT EXTENSIONS ISSUER_CERT|-selfsign ISSUER_KEY START END
  issue() {
    local issuer=(-cert "$4")
    [[ $4 == -selfsign ]] && issuer=(-selfsign)
    openssl ca -batch -notext -config ca.cnf "${issuer[@]}" -keyfile "$5" -in "$1" -out "$2" \
      -extensions "$3" -startdate "$6" -enddate "$7" 2>ca.log || { cat ca.log >&2; exit 1; }
  }
  csr() { openssl req -new -config ca.cnf -key "$1" -subj "$2" -out "$3"; }
  # Root and intermediate start in 2020 so that the expired leaf below chains at its notBefore.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out root.key 2>/dev/null
  csr root.key "/CN=modelsign test root CA" root.csr
  issue root.csr root.pem v3_root -selfsign root.key 20200101000000Z 20450101000000Z
  # An RSA intermediate, as the upstream test PKI has.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out int.key 2>/dev/null
  csr int.key "/CN=modelsign test intermediate CA" int.csr
  issue int.csr int.pem v3_int root.pem root.key 20200101000000Z 20440101000000Z
  now=$(date -u +%Y%m%d%H%M%SZ)
  later=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
  for c in 256 384; do
    openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:P-$c" -out "leaf$c.key" 2>/dev/null
    chmod 600 "leaf$c.key"
    csr "leaf$c.key" "/CN=model signer P-$c" "leaf$c.csr"
    issue "leaf$c.csr" "leaf$c.pem" v3_leaf int.pem int.key "$now" "$later"
  done
  issue leaf256.csr expired256.pem v3_leaf int.pem int.key 20210101000000Z 20220101000000Z
  cat int.pem root.pem >int-and-root.pem
)
PKI="$SHARED/pki"
openssl verify -CAfile "$PKI/root.pem" -untrusted "$PKI/int.pem" "$PKI/leaf256.pem" >/dev/null

# The upstream fixtures, copied so that the README's relative paths work as written.
cp -r "$TESTDATA/model-transparency/scripts/tests" "$SHARED/fixtures"
FIXTURES="$SHARED/fixtures"
UPSTREAM_PUB=./keys/certificate/signing-key-pub.pem
UPSTREAM_CA=./keys/certificate/ca-cert.pem

# --- 1. upstream fixtures (README §3 commands), with both flag spellings -----------------

# fixture_command VERSION KIND: the README's verify arguments (underscore spellings).
fixture_command() {
  local v=$1 kind=$2
  case "$kind-$v" in
    certificate-v0.2.0 | certificate-v0.3.1 | certificate-v1.0.0)
      echo "certificate --signature ./$v-certificate/model.sig --certificate_chain $UPSTREAM_CA ./$v-certificate/" ;;
    certificate-*)
      echo "certificate --signature ./$v-certificate/model.sig --certificate_chain $UPSTREAM_CA --ignore-paths ./$v-certificate/ignore-me ./$v-certificate/" ;;
    elliptic-key-v0.3.1 | elliptic-key-v1.0.0)
      echo "key --signature ./$v-elliptic-key/model.sig --public_key $UPSTREAM_PUB ./$v-elliptic-key/signme-1" ;;
    elliptic-key-*)
      echo "key --ignore-paths ./$v-elliptic-key/ignore-me --signature ./$v-elliptic-key/model.sig --public_key $UPSTREAM_PUB ./$v-elliptic-key" ;;
  esac
}

FIXTURE_LIST=(v0.2.0:certificate v0.3.1:certificate v1.0.0:certificate v1.0.1:certificate
  v1.1.0:certificate v0.3.1:elliptic-key v1.0.0:elliptic-key v1.0.1:elliptic-key
  v1.1.0:elliptic-key)

verify_fixture() {  # VERSION KIND SPELLING
  local v=$1 kind=$2 spelling=$3 args
  args=$(fixture_command "$v" "$kind")
  if [[ $spelling == hyphen ]]; then
    args=${args//--certificate_chain/--certificate-chain}
    args=${args//--public_key/--public-key}
  fi
  [[ $args == *"-certificate/model.sig"* || $args == *"-elliptic-key/model.sig"* ]] || fail "bad command"
  cd "$FIXTURES"
  # shellcheck disable=SC2086  # the README command, split as a shell would
  ms verify $args
  expect_ok_verify
  if [[ $kind == elliptic-key && $v != v1.1.0 ]]; then
    # Pre-1.1 key bundles carry no hint: model_signing warns on stdout, so does modelsign.
    out_has "WARNING: This model's signature uses an older verification material format."
  else
    out_lacks "WARNING"
  fi
}

for f in "${FIXTURE_LIST[@]}"; do
  v=${f%%:*}
  kind=${f#*:}
  for spelling in underscore hyphen; do
    eval "case_fixture_${v//./_}_${kind//-/_}_${spelling}() { verify_fixture $v $kind $spelling; }"
    run_case "fixture_${v//./_}_${kind//-/_}_${spelling}"
  done
done

case_fixture_v1_0_1_certificate_without_ignore_reports_extra_file() {
  cd "$FIXTURES"
  ms verify certificate --signature ./v1.0.1-certificate/model.sig \
    --certificate_chain "$UPSTREAM_CA" ./v1.0.1-certificate/
  expect_fail_verify "Signature mismatch"
  err_has "Extra files found in model 'v1.0.1-certificate': ignore-me"
  ms verify certificate --signature ./v1.0.1-certificate/model.sig \
    --certificate_chain "$UPSTREAM_CA" --ignore_unsigned_files ./v1.0.1-certificate/
  expect_ok_verify
}
run_case fixture_v1_0_1_certificate_without_ignore_reports_extra_file

case_fixture_v1_1_0_certificate_applies_recorded_ignore_paths() {
  cd "$FIXTURES"
  ms verify certificate --signature ./v1.1.0-certificate/model.sig \
    --certificate-chain "$UPSTREAM_CA" ./v1.1.0-certificate/
  expect_ok_verify
}
run_case fixture_v1_1_0_certificate_applies_recorded_ignore_paths

case_fixture_v1_1_0_key_with_another_key_is_key_mismatch() {
  cd "$FIXTURES"
  ms verify key --signature ./v1.1.0-elliptic-key/model.sig --public-key "$SHARED/p384.pub" \
    --ignore-paths ./v1.1.0-elliptic-key/ignore-me ./v1.1.0-elliptic-key
  expect_fail_verify "Key mismatch"
}
run_case fixture_v1_1_0_key_with_another_key_is_key_mismatch

# The checker must accept what model_signing wrote, or it proves nothing about modelsign.
for f in "${FIXTURE_LIST[@]}"; do
  v=${f%%:*}
  kind=${f#*:}
  eval "case_checker_accepts_upstream_${v//./_}_${kind//-/_}() {
    cd \"\$FIXTURES\"
    check \$(fixture_command $v $kind)
    expect_ok_verify
  }"
  run_case "checker_accepts_upstream_${v//./_}_${kind//-/_}"
done

case_checker_rejects_upstream_fixture_misuse() {
  cd "$FIXTURES"
  check certificate --signature ./v1.0.1-certificate/model.sig --certificate_chain "$UPSTREAM_CA" \
    ./v1.0.1-certificate/
  expect_fail_verify "Signature mismatch"
  err_has "ignore-me"
  check certificate --signature ./v1.1.0-certificate/model.sig \
    --certificate_chain ./keys/certificate/int-ca-cert.pem ./v1.1.0-certificate/
  expect_fail_verify "self-signed trust anchor"
  check key --signature ./v1.1.0-elliptic-key/model.sig --public_key "$SHARED/p384.pub" \
    ./v1.1.0-elliptic-key
  expect_fail_verify "Key mismatch"
  check key --signature ./v1.1.0-certificate/model.sig --public_key "$UPSTREAM_PUB" ./v1.1.0-certificate
  expect_fail_verify "no publicKey"
}
run_case checker_rejects_upstream_fixture_misuse

# --- 2. keygen ----------------------------------------------------------------------------

curve_of() { openssl pkey -in "$1" -noout -text | sed -n 's/^ASN1 OID: //p'; }

case_keygen_default_p256_private_key_mode_0600_and_hint_is_sha256_of_public_pem() {
  # The directory does not exist yet: keygen creates it, private to its owner.
  ms keygen --private-key keys/signing_key.pem --public-key keys/signing_key.pub
  expect_rc 0
  out_has "ec-p256"
  [[ $(stat -c %a keys) == 700 ]] || fail "created directory mode $(stat -c %a keys)"
  [[ $(stat -c %a keys/signing_key.pem) == 600 ]] || fail "private key mode $(stat -c %a keys/signing_key.pem)"
  [[ $(curve_of keys/signing_key.pem) == prime256v1 ]] || fail "curve $(curve_of keys/signing_key.pem)"
  grep -q -- "-----BEGIN PUBLIC KEY-----" keys/signing_key.pub || fail "public key is not PEM SPKI"
  local hint
  hint=$(sha256sum keys/signing_key.pub | cut -d' ' -f1)
  out_has "public key hint: $hint"
}
run_case keygen_default_p256_private_key_mode_0600_and_hint_is_sha256_of_public_pem

case_keygen_never_overwrites_existing_files() {
  ms keygen --private-key a.pem --public-key a.pub
  expect_rc 0
  cp a.pem a.pem.orig
  cp a.pub a.pub.orig
  ms keygen --private-key a.pem --public-key b.pub
  expect_rc 1
  err_has "a.pem"
  cmp -s a.pem a.pem.orig || fail "existing private key was modified"
  [[ ! -e b.pub ]] || fail "public key written although the private key was refused"
  ms keygen --private-key b.pem --public-key a.pub
  expect_rc 1
  err_has "a.pub"
  cmp -s a.pub a.pub.orig || fail "existing public key was modified"
  [[ ! -e b.pem ]] || fail "private key left behind although the public key was refused"
}
run_case keygen_never_overwrites_existing_files

case_keygen_curve_alias_and_key_type_p521() {
  ms keygen --curve P-384 --private-key c384.pem --public-key c384.pub
  expect_rc 0
  [[ $(curve_of c384.pem) == secp384r1 ]] || fail "--curve P-384 gave $(curve_of c384.pem)"
  ms keygen --key-type ec-p521 --private_key c521.pem --public_key c521.pub
  expect_rc 0
  [[ $(curve_of c521.pem) == secp521r1 ]] || fail "--key-type ec-p521 gave $(curve_of c521.pem)"
  [[ $(stat -c %a c521.pem) == 600 ]] || fail "P-521 private key mode"
  ms keygen --key-type rsa-2048 --private-key rsa.pem
  expect_rc 1
  err_has "ec-p256"
  [[ ! -e rsa.pem ]] || fail "unsupported key type still wrote a key"
}
run_case keygen_curve_alias_and_key_type_p521

# --- 3. key round trips ----------------------------------------------------------------

for c in 256 384 521; do
  eval "case_sign_verify_key_roundtrip_p$c() { roundtrip_key $c; }"
done
roundtrip_key() {
  local c=$1
  new_model model/quantized
  ms sign key --private-key "$SHARED/p$c.pem" model/quantized
  expect_ok_sign
  [[ -s model/quantized.sig ]] || fail "no signature at the default path"
  ms verify key --public-key "$SHARED/p$c.pub" model/quantized
  expect_ok_verify
  out_lacks "WARNING"
  check key --public-key "$SHARED/p$c.pub" --signature model/quantized.sig model/quantized
  expect_ok_verify
  # The signature really binds the key: another curve's key is refused by both.
  local other=256
  [[ $c == 256 ]] && other=384
  ms verify key --public-key "$SHARED/p$other.pub" model/quantized
  expect_fail_verify "Key mismatch"
  check key --public-key "$SHARED/p$other.pub" --signature model/quantized.sig model/quantized
  expect_fail_verify "Key mismatch"
  # And the model content: one changed byte fails both verifiers.
  printf 'X' | dd of=model/quantized/weights.bin bs=1 seek=100 conv=notrunc status=none
  ms verify key --public-key "$SHARED/p$c.pub" model/quantized
  expect_fail_verify "Signature mismatch"
  err_has "weights.bin"
  check key --public-key "$SHARED/p$c.pub" --signature model/quantized.sig model/quantized
  expect_fail_verify "Signature mismatch"
}
for c in 256 384 521; do run_case "sign_verify_key_roundtrip_p$c"; done

case_sign_and_verify_accept_underscore_flag_spellings() {
  new_model m
  private_copy "$SHARED/p256.pem" k.pem
  ms sign key --private_key k.pem --ignore_paths m/empty --allow_symlinks m
  expect_ok_sign
  ms verify key --public_key "$SHARED/p256.pub" --ignore_unsigned_files --allow_symlinks m
  expect_ok_verify
  ms sign certificate --private_key "$PKI/leaf256.key" --signing_certificate "$PKI/leaf256.pem" \
    --certificate_chain "$PKI/int.pem" --signature c.sig m
  expect_ok_sign
  ms verify certificate --certificate_chain "$PKI/root.pem" --log_fingerprints --signature c.sig m
  expect_ok_verify
}
run_case sign_and_verify_accept_underscore_flag_spellings

# --- 4. certificates -------------------------------------------------------------------

for c in 256 384; do
  eval "case_sign_verify_certificate_leaf_p$c() { roundtrip_certificate $c; }"
done
roundtrip_certificate() {
  local c=$1
  new_model model
  ms sign certificate --private-key "$PKI/leaf$c.key" --signing-certificate "$PKI/leaf$c.pem" \
    --certificate-chain "$PKI/int.pem" model --signature model.sig --json
  expect_rc 0
  ms verify certificate --certificate-chain "$PKI/root.pem" model --signature model.sig --json
  expect_rc 0
  "$PYTHON3" -c 'import json,sys
j = json.load(open(sys.argv[1]))
assert j["method"] == "certificate", j
assert j["signer"] == "CN=model signer P-" + sys.argv[2], j' "$CASE_DIR/out" "$c" || fail "json"
  # The bundle carries [leaf, intermediate], not the root.
  local n
  n=$("$PYTHON3" -c 'import json,sys
print(len(json.load(open(sys.argv[1]))["verificationMaterial"]["x509CertificateChain"]["certificates"]))' model.sig)
  [[ $n == 2 ]] || fail "bundle holds $n certificates, expected 2"
  check certificate --certificate-chain "$PKI/root.pem" --signature model.sig model
  expect_ok_verify
  # The root and intermediate in one file also works (both are trust anchors then).
  ms verify certificate --certificate-chain "$PKI/int-and-root.pem" --signature model.sig model
  expect_ok_verify
  echo extra >model/extra.txt
  check certificate --certificate-chain "$PKI/root.pem" --signature model.sig model
  expect_fail_verify "Extra files found in model 'model': extra.txt"
}
for c in 256 384; do run_case "sign_verify_certificate_leaf_p$c"; done

case_certificate_chain_of_only_the_intermediate_fails() {
  new_model model
  ms sign certificate --private-key "$PKI/leaf256.key" --signing-certificate "$PKI/leaf256.pem" \
    --certificate-chain "$PKI/int.pem" --signature s.sig model
  expect_ok_sign
  ms verify certificate --certificate-chain "$PKI/int.pem" --signature s.sig model
  expect_fail_verify "certificate chain"
  err_has "self-signed root"
  check certificate --certificate-chain "$PKI/int.pem" --signature s.sig model
  expect_rc 1
  # A CA that did not issue the leaf fails too.
  ms verify certificate --certificate-chain "$FIXTURES/keys/certificate/ca-cert.pem" --signature s.sig model
  expect_fail_verify "certificate chain"
}
run_case certificate_chain_of_only_the_intermediate_fails

# Signing refuses an expired certificate (its signature could never verify), naming
# its dates; no signature is written.
case_expired_leaf_fails_naming_its_dates() {
  new_model model
  ms sign certificate --private-key "$PKI/leaf256.key" --signing-certificate "$PKI/expired256.pem" \
    --certificate-chain "$PKI/int.pem" --signature s.sig model
  expect_rc 1
  err_has "Signing failed with error: "
  err_has "expired"
  err_has "2021-01-01"
  err_has "2022-01-01"
  [[ ! -e s.sig ]] || fail "a signature was written"
}
run_case expired_leaf_fails_naming_its_dates

case_key_and_certificate_bundles_are_not_interchangeable() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" --signature k.sig model
  expect_ok_sign
  ms verify certificate --certificate-chain "$PKI/root.pem" --signature k.sig model
  expect_fail_verify
  err_has "verify key"
  ms sign certificate --private-key "$PKI/leaf256.key" --signing-certificate "$PKI/leaf256.pem" \
    --certificate-chain "$PKI/int.pem" --signature c.sig model
  expect_ok_sign
  ms verify key --public-key "$SHARED/p256.pub" --signature c.sig model
  expect_fail_verify
  err_has "verify certificate"
}
run_case key_and_certificate_bundles_are_not_interchangeable

# --- 5. signature path -----------------------------------------------------------------

case_default_signature_path_is_model_path_plus_sig() {
  new_model model/quantized
  ms sign key --private-key "$SHARED/p256.pem" model/quantized/
  expect_ok_sign
  [[ -f model/quantized.sig ]] || fail "model/quantized/ did not sign to model/quantized.sig"
  [[ ! -e model/quantized/.sig && ! -e model/quantized/model.sig ]] || fail "signature written inside"
  ms verify key --public-key "$SHARED/p256.pub" model/quantized
  expect_ok_verify
  ms verify key --public-key "$SHARED/p256.pub" model/quantized/
  expect_ok_verify
  rm model/quantized.sig
  ms sign key --private-key "$SHARED/p256.pem" model/quantized
  expect_ok_sign
  [[ -f model/quantized.sig ]] || fail "model/quantized did not sign to model/quantized.sig"
  ms verify key --public-key "$SHARED/p256.pub" model/quantized/
  expect_ok_verify
  # A single-file model too.
  ms sign key --private-key "$SHARED/p256.pem" model/quantized/config.json
  expect_ok_sign
  [[ -f model/quantized/config.json.sig ]] || fail "file model: no config.json.sig"
  ms verify key --public-key "$SHARED/p256.pub" model/quantized/config.json
  expect_ok_verify
}
run_case default_signature_path_is_model_path_plus_sig

case_signature_flag_overrides_the_default_path() {
  new_model model
  mkdir sigs
  ms sign key --private-key "$SHARED/p384.pem" --signature sigs/custom.sig model
  expect_ok_sign
  [[ -f sigs/custom.sig && ! -e model.sig ]] || fail "--signature not honoured"
  ms verify key --public-key "$SHARED/p384.pub" model
  expect_fail_verify "model.sig"
  ms verify key --public-key "$SHARED/p384.pub" --signature sigs/custom.sig model
  expect_ok_verify
}
run_case signature_flag_overrides_the_default_path

case_signature_inside_the_model_is_ignored_when_signing_and_verifying() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" --signature model/model.sig model
  expect_ok_sign
  names=$(resources model/model.sig) || fail "cannot decode model/model.sig"
  [[ -n $names ]] || fail "no resources decoded from model/model.sig"
  ! grep -qx model.sig <<<"$names" || fail "the signature signed itself"
  recorded_ignores model/model.sig | grep -x model.sig >/dev/null || fail "model.sig not in ignore_paths"
  ms verify key --public-key "$SHARED/p256.pub" --signature model/model.sig model
  expect_ok_verify
  check key --public-key "$SHARED/p256.pub" --signature model/model.sig model
  expect_ok_verify
  # A signature kept outside, then copied into the model under another name: verifying
  # with that copy must not count it as an extra file.
  ms sign key --private-key "$SHARED/p256.pem" --signature outside.sig model
  expect_ok_sign
  resources outside.sig | grep -x model.sig >/dev/null || fail "an unrelated file named model.sig is content"
  rm model/model.sig
  ms sign key --private-key "$SHARED/p256.pem" --signature outside.sig model
  expect_ok_sign
  cp outside.sig model/copy.sig
  ms verify key --public-key "$SHARED/p256.pub" --signature model/copy.sig model
  expect_ok_verify
}
run_case signature_inside_the_model_is_ignored_when_signing_and_verifying

# --- 6. ignore paths and unsigned files --------------------------------------------------

case_ignore_paths_relative_and_absolute_are_recorded_and_applied() {
  new_model model
  echo notes >model/notes.txt
  ms sign key --private-key "$SHARED/p256.pem" --ignore-paths model/notes.txt \
    --ignore-paths "$PWD/model/sub" --ignore-paths "$PWD/elsewhere" model
  expect_ok_sign
  local names ignores
  names=$(resources model.sig | tr '\n' ' ')
  [[ $names == "config.json empty weights.bin " ]] || fail "signed resources: $names"
  ignores=$(recorded_ignores model.sig | tr '\n' ' ')
  [[ $ignores == ".git .gitattributes .github .gitignore notes.txt sub " ]] ||
    fail "recorded ignore_paths: $ignores"
  # The recorded ignores apply at verification without repeating them.
  echo changed >model/notes.txt
  echo changed >model/sub/dir/tokenizer.txt
  ms verify key --public-key "$SHARED/p256.pub" model
  expect_ok_verify
  check key --public-key "$SHARED/p256.pub" --signature model.sig model
  expect_ok_verify
  # Relative to the current directory, not to the model.
  cd model
  ms sign key --private-key "$SHARED/p256.pem" --ignore-paths weights.bin --signature ../inner.sig .
  expect_ok_sign
  names=$(resources ../inner.sig) || fail "cannot decode ../inner.sig"
  [[ -n $names ]] || fail "no resources decoded from ../inner.sig"
  ! grep -qx weights.bin <<<"$names" || fail "CWD-relative ignore path not applied"
}
run_case ignore_paths_relative_and_absolute_are_recorded_and_applied

case_git_paths_ignored_by_default_and_kept_with_no_ignore_git_paths() {
  new_model model
  mkdir -p model/.git
  echo ref >model/.git/HEAD
  echo '*.bin' >model/.gitignore
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  names=$(resources model.sig) || fail "cannot decode model.sig"
  [[ -n $names ]] || fail "no resources decoded from model.sig"
  ! grep -q '^\.git' <<<"$names" || fail "git paths were signed"
  ms sign key --private-key "$SHARED/p256.pem" --no-ignore-git-paths --signature all.sig model
  expect_ok_sign
  resources all.sig | grep -x .gitignore >/dev/null || fail "--no-ignore-git-paths still ignored .gitignore"
  ms verify key --public-key "$SHARED/p256.pub" --no-ignore-git-paths --signature all.sig model
  expect_ok_verify
}
run_case git_paths_ignored_by_default_and_kept_with_no_ignore_git_paths

case_changed_missing_and_extra_files_are_each_named() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  cp -a model pristine
  printf 'changed' >model/config.json
  ms verify key --public-key "$SHARED/p256.pub" model
  expect_fail_verify "Signature mismatch"
  err_has "Hash mismatch for 'config.json'"
  rm -r model && cp -a pristine model
  rm model/sub/dir/tokenizer.txt
  ms verify key --public-key "$SHARED/p256.pub" model
  expect_fail_verify "Signature mismatch"
  err_has "Missing files in model 'model': sub/dir/tokenizer.txt"
  check key --public-key "$SHARED/p256.pub" --signature model.sig model
  expect_fail_verify "Missing files in model 'model': sub/dir/tokenizer.txt"
  rm -r model && cp -a pristine model
  echo new >model/sub/added.bin
  ms verify key --public-key "$SHARED/p256.pub" model
  expect_fail_verify "Signature mismatch"
  err_has "Extra files found in model 'model': sub/added.bin"
  ms verify key --public-key "$SHARED/p256.pub" --ignore-unsigned-files model
  expect_ok_verify
  check key --public-key "$SHARED/p256.pub" --signature model.sig --ignore-unsigned-files model
  expect_ok_verify
  # All three at once: every category is reported, not just the first.
  printf 'changed' >model/config.json
  rm model/empty
  ms verify key --public-key "$SHARED/p256.pub" model
  expect_fail_verify "Signature mismatch"
  err_has "Extra files found in model 'model': sub/added.bin"
  err_has "Missing files in model 'model': empty"
  err_has "Hash mismatch for 'config.json'"
}
run_case changed_missing_and_extra_files_are_each_named

case_altered_payload_or_signature_fails_both_verifiers() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  # Rewrite one resource digest consistently (root digest too): only the signature catches it.
  "$PYTHON3" - model.sig payload.sig sig.sig <<'EOF'
import base64, hashlib, json, sys
b = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
st["predicate"]["resources"][0]["digest"] = "00" * 32
root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in st["predicate"]["resources"]))
st["subject"][0]["digest"]["sha256"] = root.hexdigest()
b2 = json.loads(json.dumps(b))
b2["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(st, indent=2).encode()).decode()
json.dump(b2, open(sys.argv[2], "w"))
sig = bytearray(base64.b64decode(b["dsseEnvelope"]["signatures"][0]["sig"]))
sig[-3] ^= 0x01
b["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
json.dump(b, open(sys.argv[3], "w"))
EOF
  for s in payload.sig sig.sig; do
    ms verify key --public-key "$SHARED/p256.pub" --signature "$s" model
    expect_fail_verify "Invalid signature"
    check key --public-key "$SHARED/p256.pub" --signature "$s" model
    expect_fail_verify "invalid DSSE signature"
  done
}
run_case altered_payload_or_signature_fails_both_verifiers

# --- 7. exit codes, version, JSON --------------------------------------------------------

case_exit_codes_0_1_2_and_version() {
  new_model model
  ms --version
  expect_rc 0
  grep -qE '^modelsign, version [0-9]+\.[0-9]+\.[0-9]+$' out || fail "--version output"
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_rc 0
  ms verify key --public-key "$SHARED/p256.pub" model --no-such-flag
  expect_rc 2
  ms verify key --public-key "$SHARED/p256.pub"
  expect_rc 2
  ms verify nosuchmethod model
  expect_rc 2
  ms verify key --public-key "$SHARED/p384.pub" model
  expect_rc 1
  ms verify key --public-key "$SHARED/p256.pub" model
  expect_rc 0
}
run_case exit_codes_0_1_2_and_version

case_sigstore_sign_refuses_a_malformed_token_before_any_network_call() {
  new_model model
  ms sign sigstore --identity-token dummy model
  expect_rc 1
  err_has "Signing failed with error: the identity token from --identity-token is not a JWT"
  [[ ! -e model.sig ]] || fail "a signature was written"
  # Keyless verification exists (tests/cli/verify_sigstore_cli_test.sh); with no
  # signature it fails on the missing file, not with a usage error.
  ms verify sigstore --identity a@example.com --identity-provider https://issuer model
  expect_rc 1
  err_has "Verification failed with error: signature file 'model.sig' not found"
}
run_case sigstore_sign_refuses_a_malformed_token_before_any_network_call

case_json_output_of_sign_and_verify() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" --json model
  expect_rc 0
  cp out sign.json
  ms verify key --public-key "$SHARED/p256.pub" --json model
  expect_rc 0
  cp out verify.json
  ms digest model
  expect_rc 0
  local digest hint
  digest=$(cat out)
  hint=$(sha256sum "$SHARED/p256.pub" | cut -d' ' -f1)
  for f in sign.json verify.json; do
    "$PYTHON3" - "$f" "$digest" "$hint" <<'EOF' || fail "$f: unexpected JSON"
import base64, json, sys
j = json.load(open(sys.argv[1]))
assert j["method"] == "key", j
assert j["model_name"] == "model", j
assert j["root_digest"] == sys.argv[2], (j, sys.argv[2])
assert j["signature"] == "model.sig", j
assert j["signer"] == sys.argv[3], j
st = json.loads(base64.b64decode(json.load(open("model.sig"))["dsseEnvelope"]["payload"]))
assert "sha256:" + st["subject"][0]["digest"]["sha256"] == j["root_digest"]
EOF
  done
}
run_case json_output_of_sign_and_verify

# --- 8. keys: environment, errors, permissions, encryption -------------------------------

case_signing_private_key_env_var_signs() {
  new_model model
  SIGNING_PRIVATE_KEY=$(cat "$SHARED/p384.pem") ms sign key model
  expect_ok_sign
  ms verify key --public-key "$SHARED/p384.pub" model
  expect_ok_verify
}
run_case signing_private_key_env_var_signs

case_missing_key_says_private_key_not_found() {
  new_model model
  ms sign key model
  expect_rc 2  # no key given at all: a usage error
  err_has "Private key not found"
  err_has "SIGNING_PRIVATE_KEY"
  ms sign key --private-key nowhere.pem model
  expect_rc 1
  err_has "Private key not found"
  [[ ! -e model.sig ]] || fail "a signature was written"
}
run_case missing_key_says_private_key_not_found

case_group_readable_key_is_refused_with_chmod_600() {
  new_model model
  cp "$SHARED/p256.pem" k.pem
  chmod 644 k.pem
  ms sign key --private-key k.pem model
  expect_rc 1
  err_has "chmod 600"
  chmod 600 k.pem
  ms sign key --private-key k.pem model
  expect_ok_sign
}
run_case group_readable_key_is_refused_with_chmod_600

case_not_pem_key_file_is_reported() {
  new_model model
  install -m 600 /dev/null k.pem
  echo "this is no key" >k.pem
  ms sign key --private-key k.pem model
  expect_rc 1
  err_has "not a PEM private key"
  openssl pkey -in "$SHARED/p256.pem" -outform DER -out k.der
  chmod 600 k.der
  ms sign key --private-key k.der model
  expect_rc 1
  err_has "not a PEM private key"
}
run_case not_pem_key_file_is_reported

PASSWORD='pw-7Hq2-zX9'
case_encrypted_key_password_from_file_or_env_never_printed() {
  new_model model
  printf '%s\n' "$PASSWORD" >pw.txt
  chmod 600 pw.txt
  ms keygen --private-key enc.pem --public-key enc.pub --password-file pw.txt
  expect_rc 0
  neither_has "$PASSWORD"
  grep -q "BEGIN ENCRYPTED PRIVATE KEY" enc.pem || fail "key not encrypted"
  ! grep -qF "$PASSWORD" enc.pem || fail "password stored in the key file"
  ms sign key --private-key enc.pem --password-file pw.txt model
  expect_ok_sign
  neither_has "$PASSWORD"
  ms verify key --public-key enc.pub model
  expect_ok_verify
  MODELSIGN_KEY_PASSWORD=$PASSWORD ms --log-level debug sign key --private-key enc.pem model
  expect_ok_sign
  neither_has "$PASSWORD"
  printf 'wrong-password\n' >bad.txt
  cp model.sig before.sig
  ms --log-level debug sign key --private-key enc.pem --password-file bad.txt model
  expect_rc 1
  err_has "wrong password"
  neither_has "wrong-password"
  neither_has "$PASSWORD"
  cmp -s model.sig before.sig || fail "failed signing touched the signature"
  MODELSIGN_KEY_PASSWORD=wrong-password ms sign key --private-key enc.pem model
  expect_rc 1
  neither_has "wrong-password"
  # No password at all, stdin not a terminal: fail, do not hang.
  ms sign key --private-key enc.pem model </dev/null
  expect_rc 1
  err_has "password"
}
run_case encrypted_key_password_from_file_or_env_never_printed

case_log_level_debug_shows_info_and_default_does_not() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  ! grep -q "INFO" err || fail "INFO shown at the default level"
  ms --log-level debug sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  err_has "INFO"
  ms --log-level debug verify key --public-key "$SHARED/p256.pub" model
  expect_ok_verify
  ms --log-level chatty verify key --public-key "$SHARED/p256.pub" model
  expect_rc 2
}
run_case log_level_debug_shows_info_and_default_does_not

# --- 9. atomic signature writes ----------------------------------------------------------

case_failed_certificate_signing_keeps_existing_signature() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  cp model.sig before.sig
  # The leaf is for another key.
  ms sign certificate --private-key "$SHARED/p256.pem" --signing-certificate "$PKI/leaf256.pem" \
    --certificate-chain "$PKI/int.pem" model
  expect_rc 1
  err_has "does not match"
  cmp -s model.sig before.sig || fail "existing signature changed"
  no_temp_files .
}
run_case failed_certificate_signing_keeps_existing_signature

case_unwritable_signature_path_fails_cleanly() {
  new_model model
  echo "a regular file" >notadir
  ms sign key --private-key "$SHARED/p256.pem" --signature notadir/model.sig model
  expect_rc 1
  err_has "notadir/model.sig"
  [[ $(cat notadir) == "a regular file" ]] || fail "file changed"
  no_temp_files .
}
run_case unwritable_signature_path_fails_cleanly

case_full_disk_keeps_existing_signature_and_leaves_no_temp_file() {
  mkdir model
  for i in $(seq 1 100); do echo "$i" >"model/layer_$i.safetensors"; done
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  [[ $(stat -c %s model.sig) -gt 8192 ]] || fail "bundle too small to exceed the limit"
  cp model.sig before.sig
  echo 101 >model/layer_101.safetensors
  # 1 block of file size allowed: the new bundle cannot be written.
  RC=0
  (ulimit -f 1 && exec "$MODELSIGN" sign key --private-key "$SHARED/p256.pem" model) \
    >"$CASE_DIR/out" 2>"$CASE_DIR/err" || RC=$?
  expect_rc 1
  err_has "Signing failed with error"
  cmp -s model.sig before.sig || fail "existing signature changed"
  no_temp_files .
  ms verify key --public-key "$SHARED/p256.pub" --ignore-unsigned-files model
  expect_ok_verify
}
run_case full_disk_keeps_existing_signature_and_leaves_no_temp_file

# --- 10. deterministic statements --------------------------------------------------------

case_statement_bytes_identical_across_two_signings() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" --signature one.sig model
  expect_ok_sign
  ms sign key --private-key "$SHARED/p256.pem" --signature two.sig model
  expect_ok_sign
  payload one.sig >one.json
  payload two.sig >two.json
  [[ -s one.json ]] || fail "empty payload"
  cmp -s one.json two.json || fail "statements differ between signings"
  # And across curves: the statement does not depend on the key.
  ms sign key --private-key "$SHARED/p521.pem" --signature three.sig model
  expect_ok_sign
  payload three.sig | cmp -s - one.json || fail "statement depends on the key"
}
run_case statement_bytes_identical_across_two_signings

# --- 11. what verification lets through (ignore-unsigned, symlinks, ignore paths) --------
# Kept together at the end of the file. Each case names the defect it guards against.

# Mutation guarded: `if (ignore_unsigned) extra.clear();` -> `return {};` in
# src/verify/verify.cpp. The flag tolerates extra files only, never a changed or missing
# signed one, in modelsign and in the independent checker alike.
case_ignore_unsigned_files_still_fails_on_changed_and_missing_signed_files() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  cp -a model pristine
  echo new >model/added.bin
  ms verify key --public-key "$SHARED/p256.pub" --ignore-unsigned-files model
  expect_ok_verify
  err_has "added.bin"  # the tolerated file is named
  printf 'changed' >model/config.json
  for flag in --ignore-unsigned-files --ignore_unsigned_files; do
    ms verify key --public-key "$SHARED/p256.pub" "$flag" model
    expect_fail_verify "Hash mismatch for 'config.json'"
    check key --public-key "$SHARED/p256.pub" --signature model.sig "$flag" model
    expect_fail_verify "Hash mismatch for 'config.json'"
  done
  rm -r model && cp -a pristine model
  echo new >model/added.bin
  rm model/sub/dir/tokenizer.txt
  ms verify key --public-key "$SHARED/p256.pub" --ignore-unsigned-files model
  expect_fail_verify "Missing files in model 'model': sub/dir/tokenizer.txt"
  check key --public-key "$SHARED/p256.pub" --signature model.sig --ignore-unsigned-files model
  expect_fail_verify "sub/dir/tokenizer.txt"
}
run_case ignore_unsigned_files_still_fails_on_changed_and_missing_signed_files

# Mutation guarded: the --ignore-unsigned-files enumeration following symlinks whatever
# the policy. A signed file replaced by a link to the same bytes must fail.
case_ignore_unsigned_files_refuses_a_signed_file_replaced_by_a_symlink() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  cp model/config.json elsewhere.json
  rm model/config.json
  ln -s "$PWD/elsewhere.json" model/config.json
  ms verify key --public-key "$SHARED/p256.pub" --ignore-unsigned-files model
  expect_fail_verify "because it is a symlink"
  check key --public-key "$SHARED/p256.pub" --signature model.sig --ignore-unsigned-files model
  expect_fail_verify "because it is a symlink"
}
run_case ignore_unsigned_files_refuses_a_signed_file_replaced_by_a_symlink

# Issue: only the last component was opened with O_NOFOLLOW, so `sub` replaced by a link
# to an outside copy verified under --ignore-unsigned-files.
case_ignore_unsigned_files_refuses_a_symlinked_directory_on_a_signed_path() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  mv model/sub outside
  ln -s "$PWD/outside" model/sub
  for extra in "" --allow-symlinks --allow-external-symlinks; do
    ms verify key --public-key "$SHARED/p256.pub" --ignore-unsigned-files $extra model
    expect_fail_verify "a directory on its path is a symlink"
  done
  check key --public-key "$SHARED/p256.pub" --signature model.sig --ignore-unsigned-files model
  expect_fail_verify "symlink"
}
run_case ignore_unsigned_files_refuses_a_symlinked_directory_on_a_signed_path

# Issue: a directory symlink under --allow-symlinks was only warned about, so files
# behind it (here in the ignored .git) verified unseen.
case_directory_symlink_fails_verification_and_signing() {
  new_model model
  ms sign key --private-key "$SHARED/p256.pem" model
  expect_ok_sign
  mkdir -p model/.git/payload
  echo 'import os' >model/.git/payload/modeling_evil.py
  ln -s .git/payload model/custom_code
  for flag in --allow-symlinks --allow-external-symlinks; do
    ms verify key --public-key "$SHARED/p256.pub" "$flag" model
    expect_fail_verify "is a symlink to a directory"
    ms sign key --private-key "$SHARED/p256.pem" "$flag" --signature again.sig model
    expect_rc 1
    err_has "is a symlink to a directory"
  done
}
run_case directory_symlink_fails_verification_and_signing

# Issue: recorded ignore paths were applied silently; a config.json dropped in under
# one verified. They stay applied (model_signing compatibility) but are named, and
# --strict-ignored (both spellings) fails.
case_files_under_ignore_paths_are_named_and_strict_ignored_fails() {
  new_model model
  mkdir -p model/cache
  ms sign key --private-key "$SHARED/p256.pem" --ignore-paths model/cache --signature model/model.sig model
  expect_ok_sign
  ms verify key --public-key "$SHARED/p256.pub" --signature model/model.sig --strict-ignored model
  expect_ok_verify  # the signature file itself does not count
  echo '{"evil": true}' >model/cache/config.json
  mkdir -p model/.github && echo '* @someone' >model/.github/CODEOWNERS
  ms verify key --public-key "$SHARED/p256.pub" --signature model/model.sig model
  expect_ok_verify
  err_has "cache/config.json"
  err_has ".github/CODEOWNERS"
  err_has "records ignore paths, whose files are not verified: cache"
  for flag in --strict-ignored --strict_ignored; do
    ms verify key --public-key "$SHARED/p256.pub" --signature model/model.sig "$flag" model
    expect_fail_verify "Files exist under ignored paths"
    err_has "cache/config.json"
  done
}
run_case files_under_ignore_paths_are_named_and_strict_ignored_fails

# Issue: --no-ignore-git-paths at signing was not honoured, so a default verification
# reported the signed .gitattributes missing.
case_no_ignore_git_paths_at_signing_verifies_by_default() {
  new_model model
  echo '*.bin filter=lfs' >model/.gitattributes
  ms sign key --private-key "$SHARED/p256.pem" --no-ignore-git-paths --signature model/model.sig model
  expect_ok_sign
  resources model/model.sig | grep -x .gitattributes >/dev/null || fail ".gitattributes not signed"
  ! recorded_ignores model/model.sig | grep -x .git >/dev/null || fail "git paths recorded as ignored"
  ms verify key --public-key "$SHARED/p256.pub" --signature model/model.sig model
  expect_ok_verify
  mkdir -p model/.git && echo ref >model/.git/HEAD
  ms verify key --public-key "$SHARED/p256.pub" --signature model/model.sig model
  expect_fail_verify "Extra files found in model 'model': .git/HEAD"
}
run_case no_ignore_git_paths_at_signing_verifies_by_default

# Issue: files were hashed up to their stat size; a procfs file hashed as empty.
case_digest_of_a_procfs_file_fails_instead_of_hashing_it_as_empty() {
  ms digest /proc/self/status
  expect_rc 1
  err_has "reports a size of 0 bytes but has content"
}
run_case digest_of_a_procfs_file_fails_instead_of_hashing_it_as_empty

# --- summary -----------------------------------------------------------------------------

echo "${PASSED} passed, ${#FAILED[@]} failed"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  printf 'failed: %s\n' "${FAILED[@]}"
  exit 1
fi
