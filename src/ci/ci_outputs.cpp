#include "ci/ci_outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <openssl/rand.h>

#include "crypto/encoding.h"
#include "modelsign/crypto.h"

namespace modelsign::ci {

namespace {

std::string get(const audit::EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v == nullptr ? std::string() : std::string(v);
}

Result<void> append_file(const std::string& path, std::string_view text, std::string_view what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(ErrorCode::kIo, fmt::format("cannot open {} '{}': {}", what, path, std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return fail(ErrorCode::kIo, fmt::format("cannot write {} '{}': {}", what, path, std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0)
    return fail(ErrorCode::kIo, fmt::format("cannot write {} '{}': {}", what, path, std::strerror(errno)));
  return {};
}

bool has_line_break(std::string_view v) { return v.find_first_of("\r\n") != std::string_view::npos; }

std::string html_escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '|': out += "&#124;"; break;
      case '`': out += "&#96;"; break;
      case '\n': out += "<br>"; break;
      case '\r': break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Targets targets_from_env(const audit::EnvLookup& env, const std::string& dotenv_flag) {
  Targets t;
  t.github_output = get(env, "GITHUB_OUTPUT");
  t.step_summary = get(env, "GITHUB_STEP_SUMMARY");
  t.dotenv = dotenv_flag;
  if (t.dotenv.empty() && !get(env, "GITLAB_CI").empty()) t.dotenv = get(env, kDotenvEnv);
  return t;
}

std::string github_output_text(const Outputs& o) {
  std::string out;
  for (const auto& [k, v] : o) {
    if (!has_line_break(v)) {
      out += fmt::format("{}={}\n", k, v);
      continue;
    }
    std::string delim;
    do {
      unsigned char rnd[16];
      if (RAND_bytes(rnd, sizeof rnd) != 1) std::memset(rnd, 0x5a, sizeof rnd);
      delim = "ghadelimiter_" + to_hex(rnd);
    } while (v.find(delim) != std::string::npos);
    out += fmt::format("{}<<{}\n{}\n{}\n", k, delim, v, delim);
  }
  return out;
}

std::string step_summary_text(const std::string& title, const Outputs& o) {
  std::string out = fmt::format("### {}\n\n| Output | Value |\n| --- | --- |\n", html_escape(title));
  for (const auto& [k, v] : o) out += fmt::format("| {} | <code>{}</code> |\n", k, html_escape(v));
  return out + "\n";
}

Result<std::string> dotenv_text(const Outputs& o) {
  std::string out;
  for (const auto& [k, v] : o) {
    if (has_line_break(v))
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the CI output {} contains a line break, which a dotenv file cannot hold", k));
    out += fmt::format("{}={}\n", k, v);
  }
  return out;
}

Result<void> write_outputs(const Targets& t, const std::string& title, const Outputs& o) {
  if (!t.github_output.empty())
    if (auto r = append_file(t.github_output, github_output_text(o), "$GITHUB_OUTPUT"); !r) return r;
  if (!t.step_summary.empty())
    if (auto r = append_file(t.step_summary, step_summary_text(title, o), "$GITHUB_STEP_SUMMARY"); !r) return r;
  if (!t.dotenv.empty()) {
    auto text = dotenv_text(o);
    if (!text) return fail(text.error());
    if (auto r = append_file(t.dotenv, *text, "the dotenv file"); !r) return r;
  }
  return {};
}

}  // namespace modelsign::ci
