#include "cli/output.h"

#include <cerrno>
#include <cstring>

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

namespace {
// Every byte of a result must reach stdout: a full disk or a closed pipe is a failure
// (exit 1 and a message on stderr), never a silent success.
int write_result(std::string_view text) {
  errno = 0;
  bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
  ok = std::fflush(stdout) == 0 && ok;
  output().emitted = true;
  if (ok) return kExitOk;
  int err = errno;
  std::clearerr(stdout);
  std::string line = fmt::format("{} failed with error: cannot write the result to standard output: {}\n",
                                 output().what, err != 0 ? std::strerror(err) : "write error");
  std::fwrite(line.data(), 1, line.size(), stderr);
  return kExitFailure;
}
}  // namespace

int emit_json(const nlohmann::ordered_json& j) { return write_result(json_text(j) + "\n"); }

int emit_text(std::string_view text) { return write_result(text); }

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
