#include "timestamp/rfc3161.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <ctime>

#include "crypto/openssl_util.h"
#include "crypto/x509.h"

namespace modelsign::timestamp {

namespace {

bool two(std::string_view s, std::size_t pos, int* out) {
  if (pos + 2 > s.size() || s[pos] < '0' || s[pos] > '9' || s[pos + 1] < '0' || s[pos + 1] > '9') return false;
  *out = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
  return true;
}
// Chain errors that mean "issued under another root", as opposed to a damaged or
// expired certificate of a TSA that the root does list.
bool foreign_chain(std::string_view detail) {
  for (int e : {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT})
    if (detail.find(X509_verify_cert_error_string(e)) != std::string_view::npos) return true;
  return false;
}
}  // namespace

Result<std::int64_t> parse_generalized_time(std::string_view s) {
  auto bad = [&] {
    return fail(ErrorCode::kVerification,
                fmt::format("the timestamp's genTime '{}' is not YYYYMMDDHHMMSS[.fff]Z", s.substr(0, 32)));
  };
  int c, y, mo, d, h, mi, se;
  if (!two(s, 0, &c) || !two(s, 2, &y) || !two(s, 4, &mo) || !two(s, 6, &d) || !two(s, 8, &h) || !two(s, 10, &mi) ||
      !two(s, 12, &se))
    return bad();
  std::size_t pos = 14;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) ++n;
    if (n == 0 || n > 3) return bad();  // RFC 3161 drops trailing zeros; Sigstore TSAs use at most ms
  }
  if (pos + 1 != s.size() || s[pos] != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return bad();
  struct tm t {};
  t.tm_year = c * 100 + y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = se;
  return static_cast<std::int64_t>(timegm(&t));
}

Result<Verified> verify(std::span<const std::uint8_t> der, std::span<const std::uint8_t> signed_data,
                        const root::TrustedRoot& root) {
  const unsigned char* p = der.data();
  ossl::UniquePtr<TS_RESP> resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size())));
  if (!resp || p != der.data() + der.size())
    return fail(openssl_error(ErrorCode::kVerification, "an RFC 3161 timestamp is not a DER TimeStampResponse"));
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  if (info == nullptr) return fail(ErrorCode::kVerification, "an RFC 3161 timestamp response carries no token");
  const ASN1_GENERALIZEDTIME* gt = TS_TST_INFO_get_time(info);
  if (gt == nullptr) return fail(ErrorCode::kVerification, "an RFC 3161 timestamp has no genTime");
  auto gen = parse_generalized_time(
      std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gt)), static_cast<std::size_t>(ASN1_STRING_length(gt))));
  if (!gen) return fail(gen.error());

  PKCS7* token = TS_RESP_get_token(resp.get());
  const bool embeds_certificates = token != nullptr && PKCS7_type_is_signed(token) && token->d.sign != nullptr &&
                                   sk_X509_num(token->d.sign->cert) > 0;

  std::string last_error = "the trusted root lists no timestamping authority";
  bool any_fatal = false;
  for (const auto& tsa : root.timestamp_authorities) {
    if (!tsa.valid_for.contains(*gen)) {
      last_error = fmt::format("genTime {} is outside the validity of TSA '{}' ({})", root::format_time(*gen),
                               tsa.uri.empty() ? tsa.subject : tsa.uri, tsa.valid_for.describe());
      continue;
    }
    ossl::UniquePtr<TS_VERIFY_CTX> ctx(TS_VERIFY_CTX_new());
    ossl::UniquePtr<X509_STORE> store(X509_STORE_new());
    ossl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
    for (std::size_t i = 0; i < tsa.chain.size(); ++i) {
      auto c = x509::parse_der(tsa.chain[i]);
      if (!c) return fail(c.error());
      // The last certificate of the chain is the anchor, the others are intermediates
      // (or the TSA's own certificate, when the token does not embed it).
      if (i + 1 == tsa.chain.size()) X509_STORE_add_cert(store.get(), c->get());
      else sk_X509_push(untrusted.get(), c->release());
    }
    X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*gen));
    ossl::UniquePtr<BIO> data(BIO_new_mem_buf(signed_data.data(), static_cast<int>(signed_data.size())));
    TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_SIGNER | TS_VFY_DATA);
    TS_VERIFY_CTX_set_data(ctx.get(), data.release());
    TS_VERIFY_CTX_set_store(ctx.get(), store.release());
    TS_VERIFY_CTX_set_certs(ctx.get(), untrusted.release());
    ERR_clear_error();
    if (TS_RESP_verify_response(ctx.get(), resp.get()) == 1) return Verified{*gen, tsa.uri.empty() ? tsa.subject : tsa.uri};
    // A chain that does not build means another TSA signed it; anything else (bad
    // signature, imprint, version) means this TSA's token was altered or misapplied.
    unsigned long other = 0;
    std::string other_detail;
    bool chain = false;
    const char* err_data = nullptr;
    int eflags = 0;
    for (unsigned long x; (x = ERR_get_error_all(nullptr, nullptr, nullptr, &err_data, &eflags)) != 0;) {
      std::string_view detail = (eflags & ERR_TXT_STRING) != 0 && err_data != nullptr ? err_data : "";
      // The signer is none of this TSA's certificates and the token carries none (so it
      // names its signer only), or the signer it carries chains elsewhere. A token that
      // carries certificates but none of them is its signer is damaged, not foreign.
      if ((ERR_GET_LIB(x) == ERR_LIB_PKCS7 && ERR_GET_REASON(x) == PKCS7_R_SIGNER_CERTIFICATE_NOT_FOUND &&
           !embeds_certificates) ||
          (ERR_GET_LIB(x) == ERR_LIB_TS && ERR_GET_REASON(x) == TS_R_CERTIFICATE_VERIFY_ERROR &&
           foreign_chain(detail)))
        chain = true;
      else if (other == 0) {
        other = x;
        other_detail = detail;
      }
    }
    const char* reason = other != 0 ? ERR_reason_error_string(other) : nullptr;
    if (other != 0) chain = false;
    if (!chain) any_fatal = true;
    std::string name = tsa.uri.empty() ? tsa.subject : tsa.uri;
    last_error = chain ? fmt::format("its signer does not chain to TSA '{}'", name)
                       : fmt::format("it does not verify against TSA '{}': {}{}{}", name, reason ? reason : "unknown error",
                                     other_detail.empty() ? "" : ": ", other_detail);
  }
  if (!any_fatal)
    return fail(ErrorCode::kNotFound,
                fmt::format("RFC 3161 timestamp of {} not counted: {}; it is not from a TSA of the trusted root",
                            root::format_time(*gen), last_error));
  return fail(ErrorCode::kVerification,
              fmt::format("RFC 3161 timestamp of {} is not valid: {}; the timestamp covers other bytes or was "
                          "altered",
                          root::format_time(*gen), last_error));
}

}  // namespace modelsign::timestamp
