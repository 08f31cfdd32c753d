// Step outputs for CI platforms: GitHub Actions ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY)
// and GitLab CI (a dotenv file for artifacts:reports:dotenv).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "modelsign/error.h"

namespace modelsign::ci {

// Ordered key/value pairs: model_hash, signature_path, method, signer[, rekor_log_index].
using Outputs = std::vector<std::pair<std::string, std::string>>;

struct Targets {
  std::string github_output;  // $GITHUB_OUTPUT
  std::string step_summary;   // $GITHUB_STEP_SUMMARY
  std::string dotenv;         // --ci-dotenv, else $MODELSIGN_CI_DOTENV when GITLAB_CI is set
};
inline constexpr const char* kDotenvEnv = "MODELSIGN_CI_DOTENV";

Targets targets_from_env(const audit::EnvLookup& env, const std::string& dotenv_flag);

// The $GITHUB_OUTPUT text: key=value, or key<<DELIMITER ... DELIMITER for a value with a
// line break (the delimiter is random and absent from the value).
std::string github_output_text(const Outputs& o);
// A Markdown table under a heading; values are HTML-escaped inside <code>.
std::string step_summary_text(const std::string& title, const Outputs& o);
// KEY=value lines; a value with a line break cannot be expressed (GitLab's dotenv has no
// multi-line form) and is an error.
Result<std::string> dotenv_text(const Outputs& o);

// Appends to every target that is set (one write per file, so concurrent steps do not
// interleave). Nothing to do outside CI.
Result<void> write_outputs(const Targets& t, const std::string& title, const Outputs& o);

}  // namespace modelsign::ci
