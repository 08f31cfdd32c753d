#include "root/trusted_root.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include <openssl/x509.h>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "root/builtin_roots.h"

namespace modelsign::root {

using bundle::Json;

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// `doc` is the document text: a certificate of more than ~48 KiB is a long string
// (bundle/json.h), read from the text.
Result<Bytes> b64(std::string_view doc, const Json& obj, std::initializer_list<std::string_view> names,
                  std::string_view where, std::size_t limit) {
  auto m = bundle::member(obj, names, where);
  if (!m) return fail(m.error());
  if (*m == nullptr)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, *names.begin()));
  auto raw = bundle::long_string(**m, doc);
  if (!raw && !(*m)->is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{}: field '{}' must be a string", where, *names.begin()));
  std::string_view text = raw ? *raw : std::string_view((*m)->get_ref<const std::string&>());
  // Checked on the text (which counts up to 2 bytes of padding) before decoding.
  if (text.size() / 4 * 3 > limit + 2)
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: '{}' must be non-empty base64 of at most {} bytes", where, *names.begin(), limit));
  auto b = base64_decode(text);
  if (!b || b->empty() || b->size() > limit)
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: '{}' must be non-empty base64 of at most {} bytes", where, *names.begin(), limit));
  return b;
}

Result<TimeRange> valid_for(const Json& parent, std::string_view where) {
  TimeRange r;
  auto vf_m = bundle::member(parent, {"validFor", "valid_for"}, where);
  if (!vf_m) return fail(vf_m.error());
  const Json* vf = *vf_m;
  if (vf == nullptr || !vf->is_object())
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing object 'validFor'", where));
  auto start = bundle::get_string(*vf, {"start"}, fmt::format("{}.validFor", where));
  if (!start) return fail(start.error());
  auto s = parse_rfc3339(*start);
  if (!s) return fail(s.error().with_context(fmt::format("{}.validFor.start", where)));
  r.start = *s;
  if (const Json* e = bundle::member(*vf, "end"); e != nullptr && !e->is_null()) {
    if (!e->is_string()) return fail(ErrorCode::kMalformed, fmt::format("{}.validFor.end must be a string", where));
    auto t = parse_rfc3339(e->get<std::string>());
    if (!t) return fail(t.error().with_context(fmt::format("{}.validFor.end", where)));
    if (*t < r.start)
      return fail(ErrorCode::kMalformed, fmt::format("{}: validFor ends before it starts", where));
    r.end = *t;
  }
  return r;
}

Result<PublicKey> key_from(std::span<const std::uint8_t> der, std::string_view details, std::string_view where) {
  // Old staging CT logs list a bare PKCS#1 RSAPublicKey instead of an SPKI.
  if (details.starts_with("PKCS1_RSA")) {
    const unsigned char* p = der.data();
    EVP_PKEY* k = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
    if (k == nullptr) return fail(openssl_error(ErrorCode::kMalformed, fmt::format("{}: bad PKCS#1 RSA key", where)));
    ossl::UniquePtr<EVP_PKEY> own(k);
    return public_key_from_pkey(k);
  }
  auto k = PublicKey::from_spki_der(der);
  if (!k) return fail(k.error().with_context(where));
  return k;
}

Result<std::vector<LogKey>> parse_logs(std::string_view doc, const Json& root, std::initializer_list<std::string_view> names,
                                       std::string_view what) {
  std::vector<LogKey> out;
  auto arr_m = bundle::member(root, names, "trusted root");
  if (!arr_m) return fail(arr_m.error());
  const Json* arr = *arr_m;
  if (arr == nullptr || arr->is_null()) return out;
  if (!arr->is_array() || arr->size() > limits::kMaxTrustedRootEntries)
    return fail(ErrorCode::kMalformed, fmt::format("trusted root: '{}' must be an array of at most {} logs",
                                                   *names.begin(), limits::kMaxTrustedRootEntries));
  std::size_t i = 0;
  for (const Json& l : *arr) {
    std::string where = fmt::format("trusted root {}[{}]", what, i++);
    if (!l.is_object()) return fail(ErrorCode::kMalformed, where + " must be an object");
    std::string url;
    auto u = bundle::member(l, {"baseUrl", "base_url"}, where);
    if (!u) return fail(u.error());
    if (*u != nullptr && (*u)->is_string()) url = (*u)->get<std::string>();
    auto pk = bundle::get_object(l, {"publicKey", "public_key"}, where);
    if (!pk) return fail(pk.error());
    std::string details;
    auto d = bundle::member(**pk, {"keyDetails", "key_details"}, where + ".publicKey");
    if (!d) return fail(d.error());
    if (*d != nullptr && (*d)->is_string()) details = (*d)->get<std::string>();
    auto der = b64(doc, **pk, {"rawBytes", "raw_bytes"}, where + ".publicKey", limits::kMaxLogKeyBytes);
    if (!der) return fail(der.error());
    auto vf = valid_for(**pk, where + ".publicKey");
    if (!vf) return fail(vf.error());
    auto lid = bundle::get_object(l, {"logId", "log_id"}, where);
    if (!lid) return fail(lid.error());
    auto id = b64(doc, **lid, {"keyId", "key_id"}, where + ".logId", 64);
    if (!id) return fail(id.error());
    auto key = key_from(*der, details, where);
    if (!key) return fail(key.error());
    out.push_back(LogKey{url, std::move(*id), details, std::move(*der), std::move(*key), *vf});
  }
  return out;
}

Result<std::vector<CertificateAuthority>> parse_cas(std::string_view doc, const Json& root, std::initializer_list<std::string_view> names,
                                                    std::string_view what) {
  std::vector<CertificateAuthority> out;
  auto arr_m = bundle::member(root, names, "trusted root");
  if (!arr_m) return fail(arr_m.error());
  const Json* arr = *arr_m;
  if (arr == nullptr || arr->is_null()) return out;
  if (!arr->is_array() || arr->size() > limits::kMaxTrustedRootEntries)
    return fail(ErrorCode::kMalformed, fmt::format("trusted root: '{}' must be an array of at most {} entries",
                                                   *names.begin(), limits::kMaxTrustedRootEntries));
  std::size_t i = 0;
  for (const Json& c : *arr) {
    std::string where = fmt::format("trusted root {}[{}]", what, i++);
    if (!c.is_object()) return fail(ErrorCode::kMalformed, where + " must be an object");
    CertificateAuthority ca;
    if (const Json* u = bundle::member(c, "uri"); u != nullptr && u->is_string()) ca.uri = u->get<std::string>();
    if (const Json* s = bundle::member(c, "subject"); s != nullptr && s->is_object()) {
      std::vector<std::string> parts;
      // Display only: either spelling of the common name will do.
      for (auto k : {"organization", "commonName", "common_name"})
        if (const Json* v = bundle::member(*s, k); v != nullptr && v->is_string()) parts.push_back(v->get<std::string>());
      ca.subject = fmt::format("{}", fmt::join(parts, "/"));
    }
    auto chain = bundle::get_object(c, {"certChain", "cert_chain"}, where);
    if (!chain) return fail(chain.error());
    auto certs = bundle::get_array(**chain, {"certificates"}, where + ".certChain");
    if (!certs) return fail(certs.error());
    if ((*certs)->empty() || (*certs)->size() > limits::kMaxCertificates)
      return fail(ErrorCode::kMalformed, fmt::format("{}: certChain holds {} certificates (expected 1 to {})",
                                                     where, (*certs)->size(), limits::kMaxCertificates));
    for (const Json& cert : **certs) {
      if (!cert.is_object()) return fail(ErrorCode::kMalformed, where + ": certificate must be an object");
      auto der = b64(doc, cert, {"rawBytes", "raw_bytes"}, where + ".certChain", limits::kMaxCertificateBytes);
      if (!der) return fail(der.error());
      const unsigned char* p = der->data();
      ossl::UniquePtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
      if (!x || p != der->data() + der->size()) return fail(openssl_error(ErrorCode::kMalformed, where + ": a certificate is not DER X.509"));
      ca.chain.push_back(std::move(*der));
    }
    auto vf = valid_for(c, where);
    if (!vf) return fail(vf.error());
    ca.valid_for = *vf;
    out.push_back(std::move(ca));
  }
  return out;
}

Result<TrustedRoot> from_json(std::string_view doc, const Json& j, std::string source) {
  if (!j.is_object()) return fail(ErrorCode::kMalformed, "trusted root: not a JSON object");
  auto mt = bundle::get_string(j, {"mediaType", "media_type"}, "trusted root");
  if (!mt) return fail(mt.error());
  if (*mt != kTrustedRootMediaType && *mt != kTrustedRootMediaTypeV01)
    return fail(ErrorCode::kUnsupported, fmt::format("trusted root: media type '{}' is not supported (expected {})",
                                                     *mt, kTrustedRootMediaType));
  TrustedRoot r;
  r.source = std::move(source);
  auto tl = parse_logs(doc, j, {"tlogs"}, "tlogs");
  if (!tl) return fail(tl.error());
  r.tlogs = std::move(*tl);
  auto ct = parse_logs(doc, j, {"ctlogs"}, "ctlogs");
  if (!ct) return fail(ct.error());
  r.ctlogs = std::move(*ct);
  auto cas = parse_cas(doc, j, {"certificateAuthorities", "certificate_authorities"}, "certificateAuthorities");
  if (!cas) return fail(cas.error());
  r.certificate_authorities = std::move(*cas);
  auto tsas = parse_cas(doc, j, {"timestampAuthorities", "timestamp_authorities"}, "timestampAuthorities");
  if (!tsas) return fail(tsas.error());
  r.timestamp_authorities = std::move(*tsas);
  if (r.certificate_authorities.empty())
    return fail(ErrorCode::kMalformed, "trusted root: lists no Fulcio certificate authority");
  return r;
}

Result<Json> parse_bounded(std::string_view text, std::string_view what) {
  if (text.size() > limits::kMaxTrustedRootBytes)
    return fail(ErrorCode::kMalformed, fmt::format("{} is {} bytes; the limit is {} bytes", what, text.size(),
                                                   limits::kMaxTrustedRootBytes));
  return bundle::parse_strict(text, what, limits::kMaxTrustedRootJsonValues, limits::kMaxTrustedRootBytes);
}

}  // namespace

std::string TimeRange::describe() const {
  return fmt::format("{} .. {}", format_time(start), end ? format_time(*end) : std::string("(open)"));
}

const LogKey* TrustedRoot::find_tlog(std::span<const std::uint8_t> id) const {
  for (const auto& l : tlogs)
    if (std::ranges::equal(l.log_id, id)) return &l;
  return nullptr;
}
const LogKey* TrustedRoot::find_ctlog(std::span<const std::uint8_t> id) const {
  for (const auto& l : ctlogs)
    if (std::ranges::equal(l.log_id, id)) return &l;
  return nullptr;
}

Result<TrustedRoot> parse_trusted_root(std::string_view json, std::string_view source) {
  auto j = parse_bounded(json, fmt::format("trusted root '{}'", source));
  if (!j) return fail(j.error());
  auto r = from_json(json, *j, std::string(source));
  if (!r) return fail(r.error().with_context(fmt::format("'{}'", source)));
  return r;
}

Result<TrustedRoot> parse_trust_config(std::string_view json, std::string_view source) {
  auto j = parse_bounded(json, fmt::format("trust config '{}'", source));
  if (!j) return fail(j.error());
  auto mt = bundle::get_string(*j, {"mediaType", "media_type"}, "trust config");
  if (!mt) return fail(mt.error());
  if (*mt != kClientTrustConfigMediaType)
    return fail(ErrorCode::kUnsupported,
                fmt::format("trust config '{}': media type '{}' is not supported (expected {}); for a bare "
                            "trusted_root.json use --trusted-root",
                            source, *mt, kClientTrustConfigMediaType));
  auto tr = bundle::get_object(*j, {"trustedRoot", "trusted_root"}, "trust config");
  if (!tr) return fail(tr.error());
  auto r = from_json(json, **tr, std::string(source));
  if (!r) return fail(r.error().with_context(fmt::format("trust config '{}'", source)));
  return r;
}

Result<TrustedRoot> builtin_root(bool staging) {
  std::string_view text = staging ? builtin::kStagingTrustedRoot : builtin::kProductionTrustedRoot;
  return parse_trusted_root(text, fmt::format("built-in Sigstore {} root of {}", staging ? "staging" : "production",
                                              builtin_root_date(staging)));
}

std::string_view builtin_root_date(bool staging) {
  return staging ? builtin::kStagingTrustedRootDate : builtin::kProductionTrustedRootDate;
}

Result<std::int64_t> parse_rfc3339(std::string_view s) {
  auto bad = [&] {
    return fail(ErrorCode::kMalformed,
                fmt::format("'{}' is not an RFC 3339 time (expected e.g. 2025-01-31T12:00:00Z)", s.substr(0, 64)));
  };
  int Y, M, D, h, m, sec;
  if (s.size() < 20 || !digits(s, 0, 4, &Y) || s[4] != '-' || !digits(s, 5, 2, &M) || s[7] != '-' ||
      !digits(s, 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, &h) || s[13] != ':' ||
      !digits(s, 14, 2, &m) || s[16] != ':' || !digits(s, 17, 2, &sec))
    return bad();
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) ++n;
    if (n == 0 || n > 9) return bad();
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, &om) ||
        oh > 23 || om > 59)
      return bad();
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size() || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return bad();
  struct tm t {};
  t.tm_year = Y - 1900;
  t.tm_mon = M - 1;
  t.tm_mday = D;
  t.tm_hour = h;
  t.tm_min = m;
  t.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&t)) - offset;
}

std::string format_time(std::int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tmv {};
  if (gmtime_r(&tt, &tmv) == nullptr) return fmt::format("@{}", t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

}  // namespace modelsign::root
