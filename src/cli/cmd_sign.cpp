#include <nlohmann/json.hpp>

#include <cstdio>
#include <fmt/format.h>
#include <cstdlib>

#include "cli/commands.h"
#include "modelsign/log.h"
#include "modelsign/sign.h"

namespace modelsign::cli {

namespace {

constexpr const char* kPrivateKeyEnv = "SIGNING_PRIVATE_KEY";  // as CI platforms store it
constexpr const char* kKeyPasswordEnv = "MODELSIGN_KEY_PASSWORD";

struct KeyArgs {
  SignArgs sign;
  std::string private_key;
  std::string password_file;
  std::string password;  // model_signing's --password; visible in the process list
};

int print_success(const SignArgs& a, std::string_view method, const std::string& sig_path,
                  const SignResult& r) {
  std::string out;
  if (a.json) {
    nlohmann::ordered_json j = {{"result", "Signing succeeded"},
                                {"method", method},
                                {"model_name", r.manifest.model_name},
                                {"root_digest", "sha256:" + to_hex(r.manifest.root_digest())},
                                {"signature", sig_path},
                                {"signer", r.signer},
                                {"files", r.manifest.resources.size()}};
    out = j.dump(2) + "\n";
  } else {
    out = "Signing succeeded\n";
  }
  return print_result("Signing", out);
}

ProviderOptions key_provider_options(const KeyArgs& k) {
  ProviderOptions o;
  o.secret.file = k.password_file;
  o.secret.env_var = kKeyPasswordEnv;
  if (!k.password.empty()) {
    log::warning("--password exposes the password in the process list; prefer --password-file or {}",
                 kKeyPasswordEnv);
    ::setenv(kKeyPasswordEnv, k.password.c_str(), 1);
  }
  return o;
}

Result<std::string> private_key_reference(const KeyArgs& k) {
  if (!k.private_key.empty()) return k.private_key;
  if (const char* v = std::getenv(kPrivateKeyEnv); v != nullptr && *v != '\0')
    return std::string("env:") + kPrivateKeyEnv;
  return fail(ErrorCode::kNotFound,
              fmt::format("Private key not found: looked at --private-key (not given) and the "
                          "environment variable {} (not set); pass --private-key PATH or set {} to "
                          "the PEM text of the key",
                          kPrivateKeyEnv, kPrivateKeyEnv));
}

}  // namespace

void add_sign_options(CLI::App* cmd, SignArgs& a, bool with_certificate) {
  add_model_options(cmd, a.model);
  add_signature_option(cmd, a.model);
  if (with_certificate) {
    cmd->add_option(flag("signing-certificate"), a.signing_certificate,
                    "PEM certificate of the signing key")
        ->required();
    cmd->add_option(flag("certificate-chain"), a.certificate_chain,
                    "PEM file with chain certificates to embed (repeatable)")
        ->take_all()
        ->allow_extra_args(false);  // one file per flag, as model_signing: keeps MODEL_PATH
  }
  cmd->add_flag(flag("json"), a.json, "Print a machine-readable result");
  cmd->add_option(flag("threads"), a.threads, "Hashing threads (default: online CPUs)")
      ->check(CLI::PositiveNumber);
  cmd->add_option(flag("hash"), a.hash,
                  "sha256 (default) or blake2b; model_signing's CLI verifies sha256 only")
      ->check(CLI::IsMember({"sha256", "blake2b", "blake2"}));
  cmd->add_option(flag("serialization"), a.serialization,
                  "files (default) or shards; model_signing's CLI verifies files only")
      ->check(CLI::IsMember({"files", "shards"}));
  cmd->add_option(flag("shard-size"), a.shard_size, "Shard size in bytes")->check(CLI::PositiveNumber);
}

int run_sign(const SignArgs& a, std::string_view method, const std::string& key_reference,
             const ProviderOptions& provider_options, bool with_certificate) {
  const std::string sig_path = signature_path(a.model);
  if (auto c = check_output_path(sig_path); !c) return report_failure("Signing", c.error());
  // Open the key first: a wrong PIN or a missing key fails before hours of hashing.
  auto signer = open_signer(key_reference, provider_options);
  if (!signer) return report_failure("Signing", signer.error());

  SignOptions opts;
  if (with_certificate) {
    auto leaf = read_pem_certificates(a.signing_certificate);
    if (!leaf) return report_failure("Signing", leaf.error());
    opts.certificate_chain.push_back(leaf->front());
    for (const auto& f : a.certificate_chain) {
      auto certs = read_pem_certificates(f);
      if (!certs) return report_failure("Signing", certs.error());
      for (auto& c : *certs) opts.certificate_chain.push_back(std::move(c));
    }
  }
  opts.serialization = serialization_from(a.model, {sig_path});
  auto method_v = parse_method(a.serialization);
  auto hash_v = parse_hash(a.hash);
  if (!method_v) return report_failure("Signing", method_v.error());
  if (!hash_v) return report_failure("Signing", hash_v.error());
  opts.serialization.method = *method_v;
  opts.serialization.hash = *hash_v;
  opts.serialization.shard_size = a.shard_size;
  opts.hashing = hashing_defaults(a.threads);

  auto result = sign_model(a.model.model_path, **signer, opts);
  if (!result) return report_failure("Signing", result.error());
  if (auto w = write_file_atomically(sig_path, result->bundle_json); !w)
    return report_failure("Signing", w.error());
  log::info("signed {} files of '{}' with {} -> {}", result->manifest.resources.size(),
            a.model.model_path, (*signer)->describe(), sig_path);
  return print_success(a, method, sig_path, *result);
}

void register_sign(CLI::App& app, GlobalOptions&, int* rc) {
  CLI::App* sign = app.add_subcommand("sign", "Sign a model");
  sign->require_subcommand(1);
  add_sigstore_placeholder(sign, "Signing", rc);

  auto* key = new KeyArgs();
  CLI::App* k = sign->add_subcommand("key", "Sign with a PEM private key (file or $SIGNING_PRIVATE_KEY)");
  add_sign_options(k, key->sign, false);
  k->add_option(flag("private-key"), key->private_key,
                "PEM private key (default: the PEM text in $SIGNING_PRIVATE_KEY)");
  k->add_option(flag("password-file"), key->password_file,
                "File holding the password of an encrypted key (or set MODELSIGN_KEY_PASSWORD)");
  k->add_option(flag("password"), key->password, "Password (prefer --password-file)");
  k->callback([key, rc] {
    auto ref = private_key_reference(*key);
    if (!ref) {
      *rc = report_failure("Signing", ref.error());
      return;
    }
    auto opts = key_provider_options(*key);
    *rc = run_sign(key->sign, "key", *ref, opts, false);
  });

  auto* cert = new KeyArgs();
  CLI::App* c = sign->add_subcommand("certificate", "Sign with a PEM private key and its X.509 certificate");
  add_sign_options(c, cert->sign, true);
  c->add_option(flag("private-key"), cert->private_key, "PEM private key")->required();
  c->add_option(flag("password-file"), cert->password_file, "File holding the key's password");
  c->add_option(flag("password"), cert->password, "Password (prefer --password-file)");
  c->callback([cert, rc] {
    auto opts = key_provider_options(*cert);
    *rc = run_sign(cert->sign, "certificate", cert->private_key, opts, true);
  });
}

}  // namespace modelsign::cli
