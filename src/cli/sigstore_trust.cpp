#include <CLI/CLI.hpp>

#include "cli/sigstore_trust.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "root/trusted_root.h"
#include "tuf/errors.h"
#include "tuf/tuf_online.h"

namespace modelsign::cli {

namespace {

constexpr std::string_view kTrustedRootTarget = "trusted_root.json";
constexpr std::size_t kMaxTufRootFileBytes = 512u << 10;  // --tuf-root, as the TUF client's root limit

Result<std::string> read_trust_file(const std::string& path, std::string_view flag_name, std::size_t max) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound, fmt::format("{} file '{}' not found", flag_name, path));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} '{}' is not a regular file", flag_name, path));
  if (static_cast<std::uint64_t>(st.st_size) > max)
    return fail(ErrorCode::kMalformed,
                fmt::format("{} '{}' is {} bytes; the limit is {}", flag_name, path, st.st_size, max));
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, fmt::format("cannot read {} '{}'", flag_name, path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > max)
    return fail(ErrorCode::kMalformed, fmt::format("{} '{}' grew past the limit of {} bytes", flag_name, path, max));
  return ss.str();
}

Result<bundle::Json> parse_document(std::string_view text, std::string_view what) {
  return bundle::parse_strict(text, what, limits::kMaxTrustedRootJsonValues, limits::kMaxTrustedRootBytes);
}

// Strings past limits::kMaxJsonStringBytes are kept as markers by the parser, which
// dump() would write as something else: refuse them (no trust material has one).
bool has_long_string(const bundle::Json& j) {
  if (j.is_binary()) return true;
  if (j.is_structured())
    for (const auto& v : j)
      if (has_long_string(v)) return true;
  return false;
}

// One member of a parsed document as JSON text of its own.
Result<std::string> member_text(const bundle::Json& j, std::string_view what) {
  if (has_long_string(j))
    return fail(ErrorCode::kMalformed,
                fmt::format("{} holds a string longer than {} bytes", what, limits::kMaxJsonStringBytes));
  try {
    return j.dump();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kMalformed, fmt::format("{} cannot be written back as JSON: {}", what, e.what()));
  }
}

// nullopt when `json` is a SigningConfig v0.2; else why not.
std::optional<std::string> signing_config_problem(const bundle::Json& j) {
  if (!j.is_object()) return "it is not a JSON object";
  auto mt = bundle::get_string(j, {"mediaType", "media_type"}, "signing config");
  if (!mt) return mt.error().message;
  if (*mt != kSigningConfigMediaType)
    return fmt::format("its media type is '{}', not {}", mt->substr(0, 120), kSigningConfigMediaType);
  return std::nullopt;
}

Result<SigstoreTrust> from_trust_config(const std::string& path) {
  auto text = read_trust_file(path, "--trust-config", limits::kMaxTrustedRootBytes);
  if (!text) return std::unexpected(text.error());
  const std::string what = fmt::format("trust config '{}'", path);
  auto doc = parse_document(*text, what);
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_object()) return fail(ErrorCode::kMalformed, fmt::format("{}: not a JSON object", what));
  auto mt = bundle::get_string(*doc, {"mediaType", "media_type"}, what);
  if (!mt) return std::unexpected(mt.error());
  if (*mt != root::kClientTrustConfigMediaType)
    return fail(ErrorCode::kUnsupported,
                fmt::format("{}: media type '{}' is not supported (expected {}); for a bare trusted_root.json "
                            "use --trusted-root",
                            what, mt->substr(0, 120), root::kClientTrustConfigMediaType));
  auto tr = bundle::get_object(*doc, {"trustedRoot", "trusted_root"}, what);
  if (!tr) return std::unexpected(tr.error());
  SigstoreTrust out;
  auto root_text = member_text(**tr, fmt::format("the trustedRoot of {}", what));
  if (!root_text) return std::unexpected(root_text.error());
  out.trusted_root_json = std::move(*root_text);
  out.trusted_root_source = path;
  auto sc = bundle::member(*doc, {"signingConfig", "signing_config"}, what);
  if (!sc) return std::unexpected(sc.error());
  if (*sc == nullptr) {
    out.signing_config_source =
        fmt::format("the trust config '{}' has no signingConfig; add one (SigningConfig v0.2) to name the "
                    "Fulcio, Rekor and timestamp services",
                    path);
  } else if (auto problem = signing_config_problem(**sc)) {
    out.signing_config_source = fmt::format("the signingConfig of trust config '{}' is not usable: {}", path, *problem);
  } else {
    auto sc_text = member_text(**sc, fmt::format("the signingConfig of {}", what));
    if (!sc_text) return std::unexpected(sc_text.error());
    out.signing_config_json = std::move(*sc_text);
    out.signing_config_source = fmt::format("the signingConfig of trust config '{}'", path);
  }
  return out;
}

Result<SigstoreTrust> from_trusted_root(const std::string& path) {
  auto text = read_trust_file(path, "--trusted-root", limits::kMaxTrustedRootBytes);
  if (!text) return std::unexpected(text.error());
  SigstoreTrust out;
  out.trusted_root_json = std::move(*text);
  out.trusted_root_source = path;
  out.signing_config_source =
      fmt::format("--trusted-root '{}' gives no signing config; pass --trust-config with a ClientTrustConfig "
                  "(trustedRoot and signingConfig) instead",
                  path);
  return out;
}

std::string repository_label(const SigstoreTrustOptions& o, const tuf::TufOptions& t) {
  if (!o.tuf_url.empty()) return fmt::format("TUF repository {}", tuf::repository_url(t));
  return fmt::format("Sigstore {} TUF repository {}", o.use_staging ? "staging" : "production",
                     tuf::repository_url(t));
}

std::string repository_flags(const SigstoreTrustOptions& o) {
  if (!o.tuf_url.empty()) return fmt::format(" --tuf-url {} --tuf-root {}", o.tuf_url, o.tuf_root);
  return o.use_staging ? " --use-staging" : "";
}

// The error for a TUF failure, with the way out appended.
Error tuf_failure(const Error& e, const std::string& message, const std::string& cache_dir,
                  const SigstoreTrustOptions& o) {
  return Error(e.code, fmt::format("{}. {}", message, no_trust_advice(cache_dir, repository_flags(o))), e.backend,
               e.backend_code);
}

Result<SigstoreTrust> from_tuf(const SigstoreTrustOptions& o) {
  tuf::TufOptions t;
  t.staging = o.use_staging;
  t.network = o.offline ? tuf::NetworkPolicy::kNever : tuf::NetworkPolicy::kIfStale;
  t.also_fetch = {std::string(kSigningConfigTarget)};
  if (!o.tuf_url.empty() || !o.tuf_root.empty()) {
    if (o.tuf_url.empty() || o.tuf_root.empty())
      return fail(ErrorCode::kInvalidArgument,
                  "--tuf-url and --tuf-root go together: the repository's URL and its initial root.json, "
                  "obtained out of band");
    t.url = o.tuf_url;
    auto root = read_trust_file(o.tuf_root, "--tuf-root", kMaxTufRootFileBytes);
    if (!root) return std::unexpected(root.error());
    t.root_json = std::move(*root);
  }
  auto cfg = tuf::updater_config(t);
  if (!cfg) return std::unexpected(cfg.error());
  const std::string cache_dir = cfg->cache_dir.string();
  const std::string label = repository_label(o, t);

  auto got = tuf::fetch_target(t, kTrustedRootTarget);
  if (!got && o.offline)
    return fail(tuf_failure(got.error(),
                            fmt::format("offline (--offline), and the TUF cache of the {} cannot be used: {}", label,
                                        got.error().message),
                            cache_dir, o));
  if (!got && tuf::is_failure(got.error(), tuf::Failure::kFetch)) {
    // The cache was not valid (or a refresh would not have run). Another process may have
    // refreshed it meanwhile; else say why it could not be used.
    tuf::TufOptions cache_only = t;
    cache_only.network = tuf::NetworkPolicy::kNever;
    auto cached = tuf::get_target(cache_only, kTrustedRootTarget, nullptr);
    if (!cached) {
      const Error no_state = tuf::tuf_error(tuf::Failure::kNoTrustedState, ErrorCode::kNotFound, "");
      return fail(tuf_failure(
          no_state,
          fmt::format("cannot obtain Sigstore's trusted root: the {} cannot be reached ({}), and there is no valid "
                      "cache of it to use instead ({})",
                      label, got.error().message, cached.error().message),
          cache_dir, o));
    }
    got = std::move(cached);
  }
  if (!got)
    return fail(tuf_failure(got.error(), fmt::format("updating trust from the {}: {}", label, got.error().message),
                            cache_dir, o));

  SigstoreTrust out;
  out.from_tuf = true;
  out.used_network = got->used_network;
  out.cache_refreshed_at = got->refreshed_at;
  out.valid_until = got->state.timestamp.expires;
  out.trusted_root_json = std::move(got->bytes);
  std::string refreshed = got->used_network ? "refreshed now"
                          : got->refreshed_at
                              ? fmt::format("cache refreshed {} ({})", tuf::format_time(*got->refreshed_at),
                                            age_text(*got->refreshed_at))
                              : "from the cache";
  out.trusted_root_source = fmt::format("{} (targets version {}, {}{})", label, got->state.targets.version,
                                        refreshed, o.offline ? ", offline" : "");

  const std::string sc_name(kSigningConfigTarget);
  if (auto it = got->state.files.find(sc_name); it != got->state.files.end()) {
    auto doc = parse_document(it->second, sc_name);
    std::optional<std::string> problem =
        doc ? signing_config_problem(*doc) : std::optional<std::string>(doc.error().message);
    if (problem) {
      out.signing_config_source =
          fmt::format("the {}'s {} is not usable: {}; pass --trust-config with a ClientTrustConfig instead", label,
                      sc_name, *problem);
    } else {
      out.signing_config_json = std::move(it->second);
      out.signing_config_source = fmt::format("{} from the {}", sc_name, label);
    }
  } else if (got->state.targets.targets.contains(sc_name)) {
    out.signing_config_source =
        fmt::format("the {} lists {} but the cache at {} does not hold it; run `modelsign trust update{}`", label,
                    sc_name, cache_dir, repository_flags(o));
  } else {
    out.signing_config_source =
        fmt::format("the {} lists no {} (targets version {}); pass --trust-config with a ClientTrustConfig whose "
                    "signingConfig names the services",
                    label, sc_name, got->state.targets.version);
  }
  return out;
}

}  // namespace

std::string age_text(std::int64_t then) {
  const auto secs = static_cast<std::int64_t>(std::time(nullptr)) - then;
  if (secs < 0) return "in the future (check the clock)";
  if (secs < 120) return fmt::format("{} seconds ago", secs);
  if (secs < 3600) return fmt::format("{} minutes ago", secs / 60);
  if (secs < 2 * 86400) return fmt::format("{} hours ago", secs / 3600);
  return fmt::format("{} days ago", secs / 86400);
}

std::string no_trust_advice(const std::string& cache_dir, const std::string& repository_flags) {
  std::string name = std::filesystem::path(cache_dir).filename().string();
  return fmt::format(
      "To work without network access, bring a trusted root to this machine: either copy a trusted_root.json "
      "here and pass --trusted-root FILE (TUF is then not used), or run `modelsign trust update{}` on a machine "
      "with network access and copy its cache directory (modelsign/tuf/{}/ under $XDG_CACHE_HOME or ~/.cache) "
      "to {} here, where it serves until its metadata expires (--offline uses only that cache)",
      repository_flags, name, cache_dir);
}

void add_sigstore_trust_options(CLI::App* cmd, SigstoreTrustOptions& o, bool with_trusted_root, const char* group) {
  CLI::Option* tc =
      cmd->add_option(flag("trust-config"), o.trust_config,
                      "Sigstore ClientTrustConfig JSON file (upstream's --trust_config); TUF is not used")
          ->option_text("FILE")
          ->group(group);
  CLI::Option* tr = nullptr;
  if (with_trusted_root)
    tr = cmd->add_option(flag("trusted-root"), o.trusted_root, "Sigstore trusted_root.json file; TUF is not used")
             ->option_text("FILE")
             ->excludes(tc)
             ->group(group);
  CLI::Option* staging =
      cmd->add_flag(flag("use-staging"), o.use_staging, "Sigstore's staging TUF repository instead of production")
          ->excludes(tc)
          ->group(group);
  CLI::Option* url = cmd->add_option(flag("tuf-url"), o.tuf_url,
                                     "A private TUF repository's URL instead of Sigstore's (with --tuf-root)")
                         ->option_text("URL")
                         ->excludes(tc)
                         ->excludes(staging)
                         ->group(group);
  CLI::Option* root = cmd->add_option(flag("tuf-root"), o.tuf_root,
                                      "That repository's initial root.json, obtained out of band (with --tuf-url)")
                          ->option_text("FILE")
                          ->excludes(tc)
                          ->excludes(staging)
                          ->group(group);
  if (tr != nullptr) {
    staging->excludes(tr);
    url->excludes(tr);
    root->excludes(tr);
  }
  cmd->add_flag(flag("offline"), o.offline,
                "Use only the cached TUF metadata (never the network) and say how old it is")
      ->group(group);
}

Result<SigstoreTrust> resolve_sigstore_trust(const SigstoreTrustOptions& o) {
  if (!o.trust_config.empty()) return from_trust_config(o.trust_config);
  if (!o.trusted_root.empty()) return from_trusted_root(o.trusted_root);
  return from_tuf(o);
}

}  // namespace modelsign::cli
