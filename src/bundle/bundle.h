// The Sigstore bundle (v0.3 JSON) wrapping the DSSE envelope (spec §6).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::bundle {

inline constexpr std::string_view kBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";

enum class Material {
  kPublicKey,         // key / pkcs11-key / tpm2-key bundles
  kCertificateChain,  // certificate bundles: leaf then the user's chain
  kSigstore,          // keyless: a Fulcio leaf and a transparency-log entry
};

// A Rekor inclusion proof (RFC 6962 audit path) and the checkpoint it ends in.
struct InclusionProof {
  std::int64_t log_index = 0;  // index in the (sharded) tree the proof is for
  std::int64_t tree_size = 0;
  Bytes root_hash;
  std::vector<Bytes> hashes;
  std::string checkpoint;  // signed note text
};

// One transparency-log entry of a keyless bundle. Parsed only; src/tlog verifies it.
struct TlogEntry {
  std::int64_t log_index = 0;
  Bytes log_id;
  std::string kind, version;  // kindVersion, e.g. dsse / 0.0.1
  std::int64_t integrated_time = 0;
  std::optional<Bytes> signed_entry_timestamp;  // inclusionPromise
  std::optional<InclusionProof> inclusion_proof;
  Bytes canonicalized_body;
};

struct Bundle {
  std::string media_type{kBundleMediaType};
  Material material = Material::kPublicKey;
  std::optional<std::string> key_hint;  // v1.1+ publicKey.hint
  bool legacy_public_key = false;       // pre-1.1 publicKey.rawBytes/keyDetails
  bool has_tlog_entries_field = false;  // v1.1+ writers always write tlogEntries
  bool keyid_null_or_absent = true;     // v1.1+ writers write keyid ""
  std::vector<Bytes> certificates;      // DER, leaf first
  std::size_t tlog_entries = 0;
  int minor_version = 3;                // bundle v0.1 / v0.2 / v0.3
  std::vector<TlogEntry> tlog;          // Sigstore material only
  std::vector<Bytes> rfc3161_timestamps;  // DER TimeStampResponse, Sigstore material only
  std::string payload_type;
  Bytes payload;    // the exact signed statement bytes
  Bytes signature;  // signatures[0].sig
};

// The size limit on a whole bundle (limits::kMaxBundleBytes unless a test lowers it).
Result<void> check_bundle_size(std::size_t size, std::size_t limit);

// Structure and limits only; no cryptographic check.
Result<Bundle> parse_bundle(std::string_view json);
// One TransparencyLogEntry (proto3 JSON, as in a bundle's tlogEntries and as Rekor v2
// answers), with the bundle parser's limits.
Result<TlogEntry> parse_tlog_entry(std::string_view json);
// Whether the bundle may have been signed over v0.2's compat PAE (spec §4.3): pre-1.1
// form, a payload within limits::kMaxLegacyPayloadBytes that names the Digests/v0.1
// predicate. Decided before any signature check, so that no other bundle makes the
// verifier build that (up to 4 times larger) encoding.
bool may_use_compat_pae(const Bundle& b);
// Compact JSON with only schema fields, as model_signing v1.1 writes it.
std::string write_bundle(const Bundle& b);
// The same with the payload taken from `payload` (b.payload is not used): the signer's
// statement is encoded straight into the bundle text, never copied whole.
std::string write_bundle(const Bundle& b, std::span<const std::uint8_t> payload);

std::string_view to_string(Material m);

}  // namespace modelsign::bundle
