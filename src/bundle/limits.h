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

}  // namespace modelsign::limits
