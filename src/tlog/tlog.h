// Transparency-log (Rekor) evidence: RFC 6962 inclusion proofs, checkpoints (signed
// notes), signed entry timestamps, and the match between an entry body and the bundle.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/bundle.h"
#include "root/trusted_root.h"

namespace modelsign::tlog {

// RFC 6962 §2.1: SHA-256(0x00 || leaf), SHA-256(0x01 || left || right).
Bytes leaf_hash(std::span<const std::uint8_t> leaf);
Bytes node_hash(std::span<const std::uint8_t> left, std::span<const std::uint8_t> right);

// RFC 9162 §2.1.3.2: the audit path from leaf `index` of a tree of `tree_size` leaves.
// Returns the root it reaches (so callers can say which root they expected).
Result<Bytes> root_from_inclusion_proof(std::uint64_t index, std::uint64_t tree_size,
                                        std::span<const std::uint8_t> leaf_hash,
                                        const std::vector<Bytes>& proof);

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Bytes root_hash;
};
// Parses a signed note and checks that one of its signatures is by `log`'s key.
Result<Checkpoint> verify_checkpoint(std::string_view note, const root::LogKey& log);

// Verifies `sig` over `message` with a log key, using the hash its keyDetails names.
Result<void> verify_with_log_key(const root::LogKey& log, std::span<const std::uint8_t> message,
                                 std::span<const std::uint8_t> sig);

// The signed entry timestamp: Rekor's signature over the canonical JSON
// {"body","integratedTime","logID","logIndex"}.
Result<void> verify_set(const bundle::TlogEntry& entry, const root::LogKey& log);

// The entry body records this bundle: payload hash, signature and signing certificate
// (dsse 0.0.1 from Rekor v1, dsse 0.0.2 from Rekor v2).
Result<void> check_body_matches(const bundle::TlogEntry& entry, const bundle::Bundle& b);

struct EntryResult {
  std::int64_t log_index = 0;
  std::string log_url;
  std::optional<std::int64_t> verified_time;  // integrated time, when its SET verified
};
// All checks of one entry, in order: known log, body, inclusion proof + checkpoint, SET.
Result<EntryResult> verify_entry(const bundle::TlogEntry& entry, const bundle::Bundle& b,
                                 const root::TrustedRoot& root);

}  // namespace modelsign::tlog
