#include "bundle/bundle.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "bundle/statement.h"

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

}  // namespace

Result<Bundle> parse_bundle_impl(std::string_view text) {
  auto j = parse_strict(text, "the signature bundle", limits::kMaxBundleJsonValues, limits::kMaxBundleBytes);
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
  auto tlog = member(**vm, {"tlogEntries", "tlog_entries"}, "verificationMaterial");
  if (!tlog) return fail(tlog.error());
  b.has_tlog_entries_field = *tlog != nullptr;
  if (const Json* t = *tlog; t != nullptr) {
    if (!t->is_array() || t->size() > limits::kMaxTlogEntries)
      return fail(ErrorCode::kMalformed, "bundle: tlogEntries must be an array of at most 16 entries");
    b.tlog_entries = t->size();
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
  // A DER ECDSA signature is < 160 bytes and an RSA-4096 one 512; 64 KiB is generous.
  auto sig = b64_field(text, (**sigs)[0], {"sig"}, "dsseEnvelope signature", 64u << 10);
  if (!sig) return fail(sig.error());
  if (sig->empty()) return fail(ErrorCode::kMalformed, "dsseEnvelope: the signature is empty");
  b.signature = std::move(*sig);
  return b;
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
