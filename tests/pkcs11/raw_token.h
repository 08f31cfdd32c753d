// Test support without gtest: shell helpers and a raw Cryptoki client (RawToken) that
// reads and writes a token beside the provider under test, independently of it.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::testing {

struct CommandResult {
  int rc = -1;
  std::string out;
};

inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// `uri` with one more query attribute ("pin-source=file:P").
inline std::string with_query(const std::string& uri, const std::string& attribute) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + attribute;
}

// Raw Cryptoki through p11-kit, independent of the provider under test. `init_args`
// (softoken's configuration) go to C_Initialize when not empty.
class RawToken {
 public:
  RawToken(const std::string& module, const std::string& init_args, const std::string& label,
           bool login = true, std::string pin = "1234") {
    f_ = p11_kit_module_load(module.c_str(), 0);
    if (f_ == nullptr) throw std::runtime_error("cannot load " + module);
    CK_RV rv;
    if (init_args.empty()) {
      rv = p11_kit_module_initialize(f_);
    } else {
      args_ = init_args;
      CK_C_INITIALIZE_ARGS a{};
      a.flags = CKF_OS_LOCKING_OK;
      a.pReserved = args_.data();
      rv = f_->C_Initialize(&a);
    }
    if (rv != CKR_OK) throw std::runtime_error("cannot initialise " + module);
    CK_ULONG n = 0;
    f_->C_GetSlotList(CK_TRUE, nullptr, &n);
    std::vector<CK_SLOT_ID> slots(n);
    f_->C_GetSlotList(CK_TRUE, slots.data(), &n);
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO ti{};
      f_->C_GetTokenInfo(slots[i], &ti);
      std::string l(reinterpret_cast<char*>(ti.label), p11_kit_space_strlen(ti.label, 32));
      if (l == label) slot_ = slots[i], found_ = true;
    }
    if (!found_) throw std::runtime_error("token not found: " + label);
    if (f_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s_) != CKR_OK)
      throw std::runtime_error("cannot open a session");
    if (login) {
      rv = f_->C_Login(s_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
      if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) throw std::runtime_error("login failed");
    }
  }
  RawToken(const RawToken&) = delete;
  RawToken& operator=(const RawToken&) = delete;
  ~RawToken() {
    f_->C_CloseSession(s_);
    p11_kit_module_finalize(f_);
    p11_kit_module_release(f_);
  }

  std::vector<CK_OBJECT_HANDLE> find(const std::string& label, CK_OBJECT_CLASS cls) {
    return find_by(cls, {CKA_LABEL, const_cast<char*>(label.data()), label.size()});
  }
  // (rv, value) of one attribute.
  std::pair<CK_RV, Bytes> attr(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = f_->C_GetAttributeValue(s_, o, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) return {rv, {}};
    Bytes v(a.ulValueLen);
    a.pValue = v.data();
    rv = f_->C_GetAttributeValue(s_, o, &a, 1);
    return {rv, v};
  }
  std::optional<bool> flag(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
    auto [rv, v] = attr(o, type);
    if (rv != CKR_OK || v.size() != 1) return std::nullopt;
    return v[0] == CK_TRUE;
  }
  std::vector<CK_OBJECT_HANDLE> find_id(const Bytes& id, CK_OBJECT_CLASS cls) {
    return find_by(cls, {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()});
  }
  // Up to 16 objects of class cls that also match `also`.
  std::vector<CK_OBJECT_HANDLE> find_by(CK_OBJECT_CLASS cls, CK_ATTRIBUTE also) {
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)}, also};
    f_->C_FindObjectsInit(s_, t, 2);
    CK_OBJECT_HANDLE h[16];
    CK_ULONG n = 0;
    f_->C_FindObjects(s_, h, 16, &n);
    f_->C_FindObjectsFinal(s_);
    return std::vector<CK_OBJECT_HANDLE>(h, h + n);
  }
  // Deletes the objects of class `cls` with CKA_ID `id`; how many there were.
  std::size_t destroy(const Bytes& id, CK_OBJECT_CLASS cls) {
    auto objs = find_id(id, cls);
    for (auto o : objs)
      if (f_->C_DestroyObject(s_, o) != CKR_OK) throw std::runtime_error("C_DestroyObject failed");
    return objs.size();
  }

  // A key pair made inside the token: it signs and verifies only, the private half
  // private, sensitive and not extractable (what SoftHSM gives pkcs11-tool --keypairgen;
  // softoken's default is extractable); `always_auth` marks it CKA_ALWAYS_AUTHENTICATE.
  // Returns the token's answer.
  CK_RV generate(KeyType type, const std::string& label, const Bytes& id, bool always_auth = false) {
    CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE, aa = always_auth ? CK_TRUE : CK_FALSE;
    CK_ULONG bits = 0;
    Bytes exponent{1, 0, 1}, params;
    CK_MECHANISM m{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    switch (type) {
      case KeyType::kEcP256: params = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}; break;
      case KeyType::kEcP384: params = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}; break;
      case KeyType::kEcP521: params = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}; break;
      case KeyType::kRsa2048: bits = 2048; break;
      case KeyType::kRsa3072: bits = 3072; break;
      case KeyType::kRsa4096: bits = 4096; break;
      case KeyType::kEd25519: return CKR_MECHANISM_INVALID;  // not needed by the fixtures
    }
    std::string l = label;
    Bytes i = id;
    std::vector<CK_ATTRIBUTE> pub = {{CKA_CLASS, &pub_class, sizeof(pub_class)},
                                     {CKA_TOKEN, &yes, sizeof(yes)},
                                     {CKA_PRIVATE, &no, sizeof(no)},
                                     {CKA_VERIFY, &yes, sizeof(yes)},
                                     {CKA_LABEL, l.data(), l.size()},
                                     {CKA_ID, i.data(), i.size()}};
    if (bits != 0) {
      m.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
      pub.push_back({CKA_MODULUS_BITS, &bits, sizeof(bits)});
      pub.push_back({CKA_PUBLIC_EXPONENT, exponent.data(), exponent.size()});
    } else {
      pub.push_back({CKA_EC_PARAMS, params.data(), params.size()});
    }
    std::vector<CK_ATTRIBUTE> priv = {{CKA_CLASS, &priv_class, sizeof(priv_class)},
                                      {CKA_TOKEN, &yes, sizeof(yes)},
                                      {CKA_PRIVATE, &yes, sizeof(yes)},
                                      {CKA_SENSITIVE, &yes, sizeof(yes)},
                                      {CKA_EXTRACTABLE, &no, sizeof(no)},
                                      {CKA_SIGN, &yes, sizeof(yes)},
                                      {CKA_LABEL, l.data(), l.size()},
                                      {CKA_ID, i.data(), i.size()}};
    if (always_auth) priv.push_back({CKA_ALWAYS_AUTHENTICATE, &aa, sizeof(aa)});
    CK_OBJECT_HANDLE hpub = 0, hpriv = 0;
    return f_->C_GenerateKeyPair(s_, &m, pub.data(), pub.size(), priv.data(), priv.size(), &hpub,
                                 &hpriv);
  }

  // The public key held by the public-key object `o`, as PEM, from its attributes.
  std::string public_pem(CK_OBJECT_HANDLE o) {
    auto [rv_type, type] = attr(o, CKA_KEY_TYPE);
    if (rv_type != CKR_OK || type.size() != sizeof(CK_KEY_TYPE)) throw std::runtime_error("no CKA_KEY_TYPE");
    CK_KEY_TYPE kt;
    std::memcpy(&kt, type.data(), sizeof(kt));
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    std::string group;
    Bytes point;
    const char* algorithm = "EC";
    if (kt == CKK_RSA) {
      algorithm = "RSA";
      auto mod = attr(o, CKA_MODULUS).second;
      auto exp = attr(o, CKA_PUBLIC_EXPONENT).second;
      n = BN_bin2bn(mod.data(), static_cast<int>(mod.size()), nullptr);
      e = BN_bin2bn(exp.data(), static_cast<int>(exp.size()), nullptr);
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    } else {
      auto params = attr(o, CKA_EC_PARAMS).second;
      auto der_point = attr(o, CKA_EC_POINT).second;
      const unsigned char* p = params.data();
      ASN1_OBJECT* oid = d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params.size()));
      if (oid == nullptr) throw std::runtime_error("CKA_EC_PARAMS is not an OID");
      group = OBJ_nid2sn(OBJ_obj2nid(oid));
      ASN1_OBJECT_free(oid);
      // CKA_EC_POINT is a DER OCTET STRING around the point.
      p = der_point.data();
      ASN1_OCTET_STRING* os = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(der_point.size()));
      if (os == nullptr) throw std::runtime_error("CKA_EC_POINT is not an OCTET STRING");
      point.assign(ASN1_STRING_get0_data(os), ASN1_STRING_get0_data(os) + ASN1_STRING_length(os));
      ASN1_OCTET_STRING_free(os);
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0);
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    }
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr);
    EVP_PKEY* key = nullptr;
    bool ok = ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
              EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    std::string pem;
    if (ok) {
      BIO* bio = BIO_new(BIO_s_mem());
      PEM_write_bio_PUBKEY(bio, key);
      char* data = nullptr;
      long len = BIO_get_mem_data(bio, &data);
      pem.assign(data, static_cast<std::size_t>(len));
      BIO_free(bio);
    }
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    if (!ok) throw std::runtime_error("cannot make a public key from the token's attributes");
    return pem;
  }

  // Stores an X.509 certificate (DER) on the token with this label and id.
  CK_RV add_certificate(const Bytes& der, const std::string& label, const Bytes& id) {
    const unsigned char* p = der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (x == nullptr) throw std::runtime_error("not a DER certificate");
    unsigned char* subject = nullptr;
    int subject_len = i2d_X509_NAME(X509_get_subject_name(x), &subject);
    unsigned char* issuer = nullptr;
    int issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &issuer);
    unsigned char* serial = nullptr;
    int serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    std::string l = label;
    Bytes i = id, v = der;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                        {CKA_TOKEN, &yes, sizeof(yes)},
                        {CKA_PRIVATE, &no, sizeof(no)},
                        {CKA_LABEL, l.data(), l.size()},
                        {CKA_ID, i.data(), i.size()},
                        {CKA_SUBJECT, subject, static_cast<CK_ULONG>(subject_len)},
                        {CKA_ISSUER, issuer, static_cast<CK_ULONG>(issuer_len)},
                        {CKA_SERIAL_NUMBER, serial, static_cast<CK_ULONG>(serial_len)},
                        {CKA_VALUE, v.data(), v.size()}};
    CK_OBJECT_HANDLE h = 0;
    CK_RV rv = f_->C_CreateObject(s_, t, sizeof(t) / sizeof(t[0]), &h);
    OPENSSL_free(subject);
    OPENSSL_free(issuer);
    OPENSSL_free(serial);
    X509_free(x);
    return rv;
  }

  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SESSION_HANDLE session() const { return s_; }
  CK_SLOT_ID slot() const { return slot_; }

 private:
  CK_FUNCTION_LIST* f_ = nullptr;
  std::string args_;
  CK_SLOT_ID slot_ = 0;
  bool found_ = false;
  CK_SESSION_HANDLE s_ = 0;
};

}  // namespace modelsign::testing
