// TPM 2.0 key provider (tpm2-tss ESYS). Key references:
//   handle:0x81000001          a persistent key
//   tpm2:handle=0x81000001     the same, spelled as a URI
//   PATH                       a TSS2 PRIVATE KEY PEM file (tpm2-openssl, tpm2-tss-engine)
// ProviderOptions:
//   params["tcti"]      TCTI configuration (else TPM2TOOLS_TCTI, TSS2_TCTI, the tss default)
//   params["key-file"]  generate(): write the new key to this TSS2 PEM file
//   secret              the key's authorisation value (default env: MODELSIGN_TPM_AUTH)
// The owner hierarchy's authorisation value, when set, comes from MODELSIGN_TPM_OWNER_AUTH.
#pragma once

#include <memory>

#include "modelsign/key_provider.h"

namespace modelsign {

std::unique_ptr<KeyProvider> make_tpm2_provider();

}  // namespace modelsign
