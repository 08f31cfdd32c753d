// Implemented by the generated builtin_providers.cpp: adds one instance of every
// provider compiled into this build, most specific first.
#pragma once

#include <memory>
#include <vector>

#include "modelsign/key_provider.h"

namespace modelsign {
void register_builtin_providers(std::vector<std::unique_ptr<KeyProvider>>& out);
}
