#include "verify/material_verifiers.h"

#include <fmt/format.h>

#include "bundle/dsse.h"
#include "crypto/digest.h"
#include "verify/certificate_chain.h"
#include "verify/sigstore_verifier.h"

namespace modelsign::verify {

namespace {

// Standard PAE first; then, for a bundle that may come from model_signing v0.2 only, the
// compat PAE (key: the curve's hash; certificate: SHA-256 whatever the curve, as v0.2
// hard-coded it). Returns whether the compat PAE was the one that verified.
Result<bool> check_signature(const PublicKey& key, const bundle::Bundle& b, bool certificate_method) {
  auto scheme = key.scheme();
  if (!scheme) return fail(scheme.error());
  // model_signing builds the PAE with the constant in-toto type (spec §4.2). Verified
  // as header + payload, without a second copy of the payload.
  std::string header = bundle::pae_header(bundle::kInTotoPayloadType, b.payload.size());
  if (key.verify_parts(*scheme, to_bytes(header), b.payload, b.signature)) return false;
  if ((*scheme == SignatureScheme::kEcdsaP256Sha256 || *scheme == SignatureScheme::kEcdsaP384Sha384 ||
       *scheme == SignatureScheme::kEcdsaP521Sha512) &&
      bundle::may_use_compat_pae(b)) {
    Bytes compat = bundle::compat_pae(bundle::kInTotoPayloadType, b.payload);
    std::string_view hash = certificate_method ? "SHA256" : hash_name(*scheme);
    if (key.verify_with_hash(hash, compat, b.signature)) return true;
  }
  return fail(ErrorCode::kVerification,
              fmt::format("Invalid signature: the DSSE signature does not verify with the {} "
                          "({}); the signature or its payload was altered, or it was made with "
                          "another key",
                          certificate_method ? "signing certificate's key" : "given public key",
                          key.describe()));
}

}  // namespace

Result<VerifiedSigner> verify_public_key_material(const bundle::Bundle& b, const PublicKey& key,
                                                  std::vector<std::string>* warnings) {
  if (b.key_hint) {
    if (*b.key_hint != key.hint())
      return fail(ErrorCode::kVerification,
                  fmt::format("Key mismatch: The public key hash in the signature's verification "
                              "material does not match the provided public key (signature: {}, "
                              "given key: {}); use the public key of the signer",
                              *b.key_hint, key.hint()));
  } else {
    warnings->push_back(
        "WARNING: This model's signature uses an older verification material format. Please "
        "re-sign with an updated signer to use a public key identifier hash.");
  }
  auto s = check_signature(key, b, false);
  if (!s) return fail(s.error());
  VerifiedSigner out;
  out.used_compat_pae = *s;
  out.signer = key.hint();
  return out;
}

Result<VerifiedSigner> verify_certificate_material(const bundle::Bundle& b, const VerifyOptions& options,
                                                   std::vector<std::string>* warnings) {
  ChainOptions co;
  co.anchors = options.trust_anchors;
  co.use_system_store = options.use_system_trust_store;
  co.at = options.verification_time;
  co.log_fingerprints = options.log_fingerprints;
  auto chain = validate_chain(b.certificates, co, warnings);
  if (!chain) return fail(chain.error());
  auto s = check_signature(chain->leaf_key, b, true);
  if (!s) return fail(s.error());
  VerifiedSigner out;
  out.used_compat_pae = *s;
  out.signer = chain->leaf_subject;
  return out;
}

Result<VerifiedSigner> verify_sigstore_material(const bundle::Bundle& b, const SigstorePolicy& policy,
                                                std::vector<std::string>* warnings) {
  auto root = load_trusted_root(policy);
  if (!root) return fail(root.error());
  auto v = verify_sigstore(b, policy, *root, warnings);
  if (!v) return fail(v.error());
  VerifiedSigner out;
  out.signer = v->details.identity;
  out.sigstore = std::move(v->details);
  return out;
}

Result<VerifiedSigner> verify_material(const bundle::Bundle& b, const VerifyOptions& options,
                                       std::vector<std::string>* warnings) {
  switch (options.method) {
    case VerifyMethod::kSigstore:
      if (b.material != bundle::Material::kSigstore)
        return fail(ErrorCode::kVerification,
                    fmt::format("this signature carries a {}, not Sigstore keyless material: verify "
                                "it with 'verify {}'",
                                bundle::to_string(b.material),
                                b.material == bundle::Material::kPublicKey ? "key" : "certificate"));
      return verify_sigstore_material(b, options.sigstore, warnings);
    case VerifyMethod::kCertificate:
      if (b.material == bundle::Material::kSigstore)
        return fail(ErrorCode::kUnsupported,
                    "this signature is a Sigstore (keyless) bundle: verify it with 'verify sigstore'");
      if (b.material != bundle::Material::kCertificateChain)
        return fail(ErrorCode::kVerification,
                    fmt::format("this signature carries a {}, not a certificate chain: verify it "
                                "with 'verify key'",
                                bundle::to_string(b.material)));
      return verify_certificate_material(b, options, warnings);
    case VerifyMethod::kKey:
      break;
  }
  if (b.material == bundle::Material::kSigstore)
    return fail(ErrorCode::kUnsupported,
                "this signature is a Sigstore (keyless) bundle: verify it with 'verify sigstore'");
  if (b.material != bundle::Material::kPublicKey)
    return fail(ErrorCode::kVerification,
                fmt::format("this signature carries a {}, not a public-key hint: verify it with "
                            "'verify certificate'",
                            bundle::to_string(b.material)));
  if (!options.public_key)
    return fail(ErrorCode::kInvalidArgument, "verify key needs a public key (--public-key)");
  return verify_public_key_material(b, *options.public_key, warnings);
}

}  // namespace modelsign::verify
