#!/usr/bin/env bash
# Provisions a private SoftHSM token with a P-256 key generated inside it, signs a
# model with that key, verifies the signature (with the token's public key, with the
# exported PEM, and with the independent verifier in tests/interop) and cleans up.
# Nothing machine-wide is touched.
#
# usage: softhsm-fixtures/sign-verify-demo.sh [MODELSIGN_BINARY (default build/modelsign)] [MODEL_PATH]
#   Without MODEL_PATH a small sample model is made in a temporary directory; with it,
#   the signature is written to a temporary file, never next to your model.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODELSIGN=${1:-$HERE/../build/modelsign}
MODEL=${2:-}
[ -x "$MODELSIGN" ] || { echo "no modelsign binary at $MODELSIGN (build first)" >&2; exit 1; }

. "$HERE/lib.sh"
softhsm_begin demo

echo "== provisioning a private SoftHSM token with a P-256 key"
softhsm_token --label demo-token --keys ec-p256
"$MODELSIGN" pkcs11 list --pkcs11-uri "pkcs11:token=demo-token?pin-source=file:$MODELSIGN_PKCS11_PIN_FILE" \
  | grep -A1 'type=private'

if [ -z "$MODEL" ]; then
  MODEL="$WORK/sample-model"
  mkdir -p "$MODEL"
  head -c 1048576 /dev/urandom > "$MODEL/weights.bin"
  printf '{"architecture": "demo", "layers": 2}\n' > "$MODEL/config.json"
fi
SIG="$WORK/model.sig"

echo "== signing $MODEL"
"$MODELSIGN" sign pkcs11-key --pkcs11-uri "$MODELSIGN_PKCS11_URI_EC_P256" --signature "$SIG" "$MODEL"
echo "== verifying with the public key read from the token"
"$MODELSIGN" verify key --pkcs11-uri "$MODELSIGN_PKCS11_URI_EC_P256" --signature "$SIG" "$MODEL"
echo "== verifying with the public key exported as PEM"
"$MODELSIGN" verify key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" --signature "$SIG" "$MODEL"
echo "== verifying with the independent verifier (tests/interop, shares no code with modelsign)"
INTEROP="$HERE/../tests/interop/verify_like_model_signing.py"
python3 -c 'import cryptography' 2>/dev/null \
  || { echo "the independent verifier needs python3 with the 'cryptography' package (Debian: python3-cryptography)" >&2; exit 1; }
python3 "$INTEROP" key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" --signature "$SIG" "$MODEL"
if [ -z "${2:-}" ]; then
  echo "== tampering with the model: verification must fail and name the file"
  printf 'x' >> "$MODEL/config.json"
  if "$MODELSIGN" verify key --pkcs11-uri "$MODELSIGN_PKCS11_URI_EC_P256" --signature "$SIG" "$MODEL"; then
    echo "a tampered model verified: this is a bug" >&2
    exit 1
  fi
  if python3 "$INTEROP" key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" --signature "$SIG" "$MODEL" 2>/dev/null; then
    echo "the independent verifier accepted a tampered model: this is a bug" >&2
    exit 1
  fi
fi
echo "== cleaning up"
