#include "pkcs11/pkcs11_provider.h"

#include <strings.h>

#include "modelsign/log.h"
#include "pkcs11/p11_keygen.h"
#include "pkcs11/p11_list.h"
#include "pkcs11/p11_objects.h"
#include "pkcs11/p11_signer.h"

namespace modelsign {
namespace pkcs11 {
namespace {

// The provider only routes: each role lives in its own file (p11_signer, p11_keygen,
// p11_list), on top of p11_objects (the token a URI names and its objects).
class Pkcs11Provider final : public KeyProvider {
 public:
  std::string_view name() const override { return "pkcs11"; }

  bool claims(std::string_view reference) const override {
    return reference.size() >= 7 && strncasecmp(reference.data(), "pkcs11:", 7) == 0;
  }

  Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                              const ProviderOptions& options) const override {
    return pkcs11::open_signer(reference, options);
  }

  Result<PublicKey> public_key(std::string_view reference,
                               const ProviderOptions& options) const override {
    auto op = open_token(reference, options, false);
    if (!op) return fail(op.error());
    if (auto ok = require_key_selector(op->uri); !ok) return fail(ok.error());
    // The key is named by its private half: only objects bound to that (same CKA_ID,
    // or its own attributes) give the public key. Private keys are usually visible only
    // after login, so a token that requires login needs the PIN here too.
    if (auto ok = ensure_login(*op->session, op->token, *op->pin, true); !ok)
      return fail(ok.error());
    auto key = find_one(*op, CKO_PRIVATE_KEY, true);
    if (!key) return fail(key.error());
    std::string uri = uri_of(*op->session, op->token, *key, op->module_query);
    auto half = public_half(*op->session, op->token, *key, uri, op->module_query);
    if (!half) return fail(half.error());
    log::debug("pkcs11: public key of {}: {}", uri, half->key.hint());
    return std::move(half->key);
  }

  Result<GeneratedKey> generate(std::string_view reference, KeyType type,
                                const ProviderOptions& options) const override {
    return generate_key(reference, type, options);
  }

  Result<std::vector<std::string>> list(std::string_view reference,
                                        const ProviderOptions& options) const override {
    return pkcs11::list(reference, options);
  }
};

}  // namespace
}  // namespace pkcs11

std::unique_ptr<KeyProvider> make_pkcs11_provider() {
  return std::make_unique<pkcs11::Pkcs11Provider>();
}

}  // namespace modelsign
