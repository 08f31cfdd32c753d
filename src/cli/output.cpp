#include "cli/output.h"

#include <cstdio>
#include <fmt/format.h>

#include "modelsign/log.h"

namespace modelsign::cli {

OutputState& output() {
  static OutputState state;
  return state;
}

nlohmann::ordered_json json_header(bool ok, int exit_code) {
  return {{"schema_version", kJsonSchemaVersion},
          {"command", output().command},
          {"ok", ok},
          {"exit_code", exit_code}};
}

std::string json_text(const nlohmann::ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void emit_json(const nlohmann::ordered_json& j) {
  std::string out = json_text(j) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  output().emitted = true;
}

void emit_text(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  output().emitted = true;
}

namespace {
void write_stderr(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}
}  // namespace

int report_failure_detail(std::string_view what, const Error& e, const FailureDetail& detail) {
  write_stderr(fmt::format("{} failed with error: {}\n", what, log::printable(e.describe())));
  emit_failure_json(e, detail);
  output().emitted = true;
  return kExitFailure;
}

void emit_failure_json(const Error& e, const FailureDetail& detail) {
  if (output().json) {
    auto j = json_header(false, kExitFailure);
    j["error"] = {{"code", std::string(to_string(e.code))}, {"message", e.describe()}};
    if (!e.backend.empty()) j["error"]["backend"] = e.backend;
    if (detail.has_lists) {
      j["extra"] = detail.extra;
      j["missing"] = detail.missing;
      j["changed"] = detail.changed;
    }
    emit_json(j);
  }
}

int report_usage(std::string_view message, std::string_view help_command) {
  std::string cmd(help_command.empty() ? std::string_view(output().command) : help_command);
  write_stderr(fmt::format("Error: {}\nRun 'modelsign {}{}--help' for the options and examples.\n",
                           log::printable(message), cmd, cmd.empty() ? "" : " "));
  if (output().json) {
    auto j = json_header(false, kExitUsage);
    j["error"] = {{"code", "usage"}, {"message", std::string(message)}};
    emit_json(j);
  }
  output().emitted = true;
  return kExitUsage;
}

}  // namespace modelsign::cli
