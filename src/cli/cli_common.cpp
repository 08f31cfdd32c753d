#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>

#include "cli/output.h"
#include "modelsign/log.h"

namespace modelsign::cli {

std::string flag(std::string_view name) {
  std::string dash(name), under(name);
  for (auto& c : under)
    if (c == '-') c = '_';
  if (dash == under) return "--" + dash;
  return fmt::format("--{},--{}", dash, under);
}

std::string negatable_flag(std::string_view name) {
  std::string no = "no-" + std::string(name);
  std::string out = flag(name);
  // flag() gives one or two comma-separated names; prefix each negative one with '!'.
  std::string negs = flag(no);
  size_t start = 0;
  while (start <= negs.size()) {
    size_t comma = negs.find(',', start);
    if (comma == std::string::npos) comma = negs.size();
    out += ",!" + negs.substr(start, comma - start);
    start = comma + 1;
  }
  return out;
}

namespace {
// A whole number in [1, max] for option `what`; the message names the bounds.
CLI::Validator count_validator(std::string what, unsigned long long max) {
  return CLI::Validator(
      [what, max](std::string& v) -> std::string {
        unsigned long long n = 0;
        size_t used = 0;
        try {
          n = std::stoull(v, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != v.size() || v.starts_with('-'))
          return "the number of " + what + " must be a whole number, at least 1 (got '" + v + "')";
        if (n == 0) return "the number of " + what + " must be at least 1 (got 0)";
        if (n > max) return "the number of " + what + " must be at most " + std::to_string(max) + " (got " + v + ")";
        return {};
      },
      "", "at-least-1");
}
}  // namespace

CLI::Option* add_io_depth_option(CLI::App* cmd, unsigned& io_depth) {
  return cmd->add_option(flag("io-depth"), io_depth,
                         "Reads in flight for model data not in the page cache (default: from the "
                         "model's disk: 64 NVMe, 32 other SSD, 4 rotational, 16 unknown)")
      ->check(count_validator("reads in flight", 1024))
      ->option_text("N")
      ->group(kGroupAdvanced);
}

CLI::Option* add_threads_option(CLI::App* cmd, unsigned& threads) {
  return cmd->add_option(flag("threads"), threads, "Hashing threads, at least 1 (default: the CPUs modelsign may run on)")
      ->check(count_validator("hashing threads", 4096))
      ->option_text("N")
      ->group(kGroupAdvanced);
}

CLI::Option* add_json_flag(CLI::App* cmd, bool& json, std::string_view description) {
  return cmd->add_flag(flag("json"), json, std::string(description))->group(kGroupOutput);
}

void set_footer(CLI::App* cmd, const std::string& text) {
  cmd->footer(text + "\n\n" + kExitCodesFooter);
}

bool json_mode(bool local) { return local || output().json; }

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("MODEL_PATH", o.model_path, "Model directory or single model file")->required();
  cmd->add_option(flag("ignore-paths"), o.ignore_paths,
                  "Path to leave out, relative to the current directory (not to the model) or "
                  "absolute; repeatable")
      ->take_all()
      ->allow_extra_args(false)
      ->option_text("PATH")
      ->group(kGroupModel);
  cmd->add_flag(negatable_flag("ignore-git-paths"), o.ignore_git_paths,
                "Leave out .git, .gitattributes, .github, .gitignore at the model root (default: on)")
      ->group(kGroupModel);
  cmd->add_flag(flag("allow-symlinks"), o.allow_symlinks,
                "Follow symlinks that stay inside the model root (default: refuse symlinks)")
      ->group(kGroupModel);
  cmd->add_flag(flag("allow-external-symlinks"), o.allow_external_symlinks,
                "Also follow symlinks that leave the model root (model_signing's behaviour)")
      ->group(kGroupModel);
}

void add_signature_option(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option(flag("signature"), o.signature,
                  "Signature file (default: MODEL_PATH with .sig appended)")
      ->option_text("PATH")
      ->group(kGroupOutput);
}

std::string signature_path(const ModelOptions& o) {
  if (!o.signature.empty()) return o.signature;
  std::string p = o.model_path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  // "." or "..": name the signature after the directory itself, beside it.
  if (p == "." || p == ".." || p.ends_with("/.") || p.ends_with("/..")) {
    char buf[PATH_MAX];
    if (::realpath(p.c_str(), buf) != nullptr) p = buf;
  }
  return p + ".sig";
}

SerializationOptions serialization_from(const ModelOptions& o,
                                        const std::vector<std::string>& extra_ignores) {
  SerializationOptions s;
  s.ignore_git_paths = o.ignore_git_paths;
  s.symlinks = o.allow_external_symlinks ? SymlinkPolicy::kFollowAnywhere
               : o.allow_symlinks        ? SymlinkPolicy::kFollowInRoot
                                         : SymlinkPolicy::kReject;
  for (const auto& p : o.ignore_paths) {
    auto r = resolve_ignore_path(p, o.model_path);
    struct stat st {};
    const bool exists = r && ::lstat((o.model_path + "/" + *r).c_str(), &st) == 0;
    if (!exists) {
      // The usual mistake: a path relative to the model instead of the current directory.
      std::string guess = o.model_path + "/" + p;
      const bool guess_exists = !p.starts_with('/') && ::lstat(guess.c_str(), &st) == 0;
      log::warning("--ignore-paths '{}' matches nothing in the model '{}': ignore paths are "
                   "relative to the current directory (or absolute), not to the model{}",
                   p, o.model_path,
                   guess_exists ? fmt::format("; did you mean --ignore-paths '{}'?", guess) : "");
    }
    if (r) s.ignore_paths.push_back(*r);
  }
  for (const auto& p : extra_ignores)
    if (auto r = resolve_ignore_path(p, o.model_path)) s.ignore_paths.push_back(*r);
  return s;
}

HashingOptions hashing_defaults(unsigned threads, unsigned io_depth) {
  HashingOptions h;
  h.threads = threads;
  h.io_depth = io_depth;
  h.progress = isatty(STDERR_FILENO) == 1;
  return h;
}

int close_stdout() {
  errno = 0;
  bool ok = !std::ferror(stdout);
  ok = std::fclose(stdout) == 0 && ok;
  if (ok) return 0;
  int err = errno;
  std::string line = fmt::format("modelsign: error: cannot write to standard output: {}\n",
                                 err != 0 ? std::strerror(err) : "write error");
  std::fwrite(line.data(), 1, line.size(), stderr);
  return 1;
}

int report_failure(std::string_view what, const Error& e) {
  return report_failure_detail(what, e, {});
}

int usage_error(std::string_view message) { return report_usage(message); }

}  // namespace modelsign::cli
