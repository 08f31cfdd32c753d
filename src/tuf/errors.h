// Named TUF failures. Every refusal carries one of these names in Error::backend, so
// callers and tests can tell a rollback from an expired file without parsing messages.
#pragma once

#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::tuf {

enum class Failure {
  kMalformed,         // metadata does not parse, has the wrong type or breaks a limit
  kThresholdNotMet,   // too few valid signatures from the role's keys
  kExpired,           // metadata past its expiry at the reference time (freeze attack)
  kRollback,          // a version older than the one already trusted
  kVersionMismatch,   // version differs from the one the parent role names (mix-and-match,
                      // a root that skips a version)
  kTooLarge,          // a download exceeded its size limit (endless data)
  kLengthMismatch,    // a file's length differs from the length its parent role records
  kHashMismatch,      // a file's hash differs from the hash its parent role records
  kUnknownTarget,     // targets.json lists no such target
  kNotFound,          // the repository has no such file
  kFetch,             // the network or the server failed
  kCache,             // the local cache cannot be read, written or locked
  kNoTrustedState,    // offline, and the cache holds no usable metadata
};

std::string_view failure_name(Failure f);  // e.g. "TUF_ROLLBACK"

// An Error whose backend field is the failure's name.
Error tuf_error(Failure f, ErrorCode code, std::string message);
inline std::unexpected<Error> tuf_fail(Failure f, ErrorCode code, std::string message) {
  return std::unexpected<Error>(tuf_error(f, code, std::move(message)));
}
bool is_failure(const Error& e, Failure f);

}  // namespace modelsign::tuf
