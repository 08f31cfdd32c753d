// Where the keyless commands (`verify sigstore`, `sign sigstore`) get Sigstore's trust
// material: the one place that turns the trust options into a trusted root and a signing
// config, so that every command resolves them the same way.
//
//   SigstoreTrustOptions opts;                       // bound to the flags:
//   add_sigstore_trust_options(cmd, opts);           //   --trust-config, --trusted-root, ...
//   auto trust = resolve_sigstore_trust(opts);       // after parsing
//   if (!trust) return report_failure("Signing", trust.error());
//   trust->trusted_root_json;    // always set: a trusted_root.json document
//   trust->signing_config_json;  // a SigningConfig v0.2 document, or nullopt and
//                                // trust->signing_config_source says why and what to pass
//
// In order of precedence:
//   --trust-config FILE   a ClientTrustConfig: its trustedRoot and its signingConfig (if
//                         any). TUF is not used.
//   --trusted-root FILE   a bare trusted_root.json; no signing config. TUF is not used.
//   otherwise             TUF: Sigstore production (built-in root.json), staging with
//                         --use-staging, or --tuf-url URL with --tuf-root FILE. The targets
//                         trusted_root.json and signing_config.v0.2.json, cached under
//                         $XDG_CACHE_HOME/modelsign/tuf/<repository> (else ~/.cache/...).
//                         While the cached metadata is valid no network access happens;
//                         then it is refreshed. --offline: the cache only.
// Failures (no network and no valid cache, a refused TUF update, an unreadable file) come
// back as errors that say what to do, including how to bring a trusted root to a machine
// without network access.
//
// Links modelsign_tuf_http (libcurl); the verification library itself stays HTTP-free
// and only receives the resolved JSON text.
#pragma once

#include "cli/cli11_fwd.h"

#include <cstdint>
#include <optional>
#include <string>

#include "cli/cli_common.h"
#include "modelsign/error.h"

namespace modelsign::cli {

struct SigstoreTrustOptions {
  std::string trust_config;  // --trust-config FILE (ClientTrustConfig)
  std::string trusted_root;  // --trusted-root FILE (trusted_root.json)
  bool use_staging = false;  // --use-staging: Sigstore's staging TUF repository
  std::string tuf_url;       // --tuf-url URL: a private TUF repository (with --tuf-root)
  std::string tuf_root;      // --tuf-root FILE: that repository's initial root.json
  bool offline = false;      // --offline: the TUF cache only, never the network
};

// The TUF target that holds the signing config (SigningConfig v0.2).
inline constexpr std::string_view kSigningConfigTarget = "signing_config.v0.2.json";
inline constexpr std::string_view kSigningConfigMediaType = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

struct SigstoreTrust {
  // A trusted_root.json document (from a ClientTrustConfig: its trustedRoot member). Not
  // parsed as a trusted root here: the verifier and signer do that.
  std::string trusted_root_json;
  // Where it came from, for messages and the verify output: the file name, or the TUF
  // repository with the cache's age ("Sigstore production TUF repository https://...,
  // cache refreshed 2026-08-22T10:00:00Z (3 hours ago)").
  std::string trusted_root_source;
  // A SigningConfig v0.2 document (media type checked), or nullopt when the source has
  // none: --trusted-root, a ClientTrustConfig without signingConfig, a TUF repository
  // whose targets.json lists no signing_config.v0.2.json (or one of another media type).
  std::optional<std::string> signing_config_json;
  // Where the signing config came from; when there is none, why, and what to pass instead
  // (a sentence a signer can put in its error as is).
  std::string signing_config_source;

  bool from_tuf = false;
  bool used_network = false;                     // a TUF refresh ran now
  std::optional<std::int64_t> cache_refreshed_at;  // TUF: the cache's last refresh (Unix time)
  std::optional<std::int64_t> valid_until;         // TUF: the cached timestamp's expiry
};

// Adds --trust-config, --trusted-root (when with_trusted_root), --use-staging, --tuf-url,
// --tuf-root and --offline to `cmd` in both spellings, with their exclusions, in `group`.
void add_sigstore_trust_options(CLI::App* cmd, SigstoreTrustOptions& o, bool with_trusted_root = true,
                                const char* group = kGroupKey);

// Resolves the options into trust material (see the top of this file).
Result<SigstoreTrust> resolve_sigstore_trust(const SigstoreTrustOptions& o);

// "3 hours ago", "12 days ago": how long ago a Unix time was, by the clock.
std::string age_text(std::int64_t then);

// What to do when a machine has neither network access to the TUF repository nor a
// valid cache of it: pass --trusted-root FILE, or run `trust update` on a connected
// machine and copy the cache directory to `cache_dir` here. `repository_flags` are the
// flags that select the repository ("", "--use-staging", "--tuf-url U --tuf-root F").
std::string no_trust_advice(const std::string& cache_dir, const std::string& repository_flags);

}  // namespace modelsign::cli
