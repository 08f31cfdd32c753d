#include "signing_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "builtin_signing_configs.h"

namespace modelsign::sigstore {

namespace {

using bundle::Json;

Result<root::TimeRange> valid_for(const Json& o, const std::string& where) {
  auto vf = bundle::get_object(o, {"validFor", "valid_for"}, where);
  if (!vf) return fail(vf.error());
  auto start = bundle::get_string(**vf, {"start"}, where + ".validFor");
  if (!start) return fail(start.error());
  root::TimeRange r;
  auto s = root::parse_rfc3339(*start);
  if (!s) return fail(s.error().with_context(where + ".validFor.start"));
  r.start = *s;
  if (const Json* e = bundle::member(**vf, "end"); e != nullptr && !e->is_null()) {
    if (!e->is_string()) return fail(ErrorCode::kMalformed, fmt::format("{}.validFor.end must be a string", where));
    auto t = root::parse_rfc3339(e->get<std::string>());
    if (!t) return fail(t.error().with_context(where + ".validFor.end"));
    r.end = *t;
  }
  return r;
}

Result<std::vector<Service>> services(const Json& j, std::initializer_list<std::string_view> names,
                                      std::string_view source) {
  std::vector<Service> out;
  auto m = bundle::member(j, names, "signing config");
  if (!m) return fail(m.error());
  if (*m == nullptr || (*m)->is_null()) return out;
  if (!(*m)->is_array() || (*m)->size() > limits::kMaxTrustedRootEntries)
    return fail(ErrorCode::kMalformed, fmt::format("{}: '{}' must be an array of at most {} services", source,
                                                   *names.begin(), limits::kMaxTrustedRootEntries));
  for (std::size_t i = 0; i < (*m)->size(); ++i) {
    const Json& s = (**m)[i];
    std::string where = fmt::format("{}: {}[{}]", source, *names.begin(), i);
    if (!s.is_object()) return fail(ErrorCode::kMalformed, where + " is not an object");
    Service svc;
    auto url = bundle::get_string(s, {"url"}, where);
    if (!url) return fail(url.error());
    svc.url = *url;
    while (!svc.url.empty() && svc.url.back() == '/') svc.url.pop_back();
    auto v = bundle::member(s, {"majorApiVersion", "major_api_version"}, where);
    if (!v) return fail(v.error());
    if (*v == nullptr || !(*v)->is_number_unsigned() || (*v)->get<std::uint64_t>() > 1000)
      return fail(ErrorCode::kMalformed, where + ": majorApiVersion must be a small unsigned number");
    svc.major_api_version = static_cast<std::uint32_t>((*v)->get<std::uint64_t>());
    auto vf = valid_for(s, where);
    if (!vf) return fail(vf.error());
    svc.valid_for = *vf;
    if (const Json* op = bundle::member(s, "operator"); op != nullptr && op->is_string())
      svc.operator_name = op->get<std::string>();
    out.push_back(std::move(svc));
  }
  return out;
}

Result<ServiceSelection> selection(const Json& j, std::initializer_list<std::string_view> names,
                                   std::string_view source) {
  ServiceSelection out;
  auto m = bundle::member(j, names, "signing config");
  if (!m) return fail(m.error());
  if (*m == nullptr || (*m)->is_null()) return out;
  if (!(*m)->is_object()) return fail(ErrorCode::kMalformed, fmt::format("{}: '{}' must be an object", source, *names.begin()));
  const Json* sel = bundle::member(**m, "selector");
  if (sel == nullptr || !sel->is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{}: {}.selector must be ANY, ALL or EXACT", source, *names.begin()));
  const auto& s = sel->get_ref<const std::string&>();
  if (s == "ANY") out.selector = Selector::kAny;
  else if (s == "ALL") out.selector = Selector::kAll;
  else if (s == "EXACT") {
    out.selector = Selector::kExact;
    const Json* c = bundle::member(**m, "count");
    if (c == nullptr || !c->is_number_unsigned() || c->get<std::uint64_t>() == 0 || c->get<std::uint64_t>() > 64)
      return fail(ErrorCode::kMalformed,
                  fmt::format("{}: {} selector EXACT needs a count between 1 and 64", source, *names.begin()));
    out.count = static_cast<std::uint32_t>(c->get<std::uint64_t>());
  } else {
    return fail(ErrorCode::kMalformed, fmt::format("{}: {}.selector '{}' is not ANY, ALL or EXACT (an unspecified "
                                                   "selector cannot be followed)",
                                                   source, *names.begin(), s.substr(0, 64)));
  }
  return out;
}

Result<SigningConfig> from_json(const Json& j, std::string_view source) {
  if (!j.is_object()) return fail(ErrorCode::kMalformed, fmt::format("{}: the signing config is not an object", source));
  auto mt = bundle::get_string(j, {"mediaType", "media_type"}, "signing config");
  if (!mt) return fail(mt.error());
  if (*mt != kSigningConfigMediaType)
    return fail(ErrorCode::kUnsupported,
                fmt::format("{}: signing config media type '{}'; expected '{}' (SigningConfig v0.2)", source,
                            mt->substr(0, 100), kSigningConfigMediaType));
  SigningConfig c;
  c.source = std::string(source);
  auto ca = services(j, {"caUrls", "ca_urls"}, source);
  if (!ca) return fail(ca.error());
  c.ca = std::move(*ca);
  auto oidc = services(j, {"oidcUrls", "oidc_urls"}, source);
  if (!oidc) return fail(oidc.error());
  c.oidc = std::move(*oidc);
  auto tl = services(j, {"rekorTlogUrls", "rekor_tlog_urls"}, source);
  if (!tl) return fail(tl.error());
  c.tlogs = std::move(*tl);
  auto ts = services(j, {"tsaUrls", "tsa_urls"}, source);
  if (!ts) return fail(ts.error());
  c.tsas = std::move(*ts);
  auto tls = selection(j, {"rekorTlogConfig", "rekor_tlog_config"}, source);
  if (!tls) return fail(tls.error());
  c.tlog_selection = *tls;
  auto tss = selection(j, {"tsaConfig", "tsa_config"}, source);
  if (!tss) return fail(tss.error());
  c.tsa_selection = *tss;
  return c;
}

std::string versions_text(const std::vector<std::uint32_t>& v) {
  std::string out;
  for (auto x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
  return out;
}

// Valid now, of a version we speak, and of the highest such version.
std::vector<Service> candidates(const std::vector<Service>& services, const std::vector<std::uint32_t>& versions,
                                std::int64_t now) {
  std::vector<Service> ok;
  std::uint32_t best = 0;
  for (const auto& s : services)
    if (s.valid_for.contains(now) && std::ranges::find(versions, s.major_api_version) != versions.end()) {
      ok.push_back(s);
      best = std::max(best, s.major_api_version);
    }
  std::erase_if(ok, [&](const Service& s) { return s.major_api_version != best; });
  return ok;
}

}  // namespace

Result<SigningConfig> parse_signing_config(std::string_view json, std::string_view source) {
  auto j = bundle::parse_strict(json, source, limits::kMaxTrustedRootJsonValues, limits::kMaxTrustedRootBytes);
  if (!j) return fail(j.error());
  return from_json(*j, source);
}

Result<SigningConfig> parse_trust_config_signing(std::string_view json, std::string_view source) {
  auto j = bundle::parse_strict(json, source, limits::kMaxTrustedRootJsonValues, limits::kMaxTrustedRootBytes);
  if (!j) return fail(j.error());
  if (!j->is_object()) return fail(ErrorCode::kMalformed, fmt::format("{}: not a JSON object", source));
  auto mt = bundle::get_string(*j, {"mediaType", "media_type"}, "trust config");
  if (!mt) return fail(mt.error());
  if (*mt != root::kClientTrustConfigMediaType)
    return fail(ErrorCode::kUnsupported, fmt::format("{}: media type '{}'; expected '{}'", source, mt->substr(0, 100),
                                                     root::kClientTrustConfigMediaType));
  auto sc = bundle::get_object(*j, {"signingConfig", "signing_config"}, "trust config");
  if (!sc) return fail(sc.error().with_context(fmt::format("{} has no signingConfig to sign with", source)));
  return from_json(**sc, source);
}

Result<SigningConfig> builtin_signing_config(bool staging) {
  return parse_signing_config(staging ? kBuiltinSigningConfigStaging : kBuiltinSigningConfigProduction,
                              staging ? "built-in Sigstore staging signing config"
                                      : "built-in Sigstore production signing config");
}

Result<Service> select_one(const std::vector<Service>& services, const std::vector<std::uint32_t>& versions,
                           std::int64_t now, std::string_view what) {
  auto c = candidates(services, versions, now);
  if (c.empty())
    return fail(ErrorCode::kNotFound,
                fmt::format("the signing config lists no {} service valid now with API version {} ({} listed)", what,
                            versions_text(versions), services.size()));
  return c.front();
}

Result<std::vector<Service>> select(const std::vector<Service>& services, const std::vector<std::uint32_t>& versions,
                                    const ServiceSelection& sel, std::int64_t now, std::string_view what) {
  if (services.empty()) return std::vector<Service>{};
  auto c = candidates(services, versions, now);
  std::vector<Service> per_operator;
  std::set<std::string> seen;
  for (auto& s : c)
    if (s.operator_name.empty() || seen.insert(s.operator_name).second) per_operator.push_back(std::move(s));
  if (per_operator.empty())
    return fail(ErrorCode::kNotFound,
                fmt::format("the signing config lists no {} service valid now with API version {} ({} listed)", what,
                            versions_text(versions), services.size()));
  switch (sel.selector) {
    case Selector::kAny: per_operator.resize(1); break;
    case Selector::kAll: break;
    case Selector::kExact:
      if (per_operator.size() < sel.count)
        return fail(ErrorCode::kNotFound,
                    fmt::format("the signing config asks for exactly {} {} services but {} are usable now", sel.count,
                                what, per_operator.size()));
      per_operator.resize(sel.count);
      break;
  }
  return per_operator;
}

}  // namespace modelsign::sigstore
