#include "tuf/tuf.h"

#include "tuf/cache.h"
#include "tuf/errors.h"

namespace modelsign::tuf {

std::string repository_url(const TufOptions& opts) {
  if (!opts.url.empty()) return opts.url;
  return std::string(opts.staging ? kStagingUrl : kProductionUrl);
}

Result<UpdaterConfig> updater_config(const TufOptions& opts) {
  if (!opts.url.empty() && opts.root_json.empty())
    return fail(ErrorCode::kInvalidArgument,
                "--tuf-url needs --tuf-root: the initial root.json of that repository, obtained out of band");
  UpdaterConfig cfg;
  cfg.bootstrap_root = !opts.root_json.empty() ? opts.root_json
                       : opts.staging        ? std::string(embedded_staging_root())
                                             : std::string(embedded_production_root());
  std::filesystem::path base = opts.cache_base;
  if (base.empty()) {
    auto b = default_cache_base();
    if (!b) return std::unexpected(b.error());
    base = *b;
  }
  cfg.cache_dir = base / repository_dir_name(repository_url(opts));
  cfg.reference_time = opts.reference_time;
  return cfg;
}

Result<TargetResult> get_target(const TufOptions& opts, std::string_view name, Fetcher* fetcher) {
  auto cfg = updater_config(opts);
  if (!cfg) return std::unexpected(cfg.error());
  cfg->targets = {std::string(name)};
  cfg->optional_targets = opts.also_fetch;
  TargetResult out;
  out.cache_dir = cfg->cache_dir;
  if (opts.network != NetworkPolicy::kAlways) {
    auto state = load_cached(*cfg);
    if (state) {
      out.bytes = state->files.at(std::string(name));
      out.refreshed_at = state->refreshed_at;
      out.state = std::move(*state);
      return out;
    }
    if (opts.network == NetworkPolicy::kNever || fetcher == nullptr) return std::unexpected(state.error());
  }
  if (fetcher == nullptr)
    return fail(ErrorCode::kInvalidArgument, "a TUF refresh needs a fetcher; none was given");
  auto report = refresh(*cfg, *fetcher);
  if (!report) return std::unexpected(report.error());
  out.used_network = true;
  out.report = std::move(*report);
  auto state = load_cached(*cfg);
  if (!state) return std::unexpected(state.error());
  out.bytes = state->files.at(std::string(name));
  out.refreshed_at = state->refreshed_at;
  out.state = std::move(*state);
  return out;
}

}  // namespace modelsign::tuf
