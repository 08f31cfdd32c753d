#include <sys/stat.h>

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
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
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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
  cmd->add_flag(flag("ignore-unsigned-files") + ",!" + flag("no-ignore-unsigned-files"),
                a.ignore_unsigned_files, "Tolerate files that are not in the signature");
  cmd->add_flag(flag("json"), a.json, "Print a machine-readable result");
  cmd->add_option(flag("threads"), a.threads, "Hashing threads (default: online CPUs)")
      ->check(CLI::PositiveNumber);
}

int run_verify(const VerifyArgs& a, VerifyMethod method, std::optional<PublicKey> key,
               const SigstorePolicy* sigstore) {
  const std::string sig_path = signature_path(a.model);
  auto text = read_signature(sig_path);
  if (!text) return report_failure("Verification", text.error());
  VerifyOptions opts;
  opts.method = method;
  opts.public_key = std::move(key);
  if (sigstore != nullptr) opts.sigstore = *sigstore;
  opts.log_fingerprints = a.log_fingerprints;
  opts.ignore_unsigned_files = a.ignore_unsigned_files;
  opts.serialization = serialization_from(a.model, {sig_path});
  opts.hashing = hashing_defaults(a.threads);
  for (const auto& f : a.certificate_chain) {
    auto certs = read_pem_certificates(f);
    if (!certs) return report_failure("Verification", certs.error());
    for (auto& c : *certs) opts.trust_anchors.push_back(std::move(c));
  }
  auto r = verify_model(a.model.model_path, *text, opts);
  if (!r) return report_failure("Verification", r.error());
  std::string out;
  for (const auto& w : r->warnings) {
    // model_signing prints its legacy-format warning on stdout; keep that for scripts.
    if (w.starts_with("WARNING:")) out += w + "\n";
    else log::warning("{}", w);
  }
  if (a.json) {
    nlohmann::ordered_json j = {
        {"result", "Verification succeeded"},
        {"method", method == VerifyMethod::kKey        ? "key"
                   : method == VerifyMethod::kSigstore ? "sigstore"
                                                       : "certificate"},
        {"model_name", r->signed_manifest.model_name},
        {"root_digest", "sha256:" + to_hex(r->signed_manifest.root_digest())},
        {"signature", sig_path},
        {"signer", r->signer},
        {"files", r->signed_manifest.resources.size()}};
    if (r->sigstore) j["sigstore"] = sigstore_json(*r->sigstore);
    out += j.dump(2) + "\n";
  } else {
    out += "Verification succeeded\n";
    if (r->sigstore) out += sigstore_text(*r->sigstore);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

void register_verify(CLI::App& app, GlobalOptions&, int* rc) {
  CLI::App* verify = app.add_subcommand("verify", "Verify a model against its signature");
  verify->require_subcommand(1);
  register_verify_sigstore(verify, rc);

  auto* key = new KeyVerifyArgs();
  CLI::App* k = verify->add_subcommand("key", "Verify a signature made with a key (PEM, PKCS#11, TPM)");
  add_verify_options(k, key->verify);
  CLI::Option* pub = k->add_option(flag("public-key"), key->public_key, "PEM public key of the signer");
  CLI::Option* p11 = k->add_option(flag("pkcs11-uri"), key->pkcs11_uri,
                                   "pkcs11: URI of the signing key: verify with the public key read from the token")
                         ->excludes(pub);
  add_tpm2_options(k, key->tpm, false, false)->excludes(pub)->excludes(p11);
  k->callback([key, rc] {
    int given = !key->public_key.empty() + !key->pkcs11_uri.empty() + !key->tpm.key.empty();
    if (given != 1) {
      *rc = report_failure("Verification",
                           Error(ErrorCode::kInvalidArgument,
                                 "no public key given: pass --public-key PEM, --pkcs11-uri URI or --tpm2-key REF"));
      return;
    }
    auto pk = !key->pkcs11_uri.empty() ? load_public_key(key->pkcs11_uri, pkcs11_provider_options())
              : !key->tpm.key.empty()  ? tpm2_public_key(key->tpm)
                                       : load_public_key(key->public_key, {});
    if (!pk) {
      *rc = report_failure("Verification", pk.error());
      return;
    }
    *rc = run_verify(key->verify, VerifyMethod::kKey, std::move(*pk));
  });

  auto* cert = new VerifyArgs();
  CLI::App* c = verify->add_subcommand("certificate", "Verify a signature made with an X.509 certificate");
  add_verify_options(c, *cert);
  c->add_option(flag("certificate-chain"), cert->certificate_chain,
                "PEM file of trusted certificates; must include the self-signed root (repeatable)")
      ->take_all()
      ->allow_extra_args(false);  // one file per flag, as model_signing: keeps MODEL_PATH
  c->add_flag(flag("log-fingerprints"), cert->log_fingerprints,
              "Log the SHA-256 fingerprints of the certificates");
  c->callback([cert, rc] { *rc = run_verify(*cert, VerifyMethod::kCertificate, std::nullopt); });
}

}  // namespace modelsign::cli
