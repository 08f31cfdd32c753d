#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace modelsign::cli {

// Each registers its subcommand; the callback stores the process exit code in *rc.
void register_digest(CLI::App& app, GlobalOptions& g, int* rc);

}  // namespace modelsign::cli
