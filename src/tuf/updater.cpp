#include "tuf/updater.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "bundle/limits.h"
#include "tuf/cache.h"
#include "tuf/errors.h"

namespace modelsign::tuf {

namespace {

constexpr std::string_view kRootFile = "root.json";
constexpr std::string_view kTimestampFile = "timestamp.json";
constexpr std::string_view kSnapshotFile = "snapshot.json";
constexpr std::string_view kTargetsFile = "targets.json";
constexpr std::string_view kRefreshedFile = "last-refresh";

UnixTime now_of(const UpdaterConfig& cfg) {
  return cfg.reference_time ? *cfg.reference_time : static_cast<UnixTime>(std::time(nullptr));
}

Result<void> check_expiry(std::string_view role, std::uint64_t version, UnixTime expires, UnixTime now) {
  if (expires <= now)
    return tuf_fail(Failure::kExpired, ErrorCode::kVerification,
                    fmt::format("{} metadata version {} expired at {} (reference time {}). The repository "
                                "has not published fresh metadata, or a mirror is replaying old files "
                                "(freeze attack); try again later or use another mirror",
                                role, version, format_time(expires), format_time(now)));
  return {};
}

std::vector<std::string> sorted_keyids(const Root& r, const char* role) {
  auto ids = r.roles.at(role).keyids;
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool role_keys_changed(const Root& a, const Root& b, const char* role) {
  return sorted_keyids(a, role) != sorted_keyids(b, role) ||
         a.roles.at(role).threshold != b.roles.at(role).threshold;
}

// A root that parses and carries its own threshold of signatures.
Result<Root> self_verified_root(std::string_view bytes, std::string_view what) {
  auto env = parse_envelope(bytes, "root", limits::kMaxTufRootBytes);
  if (!env) return std::unexpected(env.error().with_context(what));
  auto root = parse_root(*env);
  if (!root) return std::unexpected(root.error().with_context(what));
  if (auto v = verify_role(*root, "root", *env, what); !v) return std::unexpected(v.error());
  return root;
}

struct Loaded {
  Root root;
  std::string root_bytes;
  bool root_from_cache = false;
  std::optional<Timestamp> timestamp;
  std::optional<Snapshot> snapshot;
  std::optional<Targets> targets;
};

// A cached role file, verified by `root`; nullopt when absent or no longer verifiable (a
// file signed by keys the current root dropped is ignored, as the spec's recovery asks).
template <class T, class ParseFn>
std::optional<T> load_role(const Cache& cache, const Root& root, std::string_view file, const char* role,
                           std::size_t max, ParseFn parse) {
  auto bytes = cache.read(file, max);
  if (!bytes || !*bytes) return std::nullopt;
  auto env = parse_envelope(**bytes, role, max);
  if (!env || !verify_role(root, role, *env, file)) return std::nullopt;
  auto parsed = parse(*env);
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

Result<Loaded> load_trusted(const UpdaterConfig& cfg, const Cache& cache) {
  Loaded l;
  auto boot = self_verified_root(cfg.bootstrap_root, "the built-in root.json");
  if (!boot) return std::unexpected(boot.error());
  l.root = std::move(*boot);
  l.root_bytes = cfg.bootstrap_root;
  // The cached root wins when it is newer (it was verified by a chain from an older root);
  // a newer built-in root (after an upgrade) wins over an old cache.
  if (auto cached = cache.read(kRootFile, limits::kMaxTufRootBytes); cached && *cached) {
    if (auto r = self_verified_root(**cached, "the cached root.json"); r && r->version >= l.root.version) {
      l.root = std::move(*r);
      l.root_bytes = std::move(**cached);
      l.root_from_cache = true;
    }
  }
  l.timestamp = load_role<Timestamp>(cache, l.root, kTimestampFile, "timestamp", limits::kMaxTufTimestampBytes,
                                     parse_timestamp);
  l.snapshot = load_role<Snapshot>(cache, l.root, kSnapshotFile, "snapshot", limits::kMaxTufSnapshotBytes,
                                   parse_snapshot);
  l.targets = load_role<Targets>(cache, l.root, kTargetsFile, "targets", limits::kMaxTufTargetsBytes,
                                 parse_targets);
  return l;
}

std::string versioned(const Root& root, std::uint64_t version, std::string_view file) {
  return root.consistent_snapshot ? fmt::format("{}.{}", version, file) : std::string(file);
}

struct Fetched {
  std::string bytes;
  Envelope env;
};

// Downloads a metadata file (at most `max` bytes), checks it against the length and
// hashes its parent recorded, and parses it.
Result<Fetched> fetch_metadata(Fetcher& f, const std::string& path, const char* role, std::size_t max,
                               const MetaFile* expected) {
  auto bytes = f.fetch(path, max);
  if (!bytes) return std::unexpected(bytes.error().with_context(fmt::format("fetching {}", path)));
  if (expected != nullptr)
    if (auto c = check_length_and_hashes(*bytes, expected->length, expected->hashes, false, path); !c)
      return std::unexpected(c.error());
  auto env = parse_envelope(*bytes, role, max);
  if (!env) return std::unexpected(env.error().with_context(path));
  return Fetched{std::move(*bytes), std::move(*env)};
}

class UpdateRun {
 public:
  UpdateRun(const UpdaterConfig& cfg, Fetcher& f, Cache cache) : cfg_(cfg), f_(f), cache_(std::move(cache)) {}

  Result<UpdateReport> run() {
    auto loaded = load_trusted(cfg_, cache_);
    if (!loaded) return std::unexpected(loaded.error());
    l_ = std::move(*loaded);
    now_ = now_of(cfg_);
    report_.root.before = l_.root.version;
    report_.timestamp.before = l_.timestamp ? l_.timestamp->version : 0;
    report_.snapshot.before = l_.snapshot ? l_.snapshot->version : 0;
    report_.targets.before = l_.targets ? l_.targets->version : 0;
    // Persist the starting root (the built-in one on first use or after an upgrade), so
    // the cache always holds the root its files verify under.
    if (!l_.root_from_cache)
      if (auto w = cache_.write(kRootFile, l_.root_bytes); !w) return std::unexpected(w.error());
    if (auto r = update_root(); !r) return std::unexpected(r.error());
    if (auto r = update_timestamp(); !r) return std::unexpected(r.error());
    if (auto r = update_snapshot(); !r) return std::unexpected(r.error());
    if (auto r = update_targets(); !r) return std::unexpected(r.error());
    for (const auto& name : cfg_.targets)
      if (auto r = update_target(name); !r) return std::unexpected(r.error());
    for (const auto& name : cfg_.optional_targets)
      if (l_.targets->targets.contains(name))
        if (auto r = update_target(name); !r) return std::unexpected(r.error());
    // All verified: commit timestamp, snapshot, targets and target files together, so a
    // refused update leaves the previous complete, consistent set (the "last good
    // state"). Parents last: an interrupted commit leaves a set load_cached() rejects and
    // the next refresh repairs.
    for (const auto& [name, bytes] : pending_)
      if (auto w = cache_.write(name, bytes); !w) return std::unexpected(w.error());
    report_.root.after = l_.root.version;
    report_.timestamp.after = l_.timestamp->version;
    report_.snapshot.after = l_.snapshot->version;
    report_.targets.after = l_.targets->version;
    (void)cache_.write(kRefreshedFile, std::to_string(static_cast<UnixTime>(std::time(nullptr))));
    return report_;
  }

 private:
  // Spec 5.3: fetch N+1.root.json until there is none; each must be signed by a
  // threshold of the trusted root's root keys and of its own, with version N+1.
  Result<void> update_root() {
    const Root original = l_.root;
    for (std::size_t i = 0; i < limits::kMaxTufRootRotations; ++i) {
      const std::uint64_t next = l_.root.version + 1;
      const std::string path = fmt::format("{}.root.json", next);
      auto bytes = f_.fetch(path, limits::kMaxTufRootBytes);
      if (!bytes) {
        if (is_failure(bytes.error(), Failure::kNotFound)) break;
        return std::unexpected(bytes.error().with_context(fmt::format("fetching {}", path)));
      }
      auto env = parse_envelope(*bytes, "root", limits::kMaxTufRootBytes);
      if (!env) return std::unexpected(env.error().with_context(path));
      if (auto v = verify_role(l_.root, "root", *env, fmt::format("{} (checked by the trusted root)", path)); !v)
        return std::unexpected(v.error());
      auto root = parse_root(*env);
      if (!root) return std::unexpected(root.error().with_context(path));
      if (auto v = verify_role(*root, "root", *env, fmt::format("{} (checked by its own keys)", path)); !v)
        return std::unexpected(v.error());
      if (root->version != next)
        return tuf_fail(Failure::kVersionMismatch, ErrorCode::kVerification,
                        fmt::format("{} holds root version {}; expected version {} (a root may not skip or "
                                    "repeat a version). The repository is inconsistent or under attack",
                                    path, root->version, next));
      if (auto w = cache_.write(kRootFile, *bytes); !w) return std::unexpected(w.error());
      l_.root = std::move(*root);
      l_.root_bytes = std::move(*bytes);
    }
    // Spec 5.3.10: only the final root's expiry matters.
    if (auto e = check_expiry("root", l_.root.version, l_.root.expires, now_); !e) return e;
    // Spec 5.3.11: after a timestamp or snapshot key rotation, cached versions signed with
    // the old keys may be fast-forwarded by an attacker: drop them so the repository's
    // current (possibly lower) versions are accepted.
    if (role_keys_changed(original, l_.root, "timestamp") || role_keys_changed(original, l_.root, "snapshot")) {
      if (l_.timestamp || l_.snapshot) report_.fast_forward_recovery = true;
      cache_.remove(kTimestampFile);
      cache_.remove(kSnapshotFile);
      l_.timestamp.reset();
      l_.snapshot.reset();
    }
    if (role_keys_changed(original, l_.root, "targets")) {
      cache_.remove(kTargetsFile);
      l_.targets.reset();
    }
    return {};
  }

  // Spec 5.4.
  Result<void> update_timestamp() {
    auto got = fetch_metadata(f_, std::string(kTimestampFile), "timestamp", limits::kMaxTufTimestampBytes, nullptr);
    if (!got) return std::unexpected(got.error());
    if (auto v = verify_role(l_.root, "timestamp", got->env, "timestamp.json"); !v) return v;
    auto ts = parse_timestamp(got->env);
    if (!ts) return std::unexpected(ts.error());
    if (l_.timestamp) {
      if (ts->version < l_.timestamp->version)
        return tuf_fail(Failure::kRollback, ErrorCode::kVerification,
                        fmt::format("timestamp.json has version {}, older than the trusted version {} "
                                    "(rollback attack, or a stale mirror); the cached state is kept",
                                    ts->version, l_.timestamp->version));
      if (ts->snapshot.version < l_.timestamp->snapshot.version)
        return tuf_fail(Failure::kRollback, ErrorCode::kVerification,
                        fmt::format("timestamp.json version {} names snapshot version {}, older than the "
                                    "trusted snapshot version {} (rollback attack); the cached state is kept",
                                    ts->version, ts->snapshot.version, l_.timestamp->snapshot.version));
    }
    if (auto e = check_expiry("timestamp", ts->version, ts->expires, now_); !e) return e;
    stage(kTimestampFile, std::move(got->bytes));
    l_.timestamp = std::move(*ts);
    return {};
  }

  // Spec 5.5.
  Result<void> update_snapshot() {
    const MetaFile& meta = l_.timestamp->snapshot;
    // The cached snapshot is reused when it is the one the timestamp names.
    if (l_.snapshot && l_.snapshot->version == meta.version) {
      auto bytes = cache_.read(kSnapshotFile, limits::kMaxTufSnapshotBytes);
      if (bytes && *bytes && check_length_and_hashes(**bytes, meta.length, meta.hashes, false, "snapshot.json"))
        return check_expiry("snapshot", l_.snapshot->version, l_.snapshot->expires, now_);
    }
    const std::string path = versioned(l_.root, meta.version, kSnapshotFile);
    auto got = fetch_metadata(f_, path, "snapshot", meta.length.value_or(limits::kMaxTufSnapshotBytes), &meta);
    if (!got) return std::unexpected(got.error());
    if (auto v = verify_role(l_.root, "snapshot", got->env, path); !v) return v;
    auto snap = parse_snapshot(got->env);
    if (!snap) return std::unexpected(snap.error());
    if (snap->version != meta.version)
      return tuf_fail(Failure::kVersionMismatch, ErrorCode::kVerification,
                      fmt::format("{} holds snapshot version {}; timestamp.json names version {} "
                                  "(mix-and-match attack, or an inconsistent mirror)",
                                  path, snap->version, meta.version));
    if (l_.snapshot) {
      if (snap->version < l_.snapshot->version)
        return tuf_fail(Failure::kRollback, ErrorCode::kVerification,
                        fmt::format("{} has version {}, older than the trusted snapshot version {} "
                                    "(rollback attack); the cached state is kept",
                                    path, snap->version, l_.snapshot->version));
      for (const auto& [name, old] : l_.snapshot->meta) {
        auto it = snap->meta.find(name);
        if (it == snap->meta.end())
          return tuf_fail(Failure::kRollback, ErrorCode::kVerification,
                          fmt::format("{} no longer lists {}, which the trusted snapshot lists (rollback "
                                      "attack); the cached state is kept",
                                      path, name));
        if (it->second.version < old.version)
          return tuf_fail(Failure::kRollback, ErrorCode::kVerification,
                          fmt::format("{} names {} version {}, older than the trusted version {} (rollback "
                                      "attack); the cached state is kept",
                                      path, name, it->second.version, old.version));
      }
    }
    if (auto e = check_expiry("snapshot", snap->version, snap->expires, now_); !e) return e;
    stage(kSnapshotFile, std::move(got->bytes));
    l_.snapshot = std::move(*snap);
    return {};
  }

  // Spec 5.6 (top-level targets; delegated roles are not followed).
  Result<void> update_targets() {
    const MetaFile& meta = l_.snapshot->meta.at("targets.json");
    if (l_.targets && l_.targets->version == meta.version) {
      auto bytes = cache_.read(kTargetsFile, limits::kMaxTufTargetsBytes);
      if (bytes && *bytes && check_length_and_hashes(**bytes, meta.length, meta.hashes, false, "targets.json"))
        return check_expiry("targets", l_.targets->version, l_.targets->expires, now_);
    }
    const std::string path = versioned(l_.root, meta.version, kTargetsFile);
    auto got = fetch_metadata(f_, path, "targets", meta.length.value_or(limits::kMaxTufTargetsBytes), &meta);
    if (!got) return std::unexpected(got.error());
    if (auto v = verify_role(l_.root, "targets", got->env, path); !v) return v;
    auto targets = parse_targets(got->env);
    if (!targets) return std::unexpected(targets.error());
    if (targets->version != meta.version)
      return tuf_fail(Failure::kVersionMismatch, ErrorCode::kVerification,
                      fmt::format("{} holds targets version {}; snapshot version {} names version {} "
                                  "(mix-and-match attack, or an inconsistent mirror)",
                                  path, targets->version, l_.snapshot->version, meta.version));
    if (auto e = check_expiry("targets", targets->version, targets->expires, now_); !e) return e;
    stage(kTargetsFile, std::move(got->bytes));
    l_.targets = std::move(*targets);
    return {};
  }

  // Spec 5.7: a target file is used only when its length and hashes match targets.json.
  Result<void> update_target(const std::string& name) {
    if (!is_plain_target_name(name))
      return tuf_fail(Failure::kMalformed, ErrorCode::kInvalidArgument,
                      fmt::format("target name '{}' is not a plain file name", name.substr(0, 120)));
    auto it = l_.targets->targets.find(name);
    if (it == l_.targets->targets.end())
      return tuf_fail(Failure::kUnknownTarget, ErrorCode::kNotFound,
                      fmt::format("targets.json version {} lists no target '{}'", l_.targets->version, name));
    const TargetFile& tf = it->second;
    if (tf.length > limits::kMaxTufTargetFileBytes)
      return tuf_fail(Failure::kTooLarge, ErrorCode::kMalformed,
                      fmt::format("target '{}' is {} bytes; the limit is {}", name, tf.length,
                                  limits::kMaxTufTargetFileBytes));
    const std::string cache_name = "targets/" + name;
    if (auto bytes = cache_.read(cache_name, limits::kMaxTufTargetFileBytes); bytes && *bytes &&
        check_length_and_hashes(**bytes, tf.length, tf.hashes, true, name))
      return {};
    std::string path = "targets/" + name;
    if (l_.root.consistent_snapshot) {
      auto h = tf.hashes.find("sha256");
      if (h == tf.hashes.end()) h = tf.hashes.find("sha512");
      if (h == tf.hashes.end())
        return tuf_fail(Failure::kMalformed, ErrorCode::kUnsupported,
                        fmt::format("target '{}' has no sha256 or sha512 hash to name its file by", name));
      path = fmt::format("targets/{}.{}", h->second, name);
    }
    auto bytes = f_.fetch(path, static_cast<std::size_t>(tf.length));
    if (!bytes) return std::unexpected(bytes.error().with_context(fmt::format("fetching {}", path)));
    if (auto c = check_length_and_hashes(*bytes, tf.length, tf.hashes, true, path); !c) return c;
    stage(cache_name, std::move(*bytes));
    report_.targets_changed.push_back(name);
    return {};
  }

  // Files are committed in reverse order of staging: target files first, timestamp last.
  void stage(std::string_view name, std::string bytes) {
    pending_.insert(pending_.begin(), {std::string(name), std::move(bytes)});
  }

  const UpdaterConfig& cfg_;
  Fetcher& f_;
  std::vector<std::pair<std::string, std::string>> pending_;
  Cache cache_;
  Loaded l_;
  UnixTime now_ = 0;
  UpdateReport report_;
};

}  // namespace

bool is_plain_target_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return false;
  return true;
}

Result<UpdateReport> refresh(const UpdaterConfig& cfg, Fetcher& fetcher) {
  auto cache = Cache::open(cfg.cache_dir);
  if (!cache) return std::unexpected(cache.error());
  auto lock = CacheLock::acquire(cfg.cache_dir, cfg.lock_timeout);
  if (!lock) return std::unexpected(lock.error());
  UpdateRun s(cfg, fetcher, std::move(*cache));
  return s.run();
}

Result<CachedState> load_cached(const UpdaterConfig& cfg) {
  std::error_code ec;
  if (!std::filesystem::is_directory(cfg.cache_dir, ec))
    return tuf_fail(Failure::kNoTrustedState, ErrorCode::kNotFound,
                    fmt::format("no TUF cache at {}", cfg.cache_dir.string()));
  auto cache = Cache::open(cfg.cache_dir);
  if (!cache) return std::unexpected(cache.error());
  auto lock = CacheLock::acquire(cfg.cache_dir, cfg.lock_timeout, /*exclusive=*/false);
  if (!lock) return std::unexpected(lock.error());
  auto l = load_trusted(cfg, *cache);
  if (!l) return std::unexpected(l.error());
  const UnixTime now = now_of(cfg);
  auto missing = [&](std::string_view what) {
    return tuf_fail(Failure::kNoTrustedState, ErrorCode::kNotFound,
                    fmt::format("the TUF cache at {} holds no verifiable {}", cfg.cache_dir.string(), what));
  };
  if (!l->timestamp) return missing("timestamp.json");
  if (!l->snapshot) return missing("snapshot.json");
  if (!l->targets) return missing("targets.json");
  if (l->snapshot->version != l->timestamp->snapshot.version)
    return missing("snapshot.json matching its timestamp.json");
  if (l->targets->version != l->snapshot->meta.at("targets.json").version)
    return missing("targets.json matching its snapshot.json");
  for (auto [role, version, expires] :
       {std::tuple{"root", l->root.version, l->root.expires},
        std::tuple{"timestamp", l->timestamp->version, l->timestamp->expires},
        std::tuple{"snapshot", l->snapshot->version, l->snapshot->expires},
        std::tuple{"targets", l->targets->version, l->targets->expires}})
    if (auto e = check_expiry(fmt::format("cached {}", role), version, expires, now); !e)
      return std::unexpected(e.error());
  CachedState st{std::move(l->root), std::move(*l->timestamp), std::move(*l->snapshot), std::move(*l->targets),
                 std::nullopt, {}};
  if (auto r = cache->read(kRefreshedFile, 64); r && *r) {
    UnixTime t = 0;
    const auto& s = **r;
    if (std::from_chars(s.data(), s.data() + s.size(), t).ec == std::errc()) st.refreshed_at = t;
  }
  for (const auto& name : cfg.targets) {
    auto bytes = cached_target(cfg, st, name);
    if (!bytes) return std::unexpected(bytes.error());
    st.files.emplace(name, std::move(*bytes));
  }
  // Optional targets come along when the cache holds them verified; a missing one does
  // not make the cache unusable for the required ones (the caller says what is missing).
  for (const auto& name : cfg.optional_targets) {
    if (st.files.contains(name) || !st.targets.targets.contains(name)) continue;
    if (auto bytes = cached_target(cfg, st, name); bytes) st.files.emplace(name, std::move(*bytes));
  }
  return st;
}

Result<std::string> cached_target(const UpdaterConfig& cfg, const CachedState& state, std::string_view name) {
  if (!is_plain_target_name(name))
    return tuf_fail(Failure::kMalformed, ErrorCode::kInvalidArgument,
                    fmt::format("target name '{}' is not a plain file name", name.substr(0, 120)));
  auto it = state.targets.targets.find(std::string(name));
  if (it == state.targets.targets.end())
    return tuf_fail(Failure::kUnknownTarget, ErrorCode::kNotFound,
                    fmt::format("targets.json version {} lists no target '{}'", state.targets.version, name));
  if (auto f = state.files.find(std::string(name)); f != state.files.end()) return f->second;
  auto cache = Cache::open(cfg.cache_dir);
  if (!cache) return std::unexpected(cache.error());
  auto bytes = cache->read(fmt::format("targets/{}", name), limits::kMaxTufTargetFileBytes);
  if (!bytes) return std::unexpected(bytes.error());
  if (!*bytes)
    return tuf_fail(Failure::kNoTrustedState, ErrorCode::kNotFound,
                    fmt::format("the TUF cache at {} holds no {}", cfg.cache_dir.string(), name));
  if (auto c = check_length_and_hashes(**bytes, it->second.length, it->second.hashes, true,
                                       fmt::format("cached target {}", name));
      !c)
    return std::unexpected(c.error());
  return std::move(**bytes);
}

}  // namespace modelsign::tuf
