#include "tuf/metadata.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <chrono>
#include <set>

#include "bundle/limits.h"
#include "crypto/encoding.h"
#include "modelsign/crypto.h"
#include "tuf/canonical_json.h"
#include "tuf/errors.h"

namespace modelsign::tuf {

using bundle::Json;

namespace {

std::unexpected<Error> malformed(std::string msg) {
  return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed, std::move(msg));
}

Result<std::uint64_t> get_uint(const Json& obj, std::string_view name, std::string_view where,
                               std::uint64_t min) {
  const Json* v = bundle::member(obj, name);
  if (v == nullptr) return malformed(fmt::format("{}: missing field '{}'", where, name));
  std::uint64_t n = 0;
  if (v->is_number_unsigned()) {
    n = v->get<std::uint64_t>();
  } else if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    n = static_cast<std::uint64_t>(v->get<std::int64_t>());
  } else {
    return malformed(fmt::format("{}: field '{}' must be a non-negative integer, found {}", where, name,
                                 v->dump().substr(0, 40)));
  }
  // Versions and lengths beyond 2^53 have no exact JSON representation in most clients.
  if (n < min || n > (std::uint64_t{1} << 53))
    return malformed(fmt::format("{}: field '{}' is {}, outside [{}, 2^53]", where, name, n, min));
  return n;
}

Result<std::string> str(const Json& obj, std::string_view name, std::string_view where) {
  auto s = bundle::get_string(obj, {name}, where);
  if (!s) return malformed(s.error().message);
  return s;
}

Result<const Json*> obj_field(const Json& obj, std::string_view name, std::string_view where) {
  auto o = bundle::get_object(obj, {name}, where);
  if (!o) return malformed(o.error().message);
  return o;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

Result<std::map<std::string, std::string>> parse_hashes(const Json& hashes, std::string_view where) {
  if (!hashes.is_object() || hashes.empty() || hashes.size() > 8)
    return malformed(fmt::format("{}: 'hashes' must be an object of 1 to 8 algorithm: hex entries", where));
  std::map<std::string, std::string> out;
  for (auto it = hashes.begin(); it != hashes.end(); ++it) {
    if (!it.value().is_string() || it.value().get_ref<const std::string&>().size() > 256 ||
        !is_lower_hex(it.value().get_ref<const std::string&>()))
      return malformed(fmt::format("{}: hash '{}' must be a lowercase hex string", where, it.key()));
    out.emplace(it.key(), it.value().get<std::string>());
  }
  return out;
}

Result<MetaFile> parse_metafile(const Json& v, std::string_view where) {
  if (!v.is_object()) return malformed(fmt::format("{}: must be an object", where));
  MetaFile m;
  auto version = get_uint(v, "version", where, 1);
  if (!version) return std::unexpected(version.error());
  m.version = *version;
  if (bundle::member(v, "length") != nullptr) {
    auto length = get_uint(v, "length", where, 0);
    if (!length) return std::unexpected(length.error());
    m.length = *length;
  }
  if (const Json* h = bundle::member(v, "hashes"); h != nullptr) {
    auto hashes = parse_hashes(*h, where);
    if (!hashes) return std::unexpected(hashes.error());
    m.hashes = std::move(*hashes);
  }
  return m;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

Result<UnixTime> parse_time(std::string_view t) {
  auto bad = [&] {
    return malformed(fmt::format("'{}' is not an RFC 3339 time like 2026-08-28T19:25:56Z",
                                 t.substr(0, 64)));
  };
  if (t.size() < 20 || t.size() > 40) return bad();
  auto num = [&](std::size_t pos, std::size_t len, unsigned& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(t[i] - '0');
    }
    return true;
  };
  unsigned y, mo, d, h, mi, s;
  if (!num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' || !num(8, 2, d) ||
      (t[10] != 'T' && t[10] != 't') || !num(11, 2, h) || t[13] != ':' || !num(14, 2, mi) ||
      t[16] != ':' || !num(17, 2, s))
    return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  std::size_t pos = 19;
  if (t[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') ++pos;
    if (pos == start) return bad();  // fractions only make the expiry earlier; dropped
  }
  std::int64_t offset = 0;
  if (pos == t.size()) return bad();
  if ((t[pos] == 'Z' || t[pos] == 'z') && pos + 1 == t.size()) {
    offset = 0;
  } else if ((t[pos] == '+' || t[pos] == '-') && pos + 6 == t.size() && t[pos + 3] == ':') {
    unsigned oh, om;
    if (!num(pos + 1, 2, oh) || !num(pos + 4, 2, om) || oh > 23 || om > 59) return bad();
    offset = (t[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
  } else {
    return bad();
  }
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
}

std::string format_time(UnixTime t) {
  using namespace std::chrono;
  sys_seconds tp{seconds{t}};
  auto day = floor<days>(tp);
  year_month_day ymd{day};
  hh_mm_ss hms{tp - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

Result<Envelope> parse_envelope(std::string_view bytes, std::string_view type, std::size_t max_bytes) {
  if (bytes.size() > max_bytes)
    return tuf_fail(Failure::kTooLarge, ErrorCode::kMalformed,
                    fmt::format("{} metadata is {} bytes; the limit is {} bytes", type, bytes.size(), max_bytes));
  std::string what = fmt::format("{} metadata", type);
  // A string longer than limits::kMaxJsonStringBytes is kept as a marker that
  // canonical_json() refuses: TUF metadata has no field that long.
  auto doc = bundle::parse_strict(bytes, what, limits::kMaxTufJsonValues, max_bytes);
  if (!doc) return malformed(doc.error().message);
  if (!doc->is_object() || doc->size() != 2)
    return malformed(what + ": must be an object with exactly 'signatures' and 'signed'");
  auto sigs = bundle::get_array(*doc, {"signatures"}, what);
  auto signed_part = bundle::get_object(*doc, {"signed"}, what);
  if (!sigs) return malformed(sigs.error().message);
  if (!signed_part) return malformed(signed_part.error().message);
  Envelope env;
  if ((*sigs)->size() > limits::kMaxTufSignatures)
    return malformed(fmt::format("{}: {} signatures; the limit is {}", what, (*sigs)->size(),
                                 limits::kMaxTufSignatures));
  for (const Json& s : **sigs) {
    if (!s.is_object()) return malformed(what + ": each signature must be an object");
    auto keyid = str(s, "keyid", what + " signature");
    auto sig = str(s, "sig", what + " signature");
    if (!keyid) return std::unexpected(keyid.error());
    if (!sig) return std::unexpected(sig.error());
    env.signatures.push_back({std::move(*keyid), std::move(*sig)});
  }
  const Json& sp = **signed_part;
  auto t = str(sp, "_type", what);
  if (!t) return std::unexpected(t.error());
  if (*t != type)
    return malformed(fmt::format("{}: expected _type '{}', found '{}'", what, type, t->substr(0, 40)));
  env.type = *t;
  auto spec = str(sp, "spec_version", what);
  if (!spec) return std::unexpected(spec.error());
  if (!(spec->starts_with("1.") || *spec == "1"))
    return tuf_fail(Failure::kMalformed, ErrorCode::kUnsupported,
                    fmt::format("{}: spec_version '{}' is not 1.x; this client implements TUF 1.0",
                                what, spec->substr(0, 20)));
  auto version = get_uint(sp, "version", what, 1);
  if (!version) return std::unexpected(version.error());
  env.version = *version;
  auto expires = str(sp, "expires", what);
  if (!expires) return std::unexpected(expires.error());
  auto exp = parse_time(*expires);
  if (!exp) return malformed(fmt::format("{}: expires: {}", what, exp.error().message));
  env.expires = *exp;
  auto canon = canonical_json(sp);
  if (!canon) return std::unexpected(canon.error());
  env.canonical = std::move(*canon);
  env.signed_part = sp;
  return env;
}

Result<Root> parse_root(const Envelope& env) {
  const std::string where = fmt::format("root metadata version {}", env.version);
  const Json& sp = env.signed_part;
  Root r;
  r.version = env.version;
  r.expires = env.expires;
  if (const Json* cs = bundle::member(sp, "consistent_snapshot"); cs != nullptr) {
    if (!cs->is_boolean()) return malformed(where + ": consistent_snapshot must be true or false");
    r.consistent_snapshot = cs->get<bool>();
  }
  auto keys = obj_field(sp, "keys", where);
  if (!keys) return std::unexpected(keys.error());
  if ((*keys)->size() > limits::kMaxTufKeys)
    return malformed(fmt::format("{}: {} keys; the limit is {}", where, (*keys)->size(), limits::kMaxTufKeys));
  for (auto it = (*keys)->begin(); it != (*keys)->end(); ++it) {
    auto k = parse_key(it.key(), it.value());
    if (!k) return std::unexpected(k.error().with_context(where));
    r.keys.emplace(it.key(), std::move(*k));
  }
  auto roles = obj_field(sp, "roles", where);
  if (!roles) return std::unexpected(roles.error());
  for (std::string_view name : {"root", "timestamp", "snapshot", "targets"}) {
    auto role = obj_field(**roles, name, where + ".roles");
    if (!role) return std::unexpected(role.error());
    const std::string rw = fmt::format("{}: role '{}'", where, name);
    auto threshold = get_uint(**role, "threshold", rw, 1);
    if (!threshold) return std::unexpected(threshold.error());
    const Json* ids = bundle::member(**role, "keyids");
    if (ids == nullptr || !ids->is_array() || ids->size() > limits::kMaxTufRoleKeyids)
      return malformed(fmt::format("{}: keyids must be an array of at most {} keyids", rw,
                                   limits::kMaxTufRoleKeyids));
    RoleKeys rk;
    rk.threshold = *threshold;
    std::set<std::string> seen;
    for (const Json& id : *ids) {
      if (!id.is_string()) return malformed(rw + ": each keyid must be a string");
      const auto& s = id.get_ref<const std::string&>();
      if (!r.keys.contains(s))
        return malformed(fmt::format("{}: keyid {} is not among the root's keys", rw, s.substr(0, 80)));
      if (!seen.insert(s).second) return malformed(fmt::format("{}: keyid {} is listed twice", rw, s));
      rk.keyids.push_back(s);
    }
    if (rk.threshold > rk.keyids.size())
      return malformed(fmt::format("{}: threshold {} exceeds its {} keys; no signatures could meet it", rw,
                                   rk.threshold, rk.keyids.size()));
    r.roles.emplace(std::string(name), std::move(rk));
  }
  return r;
}

Result<Timestamp> parse_timestamp(const Envelope& env) {
  const std::string where = fmt::format("timestamp metadata version {}", env.version);
  auto meta = obj_field(env.signed_part, "meta", where);
  if (!meta) return std::unexpected(meta.error());
  const Json* snap = bundle::member(**meta, "snapshot.json");
  if (snap == nullptr || (*meta)->size() != 1)
    return malformed(where + ": meta must hold exactly one entry, 'snapshot.json'");
  auto m = parse_metafile(*snap, where + ".meta.snapshot.json");
  if (!m) return std::unexpected(m.error());
  return Timestamp{env.version, env.expires, std::move(*m)};
}

Result<Snapshot> parse_snapshot(const Envelope& env) {
  const std::string where = fmt::format("snapshot metadata version {}", env.version);
  auto meta = obj_field(env.signed_part, "meta", where);
  if (!meta) return std::unexpected(meta.error());
  if ((*meta)->size() > limits::kMaxTufMetaEntries)
    return malformed(fmt::format("{}: {} meta entries; the limit is {}", where, (*meta)->size(),
                                 limits::kMaxTufMetaEntries));
  Snapshot s{env.version, env.expires, {}};
  for (auto it = (*meta)->begin(); it != (*meta)->end(); ++it) {
    auto m = parse_metafile(it.value(), fmt::format("{}.meta.{}", where, it.key().substr(0, 80)));
    if (!m) return std::unexpected(m.error());
    s.meta.emplace(it.key(), std::move(*m));
  }
  if (!s.meta.contains("targets.json")) return malformed(where + ": meta has no 'targets.json' entry");
  return s;
}

Result<Targets> parse_targets(const Envelope& env) {
  const std::string where = fmt::format("targets metadata version {}", env.version);
  auto targets = obj_field(env.signed_part, "targets", where);
  if (!targets) return std::unexpected(targets.error());
  if ((*targets)->size() > limits::kMaxTufTargets)
    return malformed(fmt::format("{}: {} targets; the limit is {}", where, (*targets)->size(),
                                 limits::kMaxTufTargets));
  Targets t{env.version, env.expires, {}};
  for (auto it = (*targets)->begin(); it != (*targets)->end(); ++it) {
    const std::string tw = fmt::format("{}: target '{}'", where, it.key().substr(0, 120));
    if (!it.value().is_object()) return malformed(tw + ": must be an object");
    auto length = get_uint(it.value(), "length", tw, 0);
    if (!length) return std::unexpected(length.error());
    const Json* h = bundle::member(it.value(), "hashes");
    if (h == nullptr) return malformed(tw + ": missing field 'hashes'");
    auto hashes = parse_hashes(*h, tw);
    if (!hashes) return std::unexpected(hashes.error());
    t.targets.emplace(it.key(), TargetFile{*length, std::move(*hashes)});
  }
  return t;
}

Result<void> verify_role(const Root& signer, std::string_view role, const Envelope& env,
                         std::string_view what) {
  auto rit = signer.roles.find(std::string(role));
  if (rit == signer.roles.end())
    return malformed(fmt::format("root version {} defines no role '{}'", signer.version, role));
  const RoleKeys& rk = rit->second;
  std::set<std::string> used_keyids;
  std::set<std::string> used_keys;
  for (const auto& s : env.signatures) {
    if (std::find(rk.keyids.begin(), rk.keyids.end(), s.keyid) == rk.keyids.end()) continue;
    if (used_keyids.contains(s.keyid)) continue;
    auto kit = signer.keys.find(s.keyid);
    if (kit == signer.keys.end()) continue;
    if (used_keys.contains(kit->second.spki_der) && !kit->second.spki_der.empty()) continue;
    if (!verify_signature(kit->second, s.sig, env.canonical)) continue;
    used_keyids.insert(s.keyid);
    used_keys.insert(kit->second.spki_der);
  }
  if (used_keys.size() < rk.threshold)
    return tuf_fail(Failure::kThresholdNotMet, ErrorCode::kVerification,
                    fmt::format("{}: {} valid signature(s) from distinct '{}' keys of root version {}; "
                                "the threshold is {}. The file was not signed by the repository's keys: "
                                "do not use this mirror, or check --tuf-root",
                                what, used_keys.size(), role, signer.version, rk.threshold));
  return {};
}

Result<void> check_length_and_hashes(std::string_view bytes, std::optional<std::uint64_t> length,
                                     const std::map<std::string, std::string>& hashes, bool require_hash,
                                     std::string_view what) {
  if (length && bytes.size() != *length)
    return tuf_fail(Failure::kLengthMismatch, ErrorCode::kVerification,
                    fmt::format("{}: expected {} bytes, found {}", what, *length, bytes.size()));
  bool checked = false;
  for (const auto& [alg, expected] : hashes) {
    const char* md = alg == "sha256" ? "SHA256" : alg == "sha512" ? "SHA512" : nullptr;
    if (md == nullptr) continue;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out, &len, EVP_get_digestbyname(md), nullptr) != 1)
      return fail(ErrorCode::kInternal, "cannot compute a digest");
    std::string found = to_hex(std::span<const std::uint8_t>(out, len));
    if (found != expected)
      return tuf_fail(Failure::kHashMismatch, ErrorCode::kVerification,
                      fmt::format("{}: expected {} {}, found {}. The file was altered or replaced: "
                                  "do not use it",
                                  what, alg, expected, found));
    checked = true;
  }
  if (require_hash && !checked)
    return tuf_fail(Failure::kMalformed, ErrorCode::kUnsupported,
                    fmt::format("{}: no sha256 or sha512 hash recorded; cannot check the file", what));
  return {};
}

}  // namespace modelsign::tuf
