// Keyless signing as `sign sigstore` does it, without the command line around it: the
// identity token, the trust (sigstore_trust.h), the signing key, the Fulcio certificate,
// the witnesses, the verification of the finished bundle and the signature file. The
// command (cmd_sign_sigstore.cpp) and the Python package (python/src/native.cpp) both call
// it, so the two sign the same way; each does its own recording and output.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "cli/sigstore_trust.h"
#include "keyless.h"
#include "modelsign/key_provider.h"
#include "modelsign/secret.h"
#include "modelsign/sign.h"

namespace modelsign::cli {

struct KeylessSignRequest {
  std::string model_path;
  std::string signature_path;  // written atomically, only after every step succeeded
  SignOptions options;         // serialization (the signature ignored) and hashing
  SigstoreTrustOptions trust;
  std::string ca_file;  // CA certificates (PEM) for the services' TLS; empty: the system store
  // The identity token given directly; else SIGSTORE_ID_TOKEN, then (use_ambient_credentials)
  // GitHub Actions and a Kubernetes token file, then (interactive) the OAuth login.
  const SecretString* identity_token = nullptr;
  std::string identity_token_name = "--identity-token";  // how messages name it
  bool use_ambient_credentials = true;
  bool interactive = false;
  bool oauth_force_oob = false;
  std::string client_id = "sigstore";
  const SecretString* client_secret = nullptr;
  // The key Fulcio certifies; empty: an ephemeral key, in memory only.
  std::function<Result<std::unique_ptr<Signer>>()> open_signer;
};

struct KeylessSignOutcome {
  sigstore::KeylessResult result;
  std::string fulcio_url;
  std::string trust_source;  // where the signing config came from
};

// Signs and writes request.signature_path. When options.hashing.observer is cancelled,
// fails without writing anything.
Result<KeylessSignOutcome> sign_keyless_to_file(const KeylessSignRequest& request);

// The audit facts of a keyless signature: root digest, identity, issuer, Rekor log index;
// marks the event successful.
void note_keyless_signed(audit::Event& ev, const KeylessSignOutcome& outcome);

}  // namespace modelsign::cli
