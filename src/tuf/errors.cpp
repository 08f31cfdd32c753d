#include "tuf/errors.h"

namespace modelsign::tuf {

std::string_view failure_name(Failure f) {
  switch (f) {
    case Failure::kMalformed: return "TUF_MALFORMED";
    case Failure::kThresholdNotMet: return "TUF_THRESHOLD_NOT_MET";
    case Failure::kExpired: return "TUF_EXPIRED";
    case Failure::kRollback: return "TUF_ROLLBACK";
    case Failure::kVersionMismatch: return "TUF_VERSION_MISMATCH";
    case Failure::kTooLarge: return "TUF_TOO_LARGE";
    case Failure::kLengthMismatch: return "TUF_LENGTH_MISMATCH";
    case Failure::kHashMismatch: return "TUF_HASH_MISMATCH";
    case Failure::kUnknownTarget: return "TUF_UNKNOWN_TARGET";
    case Failure::kNotFound: return "TUF_NOT_FOUND";
    case Failure::kFetch: return "TUF_FETCH_FAILED";
    case Failure::kCache: return "TUF_CACHE";
    case Failure::kNoTrustedState: return "TUF_NO_TRUSTED_STATE";
  }
  return "TUF_UNKNOWN";
}

Error tuf_error(Failure f, ErrorCode code, std::string message) {
  return Error(code, std::move(message), std::string(failure_name(f)), 0);
}

bool is_failure(const Error& e, Failure f) { return e.backend == failure_name(f); }

}  // namespace modelsign::tuf
