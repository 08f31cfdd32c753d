// The interactive login for a person at a terminal: OAuth 2.0 authorization code with
// PKCE (S256) against the signing config's OIDC issuer. The browser comes back to a
// listener on 127.0.0.1 (one request, then closed), or with --oauth-force-oob the person
// types the code the issuer shows. The code, the PKCE verifier and the client secret are
// secrets: held in SecretStrings and never printed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/rand.h>

#include <chrono>
#include <cctype>
#include <cstdio>
#include <string>

#include "bundle/json.h"
#include "crypto/digest.h"
#include "modelsign/crypto.h"
#include "modelsign/log.h"
#include "identity_token.h"

namespace modelsign::sigstore {

namespace {

constexpr std::string_view kOob = "urn:ietf:wg:oauth:2.0:oob";
constexpr int kLoginTimeoutSeconds = 300;

std::string url_encode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::string random_b64url(std::size_t n) {
  Bytes b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) return {};
  return base64url_encode(b);
}

// The value of `name` in a query string ("a=1&b=2").
std::string query_param(std::string_view query, std::string_view name) {
  for (std::size_t pos = 0; pos <= query.size();) {
    auto amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (kv.starts_with(name) && kv.size() > name.size() && kv[name.size()] == '=')
      return url_decode(kv.substr(name.size() + 1));
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return {};
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// One HTTP request on the loopback listener: the browser's redirect with code and state.
Result<SecretString> await_redirect(int listener, const std::string& state) {
  pollfd p{listener, POLLIN, 0};
  int r = ::poll(&p, 1, kLoginTimeoutSeconds * 1000);
  if (r <= 0)
    return fail(ErrorCode::kAuth, fmt::format("the interactive login did not come back within {} s", kLoginTimeoutSeconds));
  Fd conn{::accept(listener, nullptr, nullptr)};
  if (conn.fd < 0) return fail(ErrorCode::kIo, "cannot accept the login redirect");
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
    pollfd q{conn.fd, POLLIN, 0};
    if (::poll(&q, 1, 10000) <= 0) break;
    ssize_t n = ::read(conn.fd, buf, sizeof(buf));
    if (n <= 0) break;
    req.append(buf, static_cast<std::size_t>(n));
  }
  auto answer = [&](std::string_view body) {
    std::string resp = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                                   "Connection: close\r\n\r\n{}",
                                   body.size(), body);
    (void)!::write(conn.fd, resp.data(), resp.size());
  };
  auto sp1 = req.find(' '), sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
  std::string target = sp2 == std::string::npos ? std::string() : req.substr(sp1 + 1, sp2 - sp1 - 1);
  auto qm = target.find('?');
  std::string query = qm == std::string::npos ? std::string() : target.substr(qm + 1);
  SecretString code{std::string_view(query_param(query, "code"))};
  const bool refused = !query_param(query, "error").empty();
  const std::string got_state = query_param(query, "state");
  OPENSSL_cleanse(req.data(), req.size());
  OPENSSL_cleanse(query.data(), query.size());
  OPENSSL_cleanse(target.data(), target.size());
  if (refused || code.empty()) {
    answer("Sign-in failed; return to the terminal.\n");
    return fail(ErrorCode::kAuth, "the interactive login was refused or cancelled (no authorization code)");
  }
  if (got_state != state) {
    answer("Sign-in failed; return to the terminal.\n");
    return fail(ErrorCode::kAuth, "the login redirect carries another state than the request: not ours, ignored");
  }
  answer("Signed in to modelsign; you can close this window.\n");
  return code;
}

}  // namespace

Result<SecretString> interactive_token(const TokenSources& s, const HttpClient& http) {
  // The issuer's endpoints.
  HttpRequest d;
  d.service = "OIDC discovery";
  d.url = s.oidc_url + "/.well-known/openid-configuration";
  d.accept = "application/json";
  d.max_bytes = 256u << 10;
  auto disc = http.expect(d, 200);
  if (!disc) return fail(disc.error());
  auto j = bundle::parse_strict(disc->body, "the OIDC discovery document", 10'000, d.max_bytes);
  if (!j || !j->is_object() || !j->contains("authorization_endpoint") || !j->contains("token_endpoint") ||
      !(*j)["authorization_endpoint"].is_string() || !(*j)["token_endpoint"].is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{} names no authorization and token endpoints", d.url));
  const std::string auth = (*j)["authorization_endpoint"].get<std::string>();
  const std::string token_url = (*j)["token_endpoint"].get<std::string>();

  SecretString verifier{std::string_view(random_b64url(32))};
  auto challenge_hash = sha256(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(verifier.data()),
                                                             verifier.size()));
  if (!challenge_hash || verifier.empty()) return fail(ErrorCode::kInternal, "cannot make a PKCE verifier");
  const std::string challenge = base64url_encode(*challenge_hash);
  const std::string state = random_b64url(16), nonce = random_b64url(16);

  Fd listener;
  std::string redirect(kOob);
  if (!s.force_oob) {
    listener.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (listener.fd < 0 || ::bind(listener.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listener.fd, 1) != 0 || ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return fail(ErrorCode::kIo, "cannot listen on 127.0.0.1 for the login redirect; retry with --oauth-force-oob");
    redirect = fmt::format("http://localhost:{}/auth/callback", ntohs(a.sin_port));
  }
  const std::string url = fmt::format(
      "{}{}response_type=code&client_id={}&redirect_uri={}&scope=openid+email&code_challenge={}"
      "&code_challenge_method=S256&state={}&nonce={}",
      auth, auth.find('?') == std::string::npos ? "?" : "&", url_encode(s.client_id), url_encode(redirect), challenge,
      state, nonce);
  std::fprintf(stderr, "Open this address in a browser to sign in to Sigstore:\n\n  %s\n\n", url.c_str());

  SecretString code;
  if (s.force_oob) {
    std::fprintf(stderr, "Enter the verification code: ");
    std::fflush(stderr);
    char line[1024];
    if (std::fgets(line, sizeof(line), stdin) == nullptr)
      return fail(ErrorCode::kAuth, "no verification code was entered");
    std::string_view v(line);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.remove_suffix(1);
    code = SecretString(v);
    OPENSSL_cleanse(line, sizeof(line));
    if (code.empty()) return fail(ErrorCode::kAuth, "no verification code was entered");
  } else {
    auto c = await_redirect(listener.fd, state);
    if (!c) return fail(c.error());
    code = std::move(*c);
  }

  SecretString form{std::string_view("grant_type=authorization_code&code=")};
  form.append(url_encode(code.view()));
  form.append("&redirect_uri=" + url_encode(redirect) + "&code_verifier=");
  form.append(verifier.view());
  form.append("&client_id=" + url_encode(s.client_id));
  if (s.client_secret != nullptr && !s.client_secret->empty()) {
    form.append("&client_secret=");
    form.append(url_encode(s.client_secret->view()));
  }
  HttpRequest t = HttpRequest::post("OIDC token endpoint", token_url, "application/x-www-form-urlencoded",
                                    "application/json", form.view());
  t.redact = {code.view(), verifier.view()};
  t.max_bytes = 64u << 10;
  auto resp = http.expect(t, 200);
  if (!resp) return fail(resp.error());
  auto tj = bundle::parse_strict(resp->body, "the token response", 1000, t.max_bytes);
  OPENSSL_cleanse(resp->body.data(), resp->body.size());
  if (!tj || !tj->is_object() || !tj->contains("id_token") || !(*tj)["id_token"].is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{} answered without an id_token", token_url));
  std::string& id = (*tj)["id_token"].get_ref<std::string&>();
  SecretString out{std::string_view(id)};
  OPENSSL_cleanse(id.data(), id.size());
  return out;
}

}  // namespace modelsign::sigstore
