#include "bundle/bundle.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bundle/json.h"
#include "bundle/json_writer.h"
#include "bundle/limits.h"

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

Result<Bytes> b64_field(const Json& obj, std::initializer_list<std::string_view> names,
                        std::string_view where) {
  auto s = get_string(obj, names, where);
  if (!s) return fail(s.error());
  auto b = base64_decode(*s);
  if (!b) return fail(ErrorCode::kMalformed, fmt::format("{}: field '{}' is not valid base64", where,
                                                         *names.begin()));
  return b;
}

Result<Bytes> certificate_bytes(const Json& c, std::string_view where) {
  auto der = b64_field(c, {"rawBytes", "raw_bytes"}, where);
  if (!der) return fail(der.error());
  if (der->empty() || der->size() > limits::kMaxCertificateBytes)
    return fail(ErrorCode::kMalformed, fmt::format("{}: certificate of {} bytes (limit {})", where,
                                                   der->size(), limits::kMaxCertificateBytes));
  return der;
}

}  // namespace

Result<void> check_bundle_size(std::size_t size, std::size_t limit) {
  // Worded as parse_strict words it for "the signature bundle".
  if (size > limit)
    return fail(ErrorCode::kMalformed, fmt::format("the signature bundle is {} bytes; the limit is {} bytes",
                                                   size, limit));
  return {};
}

Result<Bundle> parse_bundle(std::string_view text) {
  auto j = parse_strict(text, "the signature bundle");
  if (!j) return fail(j.error());
  if (!j->is_object())
    return fail(ErrorCode::kMalformed, "the signature bundle is not a JSON object");
  Bundle b;
  auto mt = get_string(*j, {"mediaType", "media_type"}, "bundle");
  if (!mt) return fail(mt.error());
  b.media_type = *mt;
  if (b.media_type != kBundleMediaType)
    return fail(ErrorCode::kMalformed,
                fmt::format("Invalid sigstore bundle, got media type {} but expected {}", b.media_type,
                            kBundleMediaType));

  auto vm = get_object(*j, {"verificationMaterial", "verification_material"}, "bundle");
  if (!vm) return fail(vm.error());
  const Json* pk = member(**vm, {"publicKey", "public_key"});
  const Json* chain = member(**vm, {"x509CertificateChain", "x509_certificate_chain"});
  const Json* cert = member(**vm, {"certificate"});
  int count = (pk != nullptr) + (chain != nullptr) + (cert != nullptr);
  if (count != 1)
    return fail(ErrorCode::kMalformed,
                fmt::format("bundle: verificationMaterial must hold exactly one of publicKey, "
                            "x509CertificateChain, certificate; found {}",
                            count));
  if (pk != nullptr) {
    b.material = Material::kPublicKey;
    if (!pk->is_object()) return fail(ErrorCode::kMalformed, "bundle: publicKey must be an object");
    if (const Json* h = member(*pk, {"hint"}); h != nullptr && !h->is_null()) {
      if (!h->is_string()) return fail(ErrorCode::kMalformed, "bundle: publicKey.hint must be a string");
      if (!h->get_ref<const std::string&>().empty()) b.key_hint = h->get<std::string>();
    }
    b.legacy_public_key = member(*pk, {"rawBytes", "raw_bytes"}) != nullptr;
  } else if (chain != nullptr) {
    b.material = Material::kCertificateChain;
    auto certs = get_array(*chain, {"certificates"}, "x509CertificateChain");
    if (!certs) return fail(certs.error());
    if ((*certs)->empty() || (*certs)->size() > limits::kMaxCertificates)
      return fail(ErrorCode::kMalformed,
                  fmt::format("bundle: the certificate chain has {} certificates (expected 1 to {})",
                              (*certs)->size(), limits::kMaxCertificates));
    for (const auto& c : **certs) {
      auto der = certificate_bytes(c, "x509CertificateChain");
      if (!der) return fail(der.error());
      b.certificates.push_back(std::move(*der));
    }
  } else {
    b.material = Material::kSigstore;
    auto der = certificate_bytes(*cert, "certificate");
    if (!der) return fail(der.error());
    b.certificates.push_back(std::move(*der));
  }
  if (const Json* t = member(**vm, {"tlogEntries", "tlog_entries"}); t != nullptr) {
    if (!t->is_array() || t->size() > limits::kMaxTlogEntries)
      return fail(ErrorCode::kMalformed, "bundle: tlogEntries must be an array of at most 16 entries");
    b.tlog_entries = t->size();
  }

  if (member(*j, {"messageSignature", "message_signature"}) != nullptr)
    return fail(ErrorCode::kUnsupported,
                "bundle: holds a messageSignature; model signatures use a dsseEnvelope");
  auto env = get_object(*j, {"dsseEnvelope", "dsse_envelope"}, "bundle");
  if (!env) return fail(env.error());
  auto pt = get_string(**env, {"payloadType", "payload_type"}, "dsseEnvelope");
  if (!pt) return fail(pt.error());
  b.payload_type = *pt;
  auto payload = b64_field(**env, {"payload"}, "dsseEnvelope");
  if (!payload) return fail(payload.error());
  b.payload = std::move(*payload);
  auto sigs = get_array(**env, {"signatures"}, "dsseEnvelope");
  if (!sigs) return fail(sigs.error());
  if ((*sigs)->empty() || (*sigs)->size() > limits::kMaxSignatures)
    return fail(ErrorCode::kMalformed,
                fmt::format("dsseEnvelope: expected 1 signature, found {}", (*sigs)->size()));
  // keyid may be null, "" or absent (model_signing versions differ); it is not used.
  if (const Json* kid = member((**sigs)[0], {"keyid"}); kid != nullptr && !kid->is_null() && !kid->is_string())
    return fail(ErrorCode::kMalformed, "dsseEnvelope: keyid must be a string or null");
  auto sig = b64_field((**sigs)[0], {"sig"}, "dsseEnvelope signature");
  if (!sig) return fail(sig.error());
  if (sig->empty()) return fail(ErrorCode::kMalformed, "dsseEnvelope: the signature is empty");
  b.signature = std::move(*sig);
  return b;
}

std::string write_bundle(const Bundle& b) { return write_bundle(b, b.payload); }

// Compact JSON, member order and escaping as nlohmann's dump() of the equivalent tree
// gave (tests/bundle pins the bytes); written straight into one buffer so the largest
// part, the base64 payload, exists once.
std::string write_bundle(const Bundle& b, std::span<const std::uint8_t> payload) {
  std::size_t size = 512 + 4 * ((payload.size() + 2) / 3) + 4 * ((b.signature.size() + 2) / 3);
  for (const auto& c : b.certificates) size += 32 + 4 * ((c.size() + 2) / 3);
  std::string out;
  out.reserve(size);
  out += "{\"mediaType\":";
  append_json_string(out, b.media_type, false);
  out += ",\"verificationMaterial\":{";
  if (b.material == Material::kPublicKey) {
    out += "\"publicKey\":{\"hint\":";
    append_json_string(out, b.key_hint.value_or(""), false);
    out += '}';
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
  out += ",\"tlogEntries\":[]},\"dsseEnvelope\":{\"payload\":\"";
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
  out += "\",\"keyid\":\"\"}]}}";
  return out;
}

}  // namespace modelsign::bundle
