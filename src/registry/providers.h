// Implemented by builtin_providers.cpp (hand-written; one #ifdef per provider, defined
// by providers/*/CMakeLists.txt through MODELSIGN_PROVIDER_DEFS): adds one instance of
// every provider compiled into this build, most specific first.
#pragma once

#include <memory>
#include <vector>

#include "modelsign/key_provider.h"

namespace modelsign {
void register_builtin_providers(std::vector<std::unique_ptr<KeyProvider>>& out);
}
