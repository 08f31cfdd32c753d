#include "http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <memory>
#include <thread>

#include "bundle/json.h"
#include "http/curl_transfer.h"
#include "modelsign/log.h"

namespace modelsign::sigstore {

namespace {

// The header list may hold the bearer token: wiped before it is freed.
struct SlistFree {
  void operator()(curl_slist* l) const {
    for (curl_slist* p = l; p != nullptr; p = p->next)
      if (p->data != nullptr) OPENSSL_cleanse(p->data, std::char_traits<char>::length(p->data));
    curl_slist_free_all(l);
  }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistFree>;

bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool retryable(long status) { return status == 429 || (status >= 500 && status <= 599); }

std::string redacted(std::string text, const std::vector<std::string_view>& redact) {
  for (auto s : redact) {
    if (s.size() < 8) continue;  // too short to be a secret; would mangle the message
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos))
      text.replace(pos, s.size(), "[redacted]");
  }
  return text;
}

}  // namespace

std::string server_message(std::string_view body, const std::vector<std::string_view>& redact) {
  std::string msg;
  if (auto j = bundle::parse_strict(body, "an error response", 10'000, 1u << 20); j && j->is_object()) {
    for (const char* k : {"message", "error_description", "error", "detail"}) {
      auto it = j->find(k);
      if (it != j->end() && it->is_string()) {
        msg = it->get<std::string>();
        break;
      }
    }
  }
  if (msg.empty()) msg = std::string(body.substr(0, 2000));
  msg = redacted(std::move(msg), redact);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r' || msg.back() == ' ')) msg.pop_back();
  msg = log::printable(msg);
  if (msg.size() > 300) msg = msg.substr(0, 300) + "...";
  return msg.empty() ? std::string("(empty body)") : msg;
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {}

Result<HttpResponse> HttpClient::send(const HttpRequest& r) const {
  if (!r.url.starts_with("https://"))
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} URL '{}' is not https://; keyless signing talks to Sigstore over TLS only",
                            r.service, log::printable(r.url)));
  std::chrono::milliseconds delay = options_.backoff;
  std::string last_error;
  for (int attempt = 1; attempt <= std::max(1, options_.attempts); ++attempt) {
    if (attempt > 1) {
      log::warning("{} at {}: {}; retrying in {} ms (attempt {} of {})", r.service, r.url, last_error,
                   delay.count(), attempt, options_.attempts);
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    http::HandleOptions ho;
    ho.url = r.url;
    ho.connect_timeout = options_.connect_timeout;
    ho.timeout = options_.timeout;
    ho.max_bytes = r.max_bytes;
    ho.user_agent = options_.user_agent;
    http::CurlPtr curl = http::new_handle(ho);
    if (!curl) return fail(ErrorCode::kInternal, "cannot initialise libcurl");
    CURL* c = curl.get();
    SlistPtr headers;
    auto add_header = [&](const char* h) {
      curl_slist* n = curl_slist_append(headers.get(), h);
      if (n != nullptr) {
        (void)headers.release();
        headers.reset(n);
      }
    };
    if (!r.content_type.empty()) add_header(("Content-Type: " + r.content_type).c_str());
    if (!r.accept.empty()) add_header(("Accept: " + r.accept).c_str());
    add_header("Expect:");  // no 100-continue round trip
    if (r.bearer != nullptr) {
      SecretString h{std::string_view("Authorization: bearer ")};
      h.append(r.bearer->view());
      add_header(h.data());
    }
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    if (r.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    http::Transfer t = http::perform(c, r.max_bytes);
    const CURLcode rc = t.rc;
    const long status = t.status;
    if (t.too_large)
      return fail(ErrorCode::kMalformed,
                  fmt::format("{} at {} sent more than the {} bytes allowed for this answer; refusing endless data",
                              r.service, r.url, r.max_bytes));
    if (rc != CURLE_OK) {
      last_error = std::move(t.error);
      if (retryable(rc)) continue;
      return fail(ErrorCode::kIo, fmt::format("{} at {}: {}{}", r.service, r.url, last_error,
                                              rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE
                                                  ? "; the server's TLS certificate is not trusted (pass the "
                                                    "deployment's CA with --ca-file)"
                                                  : ""));
    }
    if (retryable(status)) {
      last_error = fmt::format("HTTP {}: {}", status, server_message(t.body, r.redact));
      continue;
    }
    HttpResponse out;
    out.status = status;
    char* ct = nullptr;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) out.content_type = ct;
    out.body = std::move(t.body);
    return out;
  }
  return fail(ErrorCode::kIo,
              fmt::format("{} at {}: {} (gave up after {} attempts); check the network connection, proxy "
                          "settings and the service's status",
                          r.service, r.url, last_error, options_.attempts));
}

Result<HttpResponse> HttpClient::expect(const HttpRequest& r, long expected) const {
  auto resp = send(r);
  if (!resp) return resp;
  // Sigstore services answer 200 or 201 for a created entry, depending on the version.
  const bool ok = expected / 100 == 2 ? resp->status / 100 == 2 : resp->status == expected;
  if (!ok)
    return fail(resp->status == 401 || resp->status == 403 ? ErrorCode::kAuth : ErrorCode::kIo,
                fmt::format("{} at {} answered HTTP {} (expected {}): {}", r.service, r.url, resp->status,
                            expected, server_message(resp->body, r.redact)));
  return resp;
}

}  // namespace modelsign::sigstore
