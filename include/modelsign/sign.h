// Signing a model: manifest -> in-toto statement -> DSSE envelope -> Sigstore bundle.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/key_provider.h"
#include "modelsign/manifest.h"

namespace modelsign {

struct SignOptions {
  SerializationOptions serialization;
  HashingOptions hashing;
  // X.509 certificates, DER: the signing certificate first, then the chain as given.
  // Empty: a `key` bundle (public-key hint). Non-empty: a `certificate` bundle.
  std::vector<Bytes> certificate_chain;
  // The time the signing certificate must be valid at (default: now); tests fix it.
  std::optional<std::chrono::system_clock::time_point> signing_time;
};

struct SignResult {
  std::string bundle_json;  // the whole bundle, as written to the signature file
  Manifest manifest;
  std::string signer;       // key hint, or the certificate subject
};

// Hashes the model (CPU), builds the statement and asks `signer` for one signature.
// When certificates are given, the leaf's public key must equal the signer's, and the
// leaf must be valid at the signing time and usable for code signing (a signature that
// could never verify is refused).
Result<SignResult> sign_model(const std::string& model_path, Signer& signer, const SignOptions& options);

// Writes `data` to `path` atomically: temp file in the same directory, fsync, rename.
// On any failure the previous file (if any) is left untouched and no temp file remains.
Result<void> write_file_atomically(const std::string& path, std::string_view data, unsigned mode = 0644);

// Reads PEM certificates (any number per file; leading text allowed) as DER.
Result<std::vector<Bytes>> read_pem_certificates(const std::string& path);

}  // namespace modelsign
