// CLI11's types by name only. CLI11 is header-only and each translation unit that includes
// it compiles its validators and option machinery again (seconds per file), so the CLI's
// headers name these types and only the files that build commands include <CLI/CLI.hpp>.
#pragma once

namespace CLI {
class App;
class Option;
}  // namespace CLI
