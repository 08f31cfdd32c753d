// `verify sigstore`: keyless verification. The trust material comes from Sigstore's TUF
// repository (cached; no network while the cache is valid), or from a file
// (sigstore_trust.h); the verification itself is offline and links no network client.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>

#include "cli/commands.h"
#include "cli/sigstore_trust.h"
#include "modelsign/log.h"
#include "root/trusted_root.h"

namespace modelsign::cli {

namespace {

struct SigstoreVerifyArgs {
  VerifyArgs verify;
  SigstoreFlags flags;
};

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
  add_sigstore_trust_options(s, a.trust);
}

SigstorePolicy sigstore_policy(const SigstoreFlags& a) {
  SigstorePolicy p;
  p.identity = a.identity;
  p.identity_regex = a.identity_regex;
  p.issuer = a.issuer;
  return p;
}

std::function<Result<void>(SigstorePolicy&)> sigstore_trust_resolver(const SigstoreFlags& a) {
  return [&a](SigstorePolicy& policy) -> Result<void> {
    const auto t0 = std::chrono::steady_clock::now();
    auto trust = resolve_sigstore_trust(a.trust);
    if (!trust) return std::unexpected(trust.error());
    log::debug("trusted root in {:.1f} ms: {}",
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
               trust->trusted_root_source);
    policy.trust_material = std::move(trust->trusted_root_json);
    policy.trust_material_is_trust_config = false;
    policy.trust_material_name = std::move(trust->trusted_root_source);
    return {};
  };
}

void register_verify_sigstore(CLI::App* verify, int* rc) {
  auto* a = make_args<SigstoreVerifyArgs>();
  CLI::App* s = verify->add_subcommand(
      "sigstore", "Verify a keyless Sigstore signature (trust from Sigstore's TUF repository, cached)");
  add_verify_options(s, a->verify);
  add_sigstore_flags(s, a->flags, true);
  set_footer(s,
             "The trusted root comes from Sigstore's TUF repository (production; --use-staging for staging;\n"
             "--tuf-url/--tuf-root for a private one), cached under $XDG_CACHE_HOME/modelsign/tuf (else\n"
             "~/.cache/modelsign/tuf): no network access while the cached metadata is valid. --offline uses\n"
             "the cache only; --trusted-root / --trust-config use a file instead (air-gapped stations).\n\n"
             "Examples:\n"
             "  modelsign verify sigstore --identity release@example.com \\\n"
             "      --identity-provider https://accounts.google.com models/bert\n"
             "  modelsign verify sigstore --identity ... --identity-provider ... --trusted-root trusted_root.json "
             "models/bert");
  s->callback([a, rc] {
    SigstorePolicy p = sigstore_policy(a->flags);
    *rc = run_verify(a->verify, VerifyMethod::kSigstore, std::nullopt, &p, sigstore_trust_resolver(a->flags));
  });
}

}  // namespace modelsign::cli
