#include "cli/cli_common.h"

#include <climits>
#include <cstdlib>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>

namespace modelsign::cli {

std::string flag(std::string_view name) {
  std::string dash(name), under(name);
  for (auto& c : under)
    if (c == '-') c = '_';
  if (dash == under) return "--" + dash;
  return fmt::format("--{},--{}", dash, under);
}

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("MODEL_PATH", o.model_path, "Model directory or single model file")->required();
  cmd->add_option(flag("ignore-paths"), o.ignore_paths,
                  "Path to ignore (relative to the current directory, or absolute); repeatable")
      ->take_all()
      ->allow_extra_args(false);
  // CLI11's '!' negates only the name it prefixes: mark both spellings.
  cmd->add_flag(flag("ignore-git-paths") + ",!--no-ignore-git-paths,!--no_ignore_git_paths",
                o.ignore_git_paths,
                "Ignore .git, .gitattributes, .github, .gitignore at the model root (default: on)");
  cmd->add_flag(flag("allow-symlinks"), o.allow_symlinks,
                "Follow symlinks that stay inside the model root");
  cmd->add_flag(flag("allow-external-symlinks"), o.allow_external_symlinks,
                "Also follow symlinks that leave the model root (model_signing's behaviour)");
}

void add_signature_option(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option(flag("signature"), o.signature,
                  "Signature file (default: MODEL_PATH with .sig appended)");
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
  for (const auto& p : o.ignore_paths)
    if (auto r = resolve_ignore_path(p, o.model_path)) s.ignore_paths.push_back(*r);
  for (const auto& p : extra_ignores)
    if (auto r = resolve_ignore_path(p, o.model_path)) s.ignore_paths.push_back(*r);
  return s;
}

HashingOptions hashing_defaults(unsigned threads) {
  HashingOptions h;
  h.threads = threads;
  h.progress = isatty(STDERR_FILENO) == 1;
  return h;
}

void add_sigstore_placeholder(CLI::App* parent, std::string_view what, int* rc) {
  CLI::App* cmd = parent->add_subcommand("sigstore", "Keyless Sigstore (not supported yet)");
  cmd->allow_extras();
  std::string w(what);
  cmd->callback([w, rc] {
    *rc = report_failure(w, Error(ErrorCode::kUnsupported,
                                  "keyless Sigstore signing and verification are not supported by "
                                  "modelsign yet; use a key method (key, certificate, pkcs11-key, "
                                  "pkcs11-certificate, tpm2-key, tpm2-certificate)"));
  });
}

int print_result(std::string_view what, std::string_view text) {
  errno = 0;
  bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
  ok = std::fflush(stdout) == 0 && ok;
  if (ok) return 0;
  int err = errno;
  std::clearerr(stdout);
  return report_failure(what, Error(ErrorCode::kIo,
                                    fmt::format("cannot write the result to standard output: {}",
                                                err != 0 ? std::strerror(err) : "write error")));
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
  std::string line = fmt::format("{} failed with error: {}\n", what, e.describe());
  std::fwrite(line.data(), 1, line.size(), stderr);
  return 1;
}

}  // namespace modelsign::cli
