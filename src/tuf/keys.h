// TUF public keys (ECDSA P-256 and Ed25519, as securesystemslib and Sigstore write them)
// and signature verification with OpenSSL.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "bundle/json.h"
#include "modelsign/error.h"

namespace modelsign::tuf {

enum class KeyKind { kUnsupported, kEcdsaP256, kEd25519 };

struct Key {
  std::string keyid;
  std::string keytype;
  std::string scheme;
  KeyKind kind = KeyKind::kUnsupported;
  std::shared_ptr<EVP_PKEY> pkey;  // null when kind is kUnsupported
  std::string spki_der;            // identity of the key material: one key counts once
};

// Parses one entry of a "keys" object. Accepted: keytype "ecdsa" or "ecdsa-sha2-nistp256"
// with scheme "ecdsa-sha2-nistp256" and keyval.public as PEM SubjectPublicKeyInfo or a hex
// uncompressed point (04 || X || Y); keytype and scheme "ed25519" with a hex 32-byte key.
// Any other well-formed key type parses as kUnsupported: its signatures never count.
Result<Key> parse_key(std::string_view keyid, const bundle::Json& value);

// Verifies a hex signature (DER ECDSA, raw Ed25519) over `message`. False for any
// signature that does not verify, including malformed hex; never an error.
bool verify_signature(const Key& key, std::string_view sig_hex, std::string_view message);

}  // namespace modelsign::tuf
