#include "keyless.h"

#include <openssl/ec.h>
#include <openssl/evp.h>

#include <fmt/format.h>

#include <ctime>

#include "crypto/openssl_util.h"
#include "crypto/x509.h"
#include "modelsign/log.h"
#include "services.h"
#include "sign/staged.h"
#include "verify/fulcio.h"
#include "verify/sigstore_verifier.h"

namespace modelsign::sigstore {

Result<Trust> load_trust(const std::string& text, const std::string& name, bool staging) {
  Trust t;
  if (text.empty()) {
    auto r = root::builtin_root(staging);
    if (!r) return fail(r.error());
    auto c = builtin_signing_config(staging);
    if (!c) return fail(c.error());
    t.root = std::move(*r);
    t.config = std::move(*c);
    return t;
  }
  auto r = root::parse_trust_config(text, name);
  if (!r) return fail(r.error());
  auto c = parse_trust_config_signing(text, name);
  if (!c) return fail(c.error());
  t.root = std::move(*r);
  t.config = std::move(*c);
  return t;
}

Result<ServicePlan> plan_services(const SigningConfig& c, std::int64_t now) {
  ServicePlan p;
  auto f = select_one(c.ca, {1}, now, "Fulcio (caUrls)");
  if (!f) return fail(f.error().with_context(c.source));
  p.fulcio = std::move(*f);
  auto t = select(c.tlogs, {1, 2}, c.tlog_selection, now, "Rekor (rekorTlogUrls)");
  if (!t) return fail(t.error().with_context(c.source));
  if (t->empty())
    return fail(ErrorCode::kNotFound,
                fmt::format("{}: the signing config names no Rekor log; a keyless signature must be logged", c.source));
  p.tlogs = std::move(*t);
  auto s = select(c.tsas, {1}, c.tsa_selection, now, "TSA (tsaUrls)");
  if (!s) return fail(s.error().with_context(c.source));
  p.tsas = std::move(*s);
  if (auto o = select_one(c.oidc, {1}, now, "OIDC"); o) p.oidc_url = o->url;
  bool v2_only = true;
  for (const auto& l : p.tlogs) v2_only = v2_only && l.major_api_version == 2;
  if (v2_only && p.tsas.empty())
    return fail(ErrorCode::kNotFound,
                fmt::format("{}: Rekor v2 entries carry no signed time and the signing config names no TSA: "
                            "the signature would have no verified time",
                            c.source));
  return p;
}

Result<KeylessResult> sign_keyless(const std::string& model_path, Signer& signer, const SignOptions& options,
                                   const Trust& trust, const ServicePlan& plan, const IdentityToken& token,
                                   const HttpClient& http) {
  FulcioCertificateSource fulcio(plan.fulcio.url, http, trust.root, token);
  std::vector<std::unique_ptr<sign::Witness>> owned;
  sign::Stages stages;
  stages.certificate_source = &fulcio;
  // Timestamps first (Sigstore clients' order): each covers the signature only.
  for (const auto& s : plan.tsas) owned.push_back(std::make_unique<TsaWitness>(s.url, http, trust.root));
  for (const auto& s : plan.tlogs)
    owned.push_back(std::make_unique<RekorWitness>(s.url, s.major_api_version, http, trust.root));
  for (const auto& w : owned) stages.witnesses.push_back(w.get());
  KeylessResult out;
  // The finished bundle must pass the keyless verifier with the identity it certifies.
  stages.final_check = [&](const bundle::Bundle& b) -> Result<void> {
    auto leaf = x509::parse_der(b.certificates.front());
    if (!leaf) return fail(leaf.error());
    auto id = verify::identity_of(leaf->get());
    if (!id) return fail(id.error());
    if (id->sans.empty()) return fail(ErrorCode::kVerification, "the Fulcio certificate names no identity");
    SigstorePolicy policy;
    policy.identity = id->sans.front();
    policy.issuer = id->issuer;
    std::vector<std::string> warnings;
    auto v = verify::verify_sigstore(b, policy, trust.root, &warnings);
    if (!v) return fail(v.error().with_context("the signed bundle does not pass keyless verification"));
    out.identity = id->sans.front();
    out.issuer = id->issuer;
    for (const auto& e : b.tlog) out.log_indexes.push_back(e.log_index);
    out.timestamps = b.rfc3161_timestamps.size();
    return {};
  };
  auto r = sign::sign_model_staged(model_path, signer, options, stages);
  if (!r) return fail(r.error());
  out.sign = std::move(*r);
  return out;
}

namespace {

class EphemeralSigner final : public Signer {
 public:
  EphemeralSigner(ossl::UniquePtr<EVP_PKEY> key, PublicKey pub) : key_(std::move(key)), pub_(std::move(pub)) {}
  SignatureScheme scheme() const override { return SignatureScheme::kEcdsaP256Sha256; }
  const PublicKey& public_key() const override { return pub_; }
  Result<Bytes> sign(const SignRequest& r) override {
    ossl::UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "cannot start an ECDSA signature"));
    std::size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, r.digest.data(), r.digest.size()) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "ECDSA signature"));
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, r.digest.data(), r.digest.size()) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "ECDSA signature"));
    sig.resize(len);
    return sig;
  }
  std::string describe() const override { return "an ephemeral P-256 key (in memory only)"; }

 private:
  ossl::UniquePtr<EVP_PKEY> key_;  // EVP_PKEY_free clears the private scalar
  PublicKey pub_;
};

}  // namespace

Result<std::unique_ptr<Signer>> ephemeral_signer() {
  ossl::UniquePtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return fail(openssl_error(ErrorCode::kBackend, "cannot generate an ephemeral P-256 key"));
  auto pub = public_key_from_pkey(key.get());
  if (!pub) return fail(pub.error());
  return std::unique_ptr<Signer>(new EphemeralSigner(std::move(key), std::move(*pub)));
}

}  // namespace modelsign::sigstore
