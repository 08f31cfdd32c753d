// Verifying a model against a signature bundle (spec §7).
#pragma once

#include <string>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/manifest.h"

namespace modelsign {

enum class VerifyMethod { kKey, kCertificate };

// How the model on disk differs from the signed manifest (resource names).
struct VerifyMismatch {
  std::vector<std::string> extra;    // on disk, not signed
  std::vector<std::string> missing;  // signed, not on disk
  std::vector<std::string> changed;  // signed, on disk with another digest
};

struct VerifyOptions {
  VerifyMethod method = VerifyMethod::kKey;
  std::optional<PublicKey> public_key;           // kKey
  std::vector<Bytes> trust_anchors;              // kCertificate: DER certs from --certificate-chain
  bool log_fingerprints = false;
  // Serialization used to re-hash: ignore paths, git defaults and symlink policy come
  // from here; the recorded ignore_paths are added.
  SerializationOptions serialization;
  HashingOptions hashing;
  bool ignore_unsigned_files = false;
  // Use the signature's method/hash/shard size (default) or force files+sha256 like
  // model_signing's CLI.
  bool use_recorded_serialization = true;
  // When set and verification fails because the model differs: the differences, for
  // machine-readable output.
  VerifyMismatch* mismatch = nullptr;
};

struct VerifyResult {
  Manifest signed_manifest;
  std::string signer;  // key hint or certificate subject
  std::vector<std::string> warnings;
};

Result<VerifyResult> verify_model(const std::string& model_path, std::string_view bundle_json,
                                  const VerifyOptions& options);

}  // namespace modelsign
