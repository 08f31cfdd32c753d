// The one way this provider calls into a PKCS#11 module. CK_CALL(f, C_Sign, ...) checks
// that the module provides the function (a missing entry answers
// CKR_FUNCTION_NOT_SUPPORTED instead of jumping through a null pointer), makes the call
// and logs it with its CK_RV at debug level. What a failed CK_RV means for a token
// (gone, or an error of some class) is decided once, by call_error in p11_token.h.
#pragma once

#include <utility>

#include "modelsign/log.h"
#include "pkcs11/p11_common.h"

namespace modelsign::pkcs11 {

// `call` makes the call with the arguments as written at the call site (so the
// compiler checks their conversions there).
template <class Fn, class Call>
CK_RV ck_call(const char* name, Fn fn, Call&& call) {
  if (fn == nullptr) {
    log::debug("pkcs11: {} is not provided by the module", name);
    return CKR_FUNCTION_NOT_SUPPORTED;
  }
  CK_RV rv = std::forward<Call>(call)(fn);
  log::debug("pkcs11: {} -> {}", name, rv_name(rv));
  return rv;
}

}  // namespace modelsign::pkcs11

// `f` is a CK_FUNCTION_LIST*; `fn` the bare function name (C_Sign).
#define CK_CALL(f, fn, ...) \
  ::modelsign::pkcs11::ck_call(#fn, (f)->fn, [&](auto* p_) { return p_(__VA_ARGS__); })
