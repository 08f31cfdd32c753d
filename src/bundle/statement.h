// The in-toto statement carrying the manifest (spec §3).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "modelsign/manifest.h"

namespace modelsign::bundle {

inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kPredicateType = "https://model_signing/signature/v1.0";
inline constexpr std::string_view kLegacyPredicateType = "https://model_signing/Digests/v0.1";
inline constexpr std::string_view kLegacyModelName = "compat-undefined-not-present";

// Deterministic writer: keys in the spec's order, 2-space indent, \u escapes for
// non-ASCII (as Python's protobuf printer), no trailing newline.
std::string write_statement(const Manifest& m);

struct ParsedStatement {
  Manifest manifest;
  bool legacy = false;          // Digests/v0.1: no root digest, files/sha256
  std::string subject_digest;   // hex, as written
};

// Parses and checks a statement in the spec §7.1 order (steps 4–9): _type,
// predicateType, one subject, serialization, resources (safe names, limits), root digest.
Result<ParsedStatement> parse_statement(std::string_view payload);

// A resource name that is safe to join to the model root: relative, no "..", no empty
// or "." component (the single-file name "." excepted).
Result<void> check_resource_path(std::string_view path);
// The limits on the resource count and on the recorded ignore paths (src/bundle/limits.h).
Result<void> check_resource_count(std::size_t count);
Result<void> check_ignore_paths(const std::vector<std::string>& paths);

}  // namespace modelsign::bundle
