// Fulcio signing certificates: the chain to a CA of the trusted root at a verified
// time, embedded SCTs against the trusted root's CT logs, and the identity they certify.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/openssl_util.h"
#include "root/trusted_root.h"

namespace modelsign::verify {

// A time the signature is known to have existed at, and what vouches for it.
struct VerifiedTime {
  std::int64_t time = 0;
  std::string source;  // "Rekor integrated time", "RFC 3161 timestamp from <uri>"
};

// Validates `leaf` (+ the bundle's extra chain certificates, untrusted) against the
// trusted root's Fulcio CAs at every time in `times`: the leaf and its chain must be
// valid then and the CA's validFor must hold. Returns the leaf's issuer (for the SCT).
Result<ossl::UniquePtr<X509>> verify_fulcio_chain(X509* leaf, const std::vector<Bytes>& extra,
                                          const root::TrustedRoot& root, const std::vector<VerifiedTime>& times);

// At least one embedded SCT (RFC 6962 precertificate SCT) signed by a CT log of the
// trusted root, within that log's validFor.
Result<void> verify_embedded_scts(X509* leaf, X509* issuer, const root::TrustedRoot& root);

struct FulcioIdentity {
  std::vector<std::string> sans;  // email and URI subject alternative names
  std::string issuer;             // OIDC issuer (1.3.6.1.4.1.57264.1.8, else .1.1)
};
Result<FulcioIdentity> identity_of(X509* leaf);

// `identity` matches a SAN exactly, or with `regex` as an anchored full-match ECMAScript
// regular expression; `issuer` matches exactly. Returns the matching SAN.
Result<std::string> check_identity(const FulcioIdentity& id, const std::string& identity, bool regex,
                                   const std::string& issuer);

}  // namespace modelsign::verify
