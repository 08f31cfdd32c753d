#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "ci/method_choice.h"
#include "cli/output.h"
#include "common/ci_env.h"
#include "common/files.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "modelsign/log.h"
#include "modelsign/sign.h"
#include "pem/pem_provider.h"

namespace modelsign::cli {

namespace {

struct KeyArgs {
  SignArgs sign;
  std::string private_key;
  std::string password_file;
  std::string password;  // model_signing's --password; visible in the process list
  bool allow_insecure_key_permissions = false;
};

int print_success(const SignArgs& a, std::string_view method, const std::string& sig_path,
                  const SignResult& r) {
  if (json_mode(a.json)) {
    auto j = json_header(true, kExitOk);
    j["result"] = "Signing succeeded";
    j["method"] = method;
    j["model_name"] = r.manifest.model_name;
    j["root_digest"] = "sha256:" + to_hex(r.manifest.root_digest());
    j["signature"] = sig_path;
    j["signer"] = r.signer;
    auto files = nlohmann::ordered_json::array();
    for (const auto& res : r.manifest.resources) files.push_back(res.name);
    j["file_count"] = r.manifest.resources.size();
    j["files"] = std::move(files);
    return emit_json(j);
  }
  return emit_text(fmt::format("Signing succeeded: {}\n", log::printable(sig_path)));
}

ProviderOptions key_provider_options(const KeyArgs& k) {
  ProviderOptions o;
  o.secret.file = k.password_file;
  o.secret.env_var = kKeyPasswordEnv;
  // An encrypted key on a terminal: ask, with echo off.
  o.secret.prompt = prompt_on_terminal;
  if (k.allow_insecure_key_permissions) {
    o.params[kPemAllowInsecurePermissionsOption] = "1";
    log::warning("--allow-insecure-key-permissions: a private key readable by others is accepted; "
                 "use it only for a key mounted read-only as a CI or Kubernetes secret");
  }
  if (!k.password.empty()) {
    log::warning("--password exposes the password in the process list; prefer --password-file or {}",
                 kKeyPasswordEnv);
    // Handed to the key provider directly: never through the environment, which every
    // child process (a PKCS#11 module's helper, a TCTI command) would inherit.
    o.secret.value = std::make_shared<const SecretString>(std::string_view(k.password));
  }
  return o;
}

// The key reference, or empty with *why set when no key was given at all (a usage error).
std::string private_key_reference(const KeyArgs& k, std::string* why) {
  if (!k.private_key.empty()) return k.private_key;
  const char* v = std::getenv(kPrivateKeyEnv);
  if (v != nullptr && *v != '\0') {
    log::debug("private key: the PEM text in the environment variable {}", kPrivateKeyEnv);
    return std::string("env:") + kPrivateKeyEnv;
  }
  *why = fmt::format("Private key not found: looked at --private-key (not given) and the environment "
                     "variable {} ({}); pass --private-key PATH (or - for standard input) or set {} to "
                     "the PEM text of the key",
                     kPrivateKeyEnv, v == nullptr ? "not set" : "set but empty", kPrivateKeyEnv);
  return {};
}

// Reads the start of a key file to explain a failure; wiped afterwards.
std::string key_file_head(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(8192, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return head;
}

// Turns a key-opening failure into advice about the usual mistakes.
Error explain_key_error(const Error& e, const std::string& reference, const ProviderOptions& o) {
  if (reference.starts_with("env:") || reference == "-" || reference.starts_with("pkcs11:") ||
      reference.starts_with("handle:") || reference.starts_with("tpm2:"))
    return e;
  if (e.code == ErrorCode::kPermission || e.code == ErrorCode::kMalformed) {
    std::string head = key_file_head(reference);
    const bool is_public = head.find("-----BEGIN PUBLIC KEY-----") != std::string::npos &&
                           head.find("PRIVATE KEY-----") == std::string::npos;
    OPENSSL_cleanse(head.data(), head.size());
    if (is_public)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("'{}' is a public key; --private-key needs the private key (the public "
                               "key is for 'verify key --public-key')",
                               reference));
  }
  if (e.code == ErrorCode::kPermission && e.message.find("chmod") != std::string::npos) {
    Error out = e;
    out.message += "; for a key mounted read-only as a CI or Kubernetes secret, pass "
                   "--allow-insecure-key-permissions";
    return out;
  }
  if (e.code == ErrorCode::kAuth && e.message.find("none was given") != std::string::npos &&
      o.secret.file.empty())
    return Error(ErrorCode::kAuth,
                 fmt::format("the private key '{}' is encrypted and no password was given: pass "
                             "--password-file FILE, set {}, or run on a terminal to be asked",
                             reference, kKeyPasswordEnv));
  return e;
}

// sign certificate: the chain should lead to the issuer of a self-signed root; a leaf
// alone, issued by someone else, usually means the intermediate was forgotten.
void warn_about_chain(const std::vector<Bytes>& chain) {
  if (chain.empty()) return;
  auto last = x509::parse_der(chain.back());
  if (!last) return;
  std::string subject = x509::subject(last->get()), issuer = x509::issuer(last->get());
  if (subject == issuer) return;  // ends at a self-signed root
  if (chain.size() == 1)
    log::warning("the signature will carry only the signing certificate '{}', issued by '{}': unless "
                 "'{}' is the root CA that verifiers pass with --certificate-chain, verification fails "
                 "for lack of the intermediate; add it with --certificate-chain INTERMEDIATE.pem",
                 subject, issuer, issuer);
  else
    log::debug("the chain ends at '{}', issued by '{}': verifiers need '{}' as their trust anchor",
               subject, issuer, issuer);
}

}  // namespace

void add_sign_options(CLI::App* cmd, SignArgs& a, bool with_certificate) {
  add_model_options(cmd, a.model);
  add_signature_option(cmd, a.model);
  if (with_certificate) {
    cmd->add_option(flag("signing-certificate"), a.signing_certificate,
                    "PEM certificate of the signing key")
        ->required()
        ->option_text("PATH")
        ->group(kGroupKey);
    cmd->add_option(flag("certificate-chain"), a.certificate_chain,
                    "PEM file with the intermediate certificates to embed (repeatable)")
        ->take_all()
        ->allow_extra_args(false)  // one file per flag, as model_signing: keeps MODEL_PATH
        ->option_text("PATH")
        ->group(kGroupKey);
  }
  add_json_flag(cmd, a.json, "Print one JSON object for every outcome (schema: docs/cli.md)");
  add_record_options(cmd, a.record);
  add_threads_option(cmd, a.threads);
  add_io_depth_option(cmd, a.io_depth);
  cmd->add_option(flag("hash"), a.hash,
                  "sha256 (default) or blake2b; model_signing's CLI verifies sha256 only")
      ->check(CLI::IsMember({"sha256", "blake2b", "blake2"}))
      ->option_text("ALG")
      ->group(kGroupAdvanced);
  cmd->add_option(flag("serialization"), a.serialization,
                  "files (default) or shards; model_signing's CLI verifies files only")
      ->check(CLI::IsMember({"files", "shards"}))
      ->option_text("METHOD")
      ->group(kGroupAdvanced);
  cmd->add_option(flag("shard-size"), a.shard_size, "Shard size in bytes (default: 1000000000)")
      ->check(CLI::PositiveNumber)
      ->option_text("BYTES")
      ->group(kGroupAdvanced);
}

audit::Event operation_event(std::string_view operation, const ModelOptions& m, std::string_view method,
                             std::string_view key_reference) {
  audit::Event e;
  e.operation = operation;
  e.model_path = m.model_path;
  e.signature_path = signature_path(m);
  e.method = method;
  if (key_reference.starts_with("pkcs11:")) e.signer.pkcs11_uri = key_reference;  // PIN dropped when written
  else if (method.starts_with("tpm2")) e.signer.tpm2_key = key_reference;
  return e;
}

void note_signed(audit::Event& ev, const SignResult& r, bool with_certificate) {
  ev.root_digest = "sha256:" + to_hex(r.manifest.root_digest());
  ev.signer.summary = r.signer;
  (with_certificate ? ev.signer.certificate_subject : ev.signer.key_hint) = r.signer;
  ev.ok = true;
}

void wipe_environment_secret(const char* name) {
  if (char* v = std::getenv(name); v != nullptr) OPENSSL_cleanse(v, std::strlen(v));
  ::unsetenv(name);
}

int run_sign(const SignArgs& a, std::string_view method, const std::string& key_reference,
             const ProviderOptions& provider_options, bool with_certificate) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  const std::string sig_path = signature_path(a.model);
  audit::Event ev = operation_event("sign", a.model, method, key_reference);
  ev.method_reason = a.method_reason;
  auto failed = [&](const Error& e) { return fail_operation(a.record, ev, "Signing", e); };
  if (auto c = check_output_path(sig_path); !c) return failed(c.error());
  // Open the key first: a wrong PIN or a missing key fails before hours of hashing.
  auto t0 = Clock::now();
  auto signer = open_signer(key_reference, provider_options);
  // The key is in the signer now (or unusable): its PEM text leaves the environment.
  if (key_reference.starts_with("env:")) wipe_environment_secret(key_reference.c_str() + 4);
  if (!signer) return failed(explain_key_error(signer.error(), key_reference, provider_options));
  log::debug("signing key: {} ({}, public key hint {}), opened in {:.1f} ms", (*signer)->describe(),
             (*signer)->public_key().describe(), (*signer)->public_key().hint(), ms_since(t0));

  SignOptions opts;
  if (with_certificate) {
    auto leaf = read_pem_certificates(a.signing_certificate);
    if (!leaf) return failed(leaf.error());
    opts.certificate_chain.push_back(leaf->front());
    for (const auto& f : a.certificate_chain) {
      auto certs = read_pem_certificates(f);
      if (!certs) return failed(certs.error());
      for (auto& c : *certs) opts.certificate_chain.push_back(std::move(c));
    }
    warn_about_chain(opts.certificate_chain);
  }
  opts.serialization = serialization_from(a.model, {sig_path});
  auto method_v = parse_method(a.serialization);
  auto hash_v = parse_hash(a.hash);
  if (!method_v) return failed(method_v.error());
  if (!hash_v) return failed(hash_v.error());
  opts.serialization.method = *method_v;
  opts.serialization.hash = *hash_v;
  opts.serialization.shard_size = a.shard_size;
  opts.hashing = hashing_defaults(a.threads, a.io_depth);

  log::debug("hashing '{}' ({} {}) with {} thread(s)", a.model.model_path, a.serialization, a.hash,
             a.threads != 0 ? a.threads : default_threads());
  t0 = Clock::now();
  auto result = sign_model(a.model.model_path, **signer, opts);
  if (!result) return failed(result.error());
  log::debug("hashed {} files and signed in {:.1f} ms", result->manifest.resources.size(), ms_since(t0));
  note_signed(ev, *result, with_certificate);  // a failure below is recorded with these facts too
  t0 = Clock::now();
  if (auto w = write_file_atomically(sig_path, result->bundle_json); !w) return failed(w.error());
  log::debug("wrote '{}' ({} bytes) in {:.1f} ms", sig_path, result->bundle_json.size(), ms_since(t0));
  log::info("signed {} files of '{}' with {} -> {}", result->manifest.resources.size(),
            a.model.model_path, (*signer)->describe(), sig_path);
  if (auto rec = record_operation(a.record, ev); !rec)
    return report_failure("Signing", Error(rec.error().code,
                                           fmt::format("the signature was written to '{}', but {}", sig_path,
                                                       rec.error().message)));
  return print_success(a, method, sig_path, *result);
}

namespace {
void add_key_options(CLI::App* c, KeyArgs& k, std::string_view key_help) {
  c->add_option(flag("private-key"), k.private_key, std::string(key_help))
      ->option_text("PATH")
      ->group(kGroupKey);
  c->add_option(flag("password-file"), k.password_file,
                "File holding the password of an encrypted key (or set MODELSIGN_KEY_PASSWORD; on a "
                "terminal you are asked)")
      ->option_text("PATH")
      ->group(kGroupKey);
  c->add_option(flag("password"), k.password, "Password (prefer --password-file)")
      ->option_text("TEXT")
      ->group(kGroupKey);
  c->add_flag(flag("allow-insecure-key-permissions"), k.allow_insecure_key_permissions,
              "Accept a private key file readable by group or others, e.g. a read-only CI or "
              "Kubernetes secret mount (default: refused; warned when used)")
      ->group(kGroupKey);
}

// `sign MODEL_PATH`: every key flag of every method, none required.
struct AutoSignArgs {
  KeyArgs key;  // key.sign: the shared options; key.private_key etc.
  std::string pkcs11_uri;
  Tpm2Options tpm;
  SigstoreTrustOptions trust;  // keyless only: where the trust comes from
  std::string ca_file;         // keyless only: CA for the Sigstore services' TLS
};

int run_auto_sign(AutoSignArgs& a) {
  if (a.key.sign.model.model_path.empty())
    return usage_error("'modelsign sign' needs MODEL_PATH (the method is then chosen from the flags and the "
                       "environment), or a method: key, certificate, pkcs11-key, pkcs11-certificate, tpm2-key, "
                       "tpm2-certificate, sigstore");
  if (std::string m = misspelt_method(a.key.sign.model.model_path, "sign"); !m.empty()) return usage_error(m);
  ci::SignFlags f;
  f.private_key = !a.key.private_key.empty();
  f.pkcs11_uri = !a.pkcs11_uri.empty();
  f.tpm2_key = !a.tpm.key.empty();
  f.signing_certificate = !a.key.sign.signing_certificate.empty();
  auto choice = ci::choose_sign_method(f, audit::process_env());
  if (!choice) {
    audit::Event ev = operation_event("sign", a.key.sign.model, "", {});
    ev.exit_code = kExitUsage;
    ev.error = choice.error().message;
    if (auto rec = record_operation(a.key.sign.record, ev); !rec)
      log::warning("the failure could not be recorded: {}", rec.error().message);
    return usage_error(choice.error().message);
  }
  // Said whatever the log level: a CI log must show which identity signed and why.
  std::fprintf(stderr, "modelsign: signing method: %s (%s)\n", choice->method.c_str(),
               log::printable(choice->reason).c_str());
  a.key.sign.method_reason = choice->reason;
  const bool with_certificate = f.signing_certificate;
  if (choice->method == "sigstore") return run_keyless_sign(a.key.sign, a.trust, a.ca_file);
  if (!a.trust.trust_config.empty() || a.trust.use_staging || !a.trust.tuf_url.empty() || !a.trust.tuf_root.empty() ||
      a.trust.offline || !a.ca_file.empty())
    return usage_error(fmt::format("the Sigstore options (--trust-config, --use-staging, --tuf-url, --tuf-root, "
                                   "--offline, --ca-file) apply to keyless signing only, and the method chosen is "
                                   "{} ({})",
                                   choice->method, choice->reason));
  if (f.pkcs11_uri) return run_sign(a.key.sign, choice->method, a.pkcs11_uri, pkcs11_provider_options(), with_certificate);
  if (f.tpm2_key) {
    if (auto p = tpm2_provider_for(a.tpm.key); !p) return report_failure("Signing", p.error());
    return run_sign(a.key.sign, choice->method, a.tpm.key, tpm2_provider_options(a.tpm), with_certificate);
  }
  const std::string ref = f.private_key ? a.key.private_key : choice->key_reference;
  return run_sign(a.key.sign, choice->method, ref, key_provider_options(a.key), with_certificate);
}

int run_key_sign(const KeyArgs& k, std::string_view method, bool with_certificate) {
  std::string why;
  std::string ref = private_key_reference(k, &why);
  if (ref.empty()) return usage_error(why);
  auto opts = key_provider_options(k);
  return run_sign(k.sign, method, ref, opts, with_certificate);
}

// `sign key` and `sign certificate`: a PEM private key, with its certificate for the second.
void add_pem_key_command(CLI::App* sign, const char* name, const char* description, bool with_certificate,
                         const std::string& footer, int* rc) {
  auto* args = make_args<KeyArgs>();
  CLI::App* cmd = sign->add_subcommand(name, description);
  add_sign_options(cmd, args->sign, with_certificate);
  add_key_options(cmd, *args,
                  "PEM private key file, - for standard input, or env:VAR for the PEM text in the environment "
                  "variable VAR (default: env:SIGNING_PRIVATE_KEY)");
  set_footer(cmd, footer);
  cmd->callback([args, name, with_certificate, rc] { *rc = run_key_sign(*args, name, with_certificate); });
}
}  // namespace

void register_sign(CLI::App& app, GlobalOptions&, int* rc) {
  CLI::App* sign = app.add_subcommand("sign", "Sign a model");
  // A method subcommand, or none: `sign MODEL_PATH` chooses from the flags and the environment.
  sign->require_subcommand(0, 1);
  set_footer(sign, "Without a method, the method is chosen: a key flag (--private-key, --pkcs11-uri, --tpm2-key) "
               "picks its provider; else an OIDC identity (SIGSTORE_ID_TOKEN, or GitHub Actions' "
               "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN) picks keyless (sigstore); else "
               "the PEM key in SIGNING_PRIVATE_KEY picks key.\n\n"
               "Examples:\n"
               "  SIGNING_PRIVATE_KEY=\"$(cat signer.pem)\" modelsign sign models/bert\n"
               "  modelsign keygen --private-key signer.pem --public-key signer.pub\n"
               "  modelsign sign key --private-key signer.pem models/bert\n"
               "  modelsign sign certificate --private-key leaf.key --signing-certificate leaf.pem "
               "--certificate-chain intermediate.pem models/bert");
  register_sign_sigstore(sign, rc);

  auto* autosign = make_args<AutoSignArgs>();
  add_sign_options(sign, autosign->key.sign, false);
  sign->get_option("MODEL_PATH")->required(false);
  sign->add_option(flag("signing-certificate"), autosign->key.sign.signing_certificate,
                   "PEM certificate of the signing key (signs as certificate, pkcs11-certificate or "
                   "tpm2-certificate)")
      ->option_text("PATH")
      ->group(kGroupKey);
  sign->add_option(flag("certificate-chain"), autosign->key.sign.certificate_chain,
                   "PEM file with the intermediate certificates to embed (repeatable)")
      ->take_all()
      ->allow_extra_args(false)
      ->option_text("PATH")
      ->group(kGroupKey);
  sign->add_option(flag("private-key"), autosign->key.private_key,
                   "PEM private key file, - for standard input, or env:VAR (default when no OIDC identity "
                   "is available: env:SIGNING_PRIVATE_KEY)")
      ->option_text("PATH")
      ->group(kGroupKey);
  sign->add_option(flag("password-file"), autosign->key.password_file,
                   "File holding the password of an encrypted key (or set MODELSIGN_KEY_PASSWORD)")
      ->option_text("PATH")
      ->group(kGroupKey);
  sign->add_flag(flag("allow-insecure-key-permissions"), autosign->key.allow_insecure_key_permissions,
                 "Accept a private key file readable by group or others (a read-only CI secret mount)")
      ->group(kGroupKey);
  sign->add_option(flag("pkcs11-uri"), autosign->pkcs11_uri, "pkcs11: URI of a key in a PKCS#11 token")
      ->option_text("URI")
      ->group(kGroupKey);
  add_tpm2_options(sign, autosign->tpm, false, true);
  add_sigstore_trust_options(sign, autosign->trust, /*with_trusted_root=*/false, kGroupAdvanced);
  sign->add_option(flag("ca-file"), autosign->ca_file,
                   "Keyless: CA certificates (PEM) for the Sigstore services' TLS (a private deployment)")
      ->option_text("PATH")
      ->group(kGroupAdvanced);
  sign->callback([sign, autosign, rc] {
    if (!sign->get_subcommands().empty()) return;  // a method subcommand ran
    *rc = run_auto_sign(*autosign);
  });

  add_pem_key_command(sign, "key", "Sign with a PEM private key (file or $SIGNING_PRIVATE_KEY)", false,
                      "The key comes from --private-key, else from the environment variable SIGNING_PRIVATE_KEY "
                      "(PEM text; literal \\n sequences are accepted).\n\n"
                      "Examples:\n"
                      "  modelsign sign key --private-key signer.pem models/bert\n"
                      "  SIGNING_PRIVATE_KEY=\"$(cat signer.pem)\" modelsign sign key models/bert\n"
                      "  vault kv get -field=pem ci/model-key | modelsign sign key --private-key - --json models/bert",
                      rc);
  add_pem_key_command(sign, "certificate", "Sign with a PEM private key and its X.509 certificate", true,
                      "Examples:\n"
                      "  modelsign sign certificate --private-key leaf.key --signing-certificate leaf.pem "
                      "--certificate-chain intermediate.pem models/bert\n"
                      "  modelsign verify certificate --certificate-chain root-ca.pem models/bert",
                      rc);
}

}  // namespace modelsign::cli
