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
// One DSSE signature: a DER ECDSA signature is < 160 bytes and an RSA-4096 one 512.
inline constexpr std::size_t kMaxDsseSignatureBytes = 64u << 10;
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
inline constexpr std::size_t kMaxSignedEntryTimestampBytes = 1024;  // a Rekor SET (DER ECDSA)

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
// A trusted root: 4 kinds of up to kMaxTrustedRootEntries entries, each a few dozen
// values (a CA with kMaxCertificates certificates has ~30); 100k is far above that.
inline constexpr std::size_t kMaxTrustedRootJsonValues = 100'000;
// A Rekor entry body (dsse 0.0.1 / 0.0.2) holds about 20 values.
inline constexpr std::size_t kMaxRekorBodyJsonValues = 1000;
// TUF metadata: targets.json holds up to kMaxTufTargets targets of ~10 values each
// (length, hashes, custom.sigstore fields); snapshot fewer per entry. TUF has no
// string longer than kMaxJsonStringBytes, so long strings are refused there.
inline constexpr std::size_t kMaxTufJsonValues = 20 * kMaxTufTargets + 10'000;

}  // namespace modelsign::limits
