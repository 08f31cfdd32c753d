// The one place for limits on untrusted input (signature bundles and their payloads).
// Enforced at parse time; the fuzz target in tests/bundle exercises them.
#pragma once

#include <cstddef>

namespace modelsign::limits {

inline constexpr std::size_t kMaxBundleBytes = 256u << 20;     // whole signature file
inline constexpr std::size_t kMaxJsonDepth = 32;               // nesting of any JSON document
inline constexpr std::size_t kMaxResources = 4'000'000;        // manifest entries
inline constexpr std::size_t kMaxNameBytes = 4096;             // one resource name
inline constexpr std::size_t kMaxPathComponents = 256;         // components in one name
inline constexpr std::size_t kMaxIgnorePaths = 10'000;         // recorded ignore_paths
inline constexpr std::size_t kMaxCertificates = 10;            // chain depth in a bundle
inline constexpr std::size_t kMaxCertificateBytes = 64u << 10; // one DER certificate
inline constexpr std::size_t kMaxSignatures = 16;              // DSSE signatures
inline constexpr std::size_t kMaxTlogEntries = 16;
inline constexpr std::size_t kMaxDigestBytes = 64;             // BLAKE2b-512
// Sigstore (keyless) material.
inline constexpr std::size_t kMaxTrustedRootBytes = 4u << 20;    // trusted_root.json / trust config
inline constexpr std::size_t kMaxTrustedRootEntries = 64;        // logs or authorities of one kind
inline constexpr std::size_t kMaxLogKeyBytes = 4096;             // one DER public key
inline constexpr std::size_t kMaxCanonicalBodyBytes = 1u << 20;  // one Rekor entry body
inline constexpr std::size_t kMaxInclusionProofHashes = 64;      // audit path (trees < 2^64)
inline constexpr std::size_t kMaxCheckpointBytes = 16u << 10;    // one signed note
inline constexpr std::size_t kMaxCheckpointSignatures = 16;      // signature lines in one note
inline constexpr std::size_t kMaxTimestamps = 16;                // RFC 3161 timestamps in a bundle
inline constexpr std::size_t kMaxTimestampBytes = 64u << 10;     // one RFC 3161 response
inline constexpr std::size_t kMaxScts = 16;                      // SCTs embedded in one certificate
inline constexpr std::size_t kMaxIdentityBytes = 4096;           // one SAN or issuer value

// TUF metadata and target files (src/tuf). A download stops at the limit for its role;
// Sigstore's own files are a few KiB, so the limits leave room to grow without letting
// a hostile mirror feed endless data.
inline constexpr std::size_t kMaxTufRootBytes = 512u << 10;       // one N.root.json
inline constexpr std::size_t kMaxTufTimestampBytes = 16u << 10;   // timestamp.json
inline constexpr std::size_t kMaxTufSnapshotBytes = 2u << 20;     // snapshot.json (no length given)
inline constexpr std::size_t kMaxTufTargetsBytes = 5u << 20;      // targets.json (no length given)
inline constexpr std::size_t kMaxTufTargetFileBytes = 16u << 20;  // one target file
inline constexpr std::size_t kMaxTufKeys = 128;                   // keys in one root or delegation
inline constexpr std::size_t kMaxTufSignatures = 128;             // signatures on one file
inline constexpr std::size_t kMaxTufRoleKeyids = 128;             // keyids of one role
inline constexpr std::size_t kMaxTufTargets = 10'000;             // targets in targets.json
inline constexpr std::size_t kMaxTufMetaEntries = 10'000;         // entries in snapshot meta
inline constexpr std::size_t kMaxTufRootRotations = 256;          // new roots in one update
inline constexpr std::size_t kMaxTufPublicKeyBytes = 4096;        // one keyval.public

}  // namespace modelsign::limits
