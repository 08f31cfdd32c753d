#include <CLI/CLI.hpp>

#include "cli/record.h"

#include <fmt/format.h>

#include "ci/ci_outputs.h"
#include <unistd.h>

#include "cli/app.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace modelsign::cli {

void add_record_options(CLI::App* cmd, RecordArgs& r) {
  cmd->add_option(flag("audit-log"), r.audit_log,
                  "Append one hash-chained JSON line for this operation to FILE (check it with "
                  "'modelsign audit verify FILE')")
      ->envname(kAuditLogEnv)
      ->option_text("FILE")
      ->group(kGroupOutput);
  cmd->add_option(flag("ci-dotenv"), r.ci_dotenv,
                  "Append the outputs (model_hash, signature_path, method, signer) as KEY=value lines to "
                  "FILE, for GitLab's artifacts:reports:dotenv (under GITLAB_CI, MODELSIGN_CI_DOTENV "
                  "names it too)")
      ->option_text("FILE")
      ->group(kGroupOutput);
}

Result<void> record_operation(const RecordArgs& r, audit::Event e) {
  e.version = MODELSIGN_VERSION;
  const auto env = audit::process_env();
  if (!r.audit_log.empty())
    if (auto a = audit::append(r.audit_log, audit::to_json(e, env)); !a) return a;
  if (!e.ok) return {};
  ci::Outputs o = {{"model_hash", e.root_digest},
                   {"signature_path", e.signature_path},
                   {"method", e.method},
                   {"signer", e.signer.summary}};
  if (e.rekor_log_index) o.emplace_back("rekor_log_index", std::to_string(*e.rekor_log_index));
  const std::string title =
      fmt::format("modelsign: {} {}", e.operation == "sign" ? "signed" : "verified", e.model_path);
  return ci::write_outputs(ci::targets_from_env(env, r.ci_dotenv), title, o);
}

std::string misspelt_method(const std::string& model_path, std::string_view command) {
  if (::access(model_path.c_str(), F_OK) == 0) return {};
  const std::vector<std::string> methods =
      command == "sign" ? std::vector<std::string>{"key", "certificate", "pkcs11-key", "pkcs11-certificate", "tpm2-key",
                                                   "tpm2-certificate", "sigstore"}
                        : std::vector<std::string>{"key", "certificate", "sigstore"};
  std::string s = closest_name(model_path, methods);
  if (s.empty()) return {};
  return fmt::format("unknown command '{}' for 'modelsign {}' (did you mean '{}'?); '{}' is not a file either",
                     model_path, command, s, model_path);
}

Result<void> record_failure(const RecordArgs& r, audit::Event e, const Error& error, int exit_code) {
  e.ok = false;
  e.exit_code = exit_code;
  e.error = error.message;
  return record_operation(r, std::move(e));
}

int fail_operation(const RecordArgs& r, audit::Event e, std::string_view what, const Error& error) {
  if (auto rec = record_failure(r, std::move(e), error, kExitFailure); !rec) {
    Error both = error;
    both.message += fmt::format("; and the operation could not be recorded: {}", rec.error().message);
    return report_failure(what, both);
  }
  return report_failure(what, error);
}

}  // namespace modelsign::cli
