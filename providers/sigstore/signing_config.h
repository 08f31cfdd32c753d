// Sigstore SigningConfig v0.2: which Fulcio, OIDC, Rekor and TSA services a client uses.
// Services are chosen by validFor (now), majorApiVersion (what this client speaks) and
// the selector (ANY, ALL, EXACT), as the Sigstore client specification describes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/error.h"
#include "root/trusted_root.h"

namespace modelsign::sigstore {

inline constexpr std::string_view kSigningConfigMediaType = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

struct Service {
  std::string url;
  std::uint32_t major_api_version = 0;
  root::TimeRange valid_for;
  std::string operator_name;
};

enum class Selector { kAny, kAll, kExact };

struct ServiceSelection {
  Selector selector = Selector::kAny;
  std::uint32_t count = 0;  // EXACT only
};

struct SigningConfig {
  std::string source;
  std::vector<Service> ca, oidc, tlogs, tsas;
  ServiceSelection tlog_selection, tsa_selection;
};

Result<SigningConfig> parse_signing_config(std::string_view json, std::string_view source);
// The signingConfig of a ClientTrustConfig (model_signing's --trust_config).
Result<SigningConfig> parse_trust_config_signing(std::string_view json, std::string_view source);
Result<SigningConfig> builtin_signing_config(bool staging);

// One service for a kind with a single user (Fulcio, OIDC): valid now, of the highest
// supported version, the first listed.
Result<Service> select_one(const std::vector<Service>& services, const std::vector<std::uint32_t>& versions,
                           std::int64_t now, std::string_view what);
// The services a selector asks for: valid now, of the highest supported version among
// those, at most one per operator (the first listed); ANY: one, ALL: every operator,
// EXACT: `count` operators (an error when fewer are available). An empty list of
// services gives an empty result (a config may name no TSA).
Result<std::vector<Service>> select(const std::vector<Service>& services, const std::vector<std::uint32_t>& versions,
                                    const ServiceSelection& selection, std::int64_t now, std::string_view what);

}  // namespace modelsign::sigstore
