#include "registry/providers.h"

#ifdef MODELSIGN_WITH_PKCS11
#include "pkcs11/pkcs11_provider.h"
#endif
#ifdef MODELSIGN_WITH_TPM2
#include "tpm2/tpm2_provider.h"
#endif
#ifdef MODELSIGN_WITH_PEM
#include "pem/pem_provider.h"
#endif

namespace modelsign {

void register_builtin_providers(std::vector<std::unique_ptr<KeyProvider>>& out) {
#ifdef MODELSIGN_WITH_PKCS11
  out.push_back(make_pkcs11_provider());
#endif
#ifdef MODELSIGN_WITH_TPM2
  out.push_back(make_tpm2_provider());
#endif
#ifdef MODELSIGN_WITH_PEM
  out.push_back(make_pem_provider());  // last: claims every plain file path
#endif
  (void)out;
}

}  // namespace modelsign
