#include "modelsign/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/files.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"

namespace modelsign {

// What a PublicKey holds: an EVP_PKEY with only the public half, shared by its copies
// (OpenSSL's verification functions only read it).
struct PublicKey::Key {
  ossl::UniquePtr<EVP_PKEY> pkey;
};

struct PublicKeyAccess {
  static PublicKey make(ossl::UniquePtr<EVP_PKEY> pkey) {
    return PublicKey(std::make_shared<PublicKey::Key>(PublicKey::Key{std::move(pkey)}));
  }
  static EVP_PKEY* pkey(const PublicKey& key) { return key.key_ ? key.key_->pkey.get() : nullptr; }
};

EVP_PKEY* pkey_of(const PublicKey& key) { return PublicKeyAccess::pkey(key); }

std::string_view to_string(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kEcdsaP256Sha256: return "ecdsa-p256-sha256";
    case SignatureScheme::kEcdsaP384Sha384: return "ecdsa-p384-sha384";
    case SignatureScheme::kEcdsaP521Sha512: return "ecdsa-p521-sha512";
    case SignatureScheme::kRsaPssSha256: return "rsa-pss-sha256";
    case SignatureScheme::kEd25519: return "ed25519";
  }
  return "unknown";
}

bool is_model_signing_compatible(SignatureScheme s) {
  return s == SignatureScheme::kEcdsaP256Sha256 || s == SignatureScheme::kEcdsaP384Sha384 ||
         s == SignatureScheme::kEcdsaP521Sha512;
}

std::string_view hash_name(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kEcdsaP256Sha256: return "SHA256";
    case SignatureScheme::kEcdsaP384Sha384: return "SHA384";
    case SignatureScheme::kEcdsaP521Sha512: return "SHA512";
    case SignatureScheme::kRsaPssSha256: return "SHA256";
    case SignatureScheme::kEd25519: return "";
  }
  return "";
}

static Result<Bytes> digest_with(std::string_view hash, std::span<const std::uint8_t> msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = EVP_get_digestbyname(std::string(hash).c_str());
  if (md == nullptr) return fail(ErrorCode::kUnsupported, fmt::format("unknown hash {}", hash));
  if (EVP_Digest(msg.data(), msg.size(), out, &len, md, nullptr) != 1)
    return fail(openssl_error(ErrorCode::kInternal, "hashing failed"));
  return Bytes(out, out + len);
}

Result<Bytes> prehash(SignatureScheme s, std::span<const std::uint8_t> message) {
  if (s == SignatureScheme::kEd25519) return Bytes(message.begin(), message.end());
  return digest_with(hash_name(s), message);
}

Result<KeyType> parse_key_type(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "ec-p256" || n == "p-256" || n == "p256" || n == "secp256r1" || n == "prime256v1")
    return KeyType::kEcP256;
  if (n == "ec-p384" || n == "p-384" || n == "p384" || n == "secp384r1") return KeyType::kEcP384;
  if (n == "ec-p521" || n == "p-521" || n == "p521" || n == "secp521r1") return KeyType::kEcP521;
  if (n == "rsa-2048") return KeyType::kRsa2048;
  if (n == "rsa-3072") return KeyType::kRsa3072;
  if (n == "rsa-4096") return KeyType::kRsa4096;
  if (n == "ed25519") return KeyType::kEd25519;
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown key type '{}': expected one of ec-p256, ec-p384, ec-p521, "
                          "rsa-2048, rsa-3072, rsa-4096, ed25519 (or P-256, P-384, P-521)",
                          name));
}

std::string_view to_string(KeyType t) {
  switch (t) {
    case KeyType::kEcP256: return "ec-p256";
    case KeyType::kEcP384: return "ec-p384";
    case KeyType::kEcP521: return "ec-p521";
    case KeyType::kRsa2048: return "rsa-2048";
    case KeyType::kRsa3072: return "rsa-3072";
    case KeyType::kRsa4096: return "rsa-4096";
    case KeyType::kEd25519: return "ed25519";
  }
  return "unknown";
}

// ---------------------------------------------------------------- PublicKey

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  // Tolerate leading text (certtool writes a description before the block).
  auto pos = pem.find("-----BEGIN PUBLIC KEY-----");
  if (pos == std::string_view::npos)
    return fail(ErrorCode::kMalformed,
                "expected a PEM public key ('-----BEGIN PUBLIC KEY-----'), found none");
  std::string_view block = pem.substr(pos);
  ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return fail(openssl_error(ErrorCode::kMalformed, "cannot parse PEM public key"));
  return PublicKeyAccess::make(ossl::UniquePtr<EVP_PKEY>(raw));
}

Result<PublicKey> PublicKey::from_pem_file(const std::string& path) {
  auto text = read_file(path, "public key file");
  if (!text) return fail(text.error());
  auto k = from_pem(*text);
  if (!k) return fail(k.error().with_context(fmt::format("public key file '{}'", path)));
  return k;
}

Result<PublicKey> PublicKey::from_spki_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) return fail(openssl_error(ErrorCode::kMalformed, "cannot parse DER public key"));
  return PublicKeyAccess::make(ossl::UniquePtr<EVP_PKEY>(raw));
}

Result<PublicKey> public_key_from_pkey(const EVP_PKEY* pkey) {
  // Round-trip through SPKI so only the public half is kept, in a key of its own.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode public key"));
  Bytes b(der, der + len);
  OPENSSL_free(der);
  return PublicKey::from_spki_der(b);
}

static std::string curve_name(const EVP_PKEY* pkey) {
  char name[80] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) != 1)
    return "";
  return std::string(name, len);
}

Result<SignatureScheme> PublicKey::scheme() const {
  int id = EVP_PKEY_get_base_id(pkey_of(*this));
  if (id == EVP_PKEY_EC) {
    std::string c = curve_name(pkey_of(*this));
    if (c == "prime256v1" || c == "P-256") return SignatureScheme::kEcdsaP256Sha256;
    if (c == "secp384r1" || c == "P-384") return SignatureScheme::kEcdsaP384Sha384;
    if (c == "secp521r1" || c == "P-521") return SignatureScheme::kEcdsaP521Sha512;
    return fail(ErrorCode::kUnsupported,
                fmt::format("unsupported EC curve '{}': supported curves are P-256, P-384 and P-521", c));
  }
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    int bits = EVP_PKEY_get_bits(pkey_of(*this));
    if (bits < 2048 || bits > 4096)
      return fail(ErrorCode::kUnsupported,
                  fmt::format("unsupported RSA key size {} bits: supported are 2048 to 4096", bits));
    return SignatureScheme::kRsaPssSha256;
  }
  if (id == EVP_PKEY_ED25519) return SignatureScheme::kEd25519;
  return fail(ErrorCode::kUnsupported,
              fmt::format("unsupported key type '{}': supported are EC P-256, P-384, P-521 "
                          "(and, outside the model_signing format, RSA-PSS and Ed25519)",
                          OBJ_nid2sn(id)));
}

std::string PublicKey::to_pem() const {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), pkey_of(*this));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Bytes PublicKey::spki_der() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey_of(*this), &der);
  if (len <= 0) return {};
  Bytes b(der, der + len);
  OPENSSL_free(der);
  return b;
}

std::string PublicKey::hint() const { return sha256_hex(to_pem()); }

std::string PublicKey::describe() const {
  int id = EVP_PKEY_get_base_id(pkey_of(*this));
  if (id == EVP_PKEY_EC) {
    std::string c = curve_name(pkey_of(*this));
    if (c == "prime256v1") c = "P-256";
    if (c == "secp384r1") c = "P-384";
    if (c == "secp521r1") c = "P-521";
    return "EC " + c;
  }
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
    return fmt::format("RSA {}", EVP_PKEY_get_bits(pkey_of(*this)));
  if (id == EVP_PKEY_ED25519) return "Ed25519";
  return OBJ_nid2sn(id);
}

bool PublicKey::equals(const PublicKey& other) const {
  return EVP_PKEY_eq(pkey_of(*this), pkey_of(other)) == 1;
}

static Result<void> verify_impl(EVP_PKEY* pkey, const char* md_name, bool pss,
                                std::span<const std::uint8_t> message,
                                std::span<const std::uint8_t> sig) {
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md_name, nullptr, nullptr, pkey, nullptr) != 1)
    return fail(openssl_error(ErrorCode::kVerification, "cannot initialise signature verification"));
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO);
  }
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), message.data(), message.size());
  ERR_clear_error();
  if (rc != 1)
    return fail(ErrorCode::kVerification,
                "the signature does not verify with the given public key over the signed payload");
  return {};
}

Result<void> PublicKey::verify(SignatureScheme s, std::span<const std::uint8_t> message,
                               std::span<const std::uint8_t> sig) const {
  auto own = scheme();
  if (!own) return fail(own.error());
  if (*own != s)
    return fail(ErrorCode::kVerification,
                fmt::format("signature scheme {} does not match the key ({})", to_string(s),
                            to_string(*own)));
  if (s == SignatureScheme::kEd25519) return verify_impl(pkey_of(*this), nullptr, false, message, sig);
  std::string md(hash_name(s));
  return verify_impl(pkey_of(*this), md.c_str(), s == SignatureScheme::kRsaPssSha256, message, sig);
}

Result<void> PublicKey::verify_parts(SignatureScheme s, std::span<const std::uint8_t> head,
                                     std::span<const std::uint8_t> body,
                                     std::span<const std::uint8_t> sig) const {
  auto own = scheme();
  if (!own) return fail(own.error());
  if (s == SignatureScheme::kEd25519 || *own != s) {
    Bytes joined(head.begin(), head.end());
    joined.insert(joined.end(), body.begin(), body.end());
    return verify(s, joined, sig);
  }
  std::string md(hash_name(s));
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md.c_str(), nullptr, nullptr, pkey_of(*this), nullptr) != 1)
    return fail(openssl_error(ErrorCode::kVerification, "cannot initialise signature verification"));
  if (s == SignatureScheme::kRsaPssSha256) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO);
  }
  int rc = EVP_DigestVerifyUpdate(ctx.get(), head.data(), head.size());
  if (rc == 1) rc = EVP_DigestVerifyUpdate(ctx.get(), body.data(), body.size());
  if (rc == 1) rc = EVP_DigestVerifyFinal(ctx.get(), sig.data(), sig.size());
  ERR_clear_error();
  if (rc != 1)
    return fail(ErrorCode::kVerification,
                "the signature does not verify with the given public key over the signed payload");
  return {};
}

Result<void> PublicKey::verify_with_hash(std::string_view hash, std::span<const std::uint8_t> message,
                                         std::span<const std::uint8_t> sig) const {
  std::string md(hash);
  return verify_impl(pkey_of(*this), md.c_str(), false, message, sig);
}

// ---------------------------------------------------------------- ECDSA encodings

Result<Bytes> ecdsa_rs_to_der(std::span<const std::uint8_t> r, std::span<const std::uint8_t> s) {
  ossl::UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* br = BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr);
  BIGNUM* bs = BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr);
  if (br == nullptr || bs == nullptr || ECDSA_SIG_set0(sig.get(), br, bs) != 1) {
    BN_free(br);
    BN_free(bs);
    return fail(openssl_error(ErrorCode::kInternal, "cannot build ECDSA signature"));
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode ECDSA signature"));
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Result<Bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
  if (raw.empty() || raw.size() % 2 != 0)
    return fail(ErrorCode::kBackend,
                fmt::format("expected a raw ECDSA signature r||s of even length, got {} bytes", raw.size()));
  size_t half = raw.size() / 2;
  return ecdsa_rs_to_der(raw.first(half), raw.subspan(half));
}

Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Result<Bytes> sha256(std::span<const std::uint8_t> data) { return digest_with("SHA256", data); }

std::string sha256_hex(std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return to_hex(std::span<const std::uint8_t>(out, len));
}

Error openssl_error(ErrorCode code, std::string_view what) {
  unsigned long e = ERR_peek_last_error();
  char buf[256] = {0};
  std::string reason;
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
    reason = buf;
  }
  ERR_clear_error();
  if (reason.empty()) return Error(code, std::string(what));
  return Error(code, std::string(what), reason, e);
}

}  // namespace modelsign
