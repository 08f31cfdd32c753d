#include "tpm2/keyfile.h"

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include <cctype>
#include <cstdint>
#include <fmt/format.h>
#include <memory>

#include "crypto/openssl_util.h"
#include "modelsign/crypto.h"

namespace modelsign::tpm2 {

namespace {

// TPMKey ::= SEQUENCE {
//   type        OBJECT IDENTIFIER,
//   emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
//   policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
//   secret      [2] EXPLICIT OCTET STRING OPTIONAL,
//   authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
//   description [4] EXPLICIT UTF8String OPTIONAL,
//   rsaParent   [5] EXPLICIT BOOLEAN OPTIONAL,
//   parent      INTEGER,
//   pubkey      OCTET STRING,   -- TPM2B_PUBLIC, marshalled
//   privkey     OCTET STRING }  -- TPM2B_PRIVATE, marshalled
// Policies are parsed generically: they are only detected, to refuse such keys clearly.
struct TpmKeyAsn1 {
  ASN1_OBJECT* type;
  ASN1_BOOLEAN empty_auth;
  STACK_OF(ASN1_TYPE) * policy;
  ASN1_OCTET_STRING* secret;
  STACK_OF(ASN1_TYPE) * auth_policy;
  ASN1_UTF8STRING* description;
  ASN1_BOOLEAN rsa_parent;
  ASN1_INTEGER* parent;
  ASN1_OCTET_STRING* pubkey;
  ASN1_OCTET_STRING* privkey;
};

// OpenSSL's template macros are C: they cast the C way.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
ASN1_SEQUENCE(TpmKeyAsn1) = {
    ASN1_SIMPLE(TpmKeyAsn1, type, ASN1_OBJECT),
    ASN1_EXP_OPT(TpmKeyAsn1, empty_auth, ASN1_BOOLEAN, 0),
    ASN1_EXP_OPT(TpmKeyAsn1, policy, ASN1_SEQUENCE_ANY, 1),
    ASN1_EXP_OPT(TpmKeyAsn1, secret, ASN1_OCTET_STRING, 2),
    ASN1_EXP_OPT(TpmKeyAsn1, auth_policy, ASN1_SEQUENCE_ANY, 3),
    ASN1_EXP_OPT(TpmKeyAsn1, description, ASN1_UTF8STRING, 4),
    ASN1_EXP_OPT(TpmKeyAsn1, rsa_parent, ASN1_BOOLEAN, 5),
    ASN1_SIMPLE(TpmKeyAsn1, parent, ASN1_INTEGER),
    ASN1_SIMPLE(TpmKeyAsn1, pubkey, ASN1_OCTET_STRING),
    ASN1_SIMPLE(TpmKeyAsn1, privkey, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(TpmKeyAsn1)

IMPLEMENT_ASN1_FUNCTIONS(TpmKeyAsn1)
#pragma GCC diagnostic pop

}  // namespace
}  // namespace modelsign::tpm2

namespace modelsign::ossl {
MODELSIGN_OSSL_DELETER(tpm2::TpmKeyAsn1, tpm2::TpmKeyAsn1_free);
}  // namespace modelsign::ossl

namespace modelsign::tpm2 {
namespace {

using ossl::UniquePtr;

constexpr const char* kPemName = "TSS2 PRIVATE KEY";
constexpr const char* kOidLoadable = "2.23.133.10.1.3";
constexpr const char* kOidImportable = "2.23.133.10.1.4";
constexpr const char* kOidSealed = "2.23.133.10.1.5";

bool present_true(ASN1_BOOLEAN b) { return b != -1 && b != 0; }

}  // namespace

bool looks_like_tss2_pem(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) ++i;
  return text.substr(i).starts_with(kTss2PemHeader);
}

Result<KeyFile> parse_key_file(std::string_view pem) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  char* name_raw = nullptr;
  char* header_raw = nullptr;
  unsigned char* der_raw = nullptr;
  long der_len = 0;
  int ok = PEM_read_bio(bio.get(), &name_raw, &header_raw, &der_raw, &der_len);
  UniquePtr<char> name(name_raw), header(header_raw);
  UniquePtr<unsigned char> der(der_raw);
  if (ok != 1 || std::string_view(name.get()) != kPemName)
    return fail(openssl_error(ErrorCode::kMalformed,
                              "expected a PEM block '-----BEGIN TSS2 PRIVATE KEY-----', found "
                              "none that decodes"));

  const unsigned char* p = der.get();
  UniquePtr<TpmKeyAsn1> key(d2i_TpmKeyAsn1(nullptr, &p, der_len));
  if (!key || p != der.get() + der_len)
    return fail(openssl_error(ErrorCode::kMalformed,
                              "the TSS2 PRIVATE KEY is not a valid TPMKey ASN.1 structure"));

  char oid[64] = {0};
  OBJ_obj2txt(oid, sizeof(oid), key->type, 1);
  std::string_view type(oid);
  if (type == kOidImportable)
    return fail(ErrorCode::kUnsupported,
                "the TSS2 key file holds an importable key (2.23.133.10.1.4), which must first "
                "be imported into this TPM (tpm2_import) before it can sign");
  if (type == kOidSealed)
    return fail(ErrorCode::kUnsupported,
                "the TSS2 key file holds sealed data (2.23.133.10.1.5), not a signing key");
  if (type != kOidLoadable)
    return fail(ErrorCode::kMalformed,
                fmt::format("the TSS2 key file has type {}, expected a loadable key ({})", type,
                            kOidLoadable));
  if ((key->policy != nullptr && sk_ASN1_TYPE_num(key->policy) > 0) ||
      (key->auth_policy != nullptr && sk_ASN1_TYPE_num(key->auth_policy) > 0))
    return fail(ErrorCode::kUnsupported,
                "the TSS2 key is bound to a TPM policy (e.g. PCR values): modelsign authorises "
                "keys with their authorisation value only; create the key without a policy");
  if (key->secret != nullptr)
    return fail(ErrorCode::kUnsupported,
                "the TSS2 key file carries an import secret: import the key into the TPM first");
  if (present_true(key->rsa_parent))
    return fail(ErrorCode::kUnsupported,
                "the TSS2 key's parent is the RSA storage primary: modelsign recreates the ECC "
                "P-256 storage primary only");

  KeyFile out;
  out.empty_auth = present_true(key->empty_auth);
  std::uint64_t parent = 0;
  if (ASN1_INTEGER_get_uint64(&parent, key->parent) != 1 || parent > 0xFFFFFFFFu)
    return fail(ErrorCode::kMalformed, "the TSS2 key's parent is not a 32-bit TPM handle");
  out.parent = parent == 0 ? TPM2_RH_OWNER : static_cast<TPM2_HANDLE>(parent);
  if (out.parent != TPM2_RH_OWNER && (out.parent >> TPM2_HR_SHIFT) != TPM2_HT_PERSISTENT)
    return fail(ErrorCode::kUnsupported,
                fmt::format("the TSS2 key's parent is 0x{:08x}: modelsign loads keys under the "
                            "owner storage primary (0x40000001) or a persistent parent (0x81...)",
                            out.parent));

  std::size_t offset = 0;
  const auto pub_len = static_cast<std::size_t>(key->pubkey->length);
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(key->pubkey->data, pub_len, &offset, &out.pub) !=
          TSS2_RC_SUCCESS ||
      offset != pub_len)
    return fail(ErrorCode::kMalformed, "the TSS2 key's public part is not a TPM2B_PUBLIC");
  offset = 0;
  const auto priv_len = static_cast<std::size_t>(key->privkey->length);
  if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(key->privkey->data, priv_len, &offset, &out.priv) !=
          TSS2_RC_SUCCESS ||
      offset != priv_len)
    return fail(ErrorCode::kMalformed, "the TSS2 key's private part is not a TPM2B_PRIVATE");
  return out;
}

Result<std::string> write_key_file(const KeyFile& in) {
  std::uint8_t pub[sizeof(TPM2B_PUBLIC)];
  std::uint8_t priv[sizeof(TPM2B_PRIVATE)];
  std::size_t pub_len = 0, priv_len = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Marshal(&in.pub, pub, sizeof(pub), &pub_len) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Marshal(&in.priv, priv, sizeof(priv), &priv_len) != TSS2_RC_SUCCESS)
    return fail(ErrorCode::kInternal, "cannot marshal the TPM key's public and private parts");

  UniquePtr<TpmKeyAsn1> key(TpmKeyAsn1_new());
  if (!key) return fail(openssl_error(ErrorCode::kInternal, "out of memory"));
  ASN1_OBJECT_free(key->type);
  key->type = OBJ_txt2obj(kOidLoadable, 1);
  key->empty_auth = in.empty_auth ? 0xff : -1;  // absent: the key has an authorisation value
  if (key->type == nullptr || ASN1_INTEGER_set_uint64(key->parent, in.parent) != 1 ||
      ASN1_OCTET_STRING_set(key->pubkey, pub, static_cast<int>(pub_len)) != 1 ||
      ASN1_OCTET_STRING_set(key->privkey, priv, static_cast<int>(priv_len)) != 1)
    return fail(openssl_error(ErrorCode::kInternal, "cannot build the TPMKey structure"));

  unsigned char* der_raw = nullptr;
  int der_len = i2d_TpmKeyAsn1(key.get(), &der_raw);
  UniquePtr<unsigned char> der(der_raw);
  if (der_len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode the TPMKey"));
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio(bio.get(), kPemName, "", der.get(), der_len) <= 0)
    return fail(openssl_error(ErrorCode::kInternal, "cannot write the TSS2 PRIVATE KEY PEM"));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace modelsign::tpm2
