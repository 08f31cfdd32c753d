#include "tlog/tlog.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "crypto/x509.h"

namespace modelsign::tlog {

namespace {

Bytes sha256_of(std::initializer_list<std::span<const std::uint8_t>> parts) {
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (auto p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
  Bytes out(32);
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string_view hash_of_details(std::string_view details) {
  if (details.ends_with("SHA_384") || details.ends_with("SHA384")) return "SHA384";
  if (details.ends_with("SHA_512") || details.ends_with("SHA512")) return "SHA512";
  return "SHA256";
}

// `doc` is the body text: a verifier (base64 of a PEM certificate) of a large certificate
// can be a long string (bundle/json.h), read from the text.
Result<Bytes> b64_member(std::string_view doc, const bundle::Json& o, std::initializer_list<std::string_view> names,
                         std::string_view where) {
  auto m = bundle::member(o, names, where);
  if (!m) return fail(m.error());
  if (*m == nullptr) return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, *names.begin()));
  auto raw = bundle::long_string(**m, doc);
  if (!raw && !(*m)->is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{}: field '{}' must be a string", where, *names.begin()));
  auto b = base64_decode(raw ? *raw : std::string_view((*m)->get_ref<const std::string&>()));
  if (!b) return fail(ErrorCode::kMalformed, fmt::format("{}: '{}' is not base64", where, *names.begin()));
  return b;
}

Result<void> body_mismatch(std::string_view what) {
  return fail(ErrorCode::kVerification,
              fmt::format("the Rekor entry does not match the bundle: {}; the entry records another signature "
                          "or the bundle was altered",
                          what));
}

Result<void> check_dsse_v001(std::string_view doc, const bundle::Json& spec, const bundle::Bundle& b) {
  auto ph = bundle::get_object(spec, {"payloadHash"}, "Rekor dsse body spec");
  if (!ph) return fail(ph.error());
  auto alg = bundle::get_string(**ph, {"algorithm"}, "Rekor dsse payloadHash");
  auto val = bundle::get_string(**ph, {"value"}, "Rekor dsse payloadHash");
  if (!alg || !val) return fail(!alg ? alg.error() : val.error());
  if (*alg != "sha256") return body_mismatch(fmt::format("payload hash algorithm '{}' (expected sha256)", *alg));
  if (*val != to_hex(sha256_of({b.payload}))) return body_mismatch("the payload hash differs from the DSSE payload");
  // The envelope hash is not recomputed: it hashes the envelope JSON as the client
  // serialised it, which is not canonical (clients differ); payload, signature and
  // certificate bind the entry to this bundle.
  if (auto eh = bundle::get_object(spec, {"envelopeHash"}, "Rekor dsse body spec"); !eh) return fail(eh.error());
  auto sigs = bundle::get_array(spec, {"signatures"}, "Rekor dsse body spec");
  if (!sigs) return fail(sigs.error());
  if ((*sigs)->size() != 1)
    return body_mismatch(fmt::format("it records {} signatures, the envelope has 1", (*sigs)->size()));
  const auto& s = (**sigs)[0];
  auto sig = b64_member(doc, s, {"signature"}, "Rekor dsse signature");
  if (!sig) return fail(sig.error());
  if (*sig != b.signature) return body_mismatch("its signature differs from the envelope's signature");
  auto verifier = b64_member(doc, s, {"verifier"}, "Rekor dsse signature");
  if (!verifier) return fail(verifier.error());
  // Rekor v1 records the verifier as a PEM certificate.
  auto der = x509::pem_to_der(std::string_view(reinterpret_cast<const char*>(verifier->data()), verifier->size()),
                              ErrorCode::kVerification, "the Rekor entry's verifier is not a PEM certificate");
  if (!der) return fail(der.error());
  if (b.certificates.empty() || *der != b.certificates.front())
    return body_mismatch("its verifier certificate differs from the bundle's signing certificate");
  return {};
}

Result<void> check_dsse_v002(std::string_view doc, const bundle::Json& spec, const bundle::Bundle& b) {
  auto d = bundle::get_object(spec, {"dsseV002", "dsse_v002"}, "Rekor dsse body spec");
  if (!d) return fail(d.error());
  auto ph = bundle::get_object(**d, {"payloadHash", "payload_hash"}, "Rekor dsseV002");
  if (!ph) return fail(ph.error());
  auto alg = bundle::get_string(**ph, {"algorithm"}, "Rekor dsseV002 payloadHash");
  if (!alg) return fail(alg.error());
  if (*alg != "SHA2_256") return body_mismatch(fmt::format("payload hash algorithm '{}' (expected SHA2_256)", *alg));
  auto digest = b64_member(doc, **ph, {"digest"}, "Rekor dsseV002 payloadHash");
  if (!digest) return fail(digest.error());
  if (*digest != sha256_of({b.payload})) return body_mismatch("the payload hash differs from the DSSE payload");
  auto sigs = bundle::get_array(**d, {"signatures"}, "Rekor dsseV002");
  if (!sigs) return fail(sigs.error());
  if ((*sigs)->size() != 1)
    return body_mismatch(fmt::format("it records {} signatures, the envelope has 1", (*sigs)->size()));
  const auto& s = (**sigs)[0];
  auto sig = b64_member(doc, s, {"content"}, "Rekor dsseV002 signature");
  if (!sig) return fail(sig.error());
  if (*sig != b.signature) return body_mismatch("its signature differs from the envelope's signature");
  auto v = bundle::get_object(s, {"verifier"}, "Rekor dsseV002 signature");
  if (!v) return fail(v.error());
  auto xc = bundle::get_object(**v, {"x509Certificate", "x509_certificate"}, "Rekor dsseV002 verifier");
  if (!xc) return fail(xc.error());
  auto der = b64_member(doc, **xc, {"rawBytes", "raw_bytes"}, "Rekor dsseV002 verifier");
  if (!der) return fail(der.error());
  if (b.certificates.empty() || *der != b.certificates.front())
    return body_mismatch("its verifier certificate differs from the bundle's signing certificate");
  return {};
}

}  // namespace

Bytes leaf_hash(std::span<const std::uint8_t> leaf) {
  const std::uint8_t prefix = 0x00;
  return sha256_of({{&prefix, 1}, leaf});
}

Bytes node_hash(std::span<const std::uint8_t> left, std::span<const std::uint8_t> right) {
  const std::uint8_t prefix = 0x01;
  return sha256_of({{&prefix, 1}, left, right});
}

Result<Bytes> root_from_inclusion_proof(std::uint64_t index, std::uint64_t tree_size,
                                        std::span<const std::uint8_t> leaf, const std::vector<Bytes>& proof) {
  if (index >= tree_size)
    return fail(ErrorCode::kVerification,
                fmt::format("inclusion proof: leaf index {} is outside a tree of {} leaves", index, tree_size));
  std::uint64_t fn = index, sn = tree_size - 1;
  Bytes r(leaf.begin(), leaf.end());
  for (const auto& p : proof) {
    if (sn == 0)
      return fail(ErrorCode::kVerification, "inclusion proof does not reach checkpoint root: the audit path is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0)
    return fail(ErrorCode::kVerification, "inclusion proof does not reach checkpoint root: the audit path is too short");
  return r;
}

Result<void> verify_with_log_key(const root::LogKey& log, std::span<const std::uint8_t> message,
                                 std::span<const std::uint8_t> sig) {
  auto scheme = log.key.scheme();
  if (scheme && *scheme == SignatureScheme::kEd25519) return log.key.verify(*scheme, message, sig);
  return log.key.verify_with_hash(hash_of_details(log.key_details), message, sig);
}

Result<Checkpoint> verify_checkpoint(std::string_view note, const root::LogKey& log) {
  auto bad = [](std::string_view why) {
    return fail(ErrorCode::kVerification, fmt::format("the checkpoint is malformed: {}", why));
  };
  if (note.size() > limits::kMaxCheckpointBytes) return bad("too long");
  auto split = note.find("\n\n");
  if (split == std::string_view::npos) return bad("no blank line before the signatures");
  std::string_view text = note.substr(0, split + 1);  // signed: the body with its last newline
  std::string_view sigs = note.substr(split + 2);

  Checkpoint cp;
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    auto nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() < 3) return bad("fewer than three lines (origin, size, root hash)");
  cp.origin = std::string(lines[0]);
  auto [end, ec] = std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), cp.size);
  if (ec != std::errc() || end != lines[1].data() + lines[1].size() || lines[1].empty()) return bad("bad tree size");
  auto rh = base64_decode(lines[2]);
  if (!rh || rh->size() != 32) return bad("the root hash is not base64 of 32 bytes");
  cp.root_hash = std::move(*rh);

  // Key hints: Rekor v1 uses the first 4 bytes of the log ID; Ed25519 note keys use
  // SHA-256(name || "\n" || 0x01 || key)[:4] (C2SP signed-note).
  std::size_t count = 0;
  bool hint_seen = false;
  constexpr std::string_view kDash = "\xe2\x80\x94 ";
  for (std::size_t pos = 0; pos < sigs.size();) {
    auto nl = sigs.find('\n', pos);
    if (nl == std::string_view::npos) return bad("a signature line does not end with a newline");
    std::string_view line = sigs.substr(pos, nl - pos);
    pos = nl + 1;
    if (++count > limits::kMaxCheckpointSignatures) return bad("too many signature lines");
    if (!line.starts_with(kDash)) return bad("a signature line does not start with an em dash");
    line.remove_prefix(kDash.size());
    auto sp = line.rfind(' ');
    if (sp == std::string_view::npos || sp == 0) return bad("a signature line has no key name");
    std::string_view name = line.substr(0, sp);
    // The key name is the log's: the origin itself or its first word (Rekor v1 writes
    // "rekor.sigstore.dev - <tree id>" signed by "rekor.sigstore.dev").
    if (cp.origin != name && !cp.origin.starts_with(std::string(name) + " ")) continue;
    auto blob = base64_decode(line.substr(sp + 1));
    if (!blob || blob->size() < 5) return bad("a signature is not base64 of a key hint and signature");
    Bytes hint(blob->begin(), blob->begin() + 4);
    std::vector<Bytes> want;
    if (log.log_id.size() >= 4) want.emplace_back(log.log_id.begin(), log.log_id.begin() + 4);
    auto scheme = log.key.scheme();
    if (scheme && *scheme == SignatureScheme::kEd25519 && log.spki_der.size() >= 32) {
      Bytes raw(log.spki_der.end() - 32, log.spki_der.end());
      const std::uint8_t nl_type[2] = {'\n', 0x01};
      Bytes h = sha256_of({as_bytes(name), nl_type, raw});
      want.emplace_back(h.begin(), h.begin() + 4);
    }
    if (std::ranges::find(want, hint) == want.end()) continue;
    hint_seen = true;
    std::span<const std::uint8_t> sig(blob->data() + 4, blob->size() - 4);
    if (verify_with_log_key(log, as_bytes(text), sig)) return cp;
  }
  return fail(ErrorCode::kVerification,
              fmt::format("the checkpoint '{}' is not signed by the log {} of the trusted root ({})",
                          cp.origin, log.base_url,
                          hint_seen ? "its signature does not verify with the log key"
                                    : "no signature line names the log and its key"));
}

Result<void> verify_set(const bundle::TlogEntry& e, const root::LogKey& log) {
  if (!e.signed_entry_timestamp) return fail(ErrorCode::kVerification, "the Rekor entry has no signed entry timestamp");
  // Canonical JSON (RFC 8785 for these types): sorted keys, no whitespace.
  bundle::Json j = bundle::Json::object();
  j["body"] = base64_encode(e.canonicalized_body);
  j["integratedTime"] = e.integrated_time;
  j["logID"] = to_hex(e.log_id);
  j["logIndex"] = e.log_index;
  std::string canon = j.dump();
  if (!verify_with_log_key(log, as_bytes(canon), *e.signed_entry_timestamp))
    return fail(ErrorCode::kVerification,
                fmt::format("the signed entry timestamp of Rekor entry {} does not verify with the key of {}; "
                            "the entry's body, time or index was altered",
                            e.log_index, log.base_url));
  return {};
}

Result<void> check_body_matches(const bundle::TlogEntry& e, const bundle::Bundle& b) {
  std::string_view text(reinterpret_cast<const char*>(e.canonicalized_body.data()), e.canonicalized_body.size());
  auto j = bundle::parse_strict(text, "the Rekor entry body", limits::kMaxRekorBodyJsonValues,
                               limits::kMaxCanonicalBodyBytes);
  if (!j) return fail(j.error());
  if (!j->is_object()) return fail(ErrorCode::kMalformed, "the Rekor entry body is not a JSON object");
  auto kind = bundle::get_string(*j, {"kind"}, "Rekor entry body");
  auto ver = bundle::get_string(*j, {"apiVersion"}, "Rekor entry body");
  if (!kind || !ver) return fail(!kind ? kind.error() : ver.error());
  if (*kind != e.kind || *ver != e.version)
    return body_mismatch(fmt::format("its body is {} {} but kindVersion says {} {}", *kind, *ver, e.kind, e.version));
  auto spec = bundle::get_object(*j, {"spec"}, "Rekor entry body");
  if (!spec) return fail(spec.error());
  if (*kind == "dsse" && *ver == "0.0.1") return check_dsse_v001(text, **spec, b);
  if (*kind == "dsse" && *ver == "0.0.2") return check_dsse_v002(text, **spec, b);
  return fail(ErrorCode::kUnsupported,
              fmt::format("Rekor entries of kind {} {} cannot record a DSSE envelope; expected dsse 0.0.1 or 0.0.2",
                          *kind, *ver));
}

Result<EntryResult> verify_entry(const bundle::TlogEntry& e, const bundle::Bundle& b, const root::TrustedRoot& root) {
  const root::LogKey* log = root.find_tlog(e.log_id);
  if (log == nullptr)
    return fail(ErrorCode::kVerification,
                fmt::format("Rekor entry {} is from log ID {}, which is not a transparency log of the trusted "
                            "root ({})",
                            e.log_index, base64_encode(e.log_id), root.source));
  EntryResult out{e.log_index, log->base_url, std::nullopt};
  if (auto m = check_body_matches(e, b); !m) return fail(m.error());

  if (b.minor_version >= 2 && !e.inclusion_proof)
    return fail(ErrorCode::kVerification,
                fmt::format("Rekor entry {} has no inclusion proof (required from bundle v0.2 on)", e.log_index));
  if (b.minor_version < 2 && !e.signed_entry_timestamp)
    return fail(ErrorCode::kVerification,
                fmt::format("Rekor entry {} has no signed entry timestamp (required in bundle v0.1)", e.log_index));

  if (e.inclusion_proof) {
    const auto& p = *e.inclusion_proof;
    auto reached = root_from_inclusion_proof(static_cast<std::uint64_t>(p.log_index),
                                             static_cast<std::uint64_t>(p.tree_size),
                                             leaf_hash(e.canonicalized_body), p.hashes);
    if (!reached) return fail(reached.error());
    if (*reached != p.root_hash)
      return fail(ErrorCode::kVerification,
                  fmt::format("inclusion proof does not reach checkpoint root: the audit path of Rekor entry {} "
                              "gives {} but the proof's root hash is {}",
                              e.log_index, to_hex(*reached), to_hex(p.root_hash)));
    auto cp = verify_checkpoint(p.checkpoint, *log);
    if (!cp) return fail(cp.error());
    if (cp->root_hash != p.root_hash || cp->size != static_cast<std::uint64_t>(p.tree_size))
      return fail(ErrorCode::kVerification,
                  fmt::format("inclusion proof does not reach checkpoint root: the checkpoint signs tree size {} "
                              "root {}, the proof is for tree size {} root {}",
                              cp->size, to_hex(cp->root_hash), p.tree_size, to_hex(p.root_hash)));
  }
  if (e.signed_entry_timestamp) {
    if (auto s = verify_set(e, *log); !s) return fail(s.error());
    if (!log->valid_for.contains(e.integrated_time))
      return fail(ErrorCode::kVerification,
                  fmt::format("Rekor integrated time {} is outside the validity of the log key of {} ({})",
                              root::format_time(e.integrated_time), log->base_url, log->valid_for.describe()));
    out.verified_time = e.integrated_time;
  }
  return out;
}

}  // namespace modelsign::tlog
