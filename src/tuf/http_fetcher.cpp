#include "tuf/http_fetcher.h"

#include <fmt/format.h>

#include "http/curl_transfer.h"
#include "tuf/errors.h"

namespace modelsign::tuf {

HttpFetcher::HttpFetcher(std::string base_url, std::chrono::seconds timeout)
    : base_(std::move(base_url)), timeout_(timeout) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<std::string> HttpFetcher::fetch(std::string_view path, std::size_t max_bytes) {
  if (!is_safe_relative_path(path))
    return tuf_fail(Failure::kMalformed, ErrorCode::kInvalidArgument,
                    fmt::format("refusing repository path '{}'", path.substr(0, 200)));
  const std::string url = fmt::format("{}/{}", base_, path);
  http::HandleOptions o;
  o.url = url;
  o.protocols = "http,https";
  o.timeout = timeout_;
  o.max_bytes = max_bytes;
  o.user_agent = "modelsign-tuf";
  http::CurlPtr curl = http::new_handle(o);
  if (!curl) return tuf_fail(Failure::kFetch, ErrorCode::kInternal, "cannot initialise libcurl");
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  // A server trickling bytes below 1 KiB/s for 30 s is treated as gone.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  http::Transfer t = http::perform(c, max_bytes);
  const long status = t.status;
  if (t.too_large)
    return tuf_fail(Failure::kTooLarge, ErrorCode::kMalformed,
                    fmt::format("{} sent more than the {} bytes allowed for this file; refusing endless data",
                                url, max_bytes));
  if (t.rc != CURLE_OK)
    return tuf_fail(Failure::kFetch, ErrorCode::kIo,
                    fmt::format("cannot download {}: {} (check the network connection and proxy settings)",
                                url, t.error));
  // Object stores answer 403 for a missing object.
  if (status == 404 || status == 403)
    return tuf_fail(Failure::kNotFound, ErrorCode::kNotFound, fmt::format("{} answered HTTP {}", url, status));
  if (status != 200)
    return tuf_fail(Failure::kFetch, ErrorCode::kIo,
                    fmt::format("{} answered HTTP {}; expected 200", url, status));
  return std::move(t.body);
}

}  // namespace modelsign::tuf
