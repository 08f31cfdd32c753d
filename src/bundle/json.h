// Strict JSON parsing for untrusted documents: size, depth and value-count limits, and
// duplicate keys rejected (Python keeps the last one silently; we refuse to guess).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
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

// The events of a strict parse, for a reader that keeps only what it needs instead of a
// tree (the statement of a million files costs its manifest, not a tree as well). When an
// event arrives, parse_strict's checks have passed for it: limits, depth, no duplicate
// key in the object. A string longer than limits::kMaxJsonStringBytes arrives as
// long_string with its raw text (see long_string below); a key that long is refused.
class JsonEvents {
 public:
  virtual ~JsonEvents() = default;
  virtual void null() = 0;
  virtual void boolean(bool v) = 0;
  virtual void number_integer(std::int64_t v) = 0;
  virtual void number_unsigned(std::uint64_t v) = 0;
  virtual void number_float(double v) = 0;
  virtual void string(std::string&& v) = 0;
  virtual void long_string(std::string_view raw) = 0;
  virtual void start_object() = 0;
  virtual void key(const std::string& k) = 0;
  virtual void end_object() = 0;
  virtual void start_array() = 0;
  virtual void end_array() = 0;
};

// parse_strict's single pass and checks, with events instead of a tree. The error is
// parse_strict's for the same text; a handler that throws std::bad_alloc ends the parse
// with parse_strict's out-of-memory error.
Result<void> parse_strict_events(std::string_view text, std::string_view what, std::size_t max_values,
                                 std::size_t max_bytes, JsonEvents& events);

// The errors get_string, get_object and get_array fail with, for readers of events.
// `want` is "a string", "an object" or "an array"; `found` is nlohmann's type name.
Error missing_field_error(std::string_view where, std::string_view name);
Error long_string_field_error(std::string_view where, std::string_view name);
Error field_type_error(std::string_view where, std::string_view name, std::string_view want,
                       std::string_view found);

// nlohmann's lexer keeps two growing copies of the token it reads, so a string of 200 MB
// would cost several times its size. Strings longer than limits::kMaxJsonStringBytes are
// therefore not lexed: the tree holds a marker (a binary value) and this returns the raw
// text from the document, which must be the `text` given to parse_strict. Such strings
// may not contain escapes (none of the long fields, all base64, needs one).
std::optional<std::string_view> long_string(const Json& v, std::string_view text);

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
