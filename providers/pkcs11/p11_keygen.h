// Generating a key pair inside a token: sign-only, sensitive, never extractable.
#pragma once

#include <string_view>

#include "modelsign/key_provider.h"

namespace modelsign::pkcs11 {

Result<GeneratedKey> generate_key(std::string_view reference, KeyType type,
                                  const ProviderOptions& options);

}  // namespace modelsign::pkcs11
