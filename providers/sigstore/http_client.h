// The HTTPS client of keyless signing (libcurl). TLS verification is always on (system
// store, or a CA file for a private deployment); timeouts; bounded retries with backoff
// on connection errors, 429 and 5xx; the standard proxy variables (libcurl reads them);
// a response size limit per request. Errors name the service, URL, HTTP status and the
// server's message, never a secret of the request (token, bearer).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/error.h"
#include "modelsign/secret.h"

namespace modelsign::sigstore {

struct HttpOptions {
  std::string ca_file;  // extra CA bundle (PEM); empty: the system store
  std::chrono::seconds timeout{60};
  std::chrono::seconds connect_timeout{15};
  int attempts = 4;                             // first try + retries
  std::chrono::milliseconds backoff{250};       // doubled after each retry
  std::string user_agent = "modelsign";
};

struct HttpRequest {
  std::string service;  // "Fulcio", "Rekor", "TSA", "GitHub Actions token endpoint"
  std::string method = "GET";
  std::string url;
  std::string content_type;  // for POST
  std::string accept;
  std::string_view body;     // not copied; may hold a secret (the caller wipes it)
  const SecretString* bearer = nullptr;  // Authorization: bearer ... (wiped after use)
  std::vector<std::string_view> redact;  // strings never to repeat in an error
  std::size_t max_bytes = 1u << 20;

  // A POST of `body`, sent as `content_type`, the answer wanted as `accept`.
  static HttpRequest post(std::string service, std::string url, std::string content_type,
                          std::string accept, std::string_view body) {
    HttpRequest r;
    r.service = std::move(service);
    r.method = "POST";
    r.url = std::move(url);
    r.content_type = std::move(content_type);
    r.accept = std::move(accept);
    r.body = body;
    return r;
  }
};

struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  // Any status the server answers with is a response; connection failures and
  // exhausted retries are errors. 2xx/4xx are never retried (429 is).
  Result<HttpResponse> send(const HttpRequest& request) const;
  // send() that also turns a status other than `expected` (any 2xx when `expected` is
  // one) into an error naming the service, URL, status and the server's message.
  Result<HttpResponse> expect(const HttpRequest& request, long expected) const;

  const HttpOptions& options() const { return options_; }

 private:
  HttpOptions options_;
};

// The server's message from an error body: a JSON {"message"|"error"|"error_description"}
// string, else the text; printable, at most 300 characters, secrets replaced by "[redacted]".
std::string server_message(std::string_view body, const std::vector<std::string_view>& redact);

}  // namespace modelsign::sigstore
