// Signing with a private key on a token: the Signer, which finds its token and key
// again after a fork or a reinsertion.
#pragma once

#include <memory>
#include <string_view>

#include "modelsign/key_provider.h"

namespace modelsign::pkcs11 {

Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                            const ProviderOptions& options);

}  // namespace modelsign::pkcs11
