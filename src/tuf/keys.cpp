#include "tuf/keys.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bundle/limits.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "modelsign/crypto.h"
#include "tuf/errors.h"

namespace modelsign::tuf {

namespace {

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) { return ossl::UniquePtr<EVP_PKEY>(p); }

Result<std::string> spki_of(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pkey, &der);
  if (n <= 0) return fail(ErrorCode::kInternal, "cannot encode a TUF public key as DER");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

bool is_p256(EVP_PKEY* pkey) {
  if (!EVP_PKEY_is_a(pkey, "EC")) return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof group, &len) != 1) return false;
  return std::string_view(group, len) == "prime256v1";
}

Result<std::shared_ptr<EVP_PKEY>> ecdsa_key(std::string_view pub, std::string_view where) {
  EVP_PKEY* raw = nullptr;
  if (pub.starts_with("-----BEGIN PUBLIC KEY-----")) {
    ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(pub.data(), static_cast<int>(pub.size())));
    if (!bio) return fail(ErrorCode::kInternal, "out of memory reading a TUF key");
    raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  } else {
    auto point = from_hex(pub);
    if (!point || point->size() != 65 || (*point)[0] != 0x04)
      return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                      fmt::format("{}: an ECDSA P-256 key must be PEM or a hex uncompressed point "
                                  "(130 hex digits starting 04); found {} characters",
                                  where, pub.size()));
    // SubjectPublicKeyInfo header for id-ecPublicKey on prime256v1, then the point: lets
    // OpenSSL's DER decoder check that the point is on the curve.
    static constexpr unsigned char kHeader[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                                0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                                0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    Bytes der(std::begin(kHeader), std::end(kHeader));
    der.insert(der.end(), point->begin(), point->end());
    const unsigned char* p = der.data();
    raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  }
  ERR_clear_error();
  if (raw == nullptr)
    return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                    fmt::format("{}: the public key does not decode as an EC key", where));
  auto key = share(raw);
  if (!is_p256(raw))
    return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                    fmt::format("{}: scheme ecdsa-sha2-nistp256 needs a P-256 key; found another key type or curve",
                                where));
  return key;
}

}  // namespace

Result<Key> parse_key(std::string_view keyid, const bundle::Json& value) {
  std::string where = fmt::format("key {}", keyid);
  if (!value.is_object())
    return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed, where + ": must be an object");
  Key k;
  k.keyid = std::string(keyid);
  auto keytype = bundle::get_string(value, {"keytype"}, where);
  auto scheme = bundle::get_string(value, {"scheme"}, where);
  auto keyval = bundle::get_object(value, {"keyval"}, where);
  if (!keytype || !scheme || !keyval) {
    Error e = !keytype ? keytype.error() : !scheme ? scheme.error() : keyval.error();
    return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed, e.message);
  }
  k.keytype = *keytype;
  k.scheme = *scheme;
  const bool ecdsa = (k.keytype == "ecdsa" || k.keytype == "ecdsa-sha2-nistp256") &&
                     k.scheme == "ecdsa-sha2-nistp256";
  const bool ed25519 = k.keytype == "ed25519" && k.scheme == "ed25519";
  if (!ecdsa && !ed25519) return k;  // e.g. RSA: kept so the keyid resolves, never counts
  auto pub = bundle::get_string(**keyval, {"public"}, where + ".keyval");
  if (!pub) return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed, pub.error().message);
  if (pub->size() > limits::kMaxTufPublicKeyBytes)
    return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                    fmt::format("{}: public key is {} bytes; the limit is {}", where, pub->size(),
                                limits::kMaxTufPublicKeyBytes));
  if (ecdsa) {
    auto key = ecdsa_key(*pub, where);
    if (!key) return std::unexpected(key.error());
    k.pkey = *key;
    k.kind = KeyKind::kEcdsaP256;
  } else {
    auto raw = from_hex(*pub);
    if (!raw || raw->size() != 32)
      return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                      fmt::format("{}: an ed25519 key must be 64 hex digits; found {} characters", where,
                                  pub->size()));
    EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size());
    ERR_clear_error();
    if (p == nullptr)
      return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed, where + ": invalid ed25519 key");
    k.pkey = share(p);
    k.kind = KeyKind::kEd25519;
  }
  auto spki = spki_of(k.pkey.get());
  if (!spki) return std::unexpected(spki.error());
  k.spki_der = std::move(*spki);
  return k;
}

bool verify_signature(const Key& key, std::string_view sig_hex, std::string_view message) {
  if (key.kind == KeyKind::kUnsupported || !key.pkey) return false;
  if (sig_hex.size() > 512) return false;  // a DER P-256 signature is at most 72 bytes
  auto sig = from_hex(sig_hex);
  if (!sig || sig->empty()) return false;
  if (key.kind == KeyKind::kEd25519 && sig->size() != 64) return false;
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  const char* md = key.kind == KeyKind::kEcdsaP256 ? "SHA256" : nullptr;
  bool ok = EVP_DigestVerifyInit_ex(ctx.get(), nullptr, md, nullptr, nullptr, key.pkey.get(), nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), sig->data(), sig->size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace modelsign::tuf
