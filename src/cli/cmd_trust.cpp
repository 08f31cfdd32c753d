// `modelsign trust update` and `modelsign trust show`: Sigstore's trust material over TUF
// (src/tuf), cached per repository.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/sigstore_trust.h"
#include "modelsign/log.h"
#include "tuf/metadata.h"
#include "tuf/tuf_online.h"

namespace modelsign::cli {

namespace {

struct TrustArgs {
  bool staging = false;
  std::string tuf_url;
  std::string tuf_root;
  bool offline = false;
  std::string trusted_root;  // show: a local trusted_root.json instead of TUF
};

// The report is collected, then printed once through the CLI's checked output path: as
// text, or with --json as one object whose "lines" are the same lines. Values that come
// from the repository (names, URLs) are untrusted text and escaped.
std::string& pending() {
  static std::string text;
  return text;
}
void out(const std::string& s) {
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    pending() += log::printable(std::string_view(s).substr(start, end - start));
    if (end < s.size()) pending() += '\n';
    start = end + 1;
  }
}
int finish() {
  std::string text = std::move(pending());
  pending().clear();
  if (!json_mode(false)) return emit_text(text);
  auto j = json_header(true, kExitOk);
  auto lines = nlohmann::ordered_json::array();
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  j["lines"] = std::move(lines);
  return emit_json(j);
}

Result<std::string> read_small_file(const std::string& path, std::size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, fmt::format("cannot open {}", path));
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > max)
      return fail(ErrorCode::kMalformed, fmt::format("{} is larger than {} bytes", path, max));
  }
  return data;
}

Result<tuf::TufOptions> options_from(const TrustArgs& a, tuf::NetworkPolicy network) {
  tuf::TufOptions o;
  o.staging = a.staging;
  o.network = network;
  if (!a.tuf_url.empty() || !a.tuf_root.empty()) {
    if (a.tuf_url.empty() || a.tuf_root.empty())
      return fail(ErrorCode::kInvalidArgument,
                  "--tuf-url and --tuf-root go together: the repository URL and its initial root.json");
    o.url = a.tuf_url;
    auto root = read_small_file(a.tuf_root, 512u << 10);
    if (!root) return std::unexpected(root.error().with_context("--tuf-root"));
    o.root_json = std::move(*root);
  }
  return o;
}

std::string change_line(std::string_view role, const tuf::VersionChange& c) {
  if (c.before == c.after) return fmt::format("  {:<10} version {} (unchanged)\n", role, c.after);
  if (c.before == 0) return fmt::format("  {:<10} version {} (new)\n", role, c.after);
  return fmt::format("  {:<10} version {} -> {}\n", role, c.before, c.after);
}

int run_update(const TrustArgs& a) {
  auto o = options_from(a, tuf::NetworkPolicy::kAlways);
  if (!o) return report_failure("Updating the trust root", o.error());
  auto t = tuf::fetch_target(*o, "trusted_root.json");
  if (!t) return report_failure("Updating the trust root", t.error());
  out(fmt::format("TUF repository {}\ncache {}\n", tuf::repository_url(*o), t->cache_dir.string()));
  if (t->report) {
    const auto& r = *t->report;
    out(change_line("root", r.root) + change_line("timestamp", r.timestamp) + change_line("snapshot", r.snapshot) +
        change_line("targets", r.targets));
    if (r.fast_forward_recovery)
      out("  the timestamp or snapshot keys were rotated: the cached timestamp and snapshot were replaced\n");
    if (r.targets_changed.empty()) out("  target files unchanged\n");
    for (const auto& name : r.targets_changed) out(fmt::format("  updated {}\n", name));
  }
  out(fmt::format("trusted_root.json valid until {} (timestamp expiry; run `modelsign trust update` again "
                  "before then)\n",
                  tuf::format_time(t->state.timestamp.expires)));
  return finish();
}

// Display only: a field present under both spellings is shown as absent (loading the
// root for verification refuses it).
const bundle::Json* field(const bundle::Json& obj, std::initializer_list<std::string_view> names) {
  auto m = bundle::member(obj, names, "trusted root");
  return m ? *m : nullptr;
}

std::string validity(const bundle::Json& entry) {
  const bundle::Json* v = field(entry, {"validFor", "valid_for"});
  if (v == nullptr) {
    // Logs keep their validity inside publicKey.
    if (const bundle::Json* pk = field(entry, {"publicKey", "public_key"}); pk != nullptr)
      v = field(*pk, {"validFor", "valid_for"});
  }
  if (v == nullptr || !v->is_object()) return "validity not stated";
  auto start = bundle::get_string(*v, {"start"}, "validFor");
  auto end = bundle::get_string(*v, {"end"}, "validFor");
  std::string s = fmt::format("from {}", start ? *start : "?");
  if (end) {
    auto t = tuf::parse_time(*end);
    const bool expired = t && *t < static_cast<tuf::UnixTime>(std::time(nullptr));
    s += fmt::format(" until {}{}", *end, expired ? " (ended)" : "");
  } else {
    s += " (current)";
  }
  return s;
}

std::string name_of(const bundle::Json& entry) {
  for (auto key : {"uri", "baseUrl", "base_url"})
    if (auto s = bundle::get_string(entry, {key}, "entry"); s) return *s;
  return "(no URL)";
}

std::string subject_of(const bundle::Json& entry) {
  const bundle::Json* s = bundle::member(entry, "subject");
  if (s == nullptr) return "";
  auto cn = bundle::get_string(*s, {"commonName", "common_name"}, "subject");
  auto org = bundle::get_string(*s, {"organization"}, "subject");
  return fmt::format(" ({}{}{})", org ? *org : "", org && cn ? ", " : "", cn ? *cn : "");
}

int print_trusted_root(const std::string& json) {
  auto doc = bundle::parse_strict(json, "trusted_root.json", limits::kMaxTrustedRootJsonValues,
                                  limits::kMaxTrustedRootBytes);
  if (!doc) return report_failure("Reading the trusted root", doc.error());
  if (!doc->is_object()) return report_failure("Reading the trusted root", Error(ErrorCode::kMalformed, "not a JSON object"));
  auto section = [&](const char* title, std::initializer_list<std::string_view> keys, bool with_subject) {
    std::string s = fmt::format("{}:\n", title);
    const bundle::Json* arr = field(*doc, keys);
    if (arr == nullptr || !arr->is_array() || arr->empty()) return s + "  (none)\n";
    for (const auto& e : *arr) {
      if (!e.is_object()) continue;
      s += fmt::format("  {}{}\n    valid {}\n", name_of(e), with_subject ? subject_of(e) : "", validity(e));
    }
    return s;
  };
  out(section("Fulcio certificate authorities", {"certificateAuthorities", "certificate_authorities"}, true) +
      section("Transparency logs (Rekor)", {"tlogs"}, false) +
      section("Certificate transparency logs", {"ctlogs"}, false) +
      section("Timestamp authorities", {"timestampAuthorities", "timestamp_authorities"}, true));
  return finish();
}

int run_show(const TrustArgs& a) {
  if (!a.trusted_root.empty()) {
    auto json = read_small_file(a.trusted_root, 16u << 20);
    if (!json) return report_failure("Reading the trusted root", json.error());
    out(fmt::format("Trusted root: {} (given with --trusted-root; TUF not used)\n", a.trusted_root));
    return print_trusted_root(*json);
  }
  auto o = options_from(a, a.offline ? tuf::NetworkPolicy::kNever : tuf::NetworkPolicy::kIfStale);
  if (!o) return report_failure("Showing the trust root", o.error());
  auto t = tuf::fetch_target(*o, "trusted_root.json");
  if (!t) {
    // Say how to bring trust to a machine that cannot refresh it.
    const Error& e = t.error();
    auto cfg = tuf::updater_config(*o);
    std::string flags = !a.tuf_url.empty() ? fmt::format(" --tuf-url {} --tuf-root {}", a.tuf_url, a.tuf_root)
                        : a.staging        ? " --use-staging"
                                           : "";
    if (!cfg) return report_failure("Showing the trust root", e);
    return report_failure("Showing the trust root",
                          Error(e.code, fmt::format("{}. {}", e.message, no_trust_advice(cfg->cache_dir.string(), flags)),
                                e.backend, e.backend_code));
  }
  std::string refreshed = t->refreshed_at ? fmt::format("{} ({})", tuf::format_time(*t->refreshed_at),
                                                        age_text(*t->refreshed_at))
                                          : "unknown";
  out(fmt::format("Trusted root: TUF repository {}\n  root version {}, targets version {}, timestamp valid "
                  "until {}\n  {} (cache last refreshed {})\n",
                  tuf::repository_url(*o), t->state.root.version, t->state.targets.version,
                  tuf::format_time(t->state.timestamp.expires),
                  t->used_network ? "refreshed now" : a.offline ? "offline: from the cache only" : "from the cache",
                  refreshed));
  return print_trusted_root(t->bytes);
}

void add_repository_options(CLI::App* cmd, TrustArgs& a) {
  cmd->add_flag(flag("use-staging"), a.staging, "Sigstore's staging TUF repository instead of production");
  cmd->add_option(flag("tuf-url"), a.tuf_url, "A private TUF repository's URL (with --tuf-root)");
  cmd->add_option(flag("tuf-root"), a.tuf_root,
                  "That repository's initial root.json, obtained out of band (with --tuf-url)");
}

}  // namespace

void register_trust(CLI::App& app, GlobalOptions&, int* rc) {
  static TrustArgs storage;  // lives for the process (the callbacks run after parsing)
  TrustArgs* args = &storage;
  CLI::App* trust = app.add_subcommand("trust", "Sigstore trust material, kept current over TUF");
  trust->require_subcommand(1);
  CLI::App* update = trust->add_subcommand("update", "Refresh the cached trust root from the TUF repository");
  add_repository_options(update, *args);
  update->callback([args, rc] { *rc = run_update(*args); });
  CLI::App* show = trust->add_subcommand(
      "show", "Print the trusted root in use: Fulcio CAs, transparency logs, timestamp authorities");
  add_repository_options(show, *args);
  show->add_flag(flag("offline"), args->offline, "Use only the cache; never the network");
  show->add_option(flag("trusted-root"), args->trusted_root, "Show this trusted_root.json instead (no TUF)");
  show->callback([args, rc] { *rc = run_show(*args); });
}

}  // namespace modelsign::cli
