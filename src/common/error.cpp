#include "modelsign/error.h"

#include <fmt/format.h>

namespace modelsign {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kPermission: return "permission";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kFileChanged: return "file-changed";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kVerification: return "verification";
    case ErrorCode::kMismatch: return "mismatch";
    case ErrorCode::kAuth: return "auth";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kBackend: return "backend";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::describe() const {
  if (backend.empty()) return message;
  return fmt::format("{} ({}, 0x{:x})", message, backend, backend_code);
}

Error Error::with_context(std::string_view context) const {
  Error e = *this;
  e.message = fmt::format("{}: {}", context, message);
  return e;
}

}  // namespace modelsign
