#include "identity_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bundle/json.h"
#include "crypto/encoding.h"
#include "modelsign/crypto.h"
#include "modelsign/log.h"
#include "root/trusted_root.h"

namespace modelsign::sigstore {

namespace {

using bundle::Json;

Result<SecretString> read_token_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(ErrorCode::kNotFound, fmt::format("cannot read the token file '{}': {}", path, std::strerror(errno)));
  SecretString out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + static_cast<std::size_t>(n) > kMaxTokenBytes) {
      OPENSSL_cleanse(buf, sizeof(buf));
      ::close(fd);
      return fail(ErrorCode::kMalformed,
                  fmt::format("the token file '{}' is larger than {} bytes: not an identity token", path, kMaxTokenBytes));
    }
    out.append(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  ::close(fd);
  while (!out.empty() && (out.view().back() == '\n' || out.view().back() == '\r' || out.view().back() == ' '))
    out.pop_back();
  return out;
}

// GitHub Actions: the runner's token endpoint, audience sigstore.
Result<SecretString> github_token(const HttpClient& http) {
  const char* url = std::getenv(kGithubTokenUrlEnv);
  const char* bearer = std::getenv(kGithubTokenEnv);
  SecretString b{std::string_view(bearer)};
  std::string full = fmt::format("{}{}audience=sigstore", url, std::string_view(url).find('?') == std::string_view::npos ? "?" : "&");
  HttpRequest r;
  r.service = "GitHub Actions token endpoint";
  r.url = full;
  r.accept = "application/json";
  r.bearer = &b;
  r.redact = {b.view()};
  r.max_bytes = 64u << 10;
  auto resp = http.send(r);
  if (!resp) return fail(resp.error());
  if (resp->status != 200) {
    std::string msg = server_message(resp->body, r.redact);
    OPENSSL_cleanse(resp->body.data(), resp->body.size());
    return fail(ErrorCode::kAuth,
                fmt::format("GitHub Actions token endpoint at {} answered HTTP {}: {}; {}", r.url, resp->status, msg,
                            resp->status == 401 || resp->status == 403
                                ? fmt::format("{} was refused: the job needs 'permissions: id-token: write', and "
                                              "the variable must be the runner's own",
                                              kGithubTokenEnv)
                                : "retry the job"));
  }
  auto j = bundle::parse_strict(resp->body, "the GitHub Actions token response", 1000, 64u << 10);
  OPENSSL_cleanse(resp->body.data(), resp->body.size());
  if (!j || !j->is_object() || !j->contains("value") || !(*j)["value"].is_string())
    return fail(ErrorCode::kMalformed,
                fmt::format("GitHub Actions token endpoint at {} answered without a token ('value')", r.url));
  std::string& v = (*j)["value"].get_ref<std::string&>();
  SecretString out{std::string_view(v)};
  OPENSSL_cleanse(v.data(), v.size());
  return out;
}

std::string no_token_message(const TokenSources& s) {
  return fmt::format(
      "No OIDC token available. Looked for, in order: --identity-token (not given); {} (not set); GitHub Actions "
      "ambient credentials ({} and {}: {}); a Kubernetes projected token ({} or {}: not found); an interactive "
      "login ({}). Check that: the CI job may request an identity token (GitHub Actions: 'permissions: id-token: "
      "write'; GitLab CI: 'id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore'); the platform supports OIDC tokens for "
      "Sigstore; the job can reach the Sigstore services over the network",
      kSigstoreTokenEnv, kGithubTokenUrlEnv, kGithubTokenEnv, s.ambient ? "not set" : "not looked at without ambient credentials",
      kKubernetesTokenFileEnv, kKubernetesTokenPath,
      !s.interactive ? "standard input is not a terminal" : "the signing config names no OIDC issuer");
}

}  // namespace

Result<std::string> base64url_decode(std::string_view text) {
  if (text.size() > kMaxTokenBytes) return fail(ErrorCode::kMalformed, "too long");
  std::string std_b64(text);
  for (char& c : std_b64) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return fail(ErrorCode::kMalformed, "not base64url");
  }
  while (std_b64.size() % 4 != 0) std_b64 += '=';
  auto b = base64_decode(std_b64);
  if (!b) return fail(b.error());
  return std::string(b->begin(), b->end());
}

std::string base64url_encode(std::span<const std::uint8_t> data) {
  std::string s = base64_encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

Result<IdentityToken> check_token(SecretString raw, std::string source, std::string_view client_id, std::int64_t now) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the identity token from {} {}; pass an OIDC ID token (a JWT: three base64url parts "
                            "separated by dots)",
                            source, why));
  };
  std::string_view t = raw.view();
  if (t.empty()) return bad("is empty");
  if (t.size() > kMaxTokenBytes) return bad(fmt::format("is longer than {} bytes", kMaxTokenBytes));
  auto d1 = t.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : t.find('.', d1 + 1);
  if (d2 == std::string_view::npos || t.find('.', d2 + 1) != std::string_view::npos || d1 == 0 || d2 == d1 + 1 ||
      d2 + 1 == t.size())
    return bad("is not a JWT");
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return bad("holds characters a JWT cannot hold");
  auto payload = base64url_decode(t.substr(d1 + 1, d2 - d1 - 1));
  if (!payload) return bad("has a payload that is not base64url");
  auto j = bundle::parse_strict(*payload, "the identity token's claims", 1000, kMaxTokenBytes);
  OPENSSL_cleanse(payload->data(), payload->size());
  if (!j || !j->is_object()) return bad("has claims that are not a JSON object");
  IdentityToken out;
  out.source = source;
  auto str = [&](const char* k) -> std::string {
    auto it = j->find(k);
    return it != j->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.issuer = str("iss");
  out.subject = str("sub");
  out.email = str("email");
  if (out.issuer.empty()) return bad("has no issuer ('iss')");
  if (out.subject.empty() && out.email.empty()) return bad("names no subject ('sub' or 'email')");
  if (auto it = j->find("aud"); it != j->end()) {
    if (it->is_string()) out.audiences.push_back(it->get<std::string>());
    else if (it->is_array())
      for (const auto& a : *it)
        if (a.is_string()) out.audiences.push_back(a.get<std::string>());
  }
  bool aud_ok = false;
  for (const auto& a : out.audiences) aud_ok = aud_ok || a == "sigstore" || (!client_id.empty() && a == client_id);
  if (!aud_ok)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the identity token from {} is for audience '{}', not 'sigstore'{}: Fulcio would refuse "
                            "it. Request the token with audience sigstore (GitHub: automatic; GitLab: "
                            "'id_tokens: ...: aud: sigstore')",
                            source, log::printable(fmt::format("{}", fmt::join(out.audiences, ", "))),
                            client_id.empty() || client_id == "sigstore" ? std::string()
                                                                         : fmt::format(" or '{}'", client_id)));
  auto exp = j->find("exp");
  if (exp == j->end() || !exp->is_number()) return bad("has no expiry ('exp')");
  out.expires = exp->is_number_integer() ? exp->get<std::int64_t>() : static_cast<std::int64_t>(exp->get<double>());
  if (out.expires <= now)
    return fail(ErrorCode::kAuth,
                fmt::format("the identity token from {} expired at {} ({} s ago); get a fresh token (CI tokens "
                            "live minutes: request it right before signing)",
                            source, root::format_time(out.expires), now - out.expires));
  // GitHub Actions tokens have no email; Fulcio certifies the workflow that ran.
  if (!out.email.empty()) out.identity = out.email;
  else if (out.issuer == "https://token.actions.githubusercontent.com" && !str("job_workflow_ref").empty())
    out.identity = "https://github.com/" + str("job_workflow_ref");
  else out.identity = out.subject;
  out.raw = std::move(raw);
  return out;
}

Result<IdentityToken> find_token(const TokenSources& s, const HttpClient& http, std::int64_t now) {
  const std::string_view client_id = s.client_id;
  if (s.flag_token != nullptr && !s.flag_token->empty())
    return check_token(SecretString(s.flag_token->view()), s.flag_token_name, client_id, now);
  if (const char* v = std::getenv(kSigstoreTokenEnv); v != nullptr && *v != '\0')
    return check_token(SecretString(std::string_view(v)), kSigstoreTokenEnv, client_id, now);
  if (s.ambient) {
    const char* url = std::getenv(kGithubTokenUrlEnv);
    const char* bearer = std::getenv(kGithubTokenEnv);
    if (url != nullptr && *url != '\0') {
      if (bearer == nullptr || *bearer == '\0')
        return fail(ErrorCode::kAuth, fmt::format("GitHub Actions: {} is set but {} is not; the job needs "
                                                  "'permissions: id-token: write'",
                                                  kGithubTokenUrlEnv, kGithubTokenEnv));
      auto t = github_token(http);
      if (!t) return fail(t.error());
      return check_token(std::move(*t), "GitHub Actions", client_id, now);
    }
    std::string path;
    if (const char* f = std::getenv(kKubernetesTokenFileEnv); f != nullptr && *f != '\0') path = f;
    else if (struct stat st {}; ::stat(kKubernetesTokenPath, &st) == 0) path = kKubernetesTokenPath;
    if (!path.empty()) {
      auto t = read_token_file(path);
      if (!t) return fail(t.error());
      return check_token(std::move(*t), fmt::format("the Kubernetes token file {}", path), client_id, now);
    }
  }
  if (s.interactive && !s.oidc_url.empty()) {
    auto t = interactive_token(s, http);
    if (!t) return fail(t.error());
    return check_token(std::move(*t), "the interactive login", client_id, now);
  }
  return fail(ErrorCode::kAuth, no_token_message(s));
}

}  // namespace modelsign::sigstore
