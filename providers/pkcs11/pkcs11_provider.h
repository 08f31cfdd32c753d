// Keys inside PKCS#11 tokens (HSMs, smart cards, SoftHSM), addressed by RFC 7512
// "pkcs11:" URIs. Modules are loaded through p11-kit (by module-path, by module-name,
// or every module registered with p11-kit); signing uses the raw Cryptoki API, so the
// private key never leaves the token.
//
// ProviderOptions::params read: "module" (a module path, or a module name searched like
// module-name) used when the URI names no module; "init-args" (else the environment's
// MODELSIGN_PKCS11_INIT_ARGS), the module's initialisation arguments.
// ProviderOptions::secret: PIN file / environment variable (default
// MODELSIGN_PKCS11_PIN) / prompt, used when the URI has no pin-source or pin-value.
#pragma once

#include <memory>

#include "modelsign/key_provider.h"

namespace modelsign {

// The ProviderOptions::params key for the module used when a URI names none.
inline constexpr const char* kPkcs11ModuleOption = "module";
// The ProviderOptions::params key for the module's initialisation arguments
// (CK_C_INITIALIZE_ARGS.pReserved), e.g. NSS softoken's "configdir='sql:DIR' ...".
inline constexpr const char* kPkcs11InitArgsOption = "init-args";
// The environment variable that gives them when the option is absent (the CLI has no
// option for them); they need a module named by module-path or the "module" option.
inline constexpr const char* kPkcs11InitArgsEnv = "MODELSIGN_PKCS11_INIT_ARGS";

std::unique_ptr<KeyProvider> make_pkcs11_provider();

}  // namespace modelsign
