// `verify sigstore`: keyless verification, fully offline (trust material from a file or
// the built-in roots; no network client is linked on this path).
#include <sys/stat.h>

#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "bundle/limits.h"
#include "cli/commands.h"
#include "modelsign/log.h"
#include "root/trusted_root.h"

namespace modelsign::cli {

namespace {

struct SigstoreVerifyArgs {
  VerifyArgs verify;
  SigstoreFlags flags;
};

Result<std::string> read_trust_file(const std::string& path, std::string_view flag_name) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound, fmt::format("{} file '{}' not found", flag_name, path));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} '{}' is not a regular file", flag_name, path));
  if (static_cast<std::uint64_t>(st.st_size) > limits::kMaxTrustedRootBytes)
    return fail(ErrorCode::kMalformed, fmt::format("{} '{}' is {} bytes; the limit is {}", flag_name, path,
                                                   st.st_size, limits::kMaxTrustedRootBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, fmt::format("cannot read {} '{}'", flag_name, path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// The identity and issuer come from the certificate: untrusted text, escaped.
std::string sigstore_text(const SigstoreDetails& d) {
  std::string out = fmt::format("  identity: {}\n  issuer: {}\n  signed at: {} ({})\n",
                                log::printable(d.identity), log::printable(d.issuer),
                                root::format_time(d.signing_time), d.signing_time_source);
  if (d.rekor_log_index) out += fmt::format("  Rekor log index: {}\n", *d.rekor_log_index);
  out += fmt::format("  trusted root: {}\n", log::printable(d.trusted_root));
  return out;
}

nlohmann::ordered_json sigstore_json(const SigstoreDetails& d) {
  nlohmann::ordered_json j = {{"identity", d.identity},
                              {"issuer", d.issuer},
                              {"signing_time", root::format_time(d.signing_time)},
                              {"signing_time_source", d.signing_time_source},
                              {"rekor_log_index", nullptr},
                              {"trusted_root", d.trusted_root}};
  if (d.rekor_log_index) j["rekor_log_index"] = *d.rekor_log_index;
  return j;
}

void add_sigstore_flags(CLI::App* s, SigstoreFlags& a, bool required) {
  auto* id = s->add_option(flag("identity"), a.identity, "The signer's identity (certificate SAN: email or URI)")
                 ->group(kGroupKey);
  auto* idp = s->add_option(flag("identity-provider"), a.issuer, "The OIDC issuer that vouched for the identity")
                  ->group(kGroupKey);
  if (required) {
    id->required();
    idp->required();
  }
  s->add_flag(flag("identity-regex"), a.identity_regex,
              "Treat --identity as a regular expression that must match the whole SAN")
      ->group(kGroupKey);
  CLI::Option* tc = s->add_option(flag("trust-config"), a.trust_config,
                                  "Sigstore ClientTrustConfig JSON file (upstream's --trust_config)")
                        ->group(kGroupKey);
  CLI::Option* tr = s->add_option(flag("trusted-root"), a.trusted_root, "Sigstore trusted_root.json file")
                        ->excludes(tc)
                        ->group(kGroupKey);
  s->add_flag(flag("use-staging"), a.use_staging, "Use the built-in Sigstore staging root")
      ->excludes(tc)
      ->excludes(tr)
      ->group(kGroupKey);
}

Result<SigstorePolicy> sigstore_policy(const SigstoreFlags& a) {
  SigstorePolicy p;
  p.identity = a.identity;
  p.identity_regex = a.identity_regex;
  p.issuer = a.issuer;
  p.use_staging = a.use_staging;
  if (!a.trust_config.empty() || !a.trusted_root.empty()) {
    bool config = !a.trust_config.empty();
    const std::string& path = config ? a.trust_config : a.trusted_root;
    auto text = read_trust_file(path, config ? "--trust-config" : "--trusted-root");
    if (!text) return fail(text.error());
    p.trust_material = std::move(*text);
    p.trust_material_is_trust_config = config;
    p.trust_material_name = path;
  }
  return p;
}

void register_verify_sigstore(CLI::App* verify, int* rc) {
  auto* a = make_args<SigstoreVerifyArgs>();
  CLI::App* s = verify->add_subcommand("sigstore", "Verify a keyless Sigstore signature (offline)");
  add_verify_options(s, a->verify);
  add_sigstore_flags(s, a->flags, true);
  s->callback([a, rc] {
    auto p = sigstore_policy(a->flags);
    if (!p) {
      *rc = fail_operation(a->verify.record, operation_event("verify", a->verify.model, "sigstore", {}),
                           "Verification", p.error());
      return;
    }
    *rc = run_verify(a->verify, VerifyMethod::kSigstore, std::nullopt, &*p);
  });
}

}  // namespace modelsign::cli
