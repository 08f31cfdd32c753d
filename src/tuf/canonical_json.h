// OLPC canonical JSON, as securesystemslib's encode_canonical writes it: the bytes TUF
// signatures cover. Keys sorted (byte order of UTF-8 = code point order), no whitespace,
// strings with only '\' and '"' escaped, integers only (a float is refused).
#pragma once

#include <string>

#include "bundle/json.h"
#include "modelsign/error.h"

namespace modelsign::tuf {

Result<std::string> canonical_json(const bundle::Json& value);

}  // namespace modelsign::tuf
