// The man page and the bash completion, generated from the CLI11 App itself (its help
// text, its subcommands and options), so neither can drift from the command line.
#pragma once

#include "cli/cli11_fwd.h"

#include <string>

namespace modelsign::cli {

// modelsign(1) in roff: every command's --help text, verbatim.
std::string man_page(const CLI::App& app, const std::string& version);
// A bash completion script: subcommands and options for every command path.
std::string bash_completion(const CLI::App& app);

}  // namespace modelsign::cli
