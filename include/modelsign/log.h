// Minimal leveled logging to stderr. Never pass secrets to it.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace modelsign::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view name, Level* out);
// Writes "LEVEL: message" to stderr; the message goes through printable() first.
void write(Level level, std::string_view message);

// Sends messages to `sink` instead of stderr (an embedding program's logger, e.g. the
// Python package's `logging` bridge); nullptr restores stderr. The sink is called from
// any thread, with the message already made printable, and must not throw.
using Sink = void (*)(Level level, std::string_view message);
void set_sink(Sink sink);

// `text` made safe to print on one line: control characters (C0, DEL, C1) and bytes that
// are not valid UTF-8 become \n, \t, \xNN or \u0085 escapes. File names and bundle
// fields are untrusted: without this a name holding "\nVerification succeeded\n" would
// print a fake result line.
std::string printable(std::string_view text);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kWarning) write(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kError) write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace modelsign::log
