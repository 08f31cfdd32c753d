// The modelsign command line as a value: the CLI11 App with every subcommand, and the
// driver that parses, runs and maps every outcome to an exit code.
#pragma once

#include "cli/cli11_fwd.h"

#include <string>
#include <vector>

#include "cli/cli_common.h"

namespace modelsign::cli {

// The App's description (first line of --help and of the man page).
extern const char* const kAppDescription;

// Adds the global options and every subcommand to `app`; callbacks store exit codes in *rc.
void build_app(CLI::App& app, GlobalOptions& g, int* rc);

// parse + run + exit code: 0 success, 1 signing/verification failure, 2 usage error.
int run_cli(int argc, char** argv);

// Edit distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate to `word`, or empty when none is close enough.
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

// For a parse failure: a message naming the unknown command or option with a
// suggestion, or empty when argv has neither (then CLI11's own message is used).
std::string diagnose_usage(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace modelsign::cli
