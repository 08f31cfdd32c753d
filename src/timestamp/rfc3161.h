// RFC 3161 signed timestamps (a TSA's countersignature over the DSSE signature).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "root/trusted_root.h"

namespace modelsign::timestamp {

struct Verified {
  std::int64_t gen_time = 0;  // seconds since the epoch (fraction dropped)
  std::string tsa;            // the TSA of the trusted root that signed it
};

// Verifies a DER TimeStampResponse: granted status, the message imprint is the hash of
// `signed_data`, the token's signature chains to a TSA of the trusted root at genTime,
// and genTime lies within that TSA's validFor.
Result<Verified> verify(std::span<const std::uint8_t> response_der, std::span<const std::uint8_t> signed_data,
                        const root::TrustedRoot& root);

// "YYYYMMDDHHMMSS[.f{1,3}]Z" -> seconds since the epoch.
Result<std::int64_t> parse_generalized_time(std::string_view s);

}  // namespace modelsign::timestamp
