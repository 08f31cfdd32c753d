#include "pkcs11/p11_keys.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include "crypto/openssl_util.h"

namespace modelsign::pkcs11 {

namespace {

using ossl::UniquePtr;

// The point inside CKA_EC_POINT: PKCS#11 says a DER OCTET STRING, some tokens give the
// bare point. `raw_size` is the bare point's size for the curve.
Result<Bytes> unwrap_point(const Bytes& v, std::size_t raw_size) {
  if (v.size() == raw_size) return v;
  const unsigned char* p = v.data();
  UniquePtr<ASN1_OCTET_STRING> os(d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(v.size())));
  if (!os || p != v.data() + v.size())
    return fail(ErrorCode::kMalformed,
                fmt::format("CKA_EC_POINT of {} bytes is neither a {}-byte point nor a DER OCTET "
                            "STRING holding one",
                            v.size(), raw_size));
  const unsigned char* d = ASN1_STRING_get0_data(os.get());
  return Bytes(d, d + ASN1_STRING_length(os.get()));
}

Result<PublicKey> spki_from(X509_PUBKEY* pk) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(pk, &der);
  if (len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode a public key"));
  Bytes b(der, der + len);
  OPENSSL_free(der);
  return PublicKey::from_spki_der(b);
}

Bytes oid_der(int nid) {
  const ASN1_OBJECT* o = OBJ_nid2obj(nid);
  int len = i2d_ASN1_OBJECT(o, nullptr);
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  i2d_ASN1_OBJECT(o, &p);
  return out;
}

}  // namespace

Result<PublicKey> ec_public_key(const Bytes& ec_params, const Bytes& ec_point) {
  const unsigned char* p = ec_params.data();
  UniquePtr<ASN1_OBJECT> curve(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(ec_params.size())));
  if (!curve)
    return fail(ErrorCode::kUnsupported,
                "the key's CKA_EC_PARAMS is not a named curve: only P-256, P-384 and P-521 "
                "are supported");
  int nid = OBJ_obj2nid(curve.get());
  std::size_t raw = 0;
  if (nid == NID_X9_62_prime256v1) raw = 65;
  else if (nid == NID_secp384r1) raw = 97;
  else if (nid == NID_secp521r1) raw = 133;
  else
    return fail(ErrorCode::kUnsupported,
                fmt::format("Unsupported key for curve '{}': supported curves are P-256, P-384 "
                            "and P-521",
                            nid == NID_undef ? "unknown" : OBJ_nid2sn(nid)));
  auto point = unwrap_point(ec_point, raw);
  if (!point) return fail(point.error());
  UniquePtr<X509_PUBKEY> pk(X509_PUBKEY_new());
  auto* enc = static_cast<unsigned char*>(OPENSSL_memdup(point->data(), point->size()));
  if (!pk || enc == nullptr ||
      X509_PUBKEY_set0_param(pk.get(), OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                             curve.get(), enc, static_cast<int>(point->size())) != 1) {
    OPENSSL_free(enc);
    return fail(openssl_error(ErrorCode::kInternal, "cannot build an EC public key"));
  }
  curve.release();  // owned by pk now
  return spki_from(pk.get());
}

Result<PublicKey> ed25519_public_key(const Bytes& ec_point) {
  auto point = unwrap_point(ec_point, 32);
  if (!point) return fail(point.error());
  UniquePtr<X509_PUBKEY> pk(X509_PUBKEY_new());
  auto* enc = static_cast<unsigned char*>(OPENSSL_memdup(point->data(), point->size()));
  if (!pk || enc == nullptr ||
      X509_PUBKEY_set0_param(pk.get(), OBJ_nid2obj(NID_ED25519), V_ASN1_UNDEF, nullptr, enc,
                             static_cast<int>(point->size())) != 1) {
    OPENSSL_free(enc);
    return fail(openssl_error(ErrorCode::kInternal, "cannot build an Ed25519 public key"));
  }
  return spki_from(pk.get());
}

Result<PublicKey> rsa_public_key(const Bytes& modulus, const Bytes& exponent) {
  UniquePtr<BIGNUM> n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  UniquePtr<BIGNUM> e(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
    return fail(openssl_error(ErrorCode::kInternal, "cannot build an RSA public key"));
  UniquePtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return fail(openssl_error(ErrorCode::kMalformed, "the token's RSA modulus/exponent do not form a key"));
  UniquePtr<EVP_PKEY> pkey(raw);
  return public_key_from_pkey(pkey.get());
}

// CKA_NSS_DB (0xD5A0DB00 in NSS's pkcs11n.h): the public value NSS's softoken stores
// with a private key.
constexpr CK_ATTRIBUTE_TYPE kCkaNssDb = 0xD5A0DB00UL;

Result<PublicKey> public_key_from_object(const Session& s, CK_OBJECT_HANDLE o) {
  auto cls = get_ulong(s, o, CKA_CLASS);
  if (!cls) return fail(ErrorCode::kBackend, "cannot read the object's CKA_CLASS");
  if (*cls == CKO_CERTIFICATE) {
    auto der = get_attr(s, o, CKA_VALUE);
    if (!der) return fail(ErrorCode::kBackend, "cannot read the certificate's CKA_VALUE");
    const unsigned char* p = der->data();
    UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
    if (!cert) return fail(openssl_error(ErrorCode::kMalformed, "the certificate object does not parse as X.509"));
    return public_key_from_pkey(X509_get0_pubkey(cert.get()));
  }
  auto type = get_ulong(s, o, CKA_KEY_TYPE);
  if (!type) return fail(ErrorCode::kBackend, "cannot read the key's CKA_KEY_TYPE");
  const char* what = *cls == CKO_PRIVATE_KEY ? "private key" : "public key";
  if (*type == CKK_EC) {
    auto params = get_attr(s, o, CKA_EC_PARAMS);
    auto point = get_attr(s, o, CKA_EC_POINT);
    // NSS's softoken keeps an EC private key's public point only in its vendor attribute
    // CKA_NSS_DB; without it a public-key object that replaced the genuine one (softoken
    // keeps one public key per CKA_ID) would be the only candidate, unchallenged.
    if (!point && *cls == CKO_PRIVATE_KEY) point = get_attr(s, o, kCkaNssDb);
    if (!params || !point)
      return fail(ErrorCode::kNotFound,
                  fmt::format("the EC {} has no readable CKA_EC_PARAMS/CKA_EC_POINT", what));
    return ec_public_key(*params, *point);
  }
  if (*type == CKK_EC_EDWARDS) {
    auto point = get_attr(s, o, CKA_EC_POINT);
    if (!point)
      return fail(ErrorCode::kNotFound,
                  fmt::format("the Ed25519 {} has no readable CKA_EC_POINT", what));
    return ed25519_public_key(*point);
  }
  if (*type == CKK_RSA) {
    auto n = get_attr(s, o, CKA_MODULUS);
    auto e = get_attr(s, o, CKA_PUBLIC_EXPONENT);
    if (!n || !e)
      return fail(ErrorCode::kNotFound,
                  fmt::format("the RSA {} has no readable CKA_MODULUS/CKA_PUBLIC_EXPONENT", what));
    return rsa_public_key(*n, *e);
  }
  return fail(ErrorCode::kUnsupported,
              fmt::format("unsupported key type {}: supported are EC P-256/P-384/P-521, RSA "
                          "2048-4096 and Ed25519",
                          key_type_name(*type)));
}

std::string describe_object_key(const Session& s, CK_OBJECT_HANDLE o) {
  auto cls = get_ulong(s, o, CKA_CLASS);
  if (cls && *cls == CKO_CERTIFICATE) {
    auto k = public_key_from_object(s, o);
    return k ? "X.509, " + k->describe() : "X.509";
  }
  auto type = get_ulong(s, o, CKA_KEY_TYPE);
  if (!type) return "unknown";
  if (*type == CKK_EC) {
    auto params = get_attr(s, o, CKA_EC_PARAMS);
    if (params) {
      const unsigned char* p = params->data();
      UniquePtr<ASN1_OBJECT> curve(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params->size())));
      int nid = curve ? OBJ_obj2nid(curve.get()) : NID_undef;
      if (nid == NID_X9_62_prime256v1) return "EC P-256";
      if (nid == NID_secp384r1) return "EC P-384";
      if (nid == NID_secp521r1) return "EC P-521";
      if (nid != NID_undef) return fmt::format("EC {}", OBJ_nid2sn(nid));
    }
    return "EC";
  }
  if (*type == CKK_EC_EDWARDS) return "Ed25519";
  if (*type == CKK_RSA) {
    if (auto bits = get_ulong(s, o, CKA_MODULUS_BITS)) return fmt::format("RSA {}", *bits);
    if (auto n = get_attr(s, o, CKA_MODULUS)) return fmt::format("RSA {}", n->size() * 8);
    return "RSA";
  }
  return key_type_name(*type);
}

Bytes ec_params_p256() { return oid_der(NID_X9_62_prime256v1); }
Bytes ec_params_p384() { return oid_der(NID_secp384r1); }
Bytes ec_params_p521() { return oid_der(NID_secp521r1); }
Bytes ec_params_ed25519() { return oid_der(NID_ED25519); }

}  // namespace modelsign::pkcs11
