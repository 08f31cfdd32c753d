// The TUF 1.0 client workflow ("detailed client workflow", section 5 of the spec):
// root rotation with fast-forward recovery, timestamp -> snapshot -> targets with
// version, expiry, length and hash checks against the cached state, and target files
// checked against targets.json. Every file is cached only after it verified, so a refused
// update leaves the last good state in place.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "modelsign/error.h"
#include "tuf/fetcher.h"
#include "tuf/metadata.h"

namespace modelsign::tuf {

struct UpdaterConfig {
  std::string bootstrap_root;             // root.json shipped with the client, trusted as is
  std::filesystem::path cache_dir;        // this repository's cache directory
  std::optional<UnixTime> reference_time; // the "now" expiry is judged at; default: the clock
  std::vector<std::string> targets;       // target files to download and cache
  std::vector<std::string> optional_targets;  // downloaded when targets.json lists them
  std::chrono::milliseconds lock_timeout{std::chrono::minutes(2)};
};

struct VersionChange {
  std::uint64_t before = 0;  // 0: nothing was cached
  std::uint64_t after = 0;
};

struct UpdateReport {
  VersionChange root, timestamp, snapshot, targets;
  std::vector<std::string> targets_changed;  // target files whose content changed
  bool fast_forward_recovery = false;         // cached timestamp/snapshot dropped after a key rotation
};

// Runs the whole workflow over `fetcher` under the cache lock.
Result<UpdateReport> refresh(const UpdaterConfig& cfg, Fetcher& fetcher);

// What the cache holds, re-verified from disk without any network access.
struct CachedState {
  Root root;
  Timestamp timestamp;
  Snapshot snapshot;
  Targets targets;
  std::optional<UnixTime> refreshed_at;  // the last successful refresh
  // cfg.targets, and those cfg.optional_targets the cache holds; checked against targets.
  std::map<std::string, std::string> files;
};

// Loads and re-verifies the cached metadata chain at the reference time: every role
// signed by the cached root, versions consistent, nothing expired; and the target files
// cfg.targets names (and cfg.optional_targets, when cached), checked against targets.json.
// All under one shared lock, so a concurrent refresh's commit is never seen half done.
Result<CachedState> load_cached(const UpdaterConfig& cfg);

// The bytes of target `name`: from state.files, else read from the cache and checked
// against the cached targets.json.
Result<std::string> cached_target(const UpdaterConfig& cfg, const CachedState& state, std::string_view name);

// Whether a target name may be used as a cache file name ([A-Za-z0-9._-], no leading '.').
bool is_plain_target_name(std::string_view name);

}  // namespace modelsign::tuf
