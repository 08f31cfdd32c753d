// Streaming JSON output for the documents modelsign writes (statement, bundle): the text
// is appended to one buffer, so a manifest of a million files is never also held as a
// JSON tree. Strings are escaped exactly as nlohmann::json::dump does, which the
// statement's bytes (and so every earlier signature) were defined by.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace modelsign::bundle {

// An upper bound of the bytes append_json_string writes for `s` (an escape is at most 6
// bytes per input byte: \u00XX, or 12 for a 4-byte UTF-8 sequence as a surrogate pair).
inline std::size_t json_string_size_bound(std::string_view s) {
  std::size_t n = s.size() + 2;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\' || u >= 0x7F) n += 5;
  }
  return n;
}

// Appends `s` as a JSON string literal. ensure_ascii: non-ASCII as \uXXXX (the
// statement, like Python's protobuf printer); otherwise raw UTF-8 (the compact bundle).
inline void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  bool plain = true;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\' || (u >= 0x7F && (ensure_ascii || u == 0x7F))) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  // Rare: let the library do the escaping, so the bytes cannot drift from it.
  out += nlohmann::json(std::string(s)).dump(-1, ' ', ensure_ascii);
}

}  // namespace modelsign::bundle
