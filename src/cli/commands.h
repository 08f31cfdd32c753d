#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "modelsign/key_provider.h"
#include "modelsign/verify.h"

namespace modelsign::cli {

// Each registers its subcommand(s); the callback stores the process exit code in *rc.
void register_digest(CLI::App& app, GlobalOptions& g, int* rc);
void register_sign(CLI::App& app, GlobalOptions& g, int* rc);
void register_verify(CLI::App& app, GlobalOptions& g, int* rc);
void register_keygen(CLI::App& app, GlobalOptions& g, int* rc);
// sign pkcs11-key / pkcs11-certificate (under "sign", so after register_sign) and
// pkcs11 list.
void register_pkcs11(CLI::App& app, GlobalOptions& g, int* rc);
void register_trust(CLI::App& app, GlobalOptions& g, int* rc);  // cmd_trust.cpp: trust update / show

// Options for the PKCS#11 provider: an optional module (path or name) and the PIN
// prompt on the terminal.
ProviderOptions pkcs11_provider_options(std::string_view module = {});
// Asks on the controlling terminal with echo off (PINs, passwords).
Result<SecretString> prompt_on_terminal(std::string_view prompt);

// Options every `sign <method>` shares.
struct SignArgs {
  ModelOptions model;
  std::string signing_certificate;
  std::vector<std::string> certificate_chain;
  bool json = false;
  unsigned threads = 0;
  unsigned io_depth = 0;
  std::string hash = "sha256";
  std::string serialization = "files";
  std::uint64_t shard_size = kDefaultShardSize;
};
void add_sign_options(CLI::App* cmd, SignArgs& a, bool with_certificate);
// Opens the key through the registry, hashes, signs and writes the bundle atomically.
int run_sign(const SignArgs& a, std::string_view method, const std::string& key_reference,
             const ProviderOptions& provider_options, bool with_certificate);

// Options every `verify <method>` shares.
struct VerifyArgs {
  ModelOptions model;
  std::vector<std::string> certificate_chain;
  bool log_fingerprints = false;
  bool use_system_trust_store = false;  // verify certificate: explicit opt-in
  bool ignore_unsigned_files = false;
  bool strict_ignored = false;
  bool json = false;
  unsigned threads = 0;
  unsigned io_depth = 0;
};
void add_verify_options(CLI::App* cmd, VerifyArgs& a);
int run_verify(const VerifyArgs& a, VerifyMethod method, std::optional<PublicKey> key,
               const SigstorePolicy* sigstore = nullptr);
// `verify sigstore` (cmd_verify_sigstore.cpp).
void register_verify_sigstore(CLI::App* verify, int* rc);
// The keyless part of the verify output: indented lines, and a JSON object.
std::string sigstore_text(const SigstoreDetails& d);
nlohmann::ordered_json sigstore_json(const SigstoreDetails& d);

// TPM 2.0 (cmd_tpm2.cpp): `sign tpm2-key`, `sign tpm2-certificate`, `tpm2 list`, and the
// pieces `verify key --tpm2-key` and `keygen --tpm2` use.
struct Tpm2Options {
  std::string key;        // --tpm2-key: handle:0x81000001, tpm2:handle=..., TSS2 key file
  std::string tcti;       // --tcti (else TPM2TOOLS_TCTI, TSS2_TCTI, the tss default)
  std::string auth_file;  // --tpm2-auth-file (else MODELSIGN_TPM_AUTH, else a prompt)
  std::string timeout;    // --tpm2-timeout: seconds one TPM command may take (default 30)
};
// Adds --tpm2-key (returned), --tcti and, with_auth, --tpm2-auth-file.
CLI::Option* add_tpm2_options(CLI::App* cmd, Tpm2Options& t, bool key_required, bool with_auth);
ProviderOptions tpm2_provider_options(const Tpm2Options& t);
// The TPM provider, after checking that it handles `reference`.
Result<const KeyProvider*> tpm2_provider_for(std::string_view reference);
Result<PublicKey> tpm2_public_key(const Tpm2Options& t);
void register_tpm2(CLI::App& app, GlobalOptions& g, int* rc);

}  // namespace modelsign::cli
