#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "bundle/bundle.h"
#include "ci/method_choice.h"
#include "cli/output.h"
#include "common/files.h"
#include "crypto/encoding.h"
#include "modelsign/log.h"
#include "modelsign/sign.h"

namespace modelsign::cli {

namespace {

constexpr std::uint64_t kMaxSignatureFile = 256u << 20;  // same bound as the bundle parser

Result<std::string> read_signature(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound,
                fmt::format("signature file '{}' not found; pass its path with --signature", path));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("signature '{}' is not a regular file", path));
  if (static_cast<std::uint64_t>(st.st_size) > kMaxSignatureFile)
    return fail(ErrorCode::kMalformed, fmt::format("signature file '{}' is {} bytes; the limit is {}",
                                                   path, st.st_size, kMaxSignatureFile));
  // One allocation of the file's size: a stream that grows by doubling and is then copied
  // out would hold up to three copies of a hostile 256 MB file at once.
  std::string text;
  try {
    text.resize(static_cast<std::size_t>(st.st_size));
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kIo, fmt::format("not enough memory to read the signature file '{}' ({} bytes)",
                                            path, st.st_size));
  }
  std::ifstream in(path, std::ios::binary);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in || in.gcount() != static_cast<std::streamsize>(text.size()) || in.peek() != EOF)
    return fail(ErrorCode::kIo, fmt::format("could not read the signature file '{}' in full ({} bytes "
                                            "expected); it changed or is unreadable",
                                            path, st.st_size));
  return text;
}

// A private key given as --public-key: its public half is used, but say so, since the
// private key file is not something a verifier should hold.
void warn_if_private_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.find("PRIVATE KEY-----") != std::string::npos)
    log::warning("'{}' is a private key: verifying with its public half. Give verifiers only the "
                 "public key (modelsign keygen --public-key-from '{}' --public-key KEY.pub)",
                 path, path);
  OPENSSL_cleanse(head.data(), head.size());
}

struct KeyVerifyArgs {
  VerifyArgs verify;
  std::string public_key;
  std::string pkcs11_uri;
  Tpm2Options tpm;  // --tpm2-key: the public key is read from the TPM (or the key file)
};

int run_key_verify(const KeyVerifyArgs& key) {
  int given = !key.public_key.empty() + !key.pkcs11_uri.empty() + !key.tpm.key.empty();
  if (given != 1) return usage_error("no public key given: pass --public-key PEM, --pkcs11-uri URI or --tpm2-key REF");
  if (!key.public_key.empty()) warn_if_private_key(key.public_key);
  // The source of the key, never the URI itself (it may carry a PIN).
  log::debug("public key source: {}", !key.pkcs11_uri.empty() ? "the PKCS#11 token named by --pkcs11-uri"
                                      : !key.tpm.key.empty()  ? "the TPM key named by --tpm2-key"
                                                              : "the PEM file '" + key.public_key + "'");
  auto pk = !key.pkcs11_uri.empty() ? load_public_key(key.pkcs11_uri, pkcs11_provider_options())
            : !key.tpm.key.empty()  ? tpm2_public_key(key.tpm)
                                    : load_public_key(key.public_key, {});
  if (!pk)
    return fail_operation(key.verify.record, operation_event("verify", key.verify.model, "key", {}), "Verification",
                          pk.error());
  return run_verify(key.verify, VerifyMethod::kKey, std::move(*pk));
}

// `verify MODEL_PATH`: every flag of every method, none required.
struct AutoVerifyArgs {
  KeyVerifyArgs key;  // key.verify: the shared options, with certificate_chain etc.
  SigstoreFlags sigstore;
};

int run_auto_verify(const AutoVerifyArgs& a) {
  const VerifyArgs& v = a.key.verify;
  if (v.model.model_path.empty())
    return usage_error("'modelsign verify' needs MODEL_PATH (the method is then read from the signature), or a "
                       "method: key, certificate, sigstore");
  if (std::string m = misspelt_method(v.model.model_path, "verify"); !m.empty()) return usage_error(m);
  audit::Event ev = operation_event("verify", v.model, "", {});
  auto text = read_signature(ev.signature_path);
  if (!text) return fail_operation(v.record, ev, "Verification", text.error());
  auto b = bundle::parse_bundle(*text);
  if (!b) return fail_operation(v.record, ev, "Verification", b.error());
  ci::VerifyFlags f;
  f.public_key = !a.key.public_key.empty();
  f.pkcs11_uri = !a.key.pkcs11_uri.empty();
  f.tpm2_key = !a.key.tpm.key.empty();
  f.certificate_chain = !v.certificate_chain.empty();
  f.use_system_trust_store = v.use_system_trust_store;
  f.identity = !a.sigstore.identity.empty();
  f.identity_provider = !a.sigstore.issuer.empty();
  auto choice = ci::choose_verify_method(b->material, b->key_hint.value_or(""), f);
  if (!choice) return usage_error(choice.error().message);
  log::info("verification method: {} ({})", choice->method, choice->reason);
  if (choice->method == "key") return run_key_verify(a.key);
  if (choice->method == "certificate") return run_verify(v, VerifyMethod::kCertificate, std::nullopt);
  SigstorePolicy p = sigstore_policy(a.sigstore);
  return run_verify(v, VerifyMethod::kSigstore, std::nullopt, &p, sigstore_trust_resolver(a.sigstore));
}

}  // namespace

void add_verify_options(CLI::App* cmd, VerifyArgs& a) {
  add_model_options(cmd, a.model);
  add_signature_option(cmd, a.model);
  cmd->add_flag(negatable_flag("ignore-unsigned-files"), a.ignore_unsigned_files,
                "Tolerate files that are not in the signature "
                "(default: off, extra files fail verification)")
      ->group(kGroupModel);
  cmd->add_flag(flag("strict-ignored"), a.strict_ignored,
                "Fail when files exist under an ignore path recorded in the signature or under "
                "a default git path (they are not verified)")
      ->group(kGroupModel);
  add_json_flag(cmd, a.json, "Print one JSON object for every outcome (schema: docs/cli.md)");
  add_record_options(cmd, a.record);
  add_threads_option(cmd, a.threads);
  add_io_depth_option(cmd, a.io_depth);
}

int run_verify(const VerifyArgs& a, VerifyMethod method, std::optional<PublicKey> key,
               const SigstorePolicy* sigstore, const std::function<Result<void>(SigstorePolicy&)>& resolve_trust) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  const bool json = json_mode(a.json);
  const std::string sig_path = signature_path(a.model);
  const char* method_name = method == VerifyMethod::kKey        ? "key"
                            : method == VerifyMethod::kSigstore ? "sigstore"
                                                                : "certificate";
  audit::Event ev = operation_event("verify", a.model, method_name, {});
  auto failed = [&](const Error& e) { return fail_operation(a.record, ev, "Verification", e); };
  auto t0 = Clock::now();
  auto text = read_signature(sig_path);
  if (!text) return failed(text.error());
  log::debug("read the signature '{}' ({} bytes) in {:.1f} ms", sig_path, text->size(), ms_since(t0));
  VerifyOptions opts;
  opts.method = method;
  if (key) log::debug("verifying with the public key {} (hint {})", key->describe(), key->hint());
  opts.public_key = std::move(key);
  if (sigstore != nullptr) opts.sigstore = *sigstore;
  if (resolve_trust)
    if (auto r = resolve_trust(opts.sigstore); !r) return report_failure("Verification", r.error());
  opts.log_fingerprints = a.log_fingerprints;
  opts.use_system_trust_store = a.use_system_trust_store;
  opts.ignore_unsigned_files = a.ignore_unsigned_files;
  opts.strict_ignored = a.strict_ignored;
  opts.serialization = serialization_from(a.model, {sig_path});
  opts.signature_in_model = resolve_ignore_path(sig_path, a.model.model_path);
  opts.hashing = hashing_defaults(a.threads, a.io_depth);
  VerifyMismatch mismatch;
  opts.mismatch = &mismatch;
  for (const auto& f : a.certificate_chain) {
    auto certs = read_pem_certificates(f);
    if (!certs) return failed(certs.error());
    log::debug("trust anchors: {} certificate(s) from '{}'", certs->size(), f);
    for (auto& c : *certs) opts.trust_anchors.push_back(std::move(c));
  }
  log::debug("hashing '{}' with {} thread(s), ignore-unsigned-files {}", a.model.model_path,
             a.threads != 0 ? a.threads : default_threads(),
             a.ignore_unsigned_files ? "on" : "off");
  t0 = Clock::now();
  auto r = verify_model(a.model.model_path, std::move(*text), opts);  // freed once parsed
  log::debug("checked the signature and hashed the model in {:.1f} ms", ms_since(t0));
  if (!r) {
    FailureDetail d;
    if (r.error().code == ErrorCode::kMismatch) {
      d.has_lists = true;
      d.extra = mismatch.extra;
      d.missing = mismatch.missing;
      d.changed = mismatch.changed;
    }
    ev.error = r.error().message;
    ev.exit_code = kExitFailure;
    if (auto rec = record_operation(a.record, ev); !rec) {
      Error both = r.error();
      both.message += fmt::format("; and the operation could not be recorded: {}", rec.error().message);
      return report_failure_detail("Verification", both, d);
    }
    return report_failure_detail("Verification", r.error(), d);
  }
  ev.ok = true;
  ev.root_digest = "sha256:" + to_hex(r->signed_manifest.root_digest());
  ev.signer.summary = r->signer;
  if (r->sigstore) {
    ev.signer.identity = r->sigstore->identity;
    ev.signer.issuer = r->sigstore->issuer;
    ev.rekor_log_index = r->sigstore->rekor_log_index;
  } else {
    (method == VerifyMethod::kKey ? ev.signer.key_hint : ev.signer.certificate_subject) = r->signer;
  }
  if (auto rec = record_operation(a.record, ev); !rec) return report_failure("Verification", rec.error());
  log::debug("{} files match the signature; signer {}", r->signed_manifest.resources.size(), r->signer);
  std::string out;
  std::vector<std::string> warnings;
  for (const auto& w : r->warnings) {
    warnings.push_back(w);
    // model_signing prints its legacy-format warning on stdout; keep that for scripts.
    if (w.starts_with("WARNING:")) {
      if (!json) out += log::printable(w) + "\n";
    } else {
      log::warning("{}", w);
    }
  }
  if (json) {
    auto j = json_header(true, kExitOk);
    j["result"] = "Verification succeeded";
    j["method"] = method_name;
    j["model_name"] = r->signed_manifest.model_name;
    j["root_digest"] = "sha256:" + to_hex(r->signed_manifest.root_digest());
    j["signature"] = sig_path;
    j["signer"] = r->signer;
    auto files = nlohmann::ordered_json::array();
    for (const auto& res : r->signed_manifest.resources) files.push_back(res.name);
    j["file_count"] = r->signed_manifest.resources.size();
    j["files"] = std::move(files);
    j["recorded_ignore_paths"] = r->recorded_ignore_paths;
    j["default_ignore_paths"] = r->default_ignore_paths;
    j["ignored_files"] = r->ignored_files;
    j["unsigned_files"] = r->tolerated_unsigned;
    if (r->sigstore) j["sigstore"] = sigstore_json(*r->sigstore);
    j["warnings"] = warnings;
    return emit_json(j);
  }
  out += "Verification succeeded\n";
  if (r->sigstore) out += sigstore_text(*r->sigstore);
  return emit_text(out);
}

void register_verify(CLI::App& app, GlobalOptions&, int* rc) {
  CLI::App* verify = app.add_subcommand("verify", "Verify a model against its signature");
  set_footer(verify, "Without a method, it is read from the signature: a public key hint needs --public-key, "
                 "--pkcs11-uri or --tpm2-key; a certificate chain needs --certificate-chain; a keyless signature "
                 "needs --identity and --identity-provider.\n\n"
                 "Examples:\n"
                 "  modelsign verify --public-key signer.pub models/bert\n"
                 "  modelsign verify key --public-key signer.pub models/bert\n"
                 "  modelsign verify certificate --certificate-chain root-ca.pem models/bert");
  // A method subcommand, or none: `verify MODEL_PATH` reads the method from the signature.
  verify->require_subcommand(0, 1);
  register_verify_sigstore(verify, rc);

  auto* autov = make_args<AutoVerifyArgs>();
  add_verify_options(verify, autov->key.verify);
  verify->get_option("MODEL_PATH")->required(false);
  verify->add_option(flag("public-key"), autov->key.public_key, "PEM public key of the signer (key signatures)")
      ->option_text("PATH")
      ->group(kGroupKey);
  verify->add_option(flag("pkcs11-uri"), autov->key.pkcs11_uri,
                     "pkcs11: URI of the signing key: verify with the public key read from the token")
      ->option_text("URI")
      ->group(kGroupKey);
  add_tpm2_options(verify, autov->key.tpm, false, false);
  verify->add_option(flag("certificate-chain"), autov->key.verify.certificate_chain,
                     "PEM file of trusted certificates (certificate signatures; repeatable)")
      ->take_all()
      ->allow_extra_args(false)
      ->option_text("PATH")
      ->group(kGroupKey);
  verify->add_flag(flag("use-system-trust-store"), autov->key.verify.use_system_trust_store,
                   "Trust the system CA store (certificate signatures)")
      ->group(kGroupKey);
  add_sigstore_flags(verify, autov->sigstore, false);
  verify->callback([verify, autov, rc] {
    if (!verify->get_subcommands().empty()) return;  // a method subcommand ran
    *rc = run_auto_verify(*autov);
  });

  auto* key = make_args<KeyVerifyArgs>();
  CLI::App* k = verify->add_subcommand("key", "Verify a signature made with a key (PEM, PKCS#11, TPM)");
  add_verify_options(k, key->verify);
  CLI::Option* pub = k->add_option(flag("public-key"), key->public_key, "PEM public key of the signer")
                         ->option_text("PATH")
                         ->group(kGroupKey);
  CLI::Option* p11 = k->add_option(flag("pkcs11-uri"), key->pkcs11_uri,
                                   "pkcs11: URI of the signing key: verify with the public key read from the token")
                         ->option_text("URI")
                         ->group(kGroupKey)
                         ->excludes(pub);
  add_tpm2_options(k, key->tpm, false, false)->excludes(pub)->excludes(p11);
  set_footer(k, 
      "One of --public-key, --pkcs11-uri or --tpm2-key is required.\n\n"
      "Examples:\n"
      "  modelsign verify key --public-key signer.pub models/bert\n"
      "  modelsign verify key --public-key signer.pub --signature bert.sig --json models/bert\n"
      "  modelsign verify key --pkcs11-uri \"pkcs11:token=prod;object=model-key\" models/bert");
  k->callback([key, rc] { *rc = run_key_verify(*key); });

  auto* cert = make_args<VerifyArgs>();
  CLI::App* c = verify->add_subcommand("certificate", "Verify a signature made with an X.509 certificate");
  add_verify_options(c, *cert);
  c->add_option(flag("certificate-chain"), cert->certificate_chain,
                "PEM file of trusted certificates; must include the self-signed root (repeatable)")
      ->take_all()
      ->allow_extra_args(false)  // one file per flag, as model_signing: keeps MODEL_PATH
      ->option_text("PATH")
      ->group(kGroupKey);
  c->add_flag(flag("use-system-trust-store"), cert->use_system_trust_store,
              "Trust the system CA store (OpenSSL's default, or $SSL_CERT_FILE/$SSL_CERT_DIR) "
              "when no --certificate-chain is given; any CA in it can then vouch for a signer")
      ->group(kGroupKey);
  c->add_flag(flag("log-fingerprints"), cert->log_fingerprints,
              "Log the SHA-256 fingerprints of the certificates")
      ->group(kGroupOutput);
  set_footer(c, 
      "Examples:\n"
      "  modelsign verify certificate --certificate-chain root-ca.pem models/bert\n"
      "  modelsign verify certificate --certificate-chain root-ca.pem --json models/bert");
  c->callback([cert, rc] { *rc = run_verify(*cert, VerifyMethod::kCertificate, std::nullopt); });
}

}  // namespace modelsign::cli
