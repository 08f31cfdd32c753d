// modelsign command line: model_signing-compatible sign / verify / digest, plus keygen
// and the hardware providers' tools. The parser and the commands live in cli/app.cpp.
#include "cli/app.h"

int main(int argc, char** argv) { return modelsign::cli::run_cli(argc, argv); }
