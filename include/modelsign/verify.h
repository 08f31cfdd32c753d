// Verifying a model against a signature bundle (spec §7).
#pragma once

#include <chrono>
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
  // kCertificate: with no trust_anchors, trust OpenSSL's default store (an explicit
  // opt-in; without it, no trust anchor is an error).
  bool use_system_trust_store = false;
  // The time signatures and certificates are checked at; empty: now. Tests fix it.
  std::optional<std::chrono::system_clock::time_point> verification_time;
  bool log_fingerprints = false;
  SigstorePolicy sigstore;                       // kSigstore
  // Serialization used to re-hash: ignore paths, git defaults and symlink policy come
  // from here; the recorded ignore_paths are added.
  SerializationOptions serialization;
  HashingOptions hashing;
  bool ignore_unsigned_files = false;
  // Fail when any file exists under an ignore path recorded in the signature or under a
  // default git path applied at verification (those files are not verified).
  bool strict_ignored = false;
  // The signature file's path relative to the model, when it lies inside the model: it
  // is ignored without being reported.
  std::optional<std::string> signature_in_model;
  // Use the signature's method/hash/shard size (default) or force files+sha256 like
  // model_signing's CLI.
  bool use_recorded_serialization = true;
  // When set and verification fails because the model differs: the differences, for
  // machine-readable output.
  VerifyMismatch* mismatch = nullptr;
};

struct VerifyResult {
  Manifest signed_manifest;
  std::string signer;  // key hint, certificate subject, or the Sigstore identity (SAN)
  std::vector<std::string> warnings;
  // The ignore paths recorded in the signature (applied, as model_signing does).
  std::vector<std::string> recorded_ignore_paths;
  // The default git paths (.git, .gitattributes, .github, .gitignore) applied at
  // verification: those the signer did not hash.
  std::vector<std::string> default_ignore_paths;
  // Files present under a recorded or default ignore path: not verified. The signature
  // file itself is left out.
  std::vector<std::string> ignored_files;
  // Files outside the signature that --ignore-unsigned-files let through: not verified.
  std::vector<std::string> tolerated_unsigned;
  std::optional<SigstoreDetails> sigstore;  // kSigstore
};

Result<VerifyResult> verify_model(const std::string& model_path, std::string_view bundle_json,
                                  const VerifyOptions& options);
// The same, owning the bundle text: it is freed as soon as it is parsed, before the model
// is hashed (the signature of a million files is a few hundred megabytes).
Result<VerifyResult> verify_model(const std::string& model_path, std::string&& bundle_json,
                                  const VerifyOptions& options);

}  // namespace modelsign
