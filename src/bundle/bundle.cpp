#include "bundle/bundle.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bundle/json.h"
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

std::string write_bundle(const Bundle& b) {
  using OJ = nlohmann::ordered_json;
  OJ vm;
  if (b.material == Material::kPublicKey) {
    vm["publicKey"] = OJ{{"hint", b.key_hint.value_or("")}};
  } else {
    OJ certs = OJ::array();
    for (const auto& c : b.certificates) certs.push_back(OJ{{"rawBytes", base64_encode(c)}});
    vm["x509CertificateChain"] = OJ{{"certificates", certs}};
  }
  vm["tlogEntries"] = OJ::array();
  OJ out = {{"mediaType", b.media_type},
            {"verificationMaterial", vm},
            {"dsseEnvelope",
             OJ{{"payload", base64_encode(b.payload)},
                {"payloadType", b.payload_type},
                {"signatures", OJ::array({OJ{{"sig", base64_encode(b.signature)}, {"keyid", ""}}})}}}};
  return out.dump();
}

}  // namespace modelsign::bundle
