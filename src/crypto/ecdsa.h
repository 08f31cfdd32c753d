// ECDSA signature encodings (internal): raw r||s, as PKCS#11 CKM_ECDSA and the TPM
// return it, to the DER ECDSA-Sig-Value of the bundle.
#pragma once

#include <cstdint>
#include <span>

#include "modelsign/crypto.h"
#include "modelsign/error.h"

namespace modelsign {

Result<Bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);
Result<Bytes> ecdsa_rs_to_der(std::span<const std::uint8_t> r, std::span<const std::uint8_t> s);

}  // namespace modelsign
