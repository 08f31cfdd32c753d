// Shared CLI plumbing: flag spellings, model/ignore options, output conventions.
#pragma once

#include "cli/cli11_fwd.h"

#include <memory>
#include <string>
#include <vector>

#include "modelsign/manifest.h"

namespace modelsign::cli {

// A subcommand's argument struct: CLI11 binds options to its fields, so it lives as long
// as the process. Owned here (freed at exit) rather than leaked, so a leak checker sees
// only real leaks.
template <class T>
T* make_args() {
  static std::vector<std::unique_ptr<T>> owned;
  owned.push_back(std::make_unique<T>());
  return owned.back().get();
}

// "--flag-name,--flag_name": both spellings, as model_signing accepts on main.
std::string flag(std::string_view name);
// "--name,--na_me,!--no-name,!--no_na_me": a boolean flag with its negation. CLI11's '!'
// negates only the one name it prefixes; building every spelling here is what keeps an
// alias from meaning the opposite (--no_ignore_unsigned_files once turned tolerance ON).
std::string negatable_flag(std::string_view name);

// Option groups shown by --help.
inline constexpr const char* kGroupModel = "Model selection";
inline constexpr const char* kGroupKey = "Key";
inline constexpr const char* kGroupOutput = "Output";
inline constexpr const char* kGroupAdvanced = "Advanced";

// The exit codes and spelling notes every --help ends with.
extern const char* const kExitCodesFooter;
// --help footer of a subcommand: `text` (notes and examples), then the exit codes.
void set_footer(CLI::App* cmd, const std::string& text);

// --threads N: N >= 1; the error says "at least 1", not a numeric range.
CLI::Option* add_threads_option(CLI::App* cmd, unsigned& threads);
// --io-depth N: reads in flight for uncached data, 1 to 1024.
CLI::Option* add_io_depth_option(CLI::App* cmd, unsigned& io_depth);
// --json on a subcommand (the global --json before the subcommand works as well).
CLI::Option* add_json_flag(CLI::App* cmd, bool& json, std::string_view description);
// Whether JSON output is on: the subcommand's flag or the global one.
bool json_mode(bool local);

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

HashingOptions hashing_defaults(unsigned threads, unsigned io_depth);

struct GlobalOptions {
  std::string log_level = "warning";
  bool json = false;
};

// Prints "<what> failed with error: <msg>" to stderr (and the JSON failure object on
// stdout with --json), returns 1.
int report_failure(std::string_view what, const Error& e);
// A missing or contradictory required input found after parsing: exit code 2.
int usage_error(std::string_view message);

// The last flush and close of stdout, from main: 0, or 1 with a message.
int close_stdout();

}  // namespace modelsign::cli
