// Public keys, signature schemes and key types: what the API needs, and nothing of the
// crypto backend (OpenSSL 3, behind src/crypto/). Encodings, digests and the backend's
// own types are internal (src/crypto/encoding.h, digest.h, ecdsa.h, openssl_util.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/error.h"

namespace modelsign {

using Bytes = std::vector<std::uint8_t>;

// The bytes of `s` (e.g. a message to sign given as text).
Bytes to_bytes(std::string_view s);

// The signature schemes modelsign can produce. Only the ECDSA ones are part of the
// model_signing format; the others are an extended profile only modelsign verifies.
enum class SignatureScheme {
  kEcdsaP256Sha256,
  kEcdsaP384Sha384,
  kEcdsaP521Sha512,
  kRsaPssSha256,  // RSA-PSS, MGF1-SHA256, salt = 32 bytes (verification accepts any salt)
  kEd25519,       // pure Ed25519 over the whole message
};

std::string_view to_string(SignatureScheme s);
// Whether upstream model_signing can verify signatures of this scheme.
bool is_model_signing_compatible(SignatureScheme s);

// Key types that keygen can create, shared by every provider.
enum class KeyType { kEcP256, kEcP384, kEcP521, kRsa2048, kRsa3072, kRsa4096, kEd25519 };
// Accepts "ec-p256", "ec-p384", "ec-p521", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"
// and the curve aliases "P-256", "P-384", "P-521" (case-insensitive).
Result<KeyType> parse_key_type(std::string_view name);
std::string_view to_string(KeyType t);

// An immutable public key. Copies share the backend's key object.
class PublicKey {
 public:
  // PEM SubjectPublicKeyInfo; any text before the PEM block is skipped.
  static Result<PublicKey> from_pem(std::string_view pem);
  static Result<PublicKey> from_pem_file(const std::string& path);
  static Result<PublicKey> from_spki_der(std::span<const std::uint8_t> der);

  PublicKey(const PublicKey&) = default;
  PublicKey& operator=(const PublicKey&) = default;
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;
  ~PublicKey() = default;

  // The scheme this key signs with (EC curve decides the hash); kUnsupported otherwise.
  Result<SignatureScheme> scheme() const;
  // Canonical PEM (64-column base64, LF, final LF), exactly as OpenSSL writes it.
  std::string to_pem() const;
  Bytes spki_der() const;
  // model_signing key hint: lowercase hex SHA-256 of to_pem().
  std::string hint() const;
  // Human description, e.g. "EC P-384".
  std::string describe() const;
  bool equals(const PublicKey& other) const;

  // Verify `sig` (wire encoding) over `message` with `scheme`.
  Result<void> verify(SignatureScheme scheme, std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> sig) const;
  // The same over the concatenation head || body, without building it (a DSSE PAE is a
  // short header before a payload that may be a hundred megabytes). Ed25519 signs the
  // whole message in one pass, so it gets a joined copy.
  Result<void> verify_parts(SignatureScheme scheme, std::span<const std::uint8_t> head,
                            std::span<const std::uint8_t> body, std::span<const std::uint8_t> sig) const;
  // Verify over a message hashed with an explicit digest (legacy compat PAE).
  Result<void> verify_with_hash(std::string_view hash, std::span<const std::uint8_t> message,
                                std::span<const std::uint8_t> sig) const;

 private:
  struct Key;  // the backend's key object (src/crypto/crypto.cpp)
  friend struct PublicKeyAccess;  // src/crypto: pkey_of, public_key_from_pkey
  explicit PublicKey(std::shared_ptr<const Key> key) : key_(std::move(key)) {}
  std::shared_ptr<const Key> key_;
};

}  // namespace modelsign
