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
#include "cli/output.h"
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
  add_threads_option(cmd, a.threads);
  add_io_depth_option(cmd, a.io_depth);
}

int run_verify(const VerifyArgs& a, VerifyMethod method, std::optional<PublicKey> key,
               const SigstorePolicy* sigstore) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  const bool json = json_mode(a.json);
  const std::string sig_path = signature_path(a.model);
  auto t0 = Clock::now();
  auto text = read_signature(sig_path);
  if (!text) return report_failure("Verification", text.error());
  log::debug("read the signature '{}' ({} bytes) in {:.1f} ms", sig_path, text->size(), ms_since(t0));
  VerifyOptions opts;
  opts.method = method;
  if (key) log::debug("verifying with the public key {} (hint {})", key->describe(), key->hint());
  opts.public_key = std::move(key);
  if (sigstore != nullptr) opts.sigstore = *sigstore;
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
    if (!certs) return report_failure("Verification", certs.error());
    log::debug("trust anchors: {} certificate(s) from '{}'", certs->size(), f);
    for (auto& c : *certs) opts.trust_anchors.push_back(std::move(c));
  }
  log::debug("hashing '{}' with {} thread(s), ignore-unsigned-files {}", a.model.model_path,
             a.threads != 0 ? a.threads : default_threads(),
             a.ignore_unsigned_files ? "on" : "off");
  t0 = Clock::now();
  auto r = verify_model(a.model.model_path, *text, opts);
  log::debug("checked the signature and hashed the model in {:.1f} ms", ms_since(t0));
  if (!r) {
    FailureDetail d;
    if (r.error().code == ErrorCode::kMismatch) {
      d.has_lists = true;
      d.extra = mismatch.extra;
      d.missing = mismatch.missing;
      d.changed = mismatch.changed;
    }
    return report_failure_detail("Verification", r.error(), d);
  }
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
    j["method"] = method == VerifyMethod::kKey        ? "key"
                  : method == VerifyMethod::kSigstore ? "sigstore"
                                                      : "certificate";
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
  set_footer(verify, "Examples:\n"
                 "  modelsign verify key --public-key signer.pub models/bert\n"
                 "  modelsign verify certificate --certificate-chain root-ca.pem models/bert");
  verify->require_subcommand(1);
  register_verify_sigstore(verify, rc);

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
  k->callback([key, rc] {
    int given = !key->public_key.empty() + !key->pkcs11_uri.empty() + !key->tpm.key.empty();
    if (given != 1) {
      *rc = usage_error("no public key given: pass --public-key PEM, --pkcs11-uri URI or --tpm2-key REF");
      return;
    }
    if (!key->public_key.empty()) warn_if_private_key(key->public_key);
    // The source of the key, never the URI itself (it may carry a PIN).
    log::debug("public key source: {}", !key->pkcs11_uri.empty() ? "the PKCS#11 token named by --pkcs11-uri"
                                        : !key->tpm.key.empty()  ? "the TPM key named by --tpm2-key"
                                                                 : "the PEM file '" + key->public_key + "'");
    auto pk = !key->pkcs11_uri.empty() ? load_public_key(key->pkcs11_uri, pkcs11_provider_options())
              : !key->tpm.key.empty()  ? tpm2_public_key(key->tpm)
                                       : load_public_key(key->public_key, {});
    if (!pk) {
      *rc = report_failure("Verification", pk.error());
      return;
    }
    *rc = run_verify(key->verify, VerifyMethod::kKey, std::move(*pk));
  });

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
