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
}  // namespace

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

void write(Level l, std::string_view message) {
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  std::string line = fmt::format("{}: {}\n", kNames[static_cast<int>(l)], message);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace modelsign::log
