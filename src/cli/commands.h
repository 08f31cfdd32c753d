#pragma once

#include "cli/cli11_fwd.h"
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/record.h"
#include "cli/sigstore_trust.h"
#include "modelsign/key_provider.h"
#include "modelsign/sign.h"
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
  RecordArgs record;  // --audit-log, --ci-dotenv
  std::string method_reason;  // `sign MODEL_PATH`: why this method (audit log)
};
void add_sign_options(CLI::App* cmd, SignArgs& a, bool with_certificate);
// The audit event of a sign or verify before it runs: operation, model, signature path,
// method, and the key reference's PKCS#11 URI or TPM key (the rest is filled in as known).
audit::Event operation_event(std::string_view operation, const ModelOptions& m, std::string_view method,
                             std::string_view key_reference);
// The audit facts of a finished key or certificate signature: root digest and signer (key
// hint or certificate subject); marks the event successful.
void note_signed(audit::Event& ev, const SignResult& r, bool with_certificate);
// Opens the key through the registry, hashes, signs and writes the bundle atomically.
// Records the operation (audit log, CI outputs) whatever the outcome.
int run_sign(const SignArgs& a, std::string_view method, const std::string& key_reference,
             const ProviderOptions& provider_options, bool with_certificate);

// Wipes the value of the environment variable `name` in place and unsets it: a private
// key read from SIGNING_PRIVATE_KEY is no longer in the process, nor in any child's
// environment, once the signer holds it.
void wipe_environment_secret(const char* name);

// `sign MODEL_PATH` / `verify MODEL_PATH` without a method: chosen from the flags and the
// environment (cmd_sign.cpp, cmd_verify.cpp).
// For `sign kye`: when MODEL_PATH names no file and is close to one of the command's
// methods, the usage error saying so; else empty.
std::string misspelt_method(const std::string& model_path, std::string_view command);
// `audit verify FILE` (cmd_audit.cpp).
void register_audit(CLI::App& app, int* rc);

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
  RecordArgs record;  // --audit-log, --ci-dotenv
  unsigned io_depth = 0;
};
void add_verify_options(CLI::App* cmd, VerifyArgs& a);
// `resolve_trust`, when given, completes the Sigstore policy once the signature file has
// been read (so a missing signature is reported before any trust lookup or network use).
int run_verify(const VerifyArgs& a, VerifyMethod method, std::optional<PublicKey> key,
               const SigstorePolicy* sigstore = nullptr,
               const std::function<Result<void>(SigstorePolicy&)>& resolve_trust = {});
// `sign sigstore` (cmd_sign_sigstore.cpp), under "sign".
void register_sign_sigstore(CLI::App* sign, int* rc);
// `sign MODEL_PATH` when the environment chose keyless: `sign sigstore` with its defaults
// (ambient identity token, an ephemeral key), with the trust options `sign` was given.
int run_keyless_sign(const SignArgs& sign, const SigstoreTrustOptions& trust, const std::string& ca_file);
// `verify sigstore` (cmd_verify_sigstore.cpp).
void register_verify_sigstore(CLI::App* verify, int* rc);
// Its identity and trust flags, shared with `verify MODEL_PATH`.
// The keyless verification flags: the identity policy and where the trust comes from
// (sigstore_trust.h). `verify sigstore` requires the identity; `verify MODEL_PATH` does not.
struct SigstoreFlags {
  std::string identity;
  std::string issuer;
  bool identity_regex = false;
  SigstoreTrustOptions trust;
};
void add_sigstore_flags(CLI::App* cmd, SigstoreFlags& f, bool required);
// The identity policy; its trust material is filled in by sigstore_trust_resolver once the
// signature file has been read (run_verify's `resolve_trust`).
SigstorePolicy sigstore_policy(const SigstoreFlags& f);
std::function<Result<void>(SigstorePolicy&)> sigstore_trust_resolver(const SigstoreFlags& f);
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
