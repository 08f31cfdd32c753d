// Certificate-chain validation for `verify certificate` (spec §7.3).
#pragma once

#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::verify {

struct ChainResult {
  PublicKey leaf_key;
  std::string leaf_subject;
};

// Builds the chain from the leaf (certs[0]) through the bundle's other certificates
// (untrusted) to a self-signed anchor among `anchors` (empty: the system store).
// Chain validity is evaluated at the leaf's notBefore (as model_signing does); the leaf
// must also be valid now; it needs KeyUsage digitalSignature or EKU codeSigning.
Result<ChainResult> validate_chain(const std::vector<Bytes>& certs, const std::vector<Bytes>& anchors,
                                   bool log_fingerprints, std::vector<std::string>* warnings);

}  // namespace modelsign::verify
