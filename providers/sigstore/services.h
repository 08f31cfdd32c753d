// The network stages of keyless signing, each checked before its answer is used:
// Fulcio (certificate source), Rekor v1 / v2 and RFC 3161 TSAs (witnesses).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "http_client.h"
#include "identity_token.h"
#include "root/trusted_root.h"
#include "sign/staged.h"

namespace modelsign::sigstore {

// Fulcio v2 signingCert: the signer's public key and a proof of possession (the signer's
// signature over the token's subject). The returned chain must lead to a Fulcio CA of the
// trusted root now, certify the signer's key, and carry an SCT of a CT log of the root.
class FulcioCertificateSource final : public sign::CertificateSource {
 public:
  FulcioCertificateSource(std::string url, const HttpClient& http, const root::TrustedRoot& root,
                          const IdentityToken& token)
      : url_(std::move(url)), http_(http), root_(root), token_(token) {}
  Result<void> prepare(Signer& signer) override;
  Result<std::vector<Bytes>> certificates(Signer& signer) override;
  bundle::Material material() const override { return bundle::Material::kSigstore; }
  std::string describe(const std::vector<Bytes>& certificates) const override;

 private:
  std::string url_;
  const HttpClient& http_;
  const root::TrustedRoot& root_;
  const IdentityToken& token_;
};

// Rekor v1 (dsse 0.0.1) or v2 (dsse 0.0.2) entry for the envelope; the returned entry is
// verified (body records this envelope, inclusion proof to a checkpoint signed by a log
// of the trusted root, SET) before it is added.
class RekorWitness final : public sign::Witness {
 public:
  RekorWitness(std::string url, std::uint32_t major_version, const HttpClient& http, const root::TrustedRoot& root)
      : url_(std::move(url)), version_(major_version), http_(http), root_(root) {}
  std::string name() const override;
  Result<void> witness(const sign::SignedEnvelope& envelope, bundle::Bundle& b) override;

 private:
  std::string url_;
  std::uint32_t version_;
  const HttpClient& http_;
  const root::TrustedRoot& root_;
};

// RFC 3161 timestamp over the DSSE signature: DER request with a random nonce; the
// response's nonce, message imprint and chain (to a TSA of the trusted root) are checked.
class TsaWitness final : public sign::Witness {
 public:
  TsaWitness(std::string url, const HttpClient& http, const root::TrustedRoot& root)
      : url_(std::move(url)), http_(http), root_(root) {}
  std::string name() const override { return "TSA " + url_; }
  Result<void> witness(const sign::SignedEnvelope& envelope, bundle::Bundle& b) override;

 private:
  std::string url_;
  const HttpClient& http_;
  const root::TrustedRoot& root_;
};

// The envelope JSON Rekor v1 hashes into envelopeHash: compact, keys sorted, no keyid
// (the form production entries of model_signing record).
std::string rekor_envelope_json(const sign::SignedEnvelope& e);

}  // namespace modelsign::sigstore
