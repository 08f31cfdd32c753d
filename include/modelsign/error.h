// Errors as values: every fallible operation returns Result<T>.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace modelsign {

enum class ErrorCode {
  kInvalidArgument,   // the caller passed something unusable (bad flag value, bad URI)
  kNotFound,          // a file, key, token or object does not exist
  kPermission,        // permissions forbid the operation, or are unsafe (key file mode)
  kIo,                // read/write failure
  kFileChanged,       // a file changed while it was hashed
  kUnsupported,       // a key type, curve, mechanism or format we do not handle
  kMalformed,         // untrusted input (bundle, statement, URI) does not parse or breaks a limit
  kVerification,      // a signature, chain or digest check failed
  kMismatch,          // the model on disk differs from the signed manifest
  kAuth,              // wrong PIN / password / authorisation value
  kLocked,            // PIN or TPM locked out
  kBackend,           // the hardware or backend library failed
  kInternal,
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;        // for a human: what was expected, what was found, what to do
  std::string backend;        // backend error name, e.g. "CKR_PIN_INCORRECT", "TPM_RC_AUTH_FAIL"
  std::uint64_t backend_code = 0;  // CK_RV, TSS2_RC, OpenSSL packed error code

  Error() = default;
  Error(ErrorCode c, std::string msg) : code(c), message(std::move(msg)) {}
  Error(ErrorCode c, std::string msg, std::string be, std::uint64_t be_code)
      : code(c), message(std::move(msg)), backend(std::move(be)), backend_code(be_code) {}

  // Message with the backend detail appended when present.
  std::string describe() const;
  // Prefix context ("while reading X: ") keeping code and backend detail.
  Error with_context(std::string_view context) const;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace modelsign
