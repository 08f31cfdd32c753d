// The interactive login (OAuth 2.0 authorization code + PKCE), for a person at a terminal.
#include <fmt/format.h>

#include "identity_token.h"

namespace modelsign::sigstore {

Result<SecretString> interactive_token(const TokenSources& s, const HttpClient&) {
  return fail(ErrorCode::kUnsupported,
              fmt::format("No OIDC token available: the interactive login to {} is not supported by this build; "
                          "pass --identity-token or set {}",
                          s.oidc_url, kTokenEnv));
}

}  // namespace modelsign::sigstore
