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

}  // namespace modelsign::limits
