#include "bundle/bundle.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fmt/format.h>

#include <charconv>
#include <climits>
#include <nlohmann/json.hpp>

#include "bundle/json.h"
#include "bundle/json_writer.h"
#include "bundle/limits.h"
#include "bundle/statement.h"
#include "crypto/encoding.h"

namespace modelsign::bundle {

std::string_view to_string(Material m) {
  switch (m) {
    case Material::kPublicKey: return "public key";
    case Material::kCertificateChain: return "X.509 certificate chain";
    case Material::kSigstore: return "Sigstore (Fulcio certificate and transparency log)";
  }
  return "unknown";
}

namespace {

// Decodes a proto3 `bytes` field, from the tree or, for a long one (the payload), straight
// from the document text: no copy of a payload that may be a hundred megabytes.
Result<Bytes> b64_field(std::string_view document, const Json& obj,
                        std::initializer_list<std::string_view> names, std::string_view where,
                        std::size_t max_decoded) {
  auto v = member(obj, names, where);
  if (!v) return fail(v.error());
  if (*v == nullptr)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, *names.begin()));
  auto raw = long_string(**v, document);
  if (!raw && !(*v)->is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{}: field '{}' must be a base64 string, found {}",
                                                   where, *names.begin(), (*v)->type_name()));
  std::string_view text = raw ? *raw : std::string_view((*v)->get_ref<const std::string&>());
  // Checked on the text, before decoding allocates anything.
  if (text.size() / 4 * 3 > max_decoded)
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: field '{}' holds about {} bytes; the limit is {} bytes, so it cannot be "
                            "a valid signature",
                            where, *names.begin(), text.size() / 4 * 3, max_decoded));
  auto b = base64_decode(text);
  if (!b)
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: field '{}' is not valid base64: {}", where, *names.begin(), b.error().message));
  return b;
}

Result<Bytes> certificate_bytes(std::string_view document, const Json& c, std::string_view where) {
  auto der = b64_field(document, c, {"rawBytes", "raw_bytes"}, where, limits::kMaxCertificateBytes);
  if (!der) return fail(der.error());
  if (der->empty() || der->size() > limits::kMaxCertificateBytes)
    return fail(ErrorCode::kMalformed, fmt::format("{}: certificate of {} bytes (limit {})", where,
                                                   der->size(), limits::kMaxCertificateBytes));
  return der;
}

// proto3 JSON writes int64 as a decimal string; numbers are accepted too.
Result<std::int64_t> int64_field(const Json& obj, std::initializer_list<std::string_view> names,
                                 std::string_view where) {
  auto m = member(obj, names, where);
  if (!m) return fail(m.error());
  const Json* v = *m;
  if (v == nullptr) return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, *names.begin()));
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
  } else if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    std::int64_t out = 0;
    bool ok = !s.empty() && s.size() <= 19;
    for (char c : s) ok = ok && c >= '0' && c <= '9';
    if (ok) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec == std::errc() && end == s.data() + s.size()) return out;
    }
  }
  return fail(ErrorCode::kMalformed,
              fmt::format("{}: field '{}' must be a non-negative 64-bit integer", where, *names.begin()));
}

// b64_field's cap is checked on the text (length / 4 * 3), which counts up to 2 bytes of
// padding: the caps below add them so that the exact size checks after decoding decide.
constexpr std::size_t kPad = 2;

Result<TlogEntry> parse_tlog_entry(std::string_view document, const Json& e) {
  constexpr std::string_view where = "tlogEntries";
  if (!e.is_object()) return fail(ErrorCode::kMalformed, "bundle: a tlogEntries item is not an object");
  TlogEntry t;
  // proto3 JSON leaves out int64 fields that are 0 (entry 0 of a log, e.g. Rekor v2's first).
  auto idm = member(e, {"logIndex", "log_index"}, where);
  if (!idm) return fail(idm.error());
  if (*idm != nullptr) {
    auto idx = int64_field(e, {"logIndex", "log_index"}, where);
    if (!idx) return fail(idx.error());
    t.log_index = *idx;
  }
  auto lid = get_object(e, {"logId", "log_id"}, where);
  if (!lid) return fail(lid.error());
  auto kid = b64_field(document, **lid, {"keyId", "key_id"}, "tlogEntries.logId", 64 + kPad);
  if (!kid) return fail(kid.error());
  if (kid->empty() || kid->size() > 64) return fail(ErrorCode::kMalformed, "bundle: tlogEntries.logId.keyId has a bad size");
  t.log_id = std::move(*kid);
  auto kv = get_object(e, {"kindVersion", "kind_version"}, where);
  if (!kv) return fail(kv.error());
  auto kind = get_string(**kv, {"kind"}, "tlogEntries.kindVersion");
  if (!kind) return fail(kind.error());
  auto ver = get_string(**kv, {"version"}, "tlogEntries.kindVersion");
  if (!ver) return fail(ver.error());
  if (kind->size() > 64 || ver->size() > 64) return fail(ErrorCode::kMalformed, "bundle: tlogEntries.kindVersion too long");
  t.kind = *kind;
  t.version = *ver;
  // Rekor v2 entries have no integrated time (0 or absent): their time comes from a TSA.
  auto itm = member(e, {"integratedTime", "integrated_time"}, where);
  if (!itm) return fail(itm.error());
  if (*itm != nullptr) {
    auto it = int64_field(e, {"integratedTime", "integrated_time"}, where);
    if (!it) return fail(it.error());
    t.integrated_time = *it;
  }
  auto ipm = member(e, {"inclusionPromise", "inclusion_promise"}, where);
  if (!ipm) return fail(ipm.error());
  if (const Json* ip = *ipm; ip != nullptr && !ip->is_null()) {
    if (!ip->is_object()) return fail(ErrorCode::kMalformed, "bundle: inclusionPromise must be an object");
    auto set = b64_field(document, *ip, {"signedEntryTimestamp", "signed_entry_timestamp"}, "inclusionPromise",
                         limits::kMaxSignedEntryTimestampBytes + kPad);
    if (!set) return fail(set.error());
    if (set->empty() || set->size() > limits::kMaxSignedEntryTimestampBytes) return fail(ErrorCode::kMalformed, "bundle: signedEntryTimestamp has a bad size");
    t.signed_entry_timestamp = std::move(*set);
  }
  auto pjm = member(e, {"inclusionProof", "inclusion_proof"}, where);
  if (!pjm) return fail(pjm.error());
  if (const Json* pj = *pjm; pj != nullptr && !pj->is_null()) {
    if (!pj->is_object()) return fail(ErrorCode::kMalformed, "bundle: inclusionProof must be an object");
    InclusionProof p;
    // proto3 JSON omits fields at their default value: sigstore-js writes a proof for index 0
    // without logIndex and one in a single-entry tree without hashes.
    auto pim = member(*pj, {"logIndex", "log_index"}, "inclusionProof");
    if (!pim) return fail(pim.error());
    if (*pim != nullptr) {
      auto pi = int64_field(*pj, {"logIndex", "log_index"}, "inclusionProof");
      if (!pi) return fail(pi.error());
      p.log_index = *pi;
    }
    auto ts = int64_field(*pj, {"treeSize", "tree_size"}, "inclusionProof");
    if (!ts) return fail(ts.error());
    p.tree_size = *ts;
    auto rh = b64_field(document, *pj, {"rootHash", "root_hash"}, "inclusionProof", 64 + kPad);
    if (!rh) return fail(rh.error());
    p.root_hash = std::move(*rh);
    static const Json kNoHashes = Json::array();
    auto hm = member(*pj, {"hashes"}, "inclusionProof");
    if (!hm) return fail(hm.error());
    auto hashes = *hm == nullptr ? Result<const Json*>(&kNoHashes) : get_array(*pj, {"hashes"}, "inclusionProof");
    if (!hashes) return fail(hashes.error());
    if ((*hashes)->size() > limits::kMaxInclusionProofHashes)
      return fail(ErrorCode::kMalformed, fmt::format("bundle: inclusion proof of {} hashes (limit {})",
                                                     (*hashes)->size(), limits::kMaxInclusionProofHashes));
    for (const auto& h : **hashes) {
      if (!h.is_string()) return fail(ErrorCode::kMalformed, "bundle: inclusionProof.hashes must hold strings");
      auto hb = base64_decode(h.get<std::string>());
      if (!hb || hb->size() != 32)
        return fail(ErrorCode::kMalformed, "bundle: an inclusion proof hash is not base64 of 32 bytes");
      p.hashes.push_back(std::move(*hb));
    }
    auto cp = get_object(*pj, {"checkpoint"}, "inclusionProof");
    if (!cp) return fail(cp.error());
    auto env = get_string(**cp, {"envelope"}, "inclusionProof.checkpoint");
    if (!env) return fail(env.error());
    if (env->size() > limits::kMaxCheckpointBytes)
      return fail(ErrorCode::kMalformed, fmt::format("bundle: checkpoint of {} bytes (limit {})", env->size(),
                                                     limits::kMaxCheckpointBytes));
    p.checkpoint = std::move(*env);
    t.inclusion_proof = std::move(p);
  }
  // Up to kMaxCanonicalBodyBytes: a long string, read from the document text.
  auto body = b64_field(document, e, {"canonicalizedBody", "canonicalized_body"}, where,
                        limits::kMaxCanonicalBodyBytes + kPad);
  if (!body) return fail(body.error());
  if (body->empty() || body->size() > limits::kMaxCanonicalBodyBytes)
    return fail(ErrorCode::kMalformed, fmt::format("bundle: canonicalizedBody of {} bytes (limit {})", body->size(),
                                                   limits::kMaxCanonicalBodyBytes));
  t.canonicalized_body = std::move(*body);
  return t;
}

}  // namespace

Result<void> check_bundle_size(std::size_t size, std::size_t limit) {
  // Worded as parse_strict words it for "the signature bundle".
  if (size > limit)
    return fail(ErrorCode::kMalformed, fmt::format("the signature bundle is {} bytes; the limit is {} bytes, "
                                                   "so it cannot be a valid signature",
                                                   size, limit));
  return {};
}

Result<Bundle> parse_bundle_impl(std::string_view text) {
  auto j = parse_strict(text, "the signature bundle", limits::kMaxBundleJsonValues, limits::kMaxBundleBytes);
  if (!j) return fail(j.error());
  if (!j->is_object())
    return fail(ErrorCode::kMalformed, "the signature bundle is not a JSON object");
  Bundle b;
  auto mt = get_string(*j, {"mediaType", "media_type"}, "bundle");
  if (!mt) return fail(mt.error());
  b.media_type = *mt;
  auto bad_media_type = [&] {
    return fail(ErrorCode::kMalformed,
                fmt::format("Invalid sigstore bundle, got media type {} but expected {}", b.media_type,
                            kBundleMediaType));
  };
  // Older keyless bundles (v0.1, v0.2) are accepted for Sigstore material only (below).
  if (b.media_type == "application/vnd.dev.sigstore.bundle+json;version=0.1") b.minor_version = 1;
  else if (b.media_type == "application/vnd.dev.sigstore.bundle+json;version=0.2") b.minor_version = 2;
  else if (b.media_type != kBundleMediaType &&
           b.media_type != "application/vnd.dev.sigstore.bundle+json;version=0.3")
    return bad_media_type();

  auto vm = get_object(*j, {"verificationMaterial", "verification_material"}, "bundle");
  if (!vm) return fail(vm.error());
  auto pk_m = member(**vm, {"publicKey", "public_key"}, "verificationMaterial");
  if (!pk_m) return fail(pk_m.error());
  auto chain_m = member(**vm, {"x509CertificateChain", "x509_certificate_chain"}, "verificationMaterial");
  if (!chain_m) return fail(chain_m.error());
  const Json* pk = *pk_m;
  const Json* chain = *chain_m;
  const Json* cert = member(**vm, "certificate");
  int count = (pk != nullptr) + (chain != nullptr) + (cert != nullptr);
  if (count != 1)
    return fail(ErrorCode::kMalformed,
                fmt::format("bundle: verificationMaterial must hold exactly one of publicKey, "
                            "x509CertificateChain, certificate; found {}",
                            count));
  if (pk != nullptr) {
    b.material = Material::kPublicKey;
    if (!pk->is_object()) return fail(ErrorCode::kMalformed, "bundle: publicKey must be an object");
    if (const Json* h = member(*pk, "hint"); h != nullptr && !h->is_null()) {
      if (!h->is_string()) return fail(ErrorCode::kMalformed, "bundle: publicKey.hint must be a string");
      if (!h->get_ref<const std::string&>().empty()) b.key_hint = h->get<std::string>();
    }
    auto raw = member(*pk, {"rawBytes", "raw_bytes"}, "publicKey");
    if (!raw) return fail(raw.error());
    b.legacy_public_key = *raw != nullptr;
  } else if (chain != nullptr) {
    b.material = Material::kCertificateChain;
    auto certs = get_array(*chain, {"certificates"}, "x509CertificateChain");
    if (!certs) return fail(certs.error());
    if ((*certs)->empty() || (*certs)->size() > limits::kMaxCertificates)
      return fail(ErrorCode::kMalformed,
                  fmt::format("bundle: the certificate chain has {} certificates (expected 1 to {})",
                              (*certs)->size(), limits::kMaxCertificates));
    for (const auto& c : **certs) {
      auto der = certificate_bytes(text, c, "x509CertificateChain");
      if (!der) return fail(der.error());
      b.certificates.push_back(std::move(*der));
    }
  } else {
    b.material = Material::kSigstore;
    auto der = certificate_bytes(text, *cert, "certificate");
    if (!der) return fail(der.error());
    b.certificates.push_back(std::move(*der));
  }
  auto tlog_m = member(**vm, {"tlogEntries", "tlog_entries"}, "verificationMaterial");
  if (!tlog_m) return fail(tlog_m.error());
  const Json* tlog = *tlog_m;
  b.has_tlog_entries_field = tlog != nullptr;
  if (tlog != nullptr) {
    if (!tlog->is_array() || tlog->size() > limits::kMaxTlogEntries)
      return fail(ErrorCode::kMalformed, "bundle: tlogEntries must be an array of at most 16 entries");
    b.tlog_entries = tlog->size();
  }
  // v0.1/v0.2 keyless bundles carry the Fulcio chain as x509CertificateChain; a chain
  // with log entries is keyless material (the certificate method logs nothing).
  if (b.material == Material::kCertificateChain && b.tlog_entries > 0) b.material = Material::kSigstore;
  if (b.minor_version < 3 && b.material != Material::kSigstore) return bad_media_type();
  if (b.material == Material::kSigstore) {
    if (tlog != nullptr)
      for (const auto& e : *tlog) {
        auto entry = parse_tlog_entry(text, e);
        if (!entry) return fail(entry.error());
        b.tlog.push_back(std::move(*entry));
      }
    auto tvd_m = member(**vm, {"timestampVerificationData", "timestamp_verification_data"}, "verificationMaterial");
    if (!tvd_m) return fail(tvd_m.error());
    if (const Json* tvd = *tvd_m; tvd != nullptr && !tvd->is_null()) {
      if (!tvd->is_object()) return fail(ErrorCode::kMalformed, "bundle: timestampVerificationData must be an object");
      auto ts_m = member(*tvd, {"rfc3161Timestamps", "rfc3161_timestamps"}, "timestampVerificationData");
      if (!ts_m) return fail(ts_m.error());
      if (const Json* ts = *ts_m; ts != nullptr && !ts->is_null()) {
        if (!ts->is_array() || ts->size() > limits::kMaxTimestamps)
          return fail(ErrorCode::kMalformed, fmt::format("bundle: rfc3161Timestamps must be an array of at most {}",
                                                         limits::kMaxTimestamps));
        for (const auto& t : *ts) {
          auto der = b64_field(text, t, {"signedTimestamp", "signed_timestamp"}, "rfc3161Timestamps",
                               limits::kMaxTimestampBytes + kPad);
          if (!der) return fail(der.error());
          if (der->empty() || der->size() > limits::kMaxTimestampBytes)
            return fail(ErrorCode::kMalformed, fmt::format("bundle: an RFC 3161 timestamp of {} bytes (limit {})",
                                                           der->size(), limits::kMaxTimestampBytes));
          b.rfc3161_timestamps.push_back(std::move(*der));
        }
      }
    }
  }

  auto msg_sig = member(*j, {"messageSignature", "message_signature"}, "bundle");
  if (!msg_sig) return fail(msg_sig.error());
  if (*msg_sig != nullptr)
    return fail(ErrorCode::kUnsupported,
                "bundle: holds a messageSignature; model signatures use a dsseEnvelope");
  auto env = get_object(*j, {"dsseEnvelope", "dsse_envelope"}, "bundle");
  if (!env) return fail(env.error());
  auto pt = get_string(**env, {"payloadType", "payload_type"}, "dsseEnvelope");
  if (!pt) return fail(pt.error());
  b.payload_type = *pt;
  auto payload = b64_field(text, **env, {"payload"}, "dsseEnvelope", limits::kMaxPayloadBytes);
  if (!payload) return fail(payload.error());
  b.payload = std::move(*payload);
  auto sigs = get_array(**env, {"signatures"}, "dsseEnvelope");
  if (!sigs) return fail(sigs.error());
  if ((*sigs)->empty() || (*sigs)->size() > limits::kMaxSignatures)
    return fail(ErrorCode::kMalformed,
                fmt::format("dsseEnvelope: expected 1 signature, found {}", (*sigs)->size()));
  // keyid may be null, "" or absent (model_signing versions differ); it is not used.
  const Json* kid = member((**sigs)[0], "keyid");
  if (kid != nullptr && !kid->is_null() && !kid->is_string())
    return fail(ErrorCode::kMalformed, "dsseEnvelope: keyid must be a string or null");
  b.keyid_null_or_absent = kid == nullptr || kid->is_null();
  auto sig = b64_field(text, (**sigs)[0], {"sig"}, "dsseEnvelope signature", limits::kMaxDsseSignatureBytes);
  if (!sig) return fail(sig.error());
  if (sig->empty()) return fail(ErrorCode::kMalformed, "dsseEnvelope: the signature is empty");
  b.signature = std::move(*sig);
  return b;
}

Result<TlogEntry> parse_tlog_entry(std::string_view text) {
  auto j = parse_strict(text, "the transparency log entry", limits::kMaxBundleJsonValues, 4u << 20);
  if (!j) return fail(j.error());
  try {
    return parse_tlog_entry(text, *j);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kMalformed, fmt::format("the transparency log entry could not be read: {}", e.what()));
  }
}

Result<Bundle> parse_bundle(std::string_view text) {
  // Untrusted input must end in an error value, never an exception out of the parser.
  try {
    return parse_bundle_impl(text);
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kMalformed,
                fmt::format("ran out of memory reading the signature bundle ({} bytes); raise the "
                            "memory limit or check that the file is the signature you expect",
                            text.size()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kMalformed, fmt::format("the signature bundle could not be read: {}", e.what()));
  }
}

bool may_use_compat_pae(const Bundle& b) {
  // Only model_signing v0.2 signed with the compat PAE, and it wrote nothing but
  // Digests/v0.1 statements in bundles without a key hint, tlogEntries or a string keyid
  // (v1.1+ write all three). The verifier also checks, after the signature, that a
  // statement authenticated this way is a Digests/v0.1 one.
  if (b.key_hint || b.has_tlog_entries_field || !b.keyid_null_or_absent) return false;
  if (b.payload.size() > limits::kMaxLegacyPayloadBytes) return false;
  std::string_view text(reinterpret_cast<const char*>(b.payload.data()), b.payload.size());
  return text.find(kLegacyPredicateType) != std::string_view::npos;
}

namespace {

// proto3 JSON of a TransparencyLogEntry, field order as sigstore clients write it;
// int64 values as decimal strings.
void append_tlog_entry(std::string& out, const TlogEntry& e) {
  out += fmt::format("{{\"logIndex\":\"{}\",\"logId\":{{\"keyId\":\"{}\"}},\"kindVersion\":{{\"kind\":",
                     e.log_index, base64_encode(e.log_id));
  append_json_string(out, e.kind, false);
  out += ",\"version\":";
  append_json_string(out, e.version, false);
  out += '}';
  // Rekor v2 entries have no integrated time: the field is left out, as proto3 does for 0.
  if (e.integrated_time != 0) out += fmt::format(",\"integratedTime\":\"{}\"", e.integrated_time);
  if (e.signed_entry_timestamp)
    out += fmt::format(",\"inclusionPromise\":{{\"signedEntryTimestamp\":\"{}\"}}",
                       base64_encode(*e.signed_entry_timestamp));
  if (e.inclusion_proof) {
    const auto& p = *e.inclusion_proof;
    out += fmt::format(",\"inclusionProof\":{{\"logIndex\":\"{}\",\"rootHash\":\"{}\",\"treeSize\":\"{}\",\"hashes\":[",
                       p.log_index, base64_encode(p.root_hash), p.tree_size);
    for (std::size_t i = 0; i < p.hashes.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      out += base64_encode(p.hashes[i]);
      out += '"';
    }
    out += "],\"checkpoint\":{\"envelope\":";
    append_json_string(out, p.checkpoint, false);
    out += "}}";
  }
  out += ",\"canonicalizedBody\":\"";
  out += base64_encode(e.canonicalized_body);
  out += "\"}";
}

}  // namespace

std::string write_bundle(const Bundle& b) { return write_bundle(b, b.payload); }

// Compact JSON, member order and escaping as nlohmann's dump() of the equivalent tree
// gave (tests/bundle pins the bytes); written straight into one buffer so the largest
// part, the base64 payload, exists once.
std::string write_bundle(const Bundle& b, std::span<const std::uint8_t> payload) {
  std::size_t size = 512 + 4 * ((payload.size() + 2) / 3) + 4 * ((b.signature.size() + 2) / 3);
  for (const auto& c : b.certificates) size += 32 + 4 * ((c.size() + 2) / 3);
  for (const auto& e : b.tlog) size += 4096 + 2 * e.canonicalized_body.size();
  for (const auto& t : b.rfc3161_timestamps) size += 64 + 2 * t.size();
  std::string out;
  out.reserve(size);
  out += "{\"mediaType\":";
  append_json_string(out, b.media_type, false);
  out += ",\"verificationMaterial\":{";
  if (b.material == Material::kPublicKey) {
    out += "\"publicKey\":{\"hint\":";
    append_json_string(out, b.key_hint.value_or(""), false);
    out += '}';
  } else if (b.material == Material::kSigstore && b.certificates.size() == 1) {
    // v0.3 keyless: the Fulcio leaf alone (the chain is in the trusted root).
    out += "\"certificate\":{\"rawBytes\":\"";
    out += base64_encode(b.certificates.front());
    out += "\"}";
  } else {
    out += "\"x509CertificateChain\":{\"certificates\":[";
    for (std::size_t i = 0; i < b.certificates.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"rawBytes\":\"";
      out += base64_encode(b.certificates[i]);
      out += "\"}";
    }
    out += "]}";
  }
  out += ",\"tlogEntries\":[";
  for (std::size_t i = 0; i < b.tlog.size(); ++i) {
    if (i > 0) out += ',';
    append_tlog_entry(out, b.tlog[i]);
  }
  out += ']';
  if (!b.rfc3161_timestamps.empty()) {
    out += ",\"timestampVerificationData\":{\"rfc3161Timestamps\":[";
    for (std::size_t i = 0; i < b.rfc3161_timestamps.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"signedTimestamp\":\"";
      out += base64_encode(b.rfc3161_timestamps[i]);
      out += "\"}";
    }
    out += "]}";
  }
  out += "},\"dsseEnvelope\":{\"payload\":\"";
  // Encoded in place, in 3-byte-aligned blocks: no second copy of the payload.
  constexpr std::size_t kBlock = 3 * 16384;
  for (std::size_t off = 0; off < payload.size(); off += kBlock) {
    std::size_t n = std::min(kBlock, payload.size() - off);
    std::size_t at = out.size();
    out.resize(at + 4 * ((n + 2) / 3) + 1);
    int w = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at), payload.data() + off,
                            static_cast<int>(n));
    out.resize(at + static_cast<std::size_t>(w));
  }
  out += "\",\"payloadType\":";
  append_json_string(out, b.payload_type, false);
  out += ",\"signatures\":[{\"sig\":\"";
  out += base64_encode(b.signature);
  // Keyless bundles carry no keyid (as upstream's keyless fixtures); key bundles "".
  out += b.material == Material::kSigstore ? "\"}]}}" : "\",\"keyid\":\"\"}]}}";
  return out;
}

}  // namespace modelsign::bundle
