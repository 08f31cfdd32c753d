// Sigstore trust material: trusted_root.json (v0.1) and ClientTrustConfig, parsed strictly.
// Everything here is offline: the built-in roots are compiled in, files come from the user.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::root {

// Seconds since the epoch (UTC). validFor windows are closed: start <= t <= end.
struct TimeRange {
  std::int64_t start = 0;
  std::optional<std::int64_t> end;  // none: still valid
  bool contains(std::int64_t t) const { return t >= start && (!end || t <= *end); }
  std::string describe() const;
};

// A transparency log (Rekor) or certificate-transparency log.
struct LogKey {
  std::string base_url;
  Bytes log_id;           // logId.keyId (SHA-256 of the DER SPKI for Rekor v1 and CT logs)
  std::string key_details;  // e.g. PKIX_ECDSA_P256_SHA_256, PKIX_ED25519
  Bytes spki_der;
  PublicKey key;
  TimeRange valid_for;
};

// A Fulcio CA or a timestamping authority: the chain as the root lists it (issuing
// certificate first, self-signed root last).
struct CertificateAuthority {
  std::string uri;
  std::string subject;  // organization / commonName as given, for messages
  std::vector<Bytes> chain;
  TimeRange valid_for;
};

struct TrustedRoot {
  std::string source;  // "built-in production root (2025-09-22)", a file name, ...
  std::vector<LogKey> tlogs;
  std::vector<LogKey> ctlogs;
  std::vector<CertificateAuthority> certificate_authorities;
  std::vector<CertificateAuthority> timestamp_authorities;

  const LogKey* find_tlog(std::span<const std::uint8_t> log_id) const;
  const LogKey* find_ctlog(std::span<const std::uint8_t> log_id) const;
};

inline constexpr std::string_view kTrustedRootMediaType =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
inline constexpr std::string_view kTrustedRootMediaTypeV01 = "application/vnd.dev.sigstore.trustedroot.v0.1+json";
inline constexpr std::string_view kClientTrustConfigMediaType =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

Result<TrustedRoot> parse_trusted_root(std::string_view json, std::string_view source);
// ClientTrustConfig: its trustedRoot is used; the signing config is not needed to verify.
Result<TrustedRoot> parse_trust_config(std::string_view json, std::string_view source);

// The roots compiled into modelsign (see docs/sigstore.md for their date and source).
Result<TrustedRoot> builtin_root(bool staging);
std::string_view builtin_root_date(bool staging);

// RFC 3339 "2021-01-12T11:53:27Z", "...27.999Z", "...27+02:00" -> seconds since the epoch
// (fractions dropped).
Result<std::int64_t> parse_rfc3339(std::string_view s);
// "2025-10-10T02:12:20Z"
std::string format_time(std::int64_t t);

}  // namespace modelsign::root
