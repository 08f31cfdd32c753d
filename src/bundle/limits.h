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

// The signed statement (the decoded DSSE payload): the most a bundle within
// kMaxBundleBytes can carry (base64 adds a third), checked on the base64 text before
// anything is decoded. Our writer spends 153 bytes per resource plus its name (2-space
// indent): 1 M files with names of up to 48 bytes on average fit (201 MB is the cap);
// kMaxResources (4 M) would need 612 MB, so in practice this cap binds first.
inline constexpr std::size_t kMaxPayloadBytes = 192u << 20;
// A statement signed over v0.2's compat PAE (Digests/v0.1, spec §4.3). The compat
// encoding is built only for such bundles and can be 4 times the payload (\xhh per
// byte); with this cap a hostile legacy bundle stays within twice its size + 64 MiB.
// v0.2's statement spends ~190 bytes per file, so this covers ~44k files, more than that
// short-lived experimental release was used for.
inline constexpr std::size_t kMaxLegacyPayloadBytes = 8u << 20;
// JSON values (objects, arrays, strings, numbers, literals) in one document, counted while
// parsing, because a value costs far more memory than its text ('{},' is 3 bytes, an
// empty object in a tree ~80). A statement holds 4 per resource (object, name,
// algorithm, digest) plus its ignore paths and a few dozen of its own.
inline constexpr std::size_t kMaxStatementJsonValues = 4 * kMaxResources + kMaxIgnorePaths + 1000;
// Longest JSON string the parser copies into its tree; longer ones (the payload) are
// read in place (see bundle/json.h).
inline constexpr std::size_t kMaxJsonStringBytes = 64u << 10;
// Longest number or literal (true/false/null); shard_size, the longest real one, has 10.
inline constexpr std::size_t kMaxJsonTokenBytes = 4096;
// A bundle around the payload holds a few dozen values; a Sigstore one a few hundred
// (kMaxTlogEntries entries with their inclusion proofs).
inline constexpr std::size_t kMaxBundleJsonValues = 100'000;

}  // namespace modelsign::limits
