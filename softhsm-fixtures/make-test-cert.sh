#!/usr/bin/env bash
# Issues a test certificate for the public key DIR/pub/ec-p256.pem from a throw-away CA
# (software keys): DIR/ca.pem, DIR/ec-p256.cert.pem and its DER form DIR/ec-p256.cert.der,
# for the token setup scripts to store beside the key (same label, id 01).
set -euo pipefail
dir=$1
[ -f "$dir/pub/ec-p256.pem" ] || { echo "make-test-cert.sh: --cert needs the ec-p256 key" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=modelsign test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cat > "$dir/leaf.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
# The leaf certifies the token's public key; the CA key signs it in software.
openssl x509 -new -subj "/CN=modelsign test signer" -force_pubkey "$dir/pub/ec-p256.pem" \
  -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -days 30 -extfile "$dir/leaf.ext" \
  -out "$dir/ec-p256.cert.pem" 2>/dev/null
openssl x509 -in "$dir/ec-p256.cert.pem" -outform DER -out "$dir/ec-p256.cert.der"
