// The network-backed entry points (link modelsign_tuf_http).
#pragma once

#include <string>

#include "tuf/tuf.h"

namespace modelsign::tuf {

// Sigstore's trusted_root.json for the options' repository, verified over TUF. The
// keyless verifier's entry point.
Result<std::string> trusted_root_json(const TufOptions& opts);

// Any target, with details (used_network, refresh report, cache age). kNever never
// creates a network client.
Result<TargetResult> fetch_target(const TufOptions& opts, std::string_view name);

}  // namespace modelsign::tuf
