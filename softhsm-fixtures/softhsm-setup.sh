#!/usr/bin/env bash
# Creates a private SoftHSM2 token in a fresh temporary directory, generates signing
# keys inside it and prints the environment to use it, as `export NAME='value'` lines:
#
#   eval "$(softhsm-fixtures/softhsm-setup.sh)"
#   ... use $SOFTHSM2_CONF, $MODELSIGN_PKCS11_URI_EC_P256, ...
#   softhsm-fixtures/softhsm-teardown.sh "$MODELSIGN_SOFTHSM_DIR"
#
# Nothing machine-wide is touched: the SoftHSM configuration and token store live in
# the directory, and SOFTHSM2_CONF must point at it in every process that loads the
# module. Keys are generated inside the token (sensitive, never extractable).
#
# Options:
#   --dir DIR           use DIR (must not exist yet) instead of a new mktemp -d directory
#   --label LABEL       token label (default: modelsign-test)
#   --pin PIN           user PIN (default: 1234); written to DIR/pin with a trailing newline
#   --so-pin PIN        security officer PIN (default: 12345678)
#   --keys "K1 K2 ..."  keys to generate (default: "ec-p256 ec-p384 ec-p521 rsa-3072 ed25519");
#                       each of ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096 ed25519,
#                       labelled with its own name
#   --second-token LABEL  also initialise an empty second token with this label (same PINs)
#   --reset-on-fork     set SoftHSM's library.reset_on_fork = true (a forked child must
#                       re-initialise the module, as with real HSMs)
#   --mechanisms LIST   SoftHSM slots.mechanisms value (default: ALL), e.g. "-CKM_ECDSA"
#   --cert              also give ec-p256 an X.509 certificate on the token, issued by a
#                       throw-away CA (DIR/ca.pem, DIR/ec-p256.cert.pem)
#   --module PATH       SoftHSM module (default: /usr/lib/softhsm/libsofthsm2.so)
set -euo pipefail

dir=""
label="modelsign-test"
pin="1234"
so_pin="12345678"
keys="ec-p256 ec-p384 ec-p521 rsa-3072 ed25519"
second=""
reset_on_fork="false"
mechanisms="ALL"
cert="no"
module="/usr/lib/softhsm/libsofthsm2.so"

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --pin) pin="$2"; shift 2 ;;
    --so-pin) so_pin="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --second-token) second="$2"; shift 2 ;;
    --reset-on-fork) reset_on_fork="true"; shift ;;
    --mechanisms) mechanisms="$2"; shift 2 ;;
    --cert) cert="yes"; shift ;;
    --module) module="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "softhsm-setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

for tool in softhsm2-util pkcs11-tool p11tool openssl; do
  command -v "$tool" >/dev/null || { echo "softhsm-setup.sh: '$tool' not found; install softhsm2, opensc, gnutls-bin and openssl" >&2; exit 1; }
done
[ -f "$module" ] || { echo "softhsm-setup.sh: SoftHSM module '$module' not found; install softhsm2 or pass --module" >&2; exit 1; }

if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/modelsign-softhsm.XXXXXX")
else
  mkdir "$dir"
fi
dir=$(cd "$dir" && pwd)
# Remove the directory again if anything below fails.
trap 'rc=$?; if [ $rc -ne 0 ]; then rm -rf "$dir"; fi' EXIT

: > "$dir/.modelsign-softhsm"   # marker the teardown script checks before deleting
mkdir "$dir/tokens" "$dir/pub"
# SoftHSM 2.6.1 reads a leading '-' as part of the first name in a deny list, so that
# name is silently ignored: give the '-' a list entry of its own ("-,CKM_A,CKM_B").
case "$mechanisms" in -,*) ;; -*) mechanisms="-,${mechanisms#-}" ;; esac
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
slots.mechanisms = $mechanisms
library.reset_on_fork = $reset_on_fork
CONF
export SOFTHSM2_CONF="$dir/softhsm2.conf"
printf '%s\n' "$pin" > "$dir/pin"
chmod 600 "$dir/pin"

softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$pin" >/dev/null
if [ -n "$second" ]; then
  softhsm2-util --init-token --free --label "$second" --so-pin "$so_pin" --pin "$pin" >/dev/null
fi

p11() { pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" "$@"; }

id_of() {
  case "$1" in
    ec-p256) echo 01 ;; ec-p384) echo 02 ;; ec-p521) echo 03 ;; rsa-3072) echo 04 ;;
    ed25519) echo 05 ;; rsa-2048) echo 06 ;; rsa-4096) echo 07 ;;
    *) echo "softhsm-setup.sh: unknown key type '$1'" >&2; return 1 ;;
  esac
}
spec_of() {
  case "$1" in
    ec-p256) echo EC:prime256v1 ;; ec-p384) echo EC:secp384r1 ;; ec-p521) echo EC:secp521r1 ;;
    rsa-2048) echo rsa:2048 ;; rsa-3072) echo rsa:3072 ;; rsa-4096) echo rsa:4096 ;;
    ed25519) echo EC:edwards25519 ;;
  esac
}

uri_base="pkcs11:token=$label"
for k in $keys; do
  id=$(id_of "$k")
  p11 --keypairgen --key-type "$(spec_of "$k")" --label "$k" --id "$id" --usage-sign >/dev/null
  # The public half only, as PEM, exported the way an operator would (no login needed).
  p11tool --provider "$module" --export "$uri_base;object=$k;type=public" \
    --outfile "$dir/pub/$k.pem" >/dev/null 2>&1
done

if [ "$cert" = "yes" ]; then
  case " $keys " in *" ec-p256 "*) ;; *) echo "softhsm-setup.sh: --cert needs the ec-p256 key" >&2; exit 1 ;; esac
  bash "$(dirname "${BASH_SOURCE[0]}")/make-test-cert.sh" "$dir"
  p11 --write-object "$dir/ec-p256.cert.der" --type cert --label ec-p256 --id 01 >/dev/null
fi

q() { printf "export %s='%s'\n" "$1" "$2"; }
q MODELSIGN_SOFTHSM_DIR "$dir"
q SOFTHSM2_CONF "$dir/softhsm2.conf"
q MODELSIGN_PKCS11_MODULE "$module"
q MODELSIGN_PKCS11_TOKEN "$label"
q MODELSIGN_PKCS11_PIN_FILE "$dir/pin"
for k in $keys; do
  var=$(printf '%s' "$k" | tr 'a-z-' 'A-Z_')
  q "MODELSIGN_PKCS11_URI_$var" "$uri_base;object=$k?pin-source=file:$dir/pin"
  q "MODELSIGN_PKCS11_PUB_$var" "$dir/pub/$k.pem"
done
if [ "$cert" = "yes" ]; then
  q MODELSIGN_PKCS11_CERT_EC_P256 "$dir/ec-p256.cert.pem"
  q MODELSIGN_PKCS11_CA "$dir/ca.pem"
fi
