#include "verify/certificate_chain.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>

#include "crypto/x509.h"
#include "modelsign/log.h"

namespace modelsign::verify {

namespace {
void say_fingerprint(std::string_view tag, X509* c) {
  // Asked for explicitly with --log-fingerprints: shown whatever the log level.
  log::write(log::Level::kInfo, fmt::format("[{}] {} SHA-256 fingerprint {}", tag, x509::subject(c),
                                            x509::fingerprint(c)));
}
}  // namespace

std::string system_store_description() {
  auto from = [](const char* env, const char* fallback) {
    const char* v = std::getenv(env);
    if (v != nullptr && *v != '\0') return fmt::format("'{}' (from ${})", v, env);
    return fmt::format("'{}'", fallback);
  };
  return fmt::format("OpenSSL's default CA store: file {}, directory {}",
                     from(X509_get_default_cert_file_env(), X509_get_default_cert_file()),
                     from(X509_get_default_cert_dir_env(), X509_get_default_cert_dir()));
}

Result<void> check_validity(X509* cert, std::time_t at) {
  if (X509_cmp_time(X509_get0_notBefore(cert), &at) > 0)
    return fail(ErrorCode::kVerification,
                fmt::format("the signing certificate '{}' is not valid yet: valid from {} to {}",
                            x509::subject(cert), x509::not_before(cert), x509::not_after(cert)));
  if (X509_cmp_time(X509_get0_notAfter(cert), &at) < 0)
    return fail(ErrorCode::kVerification,
                fmt::format("the signing certificate '{}' has expired: valid from {} to {}",
                            x509::subject(cert), x509::not_before(cert), x509::not_after(cert)));
  return {};
}

Result<void> check_signing_usage(X509* cert) {
  std::uint32_t flags = X509_get_extension_flags(cert);
  const bool has_ku = (flags & EXFLAG_KUSAGE) != 0;
  const bool has_eku = (flags & EXFLAG_XKUSAGE) != 0;
  if (!has_ku && !has_eku)
    return fail(ErrorCode::kVerification,
                fmt::format("Signing certificate cannot be used for signing: '{}' has neither "
                            "KeyUsage digitalSignature nor ExtendedKeyUsage codeSigning",
                            x509::subject(cert)));
  // Each extension present restricts the key: both must allow code signing.
  if (has_eku && (X509_get_extended_key_usage(cert) & XKU_CODE_SIGN) == 0)
    return fail(ErrorCode::kVerification,
                fmt::format("Signing certificate cannot be used for signing: '{}' has an "
                            "ExtendedKeyUsage without codeSigning (it is for other purposes, "
                            "such as TLS); use a code-signing certificate",
                            x509::subject(cert)));
  if (has_ku && (X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE) == 0)
    return fail(ErrorCode::kVerification,
                fmt::format("Signing certificate cannot be used for signing: '{}' has a "
                            "KeyUsage without digitalSignature; use a certificate whose KeyUsage "
                            "includes digitalSignature",
                            x509::subject(cert)));
  return {};
}

Result<ChainResult> validate_chain(const std::vector<Bytes>& certs, const ChainOptions& options,
                                   std::vector<std::string>* warnings) {
  const bool log_fingerprints = options.log_fingerprints;
  if (certs.empty()) return fail(ErrorCode::kMalformed, "the bundle holds no certificate");
  auto leaf = x509::parse_der(certs.front());
  if (!leaf) return fail(leaf.error().with_context("signing certificate in the bundle"));

  ossl::UniquePtr<X509_STORE> store(X509_STORE_new());
  if (options.anchors.empty() && !options.use_system_store)
    return fail(ErrorCode::kInvalidArgument,
                "no trust anchor given: pass the self-signed root CA of the signer's PKI with "
                "--certificate-chain (or, to trust every CA of the system store, "
                "--use-system-trust-store)");
  if (options.use_system_store) {
    X509_STORE_set_default_paths(store.get());
    ERR_clear_error();
    warnings->push_back(fmt::format("trusting the system CA store ({}): any certificate any of "
                                    "its CAs issued for code signing is accepted",
                                    system_store_description()));
  }
  for (const auto& a : options.anchors) {
    auto c = x509::parse_der(a);
    if (!c) return fail(c.error().with_context("--certificate-chain"));
    if (log_fingerprints) say_fingerprint("init", c->get());
    X509_STORE_add_cert(store.get(), c->get());
  }
  ossl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  if (log_fingerprints) say_fingerprint("verify", leaf->get());
  for (size_t i = 1; i < certs.size(); ++i) {
    auto c = x509::parse_der(certs[i]);
    if (!c) return fail(c.error().with_context(fmt::format("certificate #{} in the bundle", i)));
    if (log_fingerprints) say_fingerprint("verify", c->get());
    sk_X509_push(untrusted.get(), c->release());
  }

  // The leaf must be valid at verification time, not only when it was issued (checked
  // first: the clearest message for an expired signer).
  std::time_t now = options.at ? std::chrono::system_clock::to_time_t(*options.at) : std::time(nullptr);
  if (auto v = check_validity(leaf->get(), now); !v) return fail(v.error());
  ossl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), untrusted.get());
  // model_signing evaluates the chain at the leaf's notBefore (certificates may expire
  // after signing); the leaf's own validity at verification time was checked above.
  time_t at = 0;
  {
    struct tm tmv {};
    ASN1_TIME_to_tm(X509_get0_notBefore(leaf->get()), &tmv);
    at = timegm(&tmv);
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, at);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    std::string reason = X509_verify_cert_error_string(err);
    ERR_clear_error();
    std::string advice;
    X509* stuck = X509_STORE_CTX_get_current_cert(ctx.get());
    if ((err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) &&
        stuck != nullptr) {
      // Name the missing link instead of OpenSSL's "unable to get local issuer certificate".
      reason = fmt::format("the chain in the signature lacks the intermediate that issued '{}' "
                           "(issuer '{}'), and --certificate-chain does not hold it either",
                           x509::subject(stuck), x509::issuer(stuck));
      advice = fmt::format("; re-sign with the intermediate in --certificate-chain, or, when '{}' "
                           "is your self-signed root CA, pass its certificate with --certificate-chain",
                           x509::issuer(stuck));
    } else if (err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN || err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
      advice = "; pass the self-signed root CA of the signer's PKI with --certificate-chain "
               "(an intermediate alone is not a trust anchor)";
    return fail(Error(ErrorCode::kVerification,
                      fmt::format("certificate chain of '{}' does not validate: {}{}",
                                  x509::subject(leaf->get()), reason, advice),
                      "X509_V_ERR", static_cast<std::uint64_t>(err)));
  }

  if (auto u = check_signing_usage(leaf->get()); !u) return fail(u.error());
  std::uint32_t flags = X509_get_extension_flags(leaf->get());
  if ((flags & EXFLAG_KUSAGE) == 0)
    warnings->push_back("the signing certificate has no KeyUsage extension");

  auto key = x509::public_key(leaf->get());
  if (!key) return fail(key.error());
  return ChainResult{std::move(*key), x509::subject(leaf->get())};
}

}  // namespace modelsign::verify
