// The libcurl plumbing both HTTP clients share (the TUF fetcher and keyless signing's
// client): one handle with the options every request sets, and one bounded transfer.
// A library of its own (modelsign_http), linked only by those clients, so that offline
// verification links no HTTP library.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace modelsign::http {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlFree>;

struct HandleOptions {
  std::string url;
  const char* protocols = "https";  // CURLOPT_PROTOCOLS_STR, e.g. "http,https"
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds timeout{60};
  std::size_t max_bytes = 1u << 20;  // a bigger answer is refused (CURLOPT_MAXFILESIZE)
  std::string user_agent = "modelsign";
};

// libcurl initialised once per process, then a handle for one request: the URL and
// protocols, no signals (worker threads), the timeouts, the size limit, no compressed
// encodings (the size limit is on what arrives), the user agent. Null when libcurl
// cannot make a handle; the caller sets what is its own (redirects, TLS, headers, body).
CurlPtr new_handle(const HandleOptions& options);

struct Transfer {
  CURLcode rc = CURLE_OK;
  long status = 0;          // the HTTP status; 0 when no answer came
  bool too_large = false;   // more than max_bytes arrived: the transfer was cut short
  std::string error;        // libcurl's words for rc, when rc is not CURLE_OK
  std::string body;         // at most max_bytes
};

// Runs the request on `c`, keeping at most `max_bytes` of the answer.
Transfer perform(CURL* c, std::size_t max_bytes);

}  // namespace modelsign::http
