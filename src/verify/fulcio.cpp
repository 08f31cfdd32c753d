#include "verify/fulcio.h"

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <regex>

#include "bundle/limits.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "crypto/x509.h"
#include "tlog/tlog.h"

namespace modelsign::verify {

namespace {


constexpr const char* kOidIssuerV2 = "1.3.6.1.4.1.57264.1.8";
constexpr const char* kOidIssuerV1 = "1.3.6.1.4.1.57264.1.1";

// Is t within the certificate's notBefore..notAfter?
int cmp_validity(X509* c, std::int64_t t) {
  time_t tt = static_cast<time_t>(t);
  if (X509_cmp_time(X509_get0_notBefore(c), &tt) > 0) return -1;
  if (X509_cmp_time(X509_get0_notAfter(c), &tt) < 0) return 1;
  return 0;
}

const ASN1_OCTET_STRING* extension_data(X509* c, const char* oid) {
  ossl::UniquePtr<ASN1_OBJECT> obj(OBJ_txt2obj(oid, 1));
  if (!obj) return nullptr;
  int idx = X509_get_ext_by_OBJ(c, obj.get(), -1);
  if (idx < 0) return nullptr;
  return X509_EXTENSION_get_data(X509_get_ext(c, idx));
}

void put_be(Bytes& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

Result<ossl::UniquePtr<X509>> verify_fulcio_chain(X509* leaf, const std::vector<Bytes>& extra, const root::TrustedRoot& root,
                                          const std::vector<VerifiedTime>& times) {
  if (times.empty()) return fail(ErrorCode::kInternal, "no verified time to check the certificate at");
  // A Fulcio certificate lives minutes: it must have been valid when the signature was
  // made, as vouched for by each verified time. "Now" plays no part.
  for (const auto& t : times) {
    int c = cmp_validity(leaf, t.time);
    if (c != 0)
      return fail(ErrorCode::kVerification,
                  fmt::format("certificate not valid at {} {}: the signing certificate is valid from {} to {}",
                              t.source, root::format_time(t.time), x509::not_before(leaf), x509::not_after(leaf)));
  }
  std::uint32_t flags = X509_get_extension_flags(leaf);
  if ((flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN) == 0)
    return fail(ErrorCode::kVerification,
                "the signing certificate has no ExtendedKeyUsage codeSigning: it is not a Fulcio signing certificate");

  ossl::UniquePtr<X509> issuer;
  for (const auto& t : times) {
    std::string why = fmt::format("no Fulcio CA of the trusted root ({}) was valid at {} {}", root.source, t.source,
                                  root::format_time(t.time));
    bool ok = false;
    for (const auto& ca : root.certificate_authorities) {
      if (!ca.valid_for.contains(t.time)) continue;
      ossl::UniquePtr<X509_STORE> store(X509_STORE_new());
      ossl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
      for (std::size_t i = 0; i < ca.chain.size(); ++i) {
        auto c = x509::parse_der(ca.chain[i]);
        if (!c) return fail(c.error());
        if (i + 1 == ca.chain.size()) X509_STORE_add_cert(store.get(), c->get());
        else sk_X509_push(untrusted.get(), c->release());
      }
      for (const auto& e : extra) {
        auto c = x509::parse_der(e);
        if (!c) return fail(c.error().with_context("a chain certificate in the bundle"));
        sk_X509_push(untrusted.get(), c->release());
      }
      ossl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get());
      X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), static_cast<time_t>(t.time));
      if (X509_verify_cert(ctx.get()) == 1) {
        STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
        if (sk_X509_num(chain) >= 2) {
          X509* is = sk_X509_value(chain, 1);
          X509_up_ref(is);
          issuer.reset(is);
        }
        ok = true;
        break;
      }
      why = fmt::format("the signing certificate does not chain to Fulcio CA {} at {} {}: {}", ca.subject, t.source,
                        root::format_time(t.time), X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
      ERR_clear_error();
    }
    if (!ok) return fail(ErrorCode::kVerification, why);
  }
  if (!issuer) return fail(ErrorCode::kVerification, "the signing certificate is self-signed, not issued by Fulcio");
  return issuer;
}

Result<void> verify_embedded_scts(X509* leaf, X509* issuer, const root::TrustedRoot& root) {
  int crit = 0;
  ossl::UniquePtr<STACK_OF(SCT)> scts(static_cast<STACK_OF(SCT)*>(X509_get_ext_d2i(leaf, NID_ct_precert_scts, &crit, nullptr)));
  if (!scts || sk_SCT_num(scts.get()) == 0) {
    ERR_clear_error();
    return fail(ErrorCode::kVerification,
                "the signing certificate has no embedded SCT: it was not logged to certificate transparency");
  }
  if (static_cast<std::size_t>(sk_SCT_num(scts.get())) > limits::kMaxScts)
    return fail(ErrorCode::kVerification, "the signing certificate embeds too many SCTs");

  // The precertificate's TBSCertificate is the leaf's without the SCT list.
  ossl::UniquePtr<X509> pre(X509_dup(leaf));
  int idx = X509_get_ext_by_NID(pre.get(), NID_ct_precert_scts, -1);
  if (idx >= 0) X509_EXTENSION_free(X509_delete_ext(pre.get(), idx));
  unsigned char* tbs_p = nullptr;
  int tbs_len = i2d_re_X509_tbs(pre.get(), &tbs_p);
  if (tbs_len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode the precertificate"));
  Bytes tbs(tbs_p, tbs_p + tbs_len);
  OPENSSL_free(tbs_p);
  unsigned char* spki_p = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki_p);
  if (spki_len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode the issuer key"));
  Bytes spki(spki_p, spki_p + spki_len);
  OPENSSL_free(spki_p);
  auto issuer_key_hash = sha256(spki);
  if (!issuer_key_hash) return fail(issuer_key_hash.error());

  std::string why;
  for (int i = 0; i < sk_SCT_num(scts.get()); ++i) {
    SCT* sct = sk_SCT_value(scts.get(), i);
    if (SCT_get_version(sct) != SCT_VERSION_V1) {
      why = "an SCT is not version 1";
      continue;
    }
    unsigned char* id = nullptr;
    std::size_t id_len = SCT_get0_log_id(sct, &id);
    const root::LogKey* log = root.find_ctlog(std::span<const std::uint8_t>(id, id_len));
    if (log == nullptr) {
      why = fmt::format("the SCT is from CT log {}, which is not a CT log of the trusted root",
                        base64_encode(std::span<const std::uint8_t>(id, id_len)));
      continue;
    }
    std::uint64_t ts_ms = SCT_get_timestamp(sct);
    auto ts = static_cast<std::int64_t>(ts_ms / 1000);
    if (!log->valid_for.contains(ts)) {
      why = fmt::format("the SCT time {} is outside the validity of CT log {} ({})", root::format_time(ts),
                        log->base_url, log->valid_for.describe());
      continue;
    }
    unsigned char* ext = nullptr;
    std::size_t ext_len = SCT_get0_extensions(sct, &ext);
    unsigned char* sig = nullptr;
    std::size_t sig_len = SCT_get0_signature(sct, &sig);
    Bytes msg;
    msg.push_back(0);  // v1
    msg.push_back(0);  // certificate_timestamp
    put_be(msg, ts_ms, 8);
    put_be(msg, 1, 2);  // precert_entry
    msg.insert(msg.end(), issuer_key_hash->begin(), issuer_key_hash->end());
    put_be(msg, tbs.size(), 3);
    msg.insert(msg.end(), tbs.begin(), tbs.end());
    put_be(msg, ext_len, 2);
    if (ext_len > 0) msg.insert(msg.end(), ext, ext + ext_len);
    if (tlog::verify_with_log_key(*log, msg, std::span<const std::uint8_t>(sig, sig_len))) return {};
    why = fmt::format("the SCT's signature does not verify with the key of CT log {}", log->base_url);
  }
  return fail(ErrorCode::kVerification, fmt::format("no valid SCT in the signing certificate: {}", why));
}

Result<FulcioIdentity> identity_of(X509* leaf) {
  FulcioIdentity id;
  ossl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
      const ASN1_IA5STRING* s = nullptr;
      if (g->type == GEN_EMAIL) s = g->d.rfc822Name;
      else if (g->type == GEN_URI) s = g->d.uniformResourceIdentifier;
      if (s == nullptr) continue;
      auto len = static_cast<std::size_t>(ASN1_STRING_length(s));
      if (len > limits::kMaxIdentityBytes) return fail(ErrorCode::kVerification, "a SAN of the signing certificate is too long");
      id.sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), len);
    }
  }
  ERR_clear_error();
  if (const ASN1_OCTET_STRING* v2 = extension_data(leaf, kOidIssuerV2)) {
    const unsigned char* p = ASN1_STRING_get0_data(v2);
    ASN1_UTF8STRING* u = d2i_ASN1_UTF8STRING(nullptr, &p, ASN1_STRING_length(v2));
    if (u == nullptr) {
      ERR_clear_error();
      return fail(ErrorCode::kVerification, "the certificate's OIDC issuer extension (1.3.6.1.4.1.57264.1.8) is not a UTF8String");
    }
    id.issuer.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(u)), static_cast<std::size_t>(ASN1_STRING_length(u)));
    ASN1_UTF8STRING_free(u);
  } else if (const ASN1_OCTET_STRING* v1 = extension_data(leaf, kOidIssuerV1)) {
    id.issuer.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v1)), static_cast<std::size_t>(ASN1_STRING_length(v1)));
  }
  if (id.issuer.size() > limits::kMaxIdentityBytes)
    return fail(ErrorCode::kVerification, "the certificate's OIDC issuer is too long");
  return id;
}

Result<std::string> check_identity(const FulcioIdentity& id, const std::string& identity, bool regex,
                                   const std::string& issuer) {
  std::string have = id.sans.empty() ? std::string("no email or URI SAN") : fmt::format("{}", fmt::join(id.sans, ", "));
  std::optional<std::regex> re;
  if (regex) {
    try {
      re.emplace(identity, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("--identity '{}' is not a valid regular expression: {}",
                                                           identity, e.what()));
    }
  }
  std::optional<std::string> matched;
  for (const auto& s : id.sans) {
    bool ok = false;
    if (re) {
      try {
        ok = std::regex_match(s, *re);  // anchored: the whole SAN must match
      } catch (const std::regex_error&) {
        ok = false;
      }
    } else {
      ok = s == identity;
    }
    if (ok) {
      matched = s;
      break;
    }
  }
  if (!matched)
    return fail(ErrorCode::kVerification,
                fmt::format("identity mismatch: wanted {}{}, certificate has {}", regex ? "a SAN fully matching " : "",
                            identity, have));
  if (id.issuer != issuer)
    return fail(ErrorCode::kVerification,
                fmt::format("issuer mismatch: wanted {}, certificate has {}", issuer,
                            id.issuer.empty() ? std::string("no OIDC issuer extension") : id.issuer));
  return *matched;
}

}  // namespace modelsign::verify
