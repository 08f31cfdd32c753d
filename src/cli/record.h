// The record every sign and verify leaves: a line in the audit log and, after success,
// the CI step outputs. Every sign/verify path calls record_operation once, success or
// failure, with what it knows by then.
#pragma once

#include "cli/cli11_fwd.h"

#include "audit/audit_log.h"
#include "modelsign/error.h"

namespace modelsign::cli {

inline constexpr const char* kAuditLogEnv = "MODELSIGN_AUDIT_LOG";

struct RecordArgs {
  std::string audit_log;  // --audit-log / MODELSIGN_AUDIT_LOG
  std::string ci_dotenv;  // --ci-dotenv, else MODELSIGN_CI_DOTENV under GITLAB_CI
};
// Adds --audit-log and --ci-dotenv.
void add_record_options(CLI::App* cmd, RecordArgs& r);

// Appends the audit line (when an audit log is configured) and, when e.ok, writes the CI
// outputs (model_hash, signature_path, method, signer, rekor_log_index). e.version is
// filled in here.
Result<void> record_operation(const RecordArgs& r, audit::Event e);

// Records a failure (e.ok false, the exit code and the error's message) without reporting
// it: for callers that report errors their own way (the Python package raises).
Result<void> record_failure(const RecordArgs& r, audit::Event e, const Error& error, int exit_code = 1);

// Records a failure, then reports it like report_failure (exit code 1). When the record
// itself fails, both reasons are reported.
int fail_operation(const RecordArgs& r, audit::Event e, std::string_view what, const Error& error);

}  // namespace modelsign::cli
