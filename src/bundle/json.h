// Strict JSON parsing for untrusted documents: size and depth limits, duplicate keys
// rejected (Python keeps the last one silently; we refuse to guess).
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::bundle {

using Json = nlohmann::json;

Result<Json> parse_strict(std::string_view text, std::string_view what);

// Looks a member up by any of its spellings (proto3 JSON: lowerCamelCase or snake_case).
const Json* member(const Json& obj, std::initializer_list<std::string_view> names);

// Typed accessors that fail with a message naming the field path.
Result<std::string> get_string(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where);
Result<const Json*> get_object(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where);
Result<const Json*> get_array(const Json& obj, std::initializer_list<std::string_view> names,
                              std::string_view where);

}  // namespace modelsign::bundle
