// modelsign command line: model_signing-compatible sign / verify / digest, plus keygen
// and the hardware providers' tools. The parser and the commands live in cli/app.cpp.
#include "cli/app.h"
#include "cli/cli_common.h"

int main(int argc, char** argv) {
  int rc = modelsign::cli::run_cli(argc, argv);
  // A result lost to a full disk or a closed pipe is a failure, not a success.
  if (int c = modelsign::cli::close_stdout(); c != 0 && rc == 0) rc = c;
  return rc;
}
