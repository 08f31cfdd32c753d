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

// Python's repr() of a bytes object, appended to out. Sized first, so that the (up to
// fourfold) encoding is allocated once.
static void append_python_bytes_repr(std::span<const std::uint8_t> data, Bytes& out) {
  bool has_single = false, has_double = false;
  std::size_t size = 3;  // b''
  for (auto c : data) {
    if (c == '\'') has_single = true;
    if (c == '"') has_double = true;
    if (c == '\\' || c == '\t' || c == '\n' || c == '\r') size += 2;
    else if (c < 0x20 || c >= 0x7f) size += 4;
    else size += 1;
  }
  char quote = (has_single && !has_double) ? '"' : '\'';
  for (auto c : data)
    if (c == static_cast<std::uint8_t>(quote)) ++size;
  out.reserve(out.size() + size);
  static constexpr char kHex[] = "0123456789abcdef";
  auto put = [&](char ch) { out.push_back(static_cast<std::uint8_t>(ch)); };
  put('b');
  put(quote);
  for (auto c : data) {
    if (c == '\\') { put('\\'); put('\\'); }
    else if (c == static_cast<std::uint8_t>(quote)) { put('\\'); put(quote); }
    else if (c == '\t') { put('\\'); put('t'); }
    else if (c == '\n') { put('\\'); put('n'); }
    else if (c == '\r') { put('\\'); put('r'); }
    else if (c < 0x20 || c >= 0x7f) { put('\\'); put('x'); put(kHex[c >> 4]); put(kHex[c & 0xf]); }
    else put(static_cast<char>(c));
  }
  put(quote);
}

Bytes compat_pae(std::string_view type, std::span<const std::uint8_t> payload) {
  std::string head = fmt::format("DSSEV1 {} {} {} ", type.size(), type, payload.size());
  Bytes out(head.begin(), head.end());
  append_python_bytes_repr(payload, out);
  return out;
}

}  // namespace modelsign::bundle
