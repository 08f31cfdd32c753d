#include "tuf/http_fetcher.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>

#include "tuf/errors.h"

namespace modelsign::tuf {

namespace {

struct Sink {
  std::string data;
  std::size_t max = 0;
  bool too_large = false;
};

std::size_t on_data(char* ptr, std::size_t size, std::size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * nmemb;
  if (sink->data.size() + n > sink->max) {
    sink->too_large = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->data.append(ptr, n);
  return n;
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

}  // namespace

HttpFetcher::HttpFetcher(std::string base_url, std::chrono::seconds timeout)
    : base_(std::move(base_url)), timeout_(timeout) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<std::string> HttpFetcher::fetch(std::string_view path, std::size_t max_bytes) {
  if (!is_safe_relative_path(path))
    return tuf_fail(Failure::kMalformed, ErrorCode::kInvalidArgument,
                    fmt::format("refusing repository path '{}'", path.substr(0, 200)));
  const std::string url = fmt::format("{}/{}", base_, path);
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return tuf_fail(Failure::kFetch, ErrorCode::kInternal, "cannot initialise libcurl");
  Sink sink;
  sink.max = max_bytes;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout_.count()));
  // A server trickling bytes below 1 KiB/s for 30 s is treated as gone.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "identity");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "modelsign-tuf");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return tuf_fail(Failure::kTooLarge, ErrorCode::kMalformed,
                    fmt::format("{} sent more than the {} bytes allowed for this file; refusing endless data",
                                url, max_bytes));
  if (rc != CURLE_OK)
    return tuf_fail(Failure::kFetch, ErrorCode::kIo,
                    fmt::format("cannot download {}: {} (check the network connection and proxy settings)",
                                url, errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc)));
  // Object stores answer 403 for a missing object.
  if (status == 404 || status == 403)
    return tuf_fail(Failure::kNotFound, ErrorCode::kNotFound, fmt::format("{} answered HTTP {}", url, status));
  if (status != 200)
    return tuf_fail(Failure::kFetch, ErrorCode::kIo,
                    fmt::format("{} answered HTTP {}; expected 200", url, status));
  return std::move(sink.data);
}

}  // namespace modelsign::tuf
