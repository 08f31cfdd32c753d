// Shared CLI plumbing: flag spellings, model/ignore options, output conventions.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "modelsign/manifest.h"

namespace modelsign::cli {

// "--flag-name,--flag_name": both spellings, as model_signing accepts on main.
std::string flag(std::string_view name);

struct ModelOptions {
  std::string model_path;
  std::vector<std::string> ignore_paths;
  bool ignore_git_paths = true;
  bool allow_symlinks = false;
  bool allow_external_symlinks = false;
  std::string signature;
};

// Adds MODEL_PATH, --ignore-paths, --(no-)ignore-git-paths, --allow-symlinks.
void add_model_options(CLI::App* cmd, ModelOptions& o);
void add_signature_option(CLI::App* cmd, ModelOptions& o);

// Default signature path: MODEL_PATH (trailing slashes removed) + ".sig".
std::string signature_path(const ModelOptions& o);

// Serialization options with the CLI's ignore resolution (CWD-relative or absolute,
// realpath'd, dropped when outside the model); `extra_ignores` are added likewise.
SerializationOptions serialization_from(const ModelOptions& o,
                                        const std::vector<std::string>& extra_ignores);

HashingOptions hashing_defaults(unsigned threads);

struct GlobalOptions {
  std::string log_level = "warning";
  bool json = false;
};

// model_signing's default method, `sigstore` (keyless), is not implemented yet: the
// subcommand exists so that `sign sigstore ...` fails with a clear message, not a usage error.
void add_sigstore_placeholder(CLI::App* parent, std::string_view what, int* rc);

// Prints "<what> failed with error: <msg>" to stderr, returns 1.
int report_failure(std::string_view what, const Error& e);

// Writes `text` to stdout and flushes it; on failure (full disk, closed pipe) reports it
// like report_failure and returns 1, else 0. Every result on stdout goes through here.
int print_result(std::string_view what, std::string_view text);

// The last flush and close of stdout, from main: 0, or 1 with a message.
int close_stdout();

}  // namespace modelsign::cli
