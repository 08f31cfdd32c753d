// Build-time generator: `modelsign_gendoc man|bash-completion` prints the man page or
// the completion script of the App that `modelsign` runs.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/app.h"
#include "cli/gendoc.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: modelsign_gendoc man|bash-completion\n", stderr);
    return 2;
  }
  CLI::App app{modelsign::cli::kAppDescription};
  modelsign::cli::GlobalOptions g;
  int rc = 0;
  modelsign::cli::build_app(app, g, &rc);
  const std::string what = argv[1];
  std::string out = what == "man"               ? modelsign::cli::man_page(app, MODELSIGN_VERSION)
                    : what == "bash-completion" ? modelsign::cli::bash_completion(app)
                                                : std::string();
  if (out.empty()) return 2;
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0 ? 0 : 1;
}
