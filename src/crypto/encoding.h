// Text encodings of bytes: hex and base64 (internal; not part of the public API).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "modelsign/crypto.h"
#include "modelsign/error.h"

namespace modelsign {

// Lowercase hex.
std::string to_hex(std::span<const std::uint8_t> data);
// Hex of either case; kMalformed for an odd length or a non-hex character.
Result<Bytes> from_hex(std::string_view hex);
// Standard alphabet, padded.
std::string base64_encode(std::span<const std::uint8_t> data);
// Exactly what the proto3 JSON mapping allows for `bytes`: the standard or the URL-safe
// alphabet (not both in one string), padded or not; kMalformed names the first fault.
Result<Bytes> base64_decode(std::string_view text);

}  // namespace modelsign
