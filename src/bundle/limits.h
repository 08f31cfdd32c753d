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

// The signed statement (the decoded DSSE payload). Our writer spends 153 bytes per
// resource plus its name (2-space indent), so 1 M files with 40-byte names take 193 MB
// and 4 M files with short names fit; a larger payload could not come from a bundle
// within kMaxBundleBytes anyway (base64 adds a third). Refused before the signature check.
inline constexpr std::size_t kMaxPayloadBytes = 192u << 20;
// A statement signed over v0.2's compat PAE (Digests/v0.1, spec §4.3). The compat
// encoding is built only for such bundles and can be 4 times the payload (\\xhh per
// byte); this cap keeps it within the memory bound. v0.2's statement spends ~190 bytes
// per file, so this covers ~88k files, more than that experimental release was used for.
inline constexpr std::size_t kMaxLegacyPayloadBytes = 16u << 20;
// JSON values (objects, arrays, strings, numbers, literals) in one document, counted while
// parsing, because a value costs far more memory than its text ('{},' is 3 bytes, an
// empty object in a tree ~80). A statement holds 4 per resource (object, name,
// algorithm, digest) plus its ignore paths and a few dozen of its own.
inline constexpr std::size_t kMaxStatementJsonValues = 4 * kMaxResources + kMaxIgnorePaths + 1000;
// A bundle around the payload holds a few dozen values; a Sigstore one a few hundred
// (kMaxTlogEntries entries with their inclusion proofs).
inline constexpr std::size_t kMaxBundleJsonValues = 100'000;

}  // namespace modelsign::limits
