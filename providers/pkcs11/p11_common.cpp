#include "pkcs11/p11_common.h"
#include "pkcs11/p11_call.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>

namespace modelsign::pkcs11 {

std::string rv_name(CK_RV rv) {
  switch (rv) {
#define X(name) \
  case name:    \
    return #name;
    X(CKR_OK)
    X(CKR_CANCEL)
    X(CKR_HOST_MEMORY)
    X(CKR_SLOT_ID_INVALID)
    X(CKR_GENERAL_ERROR)
    X(CKR_FUNCTION_FAILED)
    X(CKR_ARGUMENTS_BAD)
    X(CKR_NO_EVENT)
    X(CKR_NEED_TO_CREATE_THREADS)
    X(CKR_CANT_LOCK)
    X(CKR_ATTRIBUTE_READ_ONLY)
    X(CKR_ATTRIBUTE_SENSITIVE)
    X(CKR_ATTRIBUTE_TYPE_INVALID)
    X(CKR_ATTRIBUTE_VALUE_INVALID)
    X(CKR_ACTION_PROHIBITED)
    X(CKR_DATA_INVALID)
    X(CKR_DATA_LEN_RANGE)
    X(CKR_DEVICE_ERROR)
    X(CKR_DEVICE_MEMORY)
    X(CKR_DEVICE_REMOVED)
    X(CKR_ENCRYPTED_DATA_INVALID)
    X(CKR_ENCRYPTED_DATA_LEN_RANGE)
    X(CKR_FUNCTION_CANCELED)
    X(CKR_FUNCTION_NOT_PARALLEL)
    X(CKR_FUNCTION_NOT_SUPPORTED)
    X(CKR_KEY_HANDLE_INVALID)
    X(CKR_KEY_SIZE_RANGE)
    X(CKR_KEY_TYPE_INCONSISTENT)
    X(CKR_KEY_NOT_NEEDED)
    X(CKR_KEY_CHANGED)
    X(CKR_KEY_NEEDED)
    X(CKR_KEY_INDIGESTIBLE)
    X(CKR_KEY_FUNCTION_NOT_PERMITTED)
    X(CKR_KEY_NOT_WRAPPABLE)
    X(CKR_KEY_UNEXTRACTABLE)
    X(CKR_MECHANISM_INVALID)
    X(CKR_MECHANISM_PARAM_INVALID)
    X(CKR_OBJECT_HANDLE_INVALID)
    X(CKR_OPERATION_ACTIVE)
    X(CKR_OPERATION_NOT_INITIALIZED)
    X(CKR_PIN_INCORRECT)
    X(CKR_PIN_INVALID)
    X(CKR_PIN_LEN_RANGE)
    X(CKR_PIN_EXPIRED)
    X(CKR_PIN_LOCKED)
    X(CKR_SESSION_CLOSED)
    X(CKR_SESSION_COUNT)
    X(CKR_SESSION_HANDLE_INVALID)
    X(CKR_SESSION_PARALLEL_NOT_SUPPORTED)
    X(CKR_SESSION_READ_ONLY)
    X(CKR_SESSION_EXISTS)
    X(CKR_SESSION_READ_ONLY_EXISTS)
    X(CKR_SESSION_READ_WRITE_SO_EXISTS)
    X(CKR_SIGNATURE_INVALID)
    X(CKR_SIGNATURE_LEN_RANGE)
    X(CKR_TEMPLATE_INCOMPLETE)
    X(CKR_TEMPLATE_INCONSISTENT)
    X(CKR_TOKEN_NOT_PRESENT)
    X(CKR_TOKEN_NOT_RECOGNIZED)
    X(CKR_TOKEN_WRITE_PROTECTED)
    X(CKR_UNWRAPPING_KEY_HANDLE_INVALID)
    X(CKR_UNWRAPPING_KEY_SIZE_RANGE)
    X(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT)
    X(CKR_USER_ALREADY_LOGGED_IN)
    X(CKR_USER_NOT_LOGGED_IN)
    X(CKR_USER_PIN_NOT_INITIALIZED)
    X(CKR_USER_TYPE_INVALID)
    X(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    X(CKR_USER_TOO_MANY_TYPES)
    X(CKR_WRAPPED_KEY_INVALID)
    X(CKR_WRAPPED_KEY_LEN_RANGE)
    X(CKR_WRAPPING_KEY_HANDLE_INVALID)
    X(CKR_WRAPPING_KEY_SIZE_RANGE)
    X(CKR_WRAPPING_KEY_TYPE_INCONSISTENT)
    X(CKR_RANDOM_SEED_NOT_SUPPORTED)
    X(CKR_RANDOM_NO_RNG)
    X(CKR_DOMAIN_PARAMS_INVALID)
    X(CKR_CURVE_NOT_SUPPORTED)
    X(CKR_BUFFER_TOO_SMALL)
    X(CKR_SAVED_STATE_INVALID)
    X(CKR_INFORMATION_SENSITIVE)
    X(CKR_STATE_UNSAVEABLE)
    X(CKR_CRYPTOKI_NOT_INITIALIZED)
    X(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    X(CKR_MUTEX_BAD)
    X(CKR_MUTEX_NOT_LOCKED)
    X(CKR_NEW_PIN_MODE)
    X(CKR_NEXT_OTP)
    X(CKR_EXCEEDED_MAX_ITERATIONS)
    X(CKR_FIPS_SELF_TEST_FAILED)
    X(CKR_LIBRARY_LOAD_FAILED)
    X(CKR_PIN_TOO_WEAK)
    X(CKR_PUBLIC_KEY_INVALID)
    X(CKR_FUNCTION_REJECTED)
#undef X
    default:
      break;
  }
  return fmt::format("CKR_0x{:x}", rv);
}

std::string mechanism_name(CK_MECHANISM_TYPE m) {
  switch (m) {
#define X(name) \
  case name:    \
    return #name;
    X(CKM_RSA_PKCS_KEY_PAIR_GEN)
    X(CKM_RSA_PKCS)
    X(CKM_RSA_X_509)
    X(CKM_RSA_PKCS_PSS)
    X(CKM_SHA1_RSA_PKCS)
    X(CKM_SHA256_RSA_PKCS)
    X(CKM_SHA384_RSA_PKCS)
    X(CKM_SHA512_RSA_PKCS)
    X(CKM_SHA1_RSA_PKCS_PSS)
    X(CKM_SHA256_RSA_PKCS_PSS)
    X(CKM_SHA384_RSA_PKCS_PSS)
    X(CKM_SHA512_RSA_PKCS_PSS)
    X(CKM_EC_KEY_PAIR_GEN)
    X(CKM_ECDSA)
    X(CKM_ECDSA_SHA1)
    X(CKM_ECDSA_SHA224)
    X(CKM_ECDSA_SHA256)
    X(CKM_ECDSA_SHA384)
    X(CKM_ECDSA_SHA512)
    X(CKM_EC_EDWARDS_KEY_PAIR_GEN)
    X(CKM_EDDSA)
    X(CKM_DSA_KEY_PAIR_GEN)
    X(CKM_DSA)
    X(CKM_DSA_SHA1)
    X(CKM_DH_PKCS_KEY_PAIR_GEN)
    X(CKM_SHA_1_HMAC)
    X(CKM_SHA256_HMAC)
    X(CKM_SHA384_HMAC)
    X(CKM_SHA512_HMAC)
#undef X
    default:
      break;
  }
  return fmt::format("CKM_0x{:x}", m);
}

std::string key_type_name(CK_KEY_TYPE k) {
  switch (k) {
    case CKK_RSA: return "RSA";
    case CKK_EC: return "EC";
    case CKK_EC_EDWARDS: return "EC_EDWARDS";
    case CKK_DSA: return "DSA";
    case CKK_AES: return "AES";
    case CKK_GENERIC_SECRET: return "GENERIC_SECRET";
    default: return fmt::format("CKK_0x{:x}", k);
  }
}

ErrorCode classify(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED:
      return ErrorCode::kAuth;
    case CKR_PIN_LOCKED:
      return ErrorCode::kLocked;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_SIZE_RANGE:
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
      return ErrorCode::kUnsupported;
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_ACTION_PROHIBITED:
      return ErrorCode::kPermission;
    case CKR_SLOT_ID_INVALID:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
      return ErrorCode::kNotFound;
    default:
      return ErrorCode::kBackend;
  }
}

bool is_token_gone(CK_RV rv) {
  return rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_CLOSED ||
         rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_TOKEN_NOT_RECOGNIZED;
}

Error ck_error(ErrorCode code, std::string message, CK_RV rv) {
  return Error(code, std::move(message), rv_name(rv), rv);
}

std::string padded(const unsigned char* s, std::size_t n) {
  std::size_t len = p11_kit_space_strlen(s, n);
  return std::string(reinterpret_cast<const char*>(s), len);
}

// ---------------------------------------------------------------- Session

Session::Session(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE h) : f_(f), h_(h), pid_(getpid()) {}

Session::~Session() {
  if (f_ != nullptr && pid_ == getpid()) CK_CALL(f_, C_CloseSession, h_);
}

// ---------------------------------------------------------------- attributes

CK_RV probe_attr(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
  CK_ATTRIBUTE a{t, nullptr, 0};
  CK_RV rv = CK_CALL(s.f(), C_GetAttributeValue, s.handle(), o, &a, 1);
  if (rv == CKR_OK && a.ulValueLen == CK_UNAVAILABLE_INFORMATION) return CKR_ATTRIBUTE_SENSITIVE;
  return rv;
}

std::optional<Bytes> get_attr(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
  CK_ATTRIBUTE a{t, nullptr, 0};
  if (CK_CALL(s.f(), C_GetAttributeValue, s.handle(), o, &a, 1) != CKR_OK) return std::nullopt;
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) return std::nullopt;
  Bytes v(a.ulValueLen);
  a.pValue = v.data();
  if (CK_CALL(s.f(), C_GetAttributeValue, s.handle(), o, &a, 1) != CKR_OK) return std::nullopt;
  v.resize(a.ulValueLen);
  return v;
}

std::optional<CK_ULONG> get_ulong(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
  CK_ULONG v = 0;
  CK_ATTRIBUTE a{t, &v, sizeof(v)};
  if (CK_CALL(s.f(), C_GetAttributeValue, s.handle(), o, &a, 1) != CKR_OK || a.ulValueLen != sizeof(v))
    return std::nullopt;
  return v;
}

std::optional<bool> get_bool(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
  CK_BBOOL v = CK_FALSE;
  CK_ATTRIBUTE a{t, &v, sizeof(v)};
  if (CK_CALL(s.f(), C_GetAttributeValue, s.handle(), o, &a, 1) != CKR_OK || a.ulValueLen != sizeof(v))
    return std::nullopt;
  return v == CK_TRUE;
}

std::optional<std::string> get_string(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
  auto b = get_attr(s, o, t);
  if (!b) return std::nullopt;
  return std::string(b->begin(), b->end());
}

Template& Template::add_ulong(CK_ATTRIBUTE_TYPE t, CK_ULONG v) {
  Bytes b(sizeof(v));
  std::memcpy(b.data(), &v, sizeof(v));
  items_.emplace_back(t, std::move(b));
  return *this;
}

Template& Template::add_bool(CK_ATTRIBUTE_TYPE t, bool v) {
  items_.emplace_back(t, Bytes{static_cast<std::uint8_t>(v ? CK_TRUE : CK_FALSE)});
  return *this;
}

Template& Template::add_bytes(CK_ATTRIBUTE_TYPE t, const Bytes& v) {
  items_.emplace_back(t, v);
  return *this;
}

Template& Template::add_string(CK_ATTRIBUTE_TYPE t, std::string_view v) {
  items_.emplace_back(t, Bytes(v.begin(), v.end()));
  return *this;
}

CK_ATTRIBUTE* Template::data() {
  // Built on demand: the value buffers may have moved while items were added.
  attrs_.clear();
  for (auto& [type, value] : items_)
    attrs_.push_back(CK_ATTRIBUTE{type, value.empty() ? nullptr : value.data(), value.size()});
  return attrs_.empty() ? nullptr : attrs_.data();
}

CK_ULONG Template::size() const { return items_.size(); }

Result<std::vector<CK_OBJECT_HANDLE>> find_objects(const Session& s, Template& t, std::size_t max) {
  CK_RV rv = CK_CALL(s.f(), C_FindObjectsInit, s.handle(), t.data(), t.size());
  if (rv != CKR_OK) return fail(ck_error(classify(rv), "cannot search the token's objects", rv));
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE batch[64];
  while (out.size() < max) {
    CK_ULONG n = 0;
    rv = CK_CALL(s.f(), C_FindObjects, s.handle(), batch, 64, &n);
    if (rv != CKR_OK || n == 0) break;
    out.insert(out.end(), batch, batch + n);
  }
  CK_CALL(s.f(), C_FindObjectsFinal, s.handle());
  if (rv != CKR_OK) return fail(ck_error(classify(rv), "cannot search the token's objects", rv));
  if (out.size() > max) out.resize(max);
  return out;
}

}  // namespace modelsign::pkcs11
