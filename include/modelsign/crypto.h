// Public keys, signature schemes and the small crypto helpers every provider needs.
// All crypto goes through OpenSSL 3.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/error.h"

namespace modelsign {

using Bytes = std::vector<std::uint8_t>;

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

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
// OpenSSL digest name for the scheme's hash ("SHA256", ...); empty for Ed25519.
std::string_view hash_name(SignatureScheme s);
// Hash a message with the scheme's hash (Ed25519: returns the message unchanged).
Result<Bytes> prehash(SignatureScheme s, std::span<const std::uint8_t> message);

// Key types that keygen can create, shared by every provider.
enum class KeyType { kEcP256, kEcP384, kEcP521, kRsa2048, kRsa3072, kRsa4096, kEd25519 };
// Accepts "ec-p256", "ec-p384", "ec-p521", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"
// and the curve aliases "P-256", "P-384", "P-521" (case-insensitive).
Result<KeyType> parse_key_type(std::string_view name);
std::string_view to_string(KeyType t);

// An immutable public key (owns an EVP_PKEY).
class PublicKey {
 public:
  // PEM SubjectPublicKeyInfo; any text before the PEM block is skipped.
  static Result<PublicKey> from_pem(std::string_view pem);
  static Result<PublicKey> from_pem_file(const std::string& path);
  static Result<PublicKey> from_spki_der(std::span<const std::uint8_t> der);
  // Copies the public half of `pkey` (through its SubjectPublicKeyInfo); the caller
  // keeps `pkey`, which may be borrowed (X509_get0_pubkey) or a private key.
  static Result<PublicKey> from_pkey(const EVP_PKEY* pkey);

  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
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

  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  explicit PublicKey(EvpPkeyPtr p) : pkey_(std::move(p)) {}
  EvpPkeyPtr pkey_;
};

// ECDSA encodings: raw r||s (PKCS#11 CKM_ECDSA, TPM) <-> DER ECDSA-Sig-Value.
Result<Bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);
Result<Bytes> ecdsa_rs_to_der(std::span<const std::uint8_t> r, std::span<const std::uint8_t> s);

// Encoding helpers.
std::string to_hex(std::span<const std::uint8_t> data);
Result<Bytes> from_hex(std::string_view hex);
std::string base64_encode(std::span<const std::uint8_t> data);
Result<Bytes> base64_decode(std::string_view text);
Bytes to_bytes(std::string_view s);
Result<Bytes> sha256(std::span<const std::uint8_t> data);
std::string sha256_hex(std::string_view data);

// The OpenSSL error queue as an Error (clears the queue).
Error openssl_error(ErrorCode code, std::string_view what);

}  // namespace modelsign
