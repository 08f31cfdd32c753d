// Sigstore trust material over TUF: the entry points the rest of modelsign uses.
//
//   auto json = tuf::trusted_root_json(opts);   // tuf_online.h, links libcurl
//   auto t = tuf::get_target(opts, "trusted_root.json", &fetcher);  // any Fetcher, or none
//
// Within the validity of the cached metadata no network access happens (kIfStale).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/error.h"
#include "tuf/fetcher.h"
#include "tuf/metadata.h"
#include "tuf/updater.h"

namespace modelsign::tuf {

inline constexpr std::string_view kProductionUrl = "https://tuf-repo-cdn.sigstore.dev";
inline constexpr std::string_view kStagingUrl = "https://tuf-repo-cdn.sigstage.dev";

// The root.json files built into modelsign (src/tuf/roots/), trusted on first use.
std::string_view embedded_production_root();
std::string_view embedded_staging_root();

enum class NetworkPolicy {
  kIfStale,  // use the cache while it verifies and has not expired, else refresh
  kAlways,   // refresh first (`modelsign trust update`)
  kNever,    // cache only (--offline)
};

struct TufOptions {
  bool staging = false;        // the built-in staging repository instead of production
  std::string url;             // --tuf-url: a private repository (needs root_json)
  std::string root_json;       // --tuf-root contents: its initial root.json
  std::filesystem::path cache_base;        // default: $XDG_CACHE_HOME/modelsign/tuf
  std::optional<UnixTime> reference_time;  // default: the clock
  NetworkPolicy network = NetworkPolicy::kIfStale;
  std::chrono::seconds timeout{60};        // whole-transfer timeout of one download
  // Also cached on a refresh when targets.json lists them (the keyless signer's needs).
  std::vector<std::string> also_fetch{"signing_config.v0.2.json"};
};

struct TargetResult {
  std::string bytes;                     // verified against targets.json
  bool used_network = false;
  std::optional<UpdateReport> report;    // when a refresh ran
  std::optional<UnixTime> refreshed_at;  // last successful refresh of the cache
  std::filesystem::path cache_dir;
  CachedState state;                     // the metadata the target was checked against
};

// The repository URL the options select.
std::string repository_url(const TufOptions& opts);
// The updater configuration for the options (cache directory resolved).
Result<UpdaterConfig> updater_config(const TufOptions& opts);

// Target `name`, from the cache when it is valid (unless kAlways), else after a refresh
// over `fetcher`. `fetcher` may be null: then only the cache is used.
Result<TargetResult> get_target(const TufOptions& opts, std::string_view name, Fetcher* fetcher);

}  // namespace modelsign::tuf
