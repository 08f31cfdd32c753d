// PEM key files (and PEM text from an environment variable, "env:NAME").
#pragma once

#include <memory>

#include "modelsign/key_provider.h"

namespace modelsign {

// Environment variable holding the password of an encrypted PEM key.
inline constexpr const char* kKeyPasswordEnv = "MODELSIGN_KEY_PASSWORD";
// ProviderOptions::params key: present, a private key readable by others is accepted.
inline constexpr const char* kPemAllowInsecurePermissionsOption = "allow_insecure_permissions";

std::unique_ptr<KeyProvider> make_pem_provider();

}  // namespace modelsign
