// One verifier per kind of verification material (public key, X.509 chain, Sigstore),
// as sigstore-go composes its verifier: each checks the DSSE signature with the key its
// material vouches for and says who signed. What follows (statement and manifest
// checks) is one shared step in verify.cpp, whatever the material.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "modelsign/verify.h"

namespace modelsign::verify {

struct VerifiedSigner {
  std::string signer;                      // key hint, certificate subject or keyless identity
  bool used_compat_pae = false;            // the v0.2 encoding verified (legacy statements only)
  std::optional<SigstoreDetails> sigstore; // keyless: identity, issuer, times, log index
};

// `verify key`: the bundle's key hint (v1.1+) must be the given key's; then the signature.
Result<VerifiedSigner> verify_public_key_material(const bundle::Bundle& b, const PublicKey& key,
                                                  std::vector<std::string>* warnings);

// `verify certificate`: the chain to a trust anchor at the verification time, the
// signing certificate's usage, then the signature with its key.
Result<VerifiedSigner> verify_certificate_material(const bundle::Bundle& b, const VerifyOptions& options,
                                                   std::vector<std::string>* warnings);

// `verify sigstore`: the trusted root the policy names, then sigstore_verifier.h.
Result<VerifiedSigner> verify_sigstore_material(const bundle::Bundle& b, const SigstorePolicy& policy,
                                                std::vector<std::string>* warnings);

// The verifier for the options' method, after checking that the bundle carries that
// kind of material (and saying which command fits when it does not).
Result<VerifiedSigner> verify_material(const bundle::Bundle& b, const VerifyOptions& options,
                                       std::vector<std::string>* warnings);

}  // namespace modelsign::verify
