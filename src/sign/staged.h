// The signing flow in stages, as Sigstore clients build a bundle: the signer signs, a
// certificate source supplies the verification material for the signer's key (none, a
// stored X.509 chain, or a Fulcio certificate fetched over the network), and witnesses
// (a transparency log, a timestamping authority) add evidence to the bundle once the
// signature exists. Network stages live outside the core (providers/sigstore); the core
// only defines the interfaces and the order.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/bundle.h"
#include "modelsign/sign.h"

namespace modelsign::sign {

// Supplies the certificates (DER, leaf first) that vouch for the signer's key.
class CertificateSource {
 public:
  virtual ~CertificateSource() = default;
  // Called before the model is hashed: cheap checks that should fail fast.
  virtual Result<void> prepare(Signer& signer) = 0;
  // Called after hashing, right before signing (a Fulcio certificate lives minutes).
  virtual Result<std::vector<Bytes>> certificates(Signer& signer) = 0;
  // How the bundle carries them: X.509 chain or Sigstore (Fulcio leaf + log entries).
  virtual bundle::Material material() const = 0;
  // Who the certificate names, for messages and --json.
  virtual std::string describe(const std::vector<Bytes>& certificates) const = 0;
};

// What a witness sees: the signed envelope and the certificates it was made with.
struct SignedEnvelope {
  std::string_view payload_type;
  std::span<const std::uint8_t> payload;  // the statement
  std::span<const std::uint8_t> signature;
  const std::vector<Bytes>& certificates;  // leaf first; empty for public-key material
  const PublicKey& key;
};

// Adds evidence about the signature (a tlog entry, a timestamp) to the bundle, checked
// before it is added: nothing unverified is written.
class Witness {
 public:
  virtual ~Witness() = default;
  virtual std::string name() const = 0;
  virtual Result<void> witness(const SignedEnvelope& envelope, bundle::Bundle& b) = 0;
};

struct Stages {
  CertificateSource* certificate_source = nullptr;  // none: options.certificate_chain
  // In order; timestamps first is Sigstore's order (a TSA countersigns the signature,
  // Rekor v2 then needs that time), but each witness only sees the signature.
  std::vector<Witness*> witnesses;
  // Checked after every witness ran, before the bundle is returned (e.g. the keyless
  // verifier run on the finished bundle).
  std::function<Result<void>(const bundle::Bundle&)> final_check;
};

// sign_model with explicit stages.
Result<SignResult> sign_model_staged(const std::string& model_path, Signer& signer, const SignOptions& options,
                                     const Stages& stages);

}  // namespace modelsign::sign
