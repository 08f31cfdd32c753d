#include "crypto/encoding.h"

#include <openssl/evp.h>

#include <array>
#include <fmt/format.h>
#include <optional>

namespace modelsign {

std::string to_hex(std::span<const std::uint8_t> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0)
    return fail(ErrorCode::kMalformed, fmt::format("hex string of odd length {}", hex.size()));
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(ErrorCode::kMalformed, "invalid character in hex string");
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> data) {
  std::string out;
  out.resize(4 * ((data.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

namespace {

// Base64 digit values; 0xff for every byte that is not one. '+' '/' and '-' '_' are told
// apart by kBase64Alphabet: 1 for the standard alphabet's, 2 for the URL-safe one's.
constexpr auto kBase64Value = [] {
  std::array<std::uint32_t, 256> t{};
  t.fill(0xff);
  for (std::uint32_t i = 0; i < 26; ++i) {
    t['A' + i] = i;
    t['a' + i] = 26 + i;
  }
  for (std::uint32_t i = 0; i < 10; ++i) t['0' + i] = 52 + i;
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}();
constexpr auto kBase64Alphabet = [] {
  std::array<std::uint32_t, 256> t{};
  t['+'] = t['/'] = 1;
  t['-'] = t['_'] = 2;
  return t;
}();

// The common case of base64_decode, a group of four digits at a time: nullopt for any
// input base64_decode_checked would refuse, which then says why.
std::optional<Bytes> base64_decode_fast(std::string_view body) {
  if (body.size() % 4 == 1) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(body.data());
  const std::size_t groups = body.size() / 4, rest = body.size() % 4;
  Bytes out(groups * 3 + (rest == 0 ? 0 : rest - 1));
  std::uint32_t bad = 0, alphabets = 0;
  std::uint8_t* o = out.data();
  for (std::size_t g = 0; g < groups; ++g, in += 4, o += 3) {
    const std::uint32_t a = kBase64Value[in[0]], b = kBase64Value[in[1]], c = kBase64Value[in[2]],
                        d = kBase64Value[in[3]];
    bad |= a | b | c | d;
    alphabets |= kBase64Alphabet[in[0]] | kBase64Alphabet[in[1]] | kBase64Alphabet[in[2]] | kBase64Alphabet[in[3]];
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
  }
  if (rest > 0) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < rest; ++i) {
      const std::uint32_t x = kBase64Value[in[i]];
      bad |= x;
      alphabets |= kBase64Alphabet[in[i]];
      v = (v << 6) | x;
    }
    // 2 digits carry one byte (and 4 spare bits), 3 digits two bytes (and 2).
    if (rest == 2) o[0] = static_cast<std::uint8_t>(v >> 4);
    else {
      o[0] = static_cast<std::uint8_t>(v >> 10);
      o[1] = static_cast<std::uint8_t>(v >> 2);
    }
  }
  if ((bad & 0x80) != 0 || alphabets == 3) return std::nullopt;
  return out;
}

}  // namespace

// Exactly what the proto3 JSON mapping allows for `bytes`: the standard (+/) or the
// URL-safe (-_) alphabet, with or without padding. Refused: a mix of both alphabets in
// one string, '=' anywhere but at the end, padding that does not complete the last
// group, a length that leaves one lone character, whitespace and any other byte.
static Result<Bytes> base64_decode_checked(std::string_view text);

Result<Bytes> base64_decode(std::string_view text) {
  std::size_t pad = 0;
  while (pad < text.size() && pad < 3 && text[text.size() - 1 - pad] == '=') ++pad;
  const std::size_t body = text.size() - pad;
  if (pad <= 2 && (pad == 0 || (body + pad) % 4 == 0))
    if (auto out = base64_decode_fast(text.substr(0, body))) return std::move(*out);
  return base64_decode_checked(text);  // refuses it, saying why (or decodes what the fast path left)
}

// One digit at a time, so that the first fault is the one named.
static Result<Bytes> base64_decode_checked(std::string_view text) {
  auto bad = [&](std::string why) {
    return fail(ErrorCode::kMalformed,
                fmt::format("invalid base64 ({} characters): {}; expected the standard (A-Z a-z 0-9 + /) "
                            "or URL-safe (- _) alphabet, padded with '=' or unpadded",
                            text.size(), why));
  };
  std::size_t pad = 0;
  while (pad < text.size() && pad < 3 && text[text.size() - 1 - pad] == '=') ++pad;
  const std::size_t body = text.size() - pad;
  Bytes out;
  out.reserve(body / 4 * 3 + (body % 4 == 0 ? 0 : body % 4 - 1));
  bool standard = false, url_safe = false;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < body; ++i) {
    const char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '/') { v = c == '+' ? 62 : 63; standard = true; }
    else if (c == '-' || c == '_') { v = c == '-' ? 62 : 63; url_safe = true; }
    else if (c == '=') return bad(fmt::format("'=' at position {}, before the end", i));
    else return bad(fmt::format("byte 0x{:02x} at position {} is not a base64 character", static_cast<unsigned char>(c), i));
    if (standard && url_safe) return bad("it mixes the standard (+/) and URL-safe (-_) alphabets");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2) return bad("more than two '=' at the end");
  if (body % 4 == 1) return bad("the length leaves a single character in the last group");
  if (pad > 0 && (body + pad) % 4 != 0)
    return bad(fmt::format("{} '=' do not complete the last group of four", pad));
  return out;
}

}  // namespace modelsign
