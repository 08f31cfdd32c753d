// The environment variables CI platforms hand a job its signing identity in: an OIDC
// token, GitHub Actions' endpoint to request one, a PEM private key. Keyless signing and
// `sign` read them; the method choice (src/ci) looks for them.
#pragma once

namespace modelsign {

inline constexpr const char* kSigstoreTokenEnv = "SIGSTORE_ID_TOKEN";
inline constexpr const char* kGithubTokenUrlEnv = "ACTIONS_ID_TOKEN_REQUEST_URL";
inline constexpr const char* kGithubTokenEnv = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
inline constexpr const char* kPrivateKeyEnv = "SIGNING_PRIVATE_KEY";  // as CI platforms store it

}  // namespace modelsign
