#include "modelsign/log.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <string>

namespace modelsign::log {

namespace {
// Default: warnings and errors only, so stdout/stderr stay clean for scripts.
std::atomic<Level> g_level{Level::kWarning};
std::atomic<Sink> g_sink{nullptr};
}  // namespace

void set_sink(Sink sink) { g_sink.store(sink); }

void set_level(Level l) { g_level.store(l); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view name, Level* out) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "debug") *out = Level::kDebug;
  else if (n == "info") *out = Level::kInfo;
  else if (n == "warning" || n == "warn") *out = Level::kWarning;
  else if (n == "error" || n == "critical") *out = Level::kError;
  else return false;
  return true;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x20 || c == 0x7f) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += fmt::format("\\x{:02x}", c);
      }
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Length and minimum code point of a well-formed UTF-8 sequence (RFC 3629).
    size_t len = 0;
    char32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) ok = false;
      else cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!ok) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    if (cp >= 0x80 && cp <= 0x9f) out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    else out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

void write(Level l, std::string_view message) {
  if (Sink sink = g_sink.load(); sink != nullptr) {
    sink(l, printable(message));
    return;
  }
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  std::string line = fmt::format("{}: {}\n", kNames[static_cast<int>(l)], printable(message));
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace modelsign::log
