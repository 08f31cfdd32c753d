// Keyless signing, put together: trust (root + signing config), service selection, the
// identity token, the Fulcio certificate, TSA and Rekor witnesses, and the keyless
// verifier run on the finished bundle. Nothing is returned unless every step succeeded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http_client.h"
#include "identity_token.h"
#include "modelsign/sign.h"
#include "root/trusted_root.h"
#include "signing_config.h"

namespace modelsign::sigstore {

struct Trust {
  root::TrustedRoot root;
  SigningConfig config;
};
// --trust-config FILE (ClientTrustConfig text), else the built-in production/staging trust.
Result<Trust> load_trust(const std::string& trust_config_text, const std::string& name, bool staging);

struct ServicePlan {
  Service fulcio;
  std::vector<Service> tlogs;
  std::vector<Service> tsas;
  std::string oidc_url;  // empty when the config names none
};
Result<ServicePlan> plan_services(const SigningConfig& c, std::int64_t now);

struct KeylessResult {
  SignResult sign;
  std::string identity;  // the certificate's SAN
  std::string issuer;    // the certificate's OIDC issuer
  std::vector<std::int64_t> log_indexes;
  std::size_t timestamps = 0;
};

Result<KeylessResult> sign_keyless(const std::string& model_path, Signer& signer, const SignOptions& options,
                                   const Trust& trust, const ServicePlan& plan, const IdentityToken& token,
                                   const HttpClient& http);

// An ephemeral ECDSA P-256 key, in memory only; freed (OpenSSL clears it) with the signer.
Result<std::unique_ptr<Signer>> ephemeral_signer();

}  // namespace modelsign::sigstore
