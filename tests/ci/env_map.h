// An environment for the pure functions that read one through audit::EnvLookup: a map of
// variable names to values (a missing name is an unset variable).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "audit/audit_log.h"

namespace modelsign::test {

inline audit::EnvLookup env_of(std::map<std::string, std::string> m) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(m));
  return [shared](const char* n) -> const char* {
    auto it = shared->find(n);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

}  // namespace modelsign::test
