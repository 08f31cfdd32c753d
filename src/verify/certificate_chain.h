// Certificate-chain validation for `verify certificate` (spec §7.3), and the checks
// `sign certificate` shares with it.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::verify {

struct ChainResult {
  PublicKey leaf_key;
  std::string leaf_subject;
};

struct ChainOptions {
  // DER trust anchors (--certificate-chain). Empty: an error, unless use_system_store.
  std::vector<Bytes> anchors;
  // Trust OpenSSL's default store (file and directory, redirectable with SSL_CERT_FILE /
  // SSL_CERT_DIR) instead: an explicit opt-in, named in a warning.
  bool use_system_store = false;
  // The time the leaf must be valid at; empty: now.
  std::optional<std::chrono::system_clock::time_point> at;
  bool log_fingerprints = false;
};

// Builds the chain from the leaf (certs[0]) through the bundle's other certificates
// (untrusted) to a self-signed anchor. Chain validity is evaluated at the leaf's
// notBefore (as model_signing does); the leaf must also be valid at `options.at`, and
// usable for code signing (see check_signing_usage).
Result<ChainResult> validate_chain(const std::vector<Bytes>& certs, const ChainOptions& options,
                                   std::vector<std::string>* warnings);

// The certificate's validity period covers `at`.
Result<void> check_validity(X509* cert, std::time_t at);
// Usable for signing models: ExtendedKeyUsage, when present, includes codeSigning;
// KeyUsage, when present, includes digitalSignature; at least one of them is present.
Result<void> check_signing_usage(X509* cert);

// The files and directory OpenSSL's default store reads, after SSL_CERT_FILE/SSL_CERT_DIR.
std::string system_store_description();

}  // namespace modelsign::verify
