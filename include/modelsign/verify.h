// Verifying a model against a signature bundle (spec §7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/manifest.h"

namespace modelsign {

enum class VerifyMethod { kKey, kCertificate, kSigstore };

// Keyless (Sigstore) verification: the identity policy and the trust material.
struct SigstorePolicy {
  std::string identity;         // SAN (email or URI) of the signer
  bool identity_regex = false;  // identity is an ECMAScript regex matched against the whole SAN
  std::string issuer;           // OIDC issuer, exact
  // Trust material: a trusted_root.json or ClientTrustConfig text; empty: the built-in root.
  std::string trust_material;
  bool trust_material_is_trust_config = false;
  std::string trust_material_name;  // file name, for messages
  bool use_staging = false;         // built-in staging root instead of production
};

// What the keyless checks established (VerifyResult::sigstore).
struct SigstoreDetails {
  std::string identity;
  std::string issuer;
  std::int64_t signing_time = 0;  // seconds since the epoch
  std::string signing_time_source;  // "Rekor integrated time" or "RFC 3161 timestamp from <TSA>"
  std::optional<std::int64_t> rekor_log_index;
  std::string trusted_root;  // which root verified it
};

struct VerifyOptions {
  VerifyMethod method = VerifyMethod::kKey;
  std::optional<PublicKey> public_key;           // kKey
  std::vector<Bytes> trust_anchors;              // kCertificate: DER certs from --certificate-chain
  bool log_fingerprints = false;
  SigstorePolicy sigstore;                       // kSigstore
  // Serialization used to re-hash: ignore paths, git defaults and symlink policy come
  // from here; the recorded ignore_paths are added.
  SerializationOptions serialization;
  HashingOptions hashing;
  bool ignore_unsigned_files = false;
  // Use the signature's method/hash/shard size (default) or force files+sha256 like
  // model_signing's CLI.
  bool use_recorded_serialization = true;
};

struct VerifyResult {
  Manifest signed_manifest;
  std::string signer;  // key hint, certificate subject, or the Sigstore identity (SAN)
  std::vector<std::string> warnings;
  std::optional<SigstoreDetails> sigstore;  // kSigstore
};

Result<VerifyResult> verify_model(const std::string& model_path, std::string_view bundle_json,
                                  const VerifyOptions& options);

}  // namespace modelsign
