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
#include "crypto/openssl_util.h"

namespace modelsign {

void EvpPkeyFree::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

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
  ossl::BioPtr bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return fail(openssl_error(ErrorCode::kMalformed, "cannot parse PEM public key"));
  return PublicKey(EvpPkeyPtr(raw));
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
  return PublicKey(EvpPkeyPtr(raw));
}

Result<PublicKey> PublicKey::from_pkey(const EVP_PKEY* pkey) {
  // Round-trip through SPKI so only the public half is kept.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode public key"));
  Bytes b(der, der + len);
  OPENSSL_free(der);
  return from_spki_der(b);
}

PublicKey::PublicKey(const PublicKey& other) {
  EVP_PKEY_up_ref(other.pkey_.get());
  pkey_.reset(other.pkey_.get());
}

PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) {
    EVP_PKEY_up_ref(other.pkey_.get());
    pkey_.reset(other.pkey_.get());
  }
  return *this;
}

static std::string curve_name(const EVP_PKEY* pkey) {
  char name[80] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) != 1)
    return "";
  return std::string(name, len);
}

Result<SignatureScheme> PublicKey::scheme() const {
  int id = EVP_PKEY_get_base_id(pkey_.get());
  if (id == EVP_PKEY_EC) {
    std::string c = curve_name(pkey_.get());
    if (c == "prime256v1" || c == "P-256") return SignatureScheme::kEcdsaP256Sha256;
    if (c == "secp384r1" || c == "P-384") return SignatureScheme::kEcdsaP384Sha384;
    if (c == "secp521r1" || c == "P-521") return SignatureScheme::kEcdsaP521Sha512;
    return fail(ErrorCode::kUnsupported,
                fmt::format("unsupported EC curve '{}': supported curves are P-256, P-384 and P-521", c));
  }
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    int bits = EVP_PKEY_get_bits(pkey_.get());
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
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), pkey_.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Bytes PublicKey::spki_der() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey_.get(), &der);
  if (len <= 0) return {};
  Bytes b(der, der + len);
  OPENSSL_free(der);
  return b;
}

std::string PublicKey::hint() const { return sha256_hex(to_pem()); }

std::string PublicKey::describe() const {
  int id = EVP_PKEY_get_base_id(pkey_.get());
  if (id == EVP_PKEY_EC) {
    std::string c = curve_name(pkey_.get());
    if (c == "prime256v1") c = "P-256";
    if (c == "secp384r1") c = "P-384";
    if (c == "secp521r1") c = "P-521";
    return "EC " + c;
  }
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
    return fmt::format("RSA {}", EVP_PKEY_get_bits(pkey_.get()));
  if (id == EVP_PKEY_ED25519) return "Ed25519";
  return OBJ_nid2sn(id);
}

bool PublicKey::equals(const PublicKey& other) const {
  return EVP_PKEY_eq(pkey_.get(), other.pkey_.get()) == 1;
}

static Result<void> verify_impl(EVP_PKEY* pkey, const char* md_name, bool pss,
                                std::span<const std::uint8_t> message,
                                std::span<const std::uint8_t> sig) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
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
  if (s == SignatureScheme::kEd25519) return verify_impl(pkey_.get(), nullptr, false, message, sig);
  std::string md(hash_name(s));
  return verify_impl(pkey_.get(), md.c_str(), s == SignatureScheme::kRsaPssSha256, message, sig);
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
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md.c_str(), nullptr, nullptr, pkey_.get(), nullptr) != 1)
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
  return verify_impl(pkey_.get(), md.c_str(), false, message, sig);
}

// ---------------------------------------------------------------- ECDSA encodings

Result<Bytes> ecdsa_rs_to_der(std::span<const std::uint8_t> r, std::span<const std::uint8_t> s) {
  ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
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

// ---------------------------------------------------------------- encodings

std::string to_hex(std::span<const std::uint8_t> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0)
    return fail(ErrorCode::kMalformed, fmt::format("hex string of odd length {}", hex.size()));
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(ErrorCode::kMalformed, "invalid character in hex string");
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> data) {
  std::string out;
  out.resize(4 * ((data.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

namespace {

// Base64 digit values; 0xff for every byte that is not one. '+' '/' and '-' '_' are told
// apart by kBase64Alphabet: 1 for the standard alphabet's, 2 for the URL-safe one's.
constexpr auto kBase64Value = [] {
  std::array<std::uint32_t, 256> t{};
  t.fill(0xff);
  for (std::uint32_t i = 0; i < 26; ++i) {
    t['A' + i] = i;
    t['a' + i] = 26 + i;
  }
  for (std::uint32_t i = 0; i < 10; ++i) t['0' + i] = 52 + i;
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}();
constexpr auto kBase64Alphabet = [] {
  std::array<std::uint32_t, 256> t{};
  t['+'] = t['/'] = 1;
  t['-'] = t['_'] = 2;
  return t;
}();

// The common case of base64_decode, a group of four digits at a time: nullopt for any
// input base64_decode_checked would refuse, which then says why.
std::optional<Bytes> base64_decode_fast(std::string_view body) {
  if (body.size() % 4 == 1) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(body.data());
  const std::size_t groups = body.size() / 4, rest = body.size() % 4;
  Bytes out(groups * 3 + (rest == 0 ? 0 : rest - 1));
  std::uint32_t bad = 0, alphabets = 0;
  std::uint8_t* o = out.data();
  for (std::size_t g = 0; g < groups; ++g, in += 4, o += 3) {
    const std::uint32_t a = kBase64Value[in[0]], b = kBase64Value[in[1]], c = kBase64Value[in[2]],
                        d = kBase64Value[in[3]];
    bad |= a | b | c | d;
    alphabets |= kBase64Alphabet[in[0]] | kBase64Alphabet[in[1]] | kBase64Alphabet[in[2]] | kBase64Alphabet[in[3]];
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
  }
  if (rest > 0) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < rest; ++i) {
      const std::uint32_t x = kBase64Value[in[i]];
      bad |= x;
      alphabets |= kBase64Alphabet[in[i]];
      v = (v << 6) | x;
    }
    // 2 digits carry one byte (and 4 spare bits), 3 digits two bytes (and 2).
    if (rest == 2) o[0] = static_cast<std::uint8_t>(v >> 4);
    else {
      o[0] = static_cast<std::uint8_t>(v >> 10);
      o[1] = static_cast<std::uint8_t>(v >> 2);
    }
  }
  if ((bad & 0x80) != 0 || alphabets == 3) return std::nullopt;
  return out;
}

}  // namespace

// Exactly what the proto3 JSON mapping allows for `bytes`: the standard (+/) or the
// URL-safe (-_) alphabet, with or without padding. Refused: a mix of both alphabets in
// one string, '=' anywhere but at the end, padding that does not complete the last
// group, a length that leaves one lone character, whitespace and any other byte.
static Result<Bytes> base64_decode_checked(std::string_view text);

Result<Bytes> base64_decode(std::string_view text) {
  std::size_t pad = 0;
  while (pad < text.size() && pad < 3 && text[text.size() - 1 - pad] == '=') ++pad;
  const std::size_t body = text.size() - pad;
  if (pad <= 2 && (pad == 0 || (body + pad) % 4 == 0))
    if (auto out = base64_decode_fast(text.substr(0, body))) return std::move(*out);
  return base64_decode_checked(text);  // refuses it, saying why (or decodes what the fast path left)
}

// One digit at a time, so that the first fault is the one named.
static Result<Bytes> base64_decode_checked(std::string_view text) {
  auto bad = [&](std::string why) {
    return fail(ErrorCode::kMalformed,
                fmt::format("invalid base64 ({} characters): {}; expected the standard (A-Z a-z 0-9 + /) "
                            "or URL-safe (- _) alphabet, padded with '=' or unpadded",
                            text.size(), why));
  };
  std::size_t pad = 0;
  while (pad < text.size() && pad < 3 && text[text.size() - 1 - pad] == '=') ++pad;
  const std::size_t body = text.size() - pad;
  Bytes out;
  out.reserve(body / 4 * 3 + (body % 4 == 0 ? 0 : body % 4 - 1));
  bool standard = false, url_safe = false;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < body; ++i) {
    const char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '/') { v = c == '+' ? 62 : 63; standard = true; }
    else if (c == '-' || c == '_') { v = c == '-' ? 62 : 63; url_safe = true; }
    else if (c == '=') return bad(fmt::format("'=' at position {}, before the end", i));
    else return bad(fmt::format("byte 0x{:02x} at position {} is not a base64 character", static_cast<unsigned char>(c), i));
    if (standard && url_safe) return bad("it mixes the standard (+/) and URL-safe (-_) alphabets");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2) return bad("more than two '=' at the end");
  if (body % 4 == 1) return bad("the length leaves a single character in the last group");
  if (pad > 0 && (body + pad) % 4 != 0)
    return bad(fmt::format("{} '=' do not complete the last group of four", pad));
  return out;
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
