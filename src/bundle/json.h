// Strict JSON parsing for untrusted documents: size, depth and value-count limits, and
// duplicate keys rejected (Python keeps the last one silently; we refuse to guess).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::bundle {

using Json = nlohmann::json;

// Parses in one linear pass (a SAX handler of our own builds the tree) and stops at the
// first violation: more than max_bytes of text, nesting deeper than limits::kMaxJsonDepth,
// more than max_values values (objects, arrays and scalars alike), a duplicate key.
// Never throws: running out of memory is an error value too.
Result<Json> parse_strict(std::string_view text, std::string_view what, std::size_t max_values,
                          std::size_t max_bytes);

// Looks a member up by any of its spellings (proto3 JSON: lowerCamelCase or snake_case).
// nullptr when absent; an error when the object holds more than one spelling, because
// which one wins differs between readers.
Result<const Json*> member(const Json& obj, std::initializer_list<std::string_view> names,
                           std::string_view where);

// A member with a single spelling (statement fields): nullptr when absent.
const Json* member(const Json& obj, std::string_view name);

// Typed accessors that fail with a message naming the field path.
Result<std::string> get_string(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where);
Result<const Json*> get_object(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where);
Result<const Json*> get_array(const Json& obj, std::initializer_list<std::string_view> names,
                              std::string_view where);

}  // namespace modelsign::bundle
