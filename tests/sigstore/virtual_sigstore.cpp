#include "virtual_sigstore.h"

#include <openssl/ct.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <stdexcept>

#include "bundle/dsse.h"
#include "crypto/encoding.h"

namespace modelsign::test {

namespace {

using OJ = nlohmann::ordered_json;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("virtual sigstore: ") + what);
}

Bytes sha256_bytes(std::span<const std::uint8_t> d) {
  Bytes out(32);
  unsigned len = 0;
  check(EVP_Digest(d.data(), d.size(), out.data(), &len, EVP_sha256(), nullptr) == 1, "digest");
  return out;
}
Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes cat(std::initializer_list<std::span<const std::uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes spki(EVP_PKEY* k) {
  unsigned char* p = nullptr;
  int len = i2d_PUBKEY(k, &p);
  check(len > 0, "spki");
  ossl::UniquePtr<unsigned char> owned(p);
  return Bytes(p, p + len);
}
Bytes log_id(EVP_PKEY* k) { return sha256_bytes(spki(k)); }

Bytes sign(EVP_PKEY* k, std::span<const std::uint8_t> msg) {
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const EVP_MD* md = EVP_PKEY_is_a(k, "ED25519") ? nullptr : EVP_sha256();
  check(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, k) == 1, "sign init");
  check(EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) == 1, "sign size");
  Bytes sig(len);
  check(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) == 1, "sign");
  sig.resize(len);
  return sig;
}

Bytes der(X509* c) {
  unsigned char* p = nullptr;
  int len = i2d_X509(c, &p);
  check(len > 0, "cert der");
  ossl::UniquePtr<unsigned char> owned(p);
  return Bytes(p, p + len);
}
std::string pem(X509* c) {
  ossl::UniquePtr<BIO> b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), c);
  char* data = nullptr;
  long len = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  check(ext != nullptr, value);
  X509_add_ext(cert, ext.get(), -1);
}
void add_raw_ext(X509* cert, const char* oid, std::span<const std::uint8_t> value) {
  ossl::UniquePtr<ASN1_OBJECT> obj(OBJ_txt2obj(oid, 1));
  ossl::UniquePtr<ASN1_OCTET_STRING> os(ASN1_OCTET_STRING_new());
  ASN1_OCTET_STRING_set(os.get(), value.data(), static_cast<int>(value.size()));
  ossl::UniquePtr<X509_EXTENSION> ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, os.get()));
  X509_add_ext(cert, ext.get(), -1);
}

std::string rfc3339(std::int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tmv {};
  gmtime_r(&tt, &tmv);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

void put_be(Bytes& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// RFC 6962 §2.1 Merkle tree hash and audit path, written out independently of src/tlog.
Bytes leaf_h(std::span<const std::uint8_t> d) {
  const std::uint8_t z = 0;
  return sha256_bytes(cat({{&z, 1}, d}));
}
Bytes node_h(const Bytes& l, const Bytes& r) {
  const std::uint8_t one = 1;
  return sha256_bytes(cat({{&one, 1}, l, r}));
}
std::size_t split_point(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
Bytes mth(const std::vector<Bytes>& leaves, std::size_t lo, std::size_t hi) {
  if (hi - lo == 1) return leaves[lo];
  std::size_t k = split_point(hi - lo);
  return node_h(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}
void path(const std::vector<Bytes>& leaves, std::size_t m, std::size_t lo, std::size_t hi, std::vector<Bytes>* out) {
  if (hi - lo == 1) return;
  std::size_t k = split_point(hi - lo);
  if (m < k) {
    path(leaves, m, lo, lo + k, out);
    out->push_back(mth(leaves, lo + k, hi));
  } else {
    path(leaves, m - k, lo + k, hi, out);
    out->push_back(mth(leaves, lo, lo + k));
  }
}

int fixed_time_cb(TS_RESP_CTX*, void* data, long* sec, long* usec) {
  *sec = static_cast<long>(*static_cast<std::int64_t*>(data));
  *usec = 0;
  return 1;
}

Bytes timestamp(EVP_PKEY* key, X509* cert, std::span<const std::uint8_t> data, std::int64_t when, bool embed_cert) {
  Bytes digest = sha256_bytes(data);
  ossl::UniquePtr<TS_REQ> req(TS_REQ_new());
  TS_REQ_set_version(req.get(), 1);
  ossl::UniquePtr<TS_MSG_IMPRINT> mi(TS_MSG_IMPRINT_new());
  ossl::UniquePtr<X509_ALGOR> alg(X509_ALGOR_new());
  X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
  TS_MSG_IMPRINT_set_algo(mi.get(), alg.get());
  TS_MSG_IMPRINT_set_msg(mi.get(), digest.data(), static_cast<int>(digest.size()));
  TS_REQ_set_msg_imprint(req.get(), mi.get());
  TS_REQ_set_cert_req(req.get(), embed_cert ? 1 : 0);
  ossl::UniquePtr<BIO> rb(BIO_new(BIO_s_mem()));
  check(i2d_TS_REQ_bio(rb.get(), req.get()) == 1, "ts req");
  ossl::UniquePtr<TS_RESP_CTX> ctx(TS_RESP_CTX_new());
  check(TS_RESP_CTX_set_signer_cert(ctx.get(), cert) == 1, "tsa cert (needs critical EKU timeStamping)");
  check(TS_RESP_CTX_set_signer_key(ctx.get(), key) == 1, "tsa key");
  ossl::UniquePtr<ASN1_OBJECT> policy(OBJ_txt2obj("1.3.6.1.4.1.57264.2", 1));
  TS_RESP_CTX_set_def_policy(ctx.get(), policy.get());
  TS_RESP_CTX_add_md(ctx.get(), EVP_sha256());
  TS_RESP_CTX_set_time_cb(ctx.get(), fixed_time_cb, &when);
  ossl::UniquePtr<TS_RESP> resp(TS_RESP_create_response(ctx.get(), rb.get()));
  check(resp != nullptr, "ts response");
  unsigned char* p = nullptr;
  int len = i2d_TS_RESP(resp.get(), &p);
  check(len > 0, "ts der");
  ossl::UniquePtr<unsigned char> owned(p);
  return Bytes(p, p + len);
}

OJ ca_json(const char* cn, const std::vector<X509*>& chain, std::int64_t start, std::optional<std::int64_t> end) {
  OJ certs = OJ::array();
  for (X509* c : chain) certs.push_back(OJ{{"rawBytes", base64_encode(der(c))}});
  OJ vf = {{"start", rfc3339(start)}};
  if (end) vf["end"] = rfc3339(*end);
  return OJ{{"subject", {{"organization", "virtual"}, {"commonName", cn}}},
            {"uri", fmt::format("https://{}.virtual.test", cn)},
            {"certChain", {{"certificates", certs}}},
            {"validFor", vf}};
}
OJ log_json(const char* url, EVP_PKEY* k, const char* details = "PKIX_ECDSA_P256_SHA_256") {
  return OJ{{"baseUrl", url},
            {"hashAlgorithm", "SHA2_256"},
            {"publicKey",
             {{"rawBytes", base64_encode(spki(k))},
              {"keyDetails", details},
              {"validFor", {{"start", "2020-01-01T00:00:00Z"}}}}},
            {"logId", {{"keyId", base64_encode(log_id(k))}}}};
}

}  // namespace

VirtualSigstore::Ca VirtualSigstore::make_ca(const char* cn, const Ca* issuer, bool tsa_leaf,
                                             std::int64_t not_after) const {
  Ca out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c), serial >> 1);
  ASN1_TIME_set(X509_getm_notBefore(c), 1'600'000'000);
  ASN1_TIME_set(X509_getm_notAfter(c), static_cast<time_t>(not_after));
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("virtual"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* icert = issuer ? issuer->cert.get() : c;
  X509_set_issuer_name(c, X509_get_subject_name(icert));
  X509_set_pubkey(c, out.key.get());
  add_ext(c, icert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(c, icert, NID_authority_key_identifier, "keyid:always");
  if (tsa_leaf) {
    add_ext(c, icert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c, icert, NID_key_usage, "critical,digitalSignature");
    add_ext(c, icert, NID_ext_key_usage, "critical,timeStamping");
  } else {
    add_ext(c, icert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c, icert, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  check(X509_sign(c, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) > 0, "sign CA");
  return out;
}

VirtualSigstore::VirtualSigstore() {
  leaf_key_.reset(EVP_EC_gen("P-256"));
  fulcio_root_ = make_ca("fulcio-root", nullptr, false);
  fulcio_intermediate_ = make_ca("fulcio-intermediate", &fulcio_root_, false);
  tsa_root_ = make_ca("tsa-root", nullptr, false);
  tsa_leaf_ = make_ca("tsa", &tsa_root_, true);
  expired_tsa_leaf_ = make_ca("tsa", &tsa_root_, true, 1'770'000'000);  // 2026-02-02
  other_tsa_root_ = make_ca("other-tsa-root", nullptr, false);
  other_tsa_leaf_ = make_ca("other-tsa", &other_tsa_root_, true);
  ct_key_.reset(EVP_EC_gen("P-256"));
  other_ct_key_.reset(EVP_EC_gen("P-256"));
  rekor_key_.reset(EVP_EC_gen("P-256"));
  other_rekor_key_.reset(EVP_EC_gen("P-256"));
  rekor_v2_key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

VirtualSigstore::~VirtualSigstore() = default;

std::string VirtualSigstore::trusted_root(const Root& r) const {
  OJ j = {{"mediaType", "application/vnd.dev.sigstore.trustedroot+json;version=0.1"},
          {"tlogs", OJ::array({log_json("https://rekor.virtual.test", rekor_key_.get()),
                               log_json("https://rekor2.virtual.test", rekor_v2_key_.get(), "PKIX_ED25519")})},
          {"certificateAuthorities",
           OJ::array({ca_json("fulcio", {fulcio_intermediate_.cert.get(), fulcio_root_.cert.get()}, r.ca_start, r.ca_end)})},
          {"ctlogs", OJ::array({log_json("https://ct.virtual.test", ct_key_.get())})},
          {"timestampAuthorities", OJ::array()}};
  if (r.with_tsa)
    j["timestampAuthorities"].push_back(ca_json("tsa", {tsa_leaf_.cert.get(), tsa_root_.cert.get()}, 1'600'000'000, std::nullopt));
  return j.dump(2);
}

std::string VirtualSigstore::bundle(const std::string& payload, const Mint& m) const {
  // 1. Fulcio leaf (with its SCT: signed over the precertificate TBS).
  ossl::UniquePtr<X509> owned_leaf(X509_new());
  X509* leaf = owned_leaf.get();
  X509_set_version(leaf, 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(leaf), static_cast<std::uint64_t>(m.integrated_time));
  ASN1_TIME_set(X509_getm_notBefore(leaf), static_cast<time_t>(m.leaf_not_before));
  ASN1_TIME_set(X509_getm_notAfter(leaf), static_cast<time_t>(m.leaf_not_before + m.leaf_lifetime));
  X509_set_issuer_name(leaf, X509_get_subject_name(fulcio_intermediate_.cert.get()));
  X509_set_pubkey(leaf, leaf_key_.get());
  add_ext(leaf, fulcio_intermediate_.cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(leaf, fulcio_intermediate_.cert.get(), NID_ext_key_usage, "codeSigning");
  add_ext(leaf, fulcio_intermediate_.cert.get(), NID_authority_key_identifier, "keyid:always");
  std::string san = (m.san_is_uri ? "critical,URI:" : "critical,email:") + m.san;
  add_ext(leaf, fulcio_intermediate_.cert.get(), NID_subject_alt_name, san.c_str());
  if (m.issuer_v1_extension) add_raw_ext(leaf, "1.3.6.1.4.1.57264.1.1", bytes_of(m.issuer));
  if (m.issuer_v2_extension) {
    ossl::UniquePtr<ASN1_UTF8STRING> u(ASN1_UTF8STRING_new());
    ASN1_STRING_set(u.get(), m.issuer.data(), static_cast<int>(m.issuer.size()));
    unsigned char* p = nullptr;
    int len = i2d_ASN1_UTF8STRING(u.get(), &p);
    ossl::UniquePtr<unsigned char> owned(p);
    add_raw_ext(leaf, "1.3.6.1.4.1.57264.1.8", Bytes(p, p + len));
  }
  check(X509_sign(leaf, fulcio_intermediate_.key.get(), EVP_sha256()) > 0, "sign leaf");
  if (m.sct) {
    unsigned char* tp = nullptr;
    int tlen = i2d_re_X509_tbs(leaf, &tp);
    ossl::UniquePtr<unsigned char> owned_tbs(tp);
    Bytes tbs(tp, tp + tlen);
    Bytes ikh = sha256_bytes(spki(fulcio_intermediate_.key.get()));
    std::uint64_t ts_ms = static_cast<std::uint64_t>(m.leaf_not_before) * 1000 + 500;
    Bytes msg = {0, 0};
    put_be(msg, ts_ms, 8);
    put_be(msg, 1, 2);
    msg.insert(msg.end(), ikh.begin(), ikh.end());
    put_be(msg, tbs.size(), 3);
    msg.insert(msg.end(), tbs.begin(), tbs.end());
    put_be(msg, 0, 2);
    EVP_PKEY* ctk = m.sct_by_unknown_log ? other_ct_key_.get() : ct_key_.get();
    Bytes sig = sign(ctk, msg);
    Bytes id = log_id(ctk);
    SCT* sct = SCT_new();
    SCT_set_version(sct, SCT_VERSION_V1);
    SCT_set_log_entry_type(sct, CT_LOG_ENTRY_TYPE_PRECERT);
    SCT_set1_log_id(sct, id.data(), id.size());
    SCT_set_timestamp(sct, ts_ms);
    SCT_set_signature_nid(sct, NID_ecdsa_with_SHA256);
    SCT_set1_signature(sct, sig.data(), sig.size());
    ossl::UniquePtr<STACK_OF(SCT)> list(sk_SCT_new_null());
    sk_SCT_push(list.get(), sct);
    check(X509_add1_ext_i2d(leaf, NID_ct_precert_scts, list.get(), 0, X509V3_ADD_DEFAULT) == 1, "add SCT");
    check(X509_sign(leaf, fulcio_intermediate_.key.get(), EVP_sha256()) > 0, "re-sign leaf");
  }
  Bytes leaf_der = der(leaf);
  std::string leaf_pem = pem(leaf);
  owned_leaf.reset();

  // 2. DSSE envelope.
  Bytes payload_bytes = bytes_of(payload);
  Bytes pae = bundle::pae("application/vnd.in-toto+json", payload_bytes);
  Bytes dsse_sig = sign(leaf_key_.get(), pae);
  OJ envelope = {{"payload", base64_encode(payload_bytes)},
                 {"payloadType", "application/vnd.in-toto+json"},
                 {"signatures", OJ::array({OJ{{"sig", base64_encode(dsse_sig)}, {"keyid", ""}}})}};

  // 3. Rekor dsse 0.0.1 entry in a 7-leaf tree, at leaf 5.
  Bytes hashed = m.body_for_other_payload ? bytes_of("another payload") : payload_bytes;
  nlohmann::json body = {
      {"apiVersion", "0.0.1"},
      {"kind", "dsse"},
      {"spec",
       {{"envelopeHash", {{"algorithm", "sha256"}, {"value", to_hex(sha256_bytes(bytes_of(envelope.dump())))}}},
        {"payloadHash", {{"algorithm", "sha256"}, {"value", to_hex(sha256_bytes(hashed))}}},
        {"signatures", nlohmann::json::array({{{"signature", base64_encode(dsse_sig)},
                                               {"verifier", base64_encode(bytes_of(leaf_pem))}}})}}}};
  if (m.rekor_v2)
    body = {{"apiVersion", "0.0.2"},
            {"kind", "dsse"},
            {"spec",
             {{"dsseV002",
               {{"payloadHash", {{"algorithm", "SHA2_256"}, {"digest", base64_encode(sha256_bytes(hashed))}}},
                {"signatures", nlohmann::json::array({{{"content", base64_encode(dsse_sig)},
                                                       {"verifier",
                                                        {{"x509Certificate", {{"rawBytes", base64_encode(leaf_der)}}},
                                                         {"keyDetails", "PKIX_ECDSA_P256_SHA_256"}}}}})}}}}}};
  Bytes body_bytes = bytes_of(body.dump());
  EVP_PKEY* rk = m.entry_by_unknown_log ? other_rekor_key_.get() : m.rekor_v2 ? rekor_v2_key_.get() : rekor_key_.get();
  Bytes rid = log_id(rk);
  const std::size_t tree_size = 7, index = 5;
  const std::int64_t entry_index = 1000 + static_cast<std::int64_t>(index);
  std::vector<Bytes> leaves;
  for (std::size_t i = 0; i < tree_size; ++i)
    leaves.push_back(i == index ? leaf_h(body_bytes) : leaf_h(bytes_of(fmt::format("leaf {}", i))));
  Bytes root_hash = mth(leaves, 0, tree_size);
  std::vector<Bytes> audit;
  path(leaves, index, 0, tree_size, &audit);

  OJ entry = {{"logIndex", std::to_string(entry_index)},
              {"logId", {{"keyId", base64_encode(rid)}}},
              {"kindVersion", {{"kind", "dsse"}, {"version", m.rekor_v2 ? "0.0.2" : "0.0.1"}}},
              {"integratedTime", m.rekor_v2 ? std::string("0") : std::to_string(m.integrated_time)}};
  if (m.set && !m.rekor_v2) {
    nlohmann::json canon = {{"body", base64_encode(body_bytes)},
                            {"integratedTime", m.integrated_time},
                            {"logID", to_hex(rid)},
                            {"logIndex", entry_index}};
    Bytes set = sign(rk, bytes_of(canon.dump()));
    if (m.set_corrupt) set[set.size() / 2] ^= 0x01;
    entry["inclusionPromise"] = {{"signedEntryTimestamp", base64_encode(set)}};
  }
  if (m.proof) {
    std::string name = m.rekor_v2 ? "rekor2.virtual.test" : "rekor.virtual.test";
    std::string text = fmt::format("{}{}\n{}\n{}\n", name, m.rekor_v2 ? "" : " - 42", tree_size,
                                   base64_encode(root_hash));
    EVP_PKEY* ck = m.checkpoint_by_other_key ? other_rekor_key_.get() : rk;
    Bytes hint(rid.begin(), rid.begin() + 4);
    if (m.rekor_v2) {  // C2SP signed-note key ID: SHA-256(name || "\n" || 0x01 || raw key)[:4]
      Bytes raw = spki(rk);
      raw.erase(raw.begin(), raw.end() - 32);
      const std::uint8_t sep[2] = {'\n', 0x01};
      Bytes h = sha256_bytes(cat({bytes_of(name), sep, raw}));
      hint.assign(h.begin(), h.begin() + 4);
    }
    Bytes note_sig = cat({hint, sign(ck, bytes_of(text))});
    std::string note = text + "\n\xe2\x80\x94 " + name + " " + base64_encode(note_sig) + "\n";
    OJ hashes = OJ::array();
    for (const auto& h : audit) hashes.push_back(base64_encode(h));
    entry["inclusionProof"] = {{"logIndex", std::to_string(index + (m.proof_index_off_by_one ? 1 : 0))},
                               {"rootHash", base64_encode(root_hash)},
                               {"treeSize", std::to_string(tree_size)},
                               {"hashes", hashes},
                               {"checkpoint", {{"envelope", note}}}};
  }
  entry["canonicalizedBody"] = base64_encode(body_bytes);

  OJ vm;
  if (m.bundle_minor_version >= 3)
    vm["certificate"] = {{"rawBytes", base64_encode(leaf_der)}};
  else
    vm["x509CertificateChain"] = {{"certificates", OJ::array({OJ{{"rawBytes", base64_encode(leaf_der)}}})}};
  vm["tlogEntries"] = OJ::array({entry});
  if (m.tsa) {
    const Ca& t = m.tsa_unknown ? other_tsa_leaf_ : m.tsa_expired_now ? expired_tsa_leaf_ : tsa_leaf_;
    Bytes stamped = m.tsa_over_other_bytes ? bytes_of("other bytes") : dsse_sig;
    vm["timestampVerificationData"] = {
        {"rfc3161Timestamps", OJ::array({OJ{{"signedTimestamp", base64_encode(timestamp(t.key.get(), t.cert.get(), stamped, m.tsa_time, m.tsa_embeds_certificate))}}})}};
  }
  std::string media = m.bundle_minor_version >= 3
                          ? std::string("application/vnd.dev.sigstore.bundle.v0.3+json")
                          : fmt::format("application/vnd.dev.sigstore.bundle+json;version=0.{}", m.bundle_minor_version);
  OJ out = {{"mediaType", media}, {"verificationMaterial", vm}, {"dsseEnvelope", envelope}};
  return out.dump(2);
}

}  // namespace modelsign::test
