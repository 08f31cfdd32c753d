// TUF 1.0 role metadata: strict, bounded parsing of root, timestamp, snapshot and
// targets, and the threshold check of a role's signatures.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/json.h"
#include "modelsign/error.h"
#include "tuf/keys.h"

namespace modelsign::tuf {

// Seconds since 1970-01-01T00:00:00Z.
using UnixTime = std::int64_t;

// RFC 3339 date-time: "2026-08-28T19:25:56Z", with optional fractional seconds and a
// numeric offset (Sigstore's first root has "2021-12-18T13:28:12.99008-06:00").
Result<UnixTime> parse_time(std::string_view text);
std::string format_time(UnixTime t);  // "2026-08-28T19:25:56Z"

struct SignatureEntry {
  std::string keyid;
  std::string sig;  // hex
};

// One downloaded metadata file: its signed part (and the canonical bytes the signatures
// cover) and the fields every role shares.
struct Envelope {
  bundle::Json signed_part;
  std::string canonical;
  std::vector<SignatureEntry> signatures;
  std::string type;  // "root", "timestamp", "snapshot", "targets"
  std::uint64_t version = 0;
  UnixTime expires = 0;
};

// Parses `bytes` as metadata of role `type`, refusing more than `max_bytes`.
Result<Envelope> parse_envelope(std::string_view bytes, std::string_view type, std::size_t max_bytes);

struct RoleKeys {
  std::vector<std::string> keyids;
  std::uint64_t threshold = 1;
};

struct Root {
  std::uint64_t version = 0;
  UnixTime expires = 0;
  bool consistent_snapshot = false;
  std::map<std::string, Key> keys;
  std::map<std::string, RoleKeys> roles;  // root, timestamp, snapshot, targets
};

struct MetaFile {
  std::uint64_t version = 0;
  std::optional<std::uint64_t> length;
  std::map<std::string, std::string> hashes;  // algorithm -> lowercase hex
};

struct Timestamp {
  std::uint64_t version = 0;
  UnixTime expires = 0;
  MetaFile snapshot;
};

struct Snapshot {
  std::uint64_t version = 0;
  UnixTime expires = 0;
  std::map<std::string, MetaFile> meta;  // "targets.json", delegated roles' files
};

struct TargetFile {
  std::uint64_t length = 0;
  std::map<std::string, std::string> hashes;
};

struct Targets {
  std::uint64_t version = 0;
  UnixTime expires = 0;
  std::map<std::string, TargetFile> targets;
};

Result<Root> parse_root(const Envelope& env);
Result<Timestamp> parse_timestamp(const Envelope& env);
Result<Snapshot> parse_snapshot(const Envelope& env);
Result<Targets> parse_targets(const Envelope& env);

// Counts signatures on `env` by distinct keys of `signer`'s role `role` (a keyid listed
// twice, or one key under two keyids, counts once). Fails with kThresholdNotMet when the
// count is below the role's threshold.
Result<void> verify_role(const Root& signer, std::string_view role, const Envelope& env,
                         std::string_view what);

// Checks `bytes` against a recorded length and hashes (sha256 / sha512). Unknown
// algorithms are skipped; at least one known hash must match when `require_hash`.
Result<void> check_length_and_hashes(std::string_view bytes, std::optional<std::uint64_t> length,
                                     const std::map<std::string, std::string>& hashes, bool require_hash,
                                     std::string_view what);

}  // namespace modelsign::tuf
