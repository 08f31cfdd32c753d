// Key providers: every backend (PEM file, PKCS#11 token, TPM, ...) implements Signer
// and KeyProvider. The core hashes on the CPU; a Signer signs one prehashed message.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/error.h"
#include "modelsign/secret.h"

namespace modelsign {

struct SignRequest {
  std::span<const std::uint8_t> message;  // the DSSE PAE (small); pure schemes (Ed25519) sign this
  std::span<const std::uint8_t> digest;   // the message hashed on the CPU with the scheme's hash (Ed25519: the message)
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual SignatureScheme scheme() const = 0;
  virtual const PublicKey& public_key() const = 0;
  // Signature in wire encoding: DER ECDSA-Sig-Value for ECDSA, raw bytes otherwise.
  virtual Result<Bytes> sign(const SignRequest& request) = 0;
  // Where the key lives, for logs and --json (never contains a secret).
  virtual std::string describe() const = 0;
  // Certificates stored with the key (DER, leaf first); most keys have none.
  virtual std::vector<Bytes> certificate_chain() const { return {}; }
};

// Hashes the message on the CPU and asks the signer for one signature.
Result<Bytes> sign_message(Signer& signer, std::span<const std::uint8_t> message);

// Where a secret (PIN, password, TPM auth) comes from; never logged, never put in the
// environment. Resolution order is provider-specific but uses these sources.
struct SecretSources {
  std::string file;     // path of a file holding the secret (one trailing newline stripped)
  // A secret given directly (e.g. a command-line --password); used after `file`.
  std::shared_ptr<const SecretString> value;
  std::string env_var;  // environment variable to read
  // Called when no other source gave a value and stdin is a terminal; may be empty.
  std::function<Result<SecretString>(std::string_view prompt)> prompt;
};

struct ProviderOptions {
  // Provider-specific settings, e.g. {"tcti", "swtpm:path=..."} or {"module", "/usr/lib/..."}.
  std::map<std::string, std::string> params;
  SecretSources secret;
};

struct GeneratedKey {
  std::string reference;  // full key reference (URI / handle / file) to sign with
  PublicKey public_key;
};

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual std::string_view name() const = 0;
  // Whether this provider handles the key reference (by scheme prefix).
  virtual bool claims(std::string_view reference) const = 0;
  virtual Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                                      const ProviderOptions& options) const = 0;
  virtual Result<PublicKey> public_key(std::string_view reference,
                                       const ProviderOptions& options) const = 0;
  // Create a key inside the backend; default: unsupported.
  virtual Result<GeneratedKey> generate(std::string_view reference, KeyType type,
                                        const ProviderOptions& options) const;
  // Human-readable listing (tokens, keys, handles); default: unsupported.
  virtual Result<std::vector<std::string>> list(std::string_view reference,
                                                const ProviderOptions& options) const;
};

// The one registry: maps a key reference to the provider that handles it.
// A reference with no recognised scheme is a PEM file path. Both lookups fail with
// kUnsupported, naming the providers this build has, when none matches.
Result<const KeyProvider*> find_provider(std::string_view reference);
Result<const KeyProvider*> provider_by_name(std::string_view name);
std::vector<const KeyProvider*> all_providers();

Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                            const ProviderOptions& options);
Result<PublicKey> load_public_key(std::string_view reference, const ProviderOptions& options);

// Reads a secret from options.secret (file, then value, then env var, then prompt); an
// empty secret when no source is configured and `required` is false. `what` names the
// secret in errors ("PIN"). Every intermediate buffer is wiped.
Result<SecretString> read_secret(const SecretSources& sources, std::string_view what,
                                bool required);

}  // namespace modelsign
