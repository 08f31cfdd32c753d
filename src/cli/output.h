// What the CLI prints: one result line (text) or one JSON object (--json) for every
// outcome, success, failure or usage error, and the exit code that goes with it.
// The JSON schema is documented in docs/cli.md; bump kJsonSchemaVersion on any
// incompatible change.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "modelsign/error.h"

namespace modelsign::cli {

inline constexpr int kJsonSchemaVersion = 1;

// Exit codes (README, docs/cli.md, --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // signing or verification failed
inline constexpr int kExitUsage = 2;    // the command line is wrong or lacks a required input

// Set once the command line is parsed (or guessed from argv when parsing fails).
struct OutputState {
  bool json = false;
  std::string command;         // "verify key", "sign certificate", ...
  std::string what = "modelsign";  // "Signing", "Verification", ... for failure lines
  bool emitted = false;        // a result was printed: main must not print another
};
OutputState& output();

// One JSON object with the common fields: schema_version, command, ok, exit_code.
nlohmann::ordered_json json_header(bool ok, int exit_code);
// Serialises without ever throwing: bytes that are not UTF-8 are replaced (U+FFFD).
std::string json_text(const nlohmann::ordered_json& j);
// Prints `j` (plus a newline) to stdout and marks the outcome emitted; returns the exit
// code: kExitFailure (with a message on stderr) when stdout cannot take it.
int emit_json(const nlohmann::ordered_json& j);
// Prints `text` to stdout (text mode) and marks the outcome emitted; returns the exit
// code like emit_json.
int emit_text(std::string_view text);

// Extra fields for a failure's JSON object (e.g. the extra/missing/changed lists).
struct FailureDetail {
  std::vector<std::string> extra, missing, changed;
  bool has_lists = false;
};

// "<what> failed with error: <message>" on stderr (escaped: untrusted text), the JSON
// failure object on stdout with --json; returns kExitFailure.
int report_failure_detail(std::string_view what, const Error& e, const FailureDetail& detail);
// Only the JSON failure object (with --json); for commands with their own text line.
void emit_failure_json(const Error& e, const FailureDetail& detail);
// A usage error: "Error: <message>" and a pointer to --help on stderr, the JSON failure
// object (error code "usage") with --json; returns kExitUsage.
int report_usage(std::string_view message, std::string_view help_command = {});

}  // namespace modelsign::cli
