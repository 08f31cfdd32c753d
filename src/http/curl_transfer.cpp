#include "http/curl_transfer.h"

#include <mutex>

namespace modelsign::http {

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
    return 0;  // libcurl aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->data.append(ptr, n);
  return n;
}

}  // namespace

CurlPtr new_handle(const HandleOptions& o) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlPtr curl(curl_easy_init());
  if (!curl) return curl;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, o.protocols);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_bytes));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "identity");
  curl_easy_setopt(c, CURLOPT_USERAGENT, o.user_agent.c_str());
  return curl;
}

Transfer perform(CURL* c, std::size_t max_bytes) {
  Sink sink;
  sink.max = max_bytes;
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  Transfer t;
  t.rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);  // errbuf ends here
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
  t.too_large = sink.too_large || t.rc == CURLE_FILESIZE_EXCEEDED;
  if (t.rc != CURLE_OK) t.error = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(t.rc));
  t.body = std::move(sink.data);
  return t;
}

}  // namespace modelsign::http
