#include "bundle/dsse.h"

#include <fmt/format.h>

namespace modelsign::bundle {

std::string pae_header(std::string_view type, std::size_t payload_size) {
  return fmt::format("DSSEv1 {} {} {} ", type.size(), type, payload_size);
}

Bytes pae(std::string_view type, std::span<const std::uint8_t> payload) {
  std::string head = pae_header(type, payload.size());
  Bytes out(head.begin(), head.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Python's repr() of a bytes object.
static std::string python_bytes_repr(std::span<const std::uint8_t> data) {
  bool has_single = false, has_double = false;
  for (auto c : data) {
    if (c == '\'') has_single = true;
    if (c == '"') has_double = true;
  }
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out = "b";
  out.push_back(quote);
  for (auto c : data) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<std::uint8_t>(quote)) out += std::string("\\") + quote;
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
    else out.push_back(static_cast<char>(c));
  }
  out.push_back(quote);
  return out;
}

Bytes compat_pae(std::string_view type, std::span<const std::uint8_t> payload) {
  std::string s = fmt::format("DSSEV1 {} {} {} {}", type.size(), type, payload.size(),
                              python_bytes_repr(payload));
  return Bytes(s.begin(), s.end());
}

}  // namespace modelsign::bundle
