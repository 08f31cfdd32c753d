#include "verify/sigstore_verifier.h"

#include <fmt/format.h>

#include "bundle/dsse.h"
#include "crypto/x509.h"
#include "timestamp/rfc3161.h"
#include "tlog/tlog.h"

namespace modelsign::verify {

Result<root::TrustedRoot> load_trusted_root(const SigstorePolicy& p) {
  if (p.trust_material.empty()) return root::builtin_root(p.use_staging);
  std::string name = p.trust_material_name.empty() ? std::string("trust material") : p.trust_material_name;
  return p.trust_material_is_trust_config ? root::parse_trust_config(p.trust_material, name)
                                          : root::parse_trusted_root(p.trust_material, name);
}

Result<SigstoreVerified> verify_sigstore(const bundle::Bundle& b, const SigstorePolicy& policy,
                                         const root::TrustedRoot& root, std::vector<std::string>* warnings) {
  if (policy.identity.empty() || policy.issuer.empty())
    return fail(ErrorCode::kInvalidArgument,
                "keyless verification needs the signer's identity and OIDC issuer (--identity, --identity-provider)");
  if (b.certificates.empty()) return fail(ErrorCode::kMalformed, "the bundle holds no signing certificate");
  auto leaf = x509::parse_der(b.certificates.front());
  if (!leaf) return fail(leaf.error().with_context("signing certificate in the bundle"));
  if (b.tlog.empty())
    return fail(ErrorCode::kVerification,
                "the bundle has no Rekor entry: a keyless signature must be recorded in a transparency log");

  // 1. Verified times. A timestamp from a TSA the root does not list does not count
  //    (warned); one that claims a listed TSA and fails is an alteration (fatal).
  std::vector<VerifiedTime> times;
  std::vector<std::string> unverified;
  for (const auto& ts : b.rfc3161_timestamps) {
    auto v = timestamp::verify(ts, b.signature, root);
    if (v) {
      times.push_back({v->gen_time, fmt::format("RFC 3161 timestamp from {}", v->tsa)});
    } else if (v.error().code == ErrorCode::kNotFound) {
      warnings->push_back(v.error().message);
      unverified.push_back(v.error().message);
    } else {
      return fail(v.error());
    }
  }
  // 2. Rekor entries: each must verify in full; an integrated time counts once its SET does.
  std::optional<std::int64_t> log_index;
  std::optional<std::int64_t> integrated;
  for (const auto& e : b.tlog) {
    auto r = tlog::verify_entry(e, b, root);
    if (!r) return fail(r.error());
    if (!log_index) log_index = r->log_index;
    if (r->verified_time) {
      if (!integrated) integrated = r->verified_time;
      times.push_back({*r->verified_time, "Rekor integrated time"});
    } else {
      unverified.push_back(fmt::format("Rekor entry {} carries no signed entry timestamp", e.log_index));
    }
  }
  if (times.empty())
    return fail(ErrorCode::kVerification,
                fmt::format("no verified time: neither a Rekor signed entry timestamp nor an RFC 3161 timestamp "
                            "of the trusted root vouches for when the signature was made ({})",
                            fmt::join(unverified, "; ")));

  // 3. The certificate at every verified time, then its SCT.
  std::vector<Bytes> extra(b.certificates.begin() + 1, b.certificates.end());
  auto issuer = verify_fulcio_chain(leaf->get(), extra, root, times);
  if (!issuer) return fail(issuer.error());
  if (auto s = verify_embedded_scts(leaf->get(), issuer->get(), root); !s) return fail(s.error());

  // 4. The DSSE signature with the certificate's key.
  auto key = x509::public_key(leaf->get());
  if (!key) return fail(key.error());
  auto scheme = key->scheme();
  if (!scheme) return fail(scheme.error());
  Bytes pae = bundle::pae(bundle::kInTotoPayloadType, b.payload);
  if (!key->verify(*scheme, pae, b.signature))
    return fail(ErrorCode::kVerification,
                fmt::format("Invalid signature: the DSSE signature does not verify with the signing certificate's "
                            "key ({}); the signature or its payload was altered",
                            key->describe()));

  // 5. Identity policy.
  auto id = identity_of(leaf->get());
  if (!id) return fail(id.error());
  auto who = check_identity(*id, policy.identity, policy.identity_regex, policy.issuer);
  if (!who) return fail(who.error());

  SigstoreDetails d;
  d.identity = *who;
  d.issuer = id->issuer;
  d.rekor_log_index = log_index;
  d.trusted_root = root.source;
  if (integrated) {
    d.signing_time = *integrated;
    d.signing_time_source = "Rekor integrated time";
  } else {
    d.signing_time = times.front().time;
    d.signing_time_source = times.front().source;
  }
  return SigstoreVerified{std::move(*key), std::move(d), std::move(times)};
}

}  // namespace modelsign::verify
