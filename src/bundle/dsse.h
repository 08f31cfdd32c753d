// DSSE pre-authentication encoding (spec §4.2) and the v0.2 "compat" form (§4.3).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "modelsign/crypto.h"

namespace modelsign::bundle {

inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";

Bytes pae(std::string_view payload_type, std::span<const std::uint8_t> payload);
// "DSSEv1 <len(type)> <type> <payload_size> ": what pae() puts before the payload.
std::string pae_header(std::string_view payload_type, std::size_t payload_size);
// "DSSEV1 28 <type> <N> b'...'" as model_signing v0.2 signed it (verification only).
Bytes compat_pae(std::string_view payload_type, std::span<const std::uint8_t> payload);

}  // namespace modelsign::bundle
