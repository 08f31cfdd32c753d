// Which signing or verification method `modelsign sign MODEL` / `modelsign verify MODEL`
// use when no method subcommand is given. Pure functions of the flags given and the
// environment (read through a lookup), so every branch is unit-tested.
#pragma once

#include <string>
#include <string_view>

#include "audit/audit_log.h"
#include "bundle/bundle.h"
#include "common/ci_env.h"  // the environment variables looked at
#include "modelsign/error.h"

namespace modelsign::ci {

// The key flags given to `sign` (which provider they name).
struct SignFlags {
  bool private_key = false;
  bool pkcs11_uri = false;
  bool tpm2_key = false;
  bool signing_certificate = false;  // turns key into certificate
};

struct SignChoice {
  std::string method;         // a `sign` subcommand name: key, certificate, pkcs11-key, ..., sigstore
  std::string reason;         // one sentence for the log
  std::string key_reference;  // "env:SIGNING_PRIVATE_KEY" when the key comes from the environment
};

// An explicit key flag picks its provider; else an OIDC identity (SIGSTORE_ID_TOKEN, or
// GitHub Actions' ambient ACTIONS_ID_TOKEN_REQUEST_URL + _TOKEN) picks keyless; else
// SIGNING_PRIVATE_KEY picks key; else an error listing everything looked at.
Result<SignChoice> choose_sign_method(const SignFlags& flags, const audit::EnvLookup& env);

struct VerifyFlags {
  bool public_key = false;
  bool pkcs11_uri = false;
  bool tpm2_key = false;
  bool certificate_chain = false;
  bool use_system_trust_store = false;
  bool identity = false;
  bool identity_provider = false;
};

struct VerifyChoice {
  std::string method;  // key, certificate, sigstore
  std::string reason;
};

// From the signature's verification material and the flags: a mismatch between them
// (a public key for a certificate signature, ...) or a missing flag is an error that
// says which flag the signature needs.
Result<VerifyChoice> choose_verify_method(bundle::Material material, const std::string& key_hint,
                                          const VerifyFlags& flags);

}  // namespace modelsign::ci
