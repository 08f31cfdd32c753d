#include "tuf/tuf_online.h"

#include "tuf/http_fetcher.h"

namespace modelsign::tuf {

Result<TargetResult> fetch_target(const TufOptions& opts, std::string_view name) {
  if (opts.network == NetworkPolicy::kNever) return get_target(opts, name, nullptr);
  HttpFetcher http(repository_url(opts), opts.timeout);
  return get_target(opts, name, &http);
}

Result<std::string> trusted_root_json(const TufOptions& opts) {
  auto t = fetch_target(opts, "trusted_root.json");
  if (!t) return std::unexpected(t.error());
  return std::move(t->bytes);
}

}  // namespace modelsign::tuf
