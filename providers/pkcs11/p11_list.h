// Listings: the tokens of a module, or the keys and certificates on one token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "modelsign/key_provider.h"

namespace modelsign::pkcs11 {

Result<std::vector<std::string>> list(std::string_view reference, const ProviderOptions& options);

}  // namespace modelsign::pkcs11
