// Internal helpers of the PKCS#11 provider: CK_RV names, errors, secrets, attributes.
#pragma once

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/error.h"
#include "modelsign/secret.h"

namespace modelsign::pkcs11 {

// "CKR_PIN_INCORRECT"; unknown values as "CKR_0x...".
std::string rv_name(CK_RV rv);
// "CKM_ECDSA"; unknown values as "CKM_0x...".
std::string mechanism_name(CK_MECHANISM_TYPE m);
// "CKK_EC"...
std::string key_type_name(CK_KEY_TYPE k);

// An Error carrying the CK_RV as backend detail.
Error ck_error(ErrorCode code, std::string message, CK_RV rv);
// The ErrorCode a CK_RV most likely means (PIN/auth, locked, unsupported, removed, ...).
ErrorCode classify(CK_RV rv);
// Whether rv says the token or the session went away (removed, closed, device error).
bool is_token_gone(CK_RV rv);

// Space-padded fixed-width PKCS#11 string -> std::string without the padding.
std::string padded(const unsigned char* s, std::size_t n);

// A PIN kept in memory only as long as needed; wiped when destroyed.
using Secret = SecretString;

struct UriFree {
  void operator()(P11KitUri* u) const { p11_kit_uri_free(u); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriFree>;

// One open PKCS#11 session; closed on destruction unless the process forked since
// (a child must never close the parent's sessions).
class Session {
 public:
  Session(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE h);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();
  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SESSION_HANDLE handle() const { return h_; }

 private:
  CK_FUNCTION_LIST* f_;
  CK_SESSION_HANDLE h_;
  long pid_;
};

// Attribute readers. nullopt when the object has no such attribute or it is sensitive.
std::optional<Bytes> get_attr(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
// The raw CK_RV of reading one attribute (for tests of sensitivity and for listing).
CK_RV probe_attr(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
std::optional<CK_ULONG> get_ulong(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
std::optional<bool> get_bool(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
std::optional<std::string> get_string(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);

// A search template built from owned values.
class Template {
 public:
  Template& add_ulong(CK_ATTRIBUTE_TYPE t, CK_ULONG v);
  Template& add_bool(CK_ATTRIBUTE_TYPE t, bool v);
  Template& add_bytes(CK_ATTRIBUTE_TYPE t, const Bytes& v);
  Template& add_string(CK_ATTRIBUTE_TYPE t, std::string_view v);
  CK_ATTRIBUTE* data();
  CK_ULONG size() const;

 private:
  std::vector<std::pair<CK_ATTRIBUTE_TYPE, Bytes>> items_;
  std::vector<CK_ATTRIBUTE> attrs_;
};

Result<std::vector<CK_OBJECT_HANDLE>> find_objects(const Session& s, Template& t,
                                                   std::size_t max = 1024);

}  // namespace modelsign::pkcs11
