// The verifier for Sigstore (keyless) material: a Fulcio certificate, Rekor entries and
// RFC 3161 timestamps, checked against a trusted root in the order of the Sigstore
// client spec. Like the public-key and X.509 verifiers it returns the verified key and
// who it belongs to; the statement and manifest checks are shared (verify.cpp).
#pragma once

#include "bundle/bundle.h"
#include "modelsign/verify.h"
#include "root/trusted_root.h"
#include "verify/fulcio.h"

namespace modelsign::verify {

struct SigstoreVerified {
  PublicKey key;
  SigstoreDetails details;
  std::vector<VerifiedTime> times;
};

// The trusted root a policy names: its file text, or the built-in production/staging root.
Result<root::TrustedRoot> load_trusted_root(const SigstorePolicy& policy);

// Verified times (TSA, Rekor), the Rekor entries, the certificate chain at every
// verified time, SCTs, the DSSE signature, then the identity policy.
Result<SigstoreVerified> verify_sigstore(const bundle::Bundle& b, const SigstorePolicy& policy,
                                         const root::TrustedRoot& root, std::vector<std::string>* warnings);

}  // namespace modelsign::verify
