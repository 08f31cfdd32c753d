// TPM 2.0 commands. The key stays in the TPM; these only route references and options to
// the TPM provider and reuse the common sign / verify flow.
#include <CLI/CLI.hpp>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "modelsign/log.h"
#include "tpm2/tpm2_provider.h"

namespace modelsign::cli {

namespace {

constexpr const char* kTpmAuthEnv = "MODELSIGN_TPM_AUTH";

// Reads a line from the terminal without echo; the value never reaches logs or output.
Result<SecretString> prompt_secret(std::string_view prompt) {
  std::fwrite(prompt.data(), 1, prompt.size(), stderr);
  std::fflush(stderr);
  termios old{};
  const bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // read(2), not stdio: no library buffer keeps a copy of the secret.
  SecretString line;
  char ch = 0;
  while (::read(STDIN_FILENO, &ch, 1) == 1 && ch != '\n') line.append(std::string_view(&ch, 1));
  ch = 0;
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::fputc('\n', stderr);
  return line;
}

struct Tpm2SignArgs {
  SignArgs sign;
  Tpm2Options tpm;
};

int run_tpm2_sign(const Tpm2SignArgs& a, std::string_view method, bool with_certificate) {
  if (auto p = tpm2_provider_for(a.tpm.key); !p) return report_failure("Signing", p.error());
  return run_sign(a.sign, method, a.tpm.key, tpm2_provider_options(a.tpm), with_certificate);
}

int run_list(const Tpm2Options& t) {
  auto p = provider_by_name("tpm2");
  if (!p) return report_failure("Listing TPM keys", p.error());
  auto keys = (*p)->list("", tpm2_provider_options(t));
  if (!keys) return report_failure("Listing TPM keys", keys.error());
  if (output().json) {
    auto j = json_header(true, kExitOk);
    j["lines"] = *keys;
    return emit_json(j);
  }
  std::string out;
  if (keys->empty()) {
    out = "No persistent signing keys in the TPM\n";
  } else {
    for (const auto& line : *keys) out += log::printable(line) + "\n";
  }
  return emit_text(out);
}

}  // namespace

CLI::Option* add_tpm2_options(CLI::App* cmd, Tpm2Options& t, bool key_required, bool with_auth) {
  CLI::Option* key = cmd->add_option(
      flag("tpm2-key"), t.key,
      "TPM key: handle:0x81000001, tpm2:handle=0x81000001 or a TSS2 PRIVATE KEY file")
      ->option_text("REF")
      ->group(kGroupKey);
  if (key_required) key->required();
  cmd->add_option(flag("tcti"), t.tcti,
                  "TPM connection, e.g. device:/dev/tpmrm0, tabrmd:, swtpm:path=SOCKET "
                  "(default: $TPM2TOOLS_TCTI, $TSS2_TCTI, then the tss default search)")
      ->option_text("TCTI")
      ->group(kGroupKey);
  cmd->add_option(flag("tpm2-timeout"), t.timeout,
                  "Seconds to wait for each TPM answer before failing (default 30)")
      ->group(kGroupAdvanced);
  if (with_auth)
    cmd->add_option(flag("tpm2-auth-file"), t.auth_file,
                    "File holding the key's authorisation value (or set MODELSIGN_TPM_AUTH)")
        ->option_text("PATH")
        ->group(kGroupKey);
  return key;
}

ProviderOptions tpm2_provider_options(const Tpm2Options& t) {
  ProviderOptions o;
  if (!t.tcti.empty()) o.params[kTpm2TctiOption] = t.tcti;
  if (!t.timeout.empty()) o.params[kTpm2TimeoutOption] = t.timeout;
  o.secret.file = t.auth_file;
  o.secret.env_var = kTpmAuthEnv;
  o.secret.prompt = prompt_secret;
  return o;
}

Result<const KeyProvider*> tpm2_provider_for(std::string_view reference) {
  auto p = provider_by_name("tpm2");
  if (!p) return fail(p.error());
  if ((*p)->claims(reference)) return p;
  if (::access(std::string(reference).c_str(), R_OK) != 0)
    return fail(ErrorCode::kNotFound,
                fmt::format("TPM key '{}' not found: expected handle:0x81000001, "
                            "tpm2:handle=0x81000001 or a readable TSS2 PRIVATE KEY file",
                            reference));
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("'{}' is not a TPM key file (it does not start with '-----BEGIN TSS2 "
                          "PRIVATE KEY-----'); a PEM private key is signed with 'sign key "
                          "--private-key'",
                          reference));
}

Result<PublicKey> tpm2_public_key(const Tpm2Options& t) {
  auto p = tpm2_provider_for(t.key);
  if (!p) return fail(p.error());
  return (*p)->public_key(t.key, tpm2_provider_options(t));
}

void register_tpm2(CLI::App& app, GlobalOptions&, int* rc) {
  CLI::App* sign = app.get_subcommand("sign");

  auto* key = make_args<Tpm2SignArgs>();
  CLI::App* k = sign->add_subcommand(
      "tpm2-key", "Sign with a key inside a TPM 2.0 (persistent handle or TSS2 key file)");
  add_sign_options(k, key->sign, false);
  add_tpm2_options(k, key->tpm, true, true);
  set_footer(k, "Examples:\n"
            "  modelsign sign tpm2-key --tpm2-key handle:0x81000001 models/bert\n"
            "  modelsign sign tpm2-key --tpm2-key signer.tss2 --tcti swtpm:path=/run/swtpm.sock models/bert\n"
            "  modelsign verify key --tpm2-key handle:0x81000001 models/bert");
  k->callback([key, rc] { *rc = run_tpm2_sign(*key, "tpm2-key", false); });

  auto* cert = make_args<Tpm2SignArgs>();
  CLI::App* c = sign->add_subcommand(
      "tpm2-certificate", "Sign with a TPM 2.0 key and its X.509 certificate");
  add_sign_options(c, cert->sign, true);
  add_tpm2_options(c, cert->tpm, true, true);
  c->callback([cert, rc] { *rc = run_tpm2_sign(*cert, "tpm2-certificate", true); });

  CLI::App* tpm2 = app.add_subcommand("tpm2", "TPM 2.0 key tools");
  tpm2->require_subcommand(1);
  auto* list = make_args<Tpm2Options>();
  CLI::App* l = tpm2->add_subcommand("list", "List the TPM's persistent signing keys");
  l->add_option(flag("tcti"), list->tcti, "TPM connection (default: $TPM2TOOLS_TCTI, $TSS2_TCTI, "
                                          "then the tss default search)");
  l->callback([list, rc] { *rc = run_list(*list); });
}

}  // namespace modelsign::cli
