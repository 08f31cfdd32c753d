// A tamper-evident audit log: one JSON object per line, each carrying the SHA-256 of the
// line before it, appended by any number of processes at once.
//
// Why a hash chain: an edited, removed, inserted or reordered line breaks the link of
// the line after it (or its sequence number), so `audit verify` names the first bad line.
// It cannot see the last lines being cut off or the last line being rewritten: for that,
// compare the head hash `audit verify` prints with one kept elsewhere.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::audit {

inline constexpr int kFormatVersion = 1;
// The chain's start: the "prev" of the first line.
inline constexpr std::string_view kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";
// A longer line is refused when writing and reported when verifying (bounded memory).
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

// Who signed, as far as the method knows it. Empty fields are left out of the line.
struct Signer {
  std::string summary;              // what the CLI prints: key hint, certificate subject, identity
  std::string key_hint;
  std::string certificate_subject;
  std::string identity;             // keyless: certificate SAN
  std::string issuer;               // keyless: OIDC issuer
  std::string pkcs11_uri;           // without any PIN (see without_pin)
  std::string tpm2_key;             // handle or key file
};

// One sign or verify operation.
struct Event {
  std::string operation;  // "sign" | "verify"
  bool ok = false;
  int exit_code = 0;
  std::string error;  // the failure message, empty on success
  std::string model_path;
  std::string root_digest;  // "sha256:<hex>", empty when hashing did not finish
  std::string signature_path;
  std::string method;  // key, certificate, pkcs11-key, ..., sigstore
  std::string method_reason;  // why, when the method was chosen from the environment
  Signer signer;
  std::optional<std::int64_t> rekor_log_index;
  std::string version;  // modelsign's version
};

// Reads one environment variable (nullptr when unset); tests pass a map.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup process_env();

// The CI facts of the environment: CI, platform, repository, commit, ref, run id/url,
// actor. Empty object outside CI.
nlohmann::ordered_json ci_facts(const EnvLookup& env);

// A pkcs11: URI with pin-value removed (pin-source, a path, is kept).
std::string without_pin(std::string_view uri);

// The event as the JSON object that becomes a line (without seq/prev, which append adds).
nlohmann::ordered_json to_json(const Event& e, const EnvLookup& env);

// Appends `entry` plus {"seq", "prev"} as one line: opened O_APPEND, under an exclusive
// flock, written with one write(2) loop and fsync'd, so concurrent writers never
// interleave or lose a line. Creates the file (mode 0640) when missing.
Result<void> append(const std::string& path, nlohmann::ordered_json entry);

// SHA-256 (hex) of a line without its newline: what the next line's "prev" holds.
std::string line_hash(std::string_view line);

struct Report {
  bool intact = true;
  std::size_t lines = 0;
  std::size_t bad_line = 0;  // 1-based; 0 when intact
  std::string problem;       // "line 7 was edited ...", empty when intact
  std::string head;          // line_hash of the last line (kGenesis for an empty log)
};
// Checks every link and sequence number; stops at the first bad line. Fails only when
// the file cannot be read.
Result<Report> verify(const std::string& path);
// The same on text already in memory (tests).
Report verify_text(std::string_view text);

}  // namespace modelsign::audit
