// Implemented by builtin_providers.cpp (hand-written; one #ifdef per provider, defined
// by providers/*/CMakeLists.txt through MODELSIGN_PROVIDER_DEFS): adds one instance of
// every provider compiled into this build, most specific first.
#pragma once

#include <memory>
#include <vector>

#include "modelsign/key_provider.h"

namespace modelsign {
void register_builtin_providers(std::vector<std::unique_ptr<KeyProvider>>& out);

namespace detail {
// Test hook: puts `p` first in the registry (before the built-in providers) for the
// rest of the process; tests use it to route "fake:" references to a test double.
void add_provider_for_testing(std::unique_ptr<KeyProvider> p);
}  // namespace detail
}
