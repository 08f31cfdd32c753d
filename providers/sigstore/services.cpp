#include "services.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include <fmt/format.h>

#include <cstring>
#include <ctime>

#include "bundle/json.h"
#include "bundle/json_writer.h"
#include "bundle/limits.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "crypto/x509.h"
#include "modelsign/log.h"
#include "timestamp/rfc3161.h"
#include "tlog/tlog.h"
#include "verify/fulcio.h"

namespace modelsign::sigstore {

namespace {

using bundle::Json;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string der_to_pem(std::span<const std::uint8_t> der) {
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  std::string b64 = base64_encode(der);
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += "-----END CERTIFICATE-----\n";
  return out;
}

std::string_view key_details(const PublicKey& key) {
  auto s = key.scheme();
  if (!s) return "PKIX_ECDSA_P256_SHA_256";
  switch (*s) {
    case SignatureScheme::kEcdsaP384Sha384: return "PKIX_ECDSA_P384_SHA_384";
    case SignatureScheme::kEcdsaP521Sha512: return "PKIX_ECDSA_P521_SHA_512";
    case SignatureScheme::kEd25519: return "PKIX_ED25519";
    case SignatureScheme::kRsaPssSha256: return "PKIX_RSA_PSS_2048_SHA256";
    default: return "PKIX_ECDSA_P256_SHA_256";
  }
}

// The bundle as the verifier's checks of one entry see it.
bundle::Bundle entry_view(const sign::SignedEnvelope& e) {
  bundle::Bundle b;
  b.material = bundle::Material::kSigstore;
  b.minor_version = 3;
  b.payload_type = std::string(e.payload_type);
  b.payload.assign(e.payload.begin(), e.payload.end());
  b.signature.assign(e.signature.begin(), e.signature.end());
  b.certificates = e.certificates;
  return b;
}

Result<std::string> json_string(const Json& o, const char* k, std::string_view where) {
  auto it = o.find(k);
  if (it == o.end() || !it->is_string())
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing string '{}'", where, k));
  return it->get<std::string>();
}

Result<std::int64_t> json_int(const Json& o, const char* k, std::string_view where) {
  auto it = o.find(k);
  if (it == o.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing non-negative integer '{}'", where, k));
  return it->get<std::int64_t>();
}

}  // namespace

// ---------------------------------------------------------------- Fulcio

Result<void> FulcioCertificateSource::prepare(Signer& signer) {
  auto scheme = signer.public_key().scheme();
  if (!scheme) return fail(scheme.error());
  if (*scheme != SignatureScheme::kEcdsaP256Sha256 && *scheme != SignatureScheme::kEcdsaP384Sha384 &&
      *scheme != SignatureScheme::kEcdsaP521Sha512)
    return fail(ErrorCode::kUnsupported,
                fmt::format("keyless signing needs an ECDSA key (P-256, P-384 or P-521) for Fulcio; {} is {}",
                            signer.describe(), signer.public_key().describe()));
  return {};
}

Result<std::vector<Bytes>> FulcioCertificateSource::certificates(Signer& signer) {
  const std::string url = url_ + "/api/v2/signingCert";
  // Proof of possession: the signer's signature over the subject the token names.
  const std::string& subject = token_.proof_subject();
  auto pop = sign_message(signer, as_bytes(subject));
  if (!pop) return fail(pop.error().with_context("signing Fulcio's proof of possession"));
  SecretString body{std::string_view("{\"credentials\":{\"oidcIdentityToken\":\"")};
  body.append(token_.raw.view());  // JWT characters only (checked): no escaping needed
  body.append("\"},\"publicKeyRequest\":{\"publicKey\":{\"algorithm\":\"ECDSA\",\"content\":");
  std::string pem_json;
  bundle::append_json_string(pem_json, signer.public_key().to_pem(), false);
  body.append(pem_json);
  body.append("},\"proofOfPossession\":\"");
  body.append(base64_encode(*pop));
  body.append("\"}}");
  HttpRequest r = HttpRequest::post("Fulcio", url, "application/json", "application/json", body.view());
  r.redact = {token_.raw.view()};
  r.max_bytes = 1u << 20;
  auto resp = http_.expect(r, 201);
  if (!resp) return fail(resp.error());
  auto j = bundle::parse_strict(resp->body, "Fulcio's answer", 10'000, 1u << 20);
  if (!j || !j->is_object())
    return fail(ErrorCode::kMalformed, fmt::format("Fulcio at {} answered with something that is not JSON", url));
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kVerification, fmt::format("Fulcio at {} returned {}; not signing with it", url, why));
  };
  if (j->contains("signedCertificateDetachedSct"))
    return bad("a certificate with a detached SCT; only certificates with embedded SCTs can be verified offline");
  auto sc = j->find("signedCertificateEmbeddedSct");
  if (sc == j->end() || !sc->is_object() || !sc->contains("chain") || !(*sc)["chain"].is_object() ||
      !(*sc)["chain"].contains("certificates") || !(*sc)["chain"]["certificates"].is_array())
    return bad("no signedCertificateEmbeddedSct.chain.certificates");
  const auto& pems = (*sc)["chain"]["certificates"];
  if (pems.empty() || pems.size() > limits::kMaxCertificates) return bad("an empty or overlong chain");
  std::vector<Bytes> chain;
  for (const auto& p : pems) {
    if (!p.is_string()) return bad("a chain element that is not a PEM string");
    auto der = x509::pem_to_der(p.get<std::string>(), ErrorCode::kMalformed, "not a PEM certificate");
    if (!der) return bad("a chain element that is not a PEM certificate");
    chain.push_back(std::move(*der));
  }
  auto leaf = x509::parse_der(chain.front());
  if (!leaf) return bad("a leaf that does not parse");
  auto leaf_key = x509::public_key(leaf->get());
  if (!leaf_key) return bad("a leaf without a usable public key");
  if (!leaf_key->equals(signer.public_key()))
    return bad(fmt::format("a certificate for another key ({}, the signing key is {}): a misbehaving or "
                           "compromised CA",
                           leaf_key->hint().substr(0, 16), signer.public_key().hint().substr(0, 16)));
  // The chain to a CA of the trusted root now, then the SCT: as the verifier will.
  std::int64_t now = std::time(nullptr);
  // Fulcio dates the certificate by its own clock: a leaf that starts up to 5 minutes
  // after ours is checked at its start (the verifier later uses the log's and TSA's times).
  if (std::tm nb{}; ASN1_TIME_to_tm(X509_get0_notBefore(leaf->get()), &nb) == 1) {
    const std::int64_t start = timegm(&nb);
    if (start > now && start - now <= 300) now = start;
  }
  std::vector<Bytes> extra(chain.begin() + 1, chain.end());
  auto issuer = verify::verify_fulcio_chain(leaf->get(), extra, root_, {{now, "now"}});
  if (!issuer) return fail(issuer.error().with_context(fmt::format("the certificate from Fulcio at {}", url)));
  if (auto s = verify::verify_embedded_scts(leaf->get(), issuer->get(), root_); !s)
    return fail(s.error().with_context(fmt::format("the certificate from Fulcio at {}", url)));
  auto id = verify::identity_of(leaf->get());
  if (!id) return fail(id.error());
  log::debug("Fulcio at {} certified {} (issuer {}), valid until {}", url, id->sans.empty() ? "?" : id->sans.front(),
             id->issuer, x509::not_after(leaf->get()));
  // Bundle v0.3 carries the leaf only; the chain is in the trusted root.
  return std::vector<Bytes>{chain.front()};
}

std::string FulcioCertificateSource::describe(const std::vector<Bytes>& certs) const {
  auto leaf = x509::parse_der(certs.front());
  if (!leaf) return "?";
  auto id = verify::identity_of(leaf->get());
  if (!id || id->sans.empty()) return x509::subject(leaf->get());
  return id->sans.front();
}

// ---------------------------------------------------------------- Rekor

std::string rekor_envelope_json(const sign::SignedEnvelope& e) {
  std::string out = "{\"payload\":\"";
  out += base64_encode(e.payload);
  out += "\",\"payloadType\":";
  bundle::append_json_string(out, e.payload_type, false);
  out += ",\"signatures\":[{\"sig\":\"";
  out += base64_encode(e.signature);
  out += "\"}]}";
  return out;
}

std::string RekorWitness::name() const { return fmt::format("Rekor v{} {}", version_, url_); }

Result<void> RekorWitness::witness(const sign::SignedEnvelope& e, bundle::Bundle& b) {
  if (e.certificates.empty()) return fail(ErrorCode::kInternal, "Rekor needs the signing certificate");
  const bool v2 = version_ == 2;
  const std::string url = url_ + (v2 ? "/api/v2/log/entries" : "/api/v1/log/entries");
  std::string body;
  if (!v2) {
    Json req = {{"apiVersion", "0.0.1"},
                {"kind", "dsse"},
                {"spec",
                 {{"proposedContent",
                   {{"envelope", rekor_envelope_json(e)},
                    {"verifiers", Json::array({base64_encode(as_bytes(der_to_pem(e.certificates.front())))})}}}}}};
    body = req.dump();
  } else {
    Json req = {
        {"dsseRequestV002",
         {{"envelope",
           {{"payload", base64_encode(e.payload)},
            {"payloadType", std::string(e.payload_type)},
            {"signatures", Json::array({{{"sig", base64_encode(e.signature)}, {"keyid", ""}}})}}},
          {"verifiers", Json::array({{{"x509Certificate", {{"rawBytes", base64_encode(e.certificates.front())}}},
                                      {"keyDetails", std::string(key_details(e.key))}}})}}}};
    body = req.dump();
  }
  HttpRequest r = HttpRequest::post(v2 ? "Rekor v2" : "Rekor", url, "application/json", "application/json", body);
  r.max_bytes = 2 * limits::kMaxCanonicalBodyBytes + (64u << 10);
  auto resp = http_.expect(r, 201);
  if (!resp) return fail(resp.error());
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kMalformed, fmt::format("{} at {} answered with {}", r.service, url, why));
  };

  bundle::TlogEntry entry;
  if (v2) {
    auto t = bundle::parse_tlog_entry(resp->body);
    if (!t) return bad(fmt::format("an entry that does not parse: {}", t.error().message));
    entry = std::move(*t);
  } else {
    auto j = bundle::parse_strict(resp->body, "Rekor's answer", 100'000, r.max_bytes);
    if (!j || !j->is_object() || j->size() != 1) return bad("something that is not one log entry");
    const Json& v = j->begin().value();
    if (!v.is_object()) return bad("an entry that is not an object");
    constexpr std::string_view where = "Rekor entry";
    auto body64 = json_string(v, "body", where);
    auto idx = json_int(v, "logIndex", where);
    auto it = json_int(v, "integratedTime", where);
    auto lid = json_string(v, "logID", where);
    if (!body64 || !idx || !it || !lid) return bad("an entry without body, logIndex, integratedTime or logID");
    auto body_bytes = base64_decode(*body64);
    auto log_id = from_hex(*lid);
    if (!body_bytes || !log_id || body_bytes->size() > limits::kMaxCanonicalBodyBytes || log_id->size() > 64)
      return bad("a body or log ID that does not decode");
    entry.canonicalized_body = std::move(*body_bytes);
    entry.log_index = *idx;
    entry.integrated_time = *it;
    entry.log_id = std::move(*log_id);
    std::string_view btext(reinterpret_cast<const char*>(entry.canonicalized_body.data()), entry.canonicalized_body.size());
    auto bj = bundle::parse_strict(btext, "the Rekor entry body", limits::kMaxRekorBodyJsonValues,
                                   limits::kMaxCanonicalBodyBytes);
    if (!bj || !bj->is_object()) return bad("a body that is not JSON");
    auto kind = json_string(*bj, "kind", where);
    auto ver = json_string(*bj, "apiVersion", where);
    if (!kind || !ver) return bad("a body without kind and apiVersion");
    entry.kind = *kind;
    entry.version = *ver;
    auto vit = v.find("verification");
    if (vit == v.end() || !vit->is_object()) return bad("no verification (SET and inclusion proof)");
    auto set = json_string(*vit, "signedEntryTimestamp", where);
    if (!set) return bad("no signed entry timestamp");
    auto set_bytes = base64_decode(*set);
    if (!set_bytes || set_bytes->size() > 1024) return bad("a signed entry timestamp that does not decode");
    entry.signed_entry_timestamp = std::move(*set_bytes);
    auto pit = vit->find("inclusionProof");
    if (pit == vit->end() || !pit->is_object()) return bad("no inclusion proof");
    bundle::InclusionProof p;
    auto pidx = json_int(*pit, "logIndex", where);
    auto ts = json_int(*pit, "treeSize", where);
    auto rh = json_string(*pit, "rootHash", where);
    auto cp = json_string(*pit, "checkpoint", where);
    if (!pidx || !ts || !rh || !cp) return bad("an inclusion proof without logIndex, treeSize, rootHash or checkpoint");
    auto rhb = from_hex(*rh);
    if (!rhb || rhb->size() != 32) return bad("an inclusion proof root hash that is not 32 hex bytes");
    if (cp->size() > limits::kMaxCheckpointBytes) return bad("an overlong checkpoint");
    p.log_index = *pidx;
    p.tree_size = *ts;
    p.root_hash = std::move(*rhb);
    p.checkpoint = *cp;
    auto hit = pit->find("hashes");
    if (hit == pit->end() || !hit->is_array() || hit->size() > limits::kMaxInclusionProofHashes)
      return bad("an inclusion proof without a bounded list of hashes");
    for (const auto& h : *hit) {
      auto hb = h.is_string() ? from_hex(h.get<std::string>()) : Result<Bytes>(fail(ErrorCode::kMalformed, ""));
      if (!hb || hb->size() != 32) return bad("an inclusion proof hash that is not 32 hex bytes");
      p.hashes.push_back(std::move(*hb));
    }
    entry.inclusion_proof = std::move(p);
  }
  // Everything the verifier will check of this entry, now: a bad answer fails here, with
  // the service named, and nothing is written.
  auto view = entry_view(e);
  auto checked = tlog::verify_entry(entry, view, root_);
  if (!checked)
    return fail(checked.error().with_context(fmt::format("the entry {} at {} returned", r.service, url)));
  if (!v2 && !checked->verified_time)
    return fail(ErrorCode::kVerification, fmt::format("{} at {} returned an entry without a verified time", r.service, url));
  log::debug("{} logged the signature at index {}", r.service, entry.log_index);
  b.tlog.push_back(std::move(entry));
  return {};
}

// ---------------------------------------------------------------- TSA

namespace {
}  // namespace

Result<void> TsaWitness::witness(const sign::SignedEnvelope& e, bundle::Bundle& b) {
  auto digest = sha256(e.signature);
  if (!digest) return fail(digest.error());
  unsigned char rnd[8];
  if (RAND_bytes(rnd, sizeof(rnd)) != 1) return fail(openssl_error(ErrorCode::kInternal, "no random nonce"));
  rnd[0] &= 0x7f;  // a positive INTEGER
  ossl::UniquePtr<BIGNUM> bn(BN_bin2bn(rnd, sizeof(rnd), nullptr));
  ossl::UniquePtr<ASN1_INTEGER> nonce(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  ossl::UniquePtr<TS_REQ> req(TS_REQ_new());
  ossl::UniquePtr<TS_MSG_IMPRINT> mi(TS_MSG_IMPRINT_new());
  ossl::UniquePtr<X509_ALGOR> alg(X509_ALGOR_new());
  if (!nonce || !req || !mi || !alg) return fail(openssl_error(ErrorCode::kInternal, "cannot build a timestamp request"));
  X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
  if (TS_REQ_set_version(req.get(), 1) != 1 || TS_MSG_IMPRINT_set_algo(mi.get(), alg.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(mi.get(), digest->data(), static_cast<int>(digest->size())) != 1 ||
      TS_REQ_set_msg_imprint(req.get(), mi.get()) != 1 || TS_REQ_set_nonce(req.get(), nonce.get()) != 1 ||
      TS_REQ_set_cert_req(req.get(), 1) != 1)
    return fail(openssl_error(ErrorCode::kInternal, "cannot build a timestamp request"));
  unsigned char* der = nullptr;
  int len = i2d_TS_REQ(req.get(), &der);
  if (len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode a timestamp request"));
  std::string body(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);

  HttpRequest r =
      HttpRequest::post("TSA", url_, "application/timestamp-query", "application/timestamp-reply", body);
  r.max_bytes = limits::kMaxTimestampBytes;
  auto resp = http_.expect(r, 200);
  if (!resp) return fail(resp.error());
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kVerification, fmt::format("TSA at {} answered with {}; not using it", url_, why));
  };
  const auto* p = reinterpret_cast<const unsigned char*>(resp->body.data());
  ossl::UniquePtr<TS_RESP> ts(d2i_TS_RESP(nullptr, &p, static_cast<long>(resp->body.size())));
  if (!ts || p != reinterpret_cast<const unsigned char*>(resp->body.data()) + resp->body.size()) {
    ERR_clear_error();
    return bad("something that is not a DER TimeStampResponse");
  }
  const ASN1_INTEGER* status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(ts.get()));
  long st = status != nullptr ? ASN1_INTEGER_get(status) : -1;
  if (st != 0 && st != 1) return bad(fmt::format("status {} (not granted)", st));
  TS_TST_INFO* info = TS_RESP_get_tst_info(ts.get());
  if (info == nullptr) return bad("no timestamp token");
  const ASN1_INTEGER* got_nonce = TS_TST_INFO_get_nonce(info);
  if (got_nonce == nullptr || ASN1_INTEGER_cmp(got_nonce, nonce.get()) != 0)
    return bad("another nonce than the request's: a replayed or misdirected response");
  TS_MSG_IMPRINT* got = TS_TST_INFO_get_msg_imprint(info);
  ASN1_OCTET_STRING* got_digest = got != nullptr ? TS_MSG_IMPRINT_get_msg(got) : nullptr;
  if (got_digest == nullptr || static_cast<std::size_t>(ASN1_STRING_length(got_digest)) != digest->size() ||
      std::memcmp(ASN1_STRING_get0_data(got_digest), digest->data(), digest->size()) != 0)
    return bad("a message imprint that is not the hash of this signature");
  // The token's signature and chain, to a TSA of the trusted root, as the verifier does.
  Bytes resp_der(resp->body.begin(), resp->body.end());
  auto v = timestamp::verify(resp_der, e.signature, root_);
  if (!v) return fail(v.error().with_context(fmt::format("the timestamp from TSA at {}", url_)));
  log::debug("TSA at {} timestamped the signature at {}", url_, root::format_time(v->gen_time));
  b.rfc3161_timestamps.push_back(std::move(resp_der));
  return {};
}

}  // namespace modelsign::sigstore
