// OIDC identity tokens for keyless signing: where they come from (first found wins) and
// the local checks made before any network call. The raw token is a secret: it lives in
// a SecretString, is wiped after use and is never printed, logged or put in an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ci_env.h"  // SIGSTORE_ID_TOKEN, GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_*
#include "http_client.h"
#include "modelsign/error.h"
#include "modelsign/secret.h"

namespace modelsign::sigstore {

// A Kubernetes projected service-account token (audience sigstore): the file named by
// this variable, else kKubernetesTokenPath when it exists.
inline constexpr const char* kKubernetesTokenFileEnv = "MODELSIGN_K8S_TOKEN_FILE";
inline constexpr const char* kKubernetesTokenPath = "/var/run/secrets/tokens/sigstore";
inline constexpr std::size_t kMaxTokenBytes = 16u << 10;

struct IdentityToken {
  SecretString raw;
  std::string source;  // "--identity-token", "SIGSTORE_ID_TOKEN", "GitHub Actions", ...
  std::string issuer;
  std::string subject;
  std::string email;
  std::vector<std::string> audiences;
  std::int64_t expires = 0;
  // What Fulcio's proof of possession signs: the email when the token has one, else sub.
  const std::string& proof_subject() const { return email.empty() ? subject : email; }
  // What the certificate will name, as far as the token tells (GitHub: the workflow URI).
  std::string identity;
};

// JWT shape, aud contains "sigstore" or `client_id`, not expired at `now`, and the
// claims the certificate is made from. `raw` is taken (and wiped on failure).
Result<IdentityToken> check_token(SecretString raw, std::string source, std::string_view client_id, std::int64_t now);

struct TokenSources {
  const SecretString* flag_token = nullptr;  // --identity-token
  std::string flag_token_name = "--identity-token";  // how messages name it (Python: identity_token=)
  bool ambient = true;                       // GitHub Actions, Kubernetes
  std::string client_id = "sigstore";
  const SecretString* client_secret = nullptr;
  bool force_oob = false;
  std::string oidc_url;       // the OIDC issuer of the signing config (interactive flow)
  bool interactive = false;   // stdin is a terminal
};

// The first token found, checked: --identity-token, SIGSTORE_ID_TOKEN, GitHub Actions,
// the Kubernetes token file, then the interactive OAuth flow (terminal only). None:
// "No OIDC token available" with what to check.
Result<IdentityToken> find_token(const TokenSources& sources, const HttpClient& http, std::int64_t now);

// The interactive OAuth 2.0 authorization-code flow with PKCE (S256) against `issuer`:
// a loopback redirect listener (or out-of-band code entry with force_oob).
Result<SecretString> interactive_token(const TokenSources& sources, const HttpClient& http);

// base64url without padding (JWT parts).
Result<std::string> base64url_decode(std::string_view text);
std::string base64url_encode(std::span<const std::uint8_t> data);

}  // namespace modelsign::sigstore
