// modelsign command line: model_signing-compatible sign / verify / digest, plus keygen
// and the hardware providers' tools.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "modelsign/log.h"

int main(int argc, char** argv) {
  using namespace modelsign;
  // Exceeding RLIMIT_FSIZE must fail the write with EFBIG, so the atomic writer can remove
  // its temporary file, instead of killing the process and leaving the temp file behind.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"modelsign: sign and verify ML models (OpenSSF Model Signing format), with keys "
               "in files, PKCS#11 tokens or TPMs"};
  app.set_version_flag("--version", std::string("modelsign, version ") + MODELSIGN_VERSION);
  cli::GlobalOptions g;
  app.add_option(cli::flag("log-level"), g.log_level, "debug, info, warning (default) or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error", "critical"}, CLI::ignore_case));
  app.require_subcommand(1);
  int rc = 0;
  cli::register_sign(app, g, &rc);
  cli::register_verify(app, g, &rc);
  cli::register_digest(app, g, &rc);
  cli::register_keygen(app, g, &rc);
  cli::register_pkcs11(app, g, &rc);
  cli::register_tpm2(app, g, &rc);  // after sign: adds sign tpm2-key / tpm2-certificate
  cli::register_trust(app, g, &rc);
  app.parse_complete_callback([&] {
    log::Level l;
    if (log::parse_level(g.log_level, &l)) log::set_level(l);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help/version or the usage error
    return code == 0 ? 0 : 2;
  }
  return rc;
}
