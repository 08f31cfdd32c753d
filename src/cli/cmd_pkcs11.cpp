// PKCS#11 commands: sign pkcs11-key / pkcs11-certificate, pkcs11 list, and the PIN
// prompt the other commands use for tokens.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "modelsign/log.h"
#include "pkcs11/pkcs11_provider.h"

namespace modelsign::cli {

namespace {

// Reads one line from the controlling terminal with echo off.
Result<SecretString> prompt_on_tty(std::string_view prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail(ErrorCode::kAuth, fmt::format("cannot open the terminal to ask for the {}; give it in a file", prompt.substr(0, prompt.find(':'))));
  struct Restore {
    int fd;
    termios saved{};
    bool active = false;
    ~Restore() {
      if (active) ::tcsetattr(fd, TCSAFLUSH, &saved);
      ::close(fd);
    }
  } restore{fd};
  if (::tcgetattr(fd, &restore.saved) == 0) {
    termios quiet = restore.saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore.active = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  if (::write(fd, prompt.data(), prompt.size()) < 0)
    return fail(ErrorCode::kIo, "cannot write the PIN prompt to the terminal");
  SecretString line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.append(std::string_view(&c, 1));
  c = 0;
  (void)!::write(fd, "\n", 1);
  if (!line.empty() && line.value().back() == '\r') line.pop_back();
  return line;
}

struct Pkcs11SignArgs {
  SignArgs sign;
  std::string uri;
};

struct ListArgs {
  std::string module;
  std::string uri;
};

int run_list(const ListArgs& a) {
  auto p = provider_by_name("pkcs11");
  if (!p) return report_failure("Listing", p.error());
  auto lines = (*p)->list(a.uri, pkcs11_provider_options(a.module));
  if (!lines) return report_failure("Listing", lines.error());
  if (output().json) {
    auto j = json_header(true, kExitOk);
    j["lines"] = *lines;
    return emit_json(j);
  }
  std::string out;
  for (const auto& l : *lines) out += log::printable(l) + "\n";
  return emit_text(out);
}

}  // namespace

Result<SecretString> prompt_on_terminal(std::string_view prompt) { return prompt_on_tty(prompt); }

ProviderOptions pkcs11_provider_options(std::string_view module) {
  ProviderOptions o;
  if (!module.empty()) o.params[kPkcs11ModuleOption] = std::string(module);
  o.secret.prompt = prompt_on_tty;
  return o;
}

void register_pkcs11(CLI::App& app, GlobalOptions&, int* rc) {
  CLI::App* sign = app.get_subcommand("sign");

  auto* key = make_args<Pkcs11SignArgs>();
  CLI::App* k = sign->add_subcommand(
      "pkcs11-key", "Sign with a key inside a PKCS#11 token (HSM), named by a pkcs11: URI");
  add_sign_options(k, key->sign, false);
  k->add_option(flag("pkcs11-uri"), key->uri,
                "pkcs11: URI of the key, e.g. \"pkcs11:token=prod;object=model-key\"; the PIN comes "
                "from ?pin-source=file:PATH, ?pin-value=, MODELSIGN_PKCS11_PIN or a prompt")
      ->required()
      ->option_text("URI")
      ->group(kGroupKey);
  set_footer(k, "Examples:\n"
            "  modelsign sign pkcs11-key --pkcs11-uri \"pkcs11:token=prod;object=model-key\" models/bert\n"
            "  modelsign sign pkcs11-key --pkcs11-uri "
            "\"pkcs11:token=prod;object=model-key?pin-source=file:/run/secrets/pin\" models/bert\n"
            "  modelsign pkcs11 list");
  k->callback([key, rc] {
    *rc = run_sign(key->sign, "pkcs11-key", key->uri, pkcs11_provider_options(), false);
  });

  auto* cert = make_args<Pkcs11SignArgs>();
  CLI::App* c = sign->add_subcommand(
      "pkcs11-certificate", "Sign with a PKCS#11 token key and its X.509 certificate");
  add_sign_options(c, cert->sign, true);
  c->add_option(flag("pkcs11-uri"), cert->uri, "pkcs11: URI of the key")
      ->required()
      ->option_text("URI")
      ->group(kGroupKey);
  c->callback([cert, rc] {
    *rc = run_sign(cert->sign, "pkcs11-certificate", cert->uri, pkcs11_provider_options(), true);
  });

  auto* list = make_args<ListArgs>();
  CLI::App* p11 = app.add_subcommand("pkcs11", "PKCS#11 tokens and keys");
  p11->require_subcommand(1);
  CLI::App* l = p11->add_subcommand(
      "list", "List tokens with their URIs; with --pkcs11-uri naming a token, its keys");
  l->add_option(flag("module"), list->module,
                "PKCS#11 module file or name (default: the modules registered with p11-kit)");
  l->add_option(flag("pkcs11-uri"), list->uri,
                "pkcs11: URI of a token (and optionally object=/id=/type= to filter)");
  l->callback([list, rc] { *rc = run_list(*list); });
}

}  // namespace modelsign::cli
