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

// Verify's limit on a whole signature file (src/bundle/limits.h kMaxBundleBytes).
inline constexpr std::size_t kMaxSignatureBytes = 256u << 20;

struct SignOptions {
  SerializationOptions serialization;
  HashingOptions hashing;
  // X.509 certificates, DER: the signing certificate first, then the chain as given.
  // Empty: a `key` bundle (public-key hint). Non-empty: a `certificate` bundle.
  std::vector<Bytes> certificate_chain;
  // The time the signing certificate must be valid at (default: now); tests fix it.
  std::optional<std::chrono::system_clock::time_point> signing_time;
  // The largest bundle to write: verify's limit (limits::kMaxBundleBytes). Tests lower it
  // to reach the limit with a small model.
  std::size_t max_bundle_bytes = kMaxSignatureBytes;
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

// Every limit and name check verification applies to a signed manifest (resource count,
// name length and depth, safe names, ignore paths), with verification's messages: a
// signature verify would refuse is never made.
Result<void> check_verifiable(const Manifest& m);

// Removes our own temporary files (".modelsign-" + 6 characters, regular, ours) older
// than `age` from `dir`.
void remove_stale_temp_files(const std::string& dir, std::chrono::seconds age);

// Fails unless a signature can be written at `path`: its directory exists and is writable,
// and `path` is not a directory. Called before hashing, so a typo costs no time.
Result<void> check_output_path(const std::string& path);

}  // namespace modelsign
