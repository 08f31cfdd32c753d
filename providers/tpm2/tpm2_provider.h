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

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "modelsign/key_provider.h"

namespace modelsign {

// The ProviderOptions::params keys this provider reads.
inline constexpr const char* kTpm2TctiOption = "tcti";
inline constexpr const char* kTpm2TimeoutOption = "timeout";      // seconds per TPM answer
inline constexpr const char* kTpm2KeyFileOption = "key-file";

// "handle:0x81000001": the reference of a persistent key.
std::string tpm2_handle_reference(std::uint32_t handle);
// A persistent handle as the user gave it ("0x81000001", "handle:0x81000001" or
// "tpm2:handle=0x81000001") as a key reference.
std::string tpm2_persistent_reference(std::string_view handle);

std::unique_ptr<KeyProvider> make_tpm2_provider();

}  // namespace modelsign
