#!/usr/bin/env bash
# The stack's TSA answers RFC 3161 DER queries as a real TSA does: OpenSSL parses the reply,
# and verifies it (nonce, imprint, signature, ESS signing certificate, chain) against the TSA
# chain in trusted_root.json. The wrong-nonce and wrong-imprint faults make that check fail.
# State dir from MODELSIGN_SIGSTORE_STACK; exit 77 (skip) without a stack unless CI is set.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/require_stack.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]])' "$DIR/stack.json" "$1"; }
TSA=$(field tsa_url)
BASE=$(field base_url)
fail() { echo "FAIL: $*" >&2; exit 1; }

# The TSA chain of trusted_root.json as PEM: [0] the signing certificate, [1] the root.
node -e '
const fs = require("fs");
const tr = JSON.parse(fs.readFileSync(process.argv[1]));
tr.timestampAuthorities[0].certChain.certificates.forEach((c, i) =>
  fs.writeFileSync(`${process.argv[2]}/tsa${i}.pem`,
    `-----BEGIN CERTIFICATE-----\n${c.rawBytes.match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`));
' "$DIR/trusted_root.json" "$work"

echo "some signature bytes" >"$work/data"
# openssl ts -query adds a random 64-bit nonce by default; -cert asks for the signer's certificate.
openssl ts -query -data "$work/data" -sha256 -cert -out "$work/q.tsq" 2>/dev/null
ask() {
  curl -sS --cacert "$DIR/ca.pem" -H 'Content-Type: application/timestamp-query' \
    --data-binary @"$work/q.tsq" -o "$work/$1.tsr" -w '%{http_code} %{content_type}' "$TSA"
}
verify() {
  openssl ts -verify -in "$work/$1.tsr" -queryfile "$work/q.tsq" \
    -CAfile "$work/tsa1.pem" -untrusted "$work/tsa0.pem" >"$work/$1.out" 2>&1
}

got=$(ask good)
[[ "$got" == "201 application/timestamp-reply" ]] || fail "expected 201 application/timestamp-reply, got $got"
openssl ts -reply -in "$work/good.tsr" -text >"$work/good.txt" 2>/dev/null
grep -q 'Status: Granted' "$work/good.txt" || fail "reply not granted: $(cat "$work/good.txt")"
qnonce=$(openssl ts -query -in "$work/q.tsq" -text 2>/dev/null | sed -n 's/^Nonce: //p')
rnonce=$(sed -n 's/^Nonce: //p' "$work/good.txt")
[[ -n "$qnonce" && "$qnonce" == "$rnonce" ]] || fail "nonce: asked $qnonce, got $rnonce"
verify good || fail "openssl ts -verify refused the reply: $(cat "$work/good.out")"
grep -q 'Verification: OK' "$work/good.out" || fail "$(cat "$work/good.out")"
echo "ok: granted, nonce $rnonce kept, verifies against trusted_root.json's TSA chain"

for fault in wrong-nonce wrong-imprint; do
  curl -sSf --cacert "$DIR/ca.pem" -H 'Content-Type: application/json' \
    -d "{\"tsa\": [\"$fault\"]}" "$BASE/control/faults" >/dev/null
  got=$(ask "$fault")
  [[ "$got" == 201* ]] || fail "$fault: expected a (wrong) reply, got $got"
  if verify "$fault"; then fail "$fault: openssl ts -verify accepted the reply"; fi
  want=$([[ $fault == wrong-nonce ]] && echo 'nonce mismatch' || echo 'message imprint mismatch')
  grep -q "$want" "$work/$fault.out" || fail "$fault: expected '$want', got: $(cat "$work/$fault.out")"
  echo "ok: $fault refused by openssl ($want)"
done
# The queue is spent: the next answer is good again.
ask again >/dev/null
verify again || fail "after the faults: $(cat "$work/again.out")"
echo "ok: normal answers after the queued faults"
