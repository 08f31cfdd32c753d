// Message digests: the hash of each signature scheme, SHA-256 (internal).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "modelsign/crypto.h"
#include "modelsign/error.h"

namespace modelsign {

// OpenSSL digest name for the scheme's hash ("SHA256", ...); empty for Ed25519.
std::string_view hash_name(SignatureScheme s);
// Hash a message with the scheme's hash (Ed25519: returns the message unchanged).
Result<Bytes> prehash(SignatureScheme s, std::span<const std::uint8_t> message);
Result<Bytes> sha256(std::span<const std::uint8_t> data);
// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace modelsign
