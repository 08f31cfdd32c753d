#include "crypto/openssl_util.h"
#include "crypto/x509.h"

#include <openssl/pem.h>

#include <fmt/format.h>

namespace modelsign::x509 {

Result<ossl::UniquePtr<X509>> parse_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  ossl::UniquePtr<X509> c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c || p != der.data() + der.size())
    return fail(openssl_error(ErrorCode::kMalformed, "cannot parse a DER X.509 certificate"));
  return c;
}

Result<Bytes> pem_to_der(std::string_view pem, ErrorCode code, std::string_view what) {
  ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::UniquePtr<X509> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) return fail(openssl_error(code, what));
  unsigned char* der = nullptr;
  int len = i2d_X509(x.get(), &der);
  if (len <= 0) return fail(openssl_error(ErrorCode::kInternal, "cannot encode a certificate"));
  ossl::UniquePtr<unsigned char> owned(der);
  return Bytes(der, der + len);
}

Result<PublicKey> public_key(X509* cert) {
  EVP_PKEY* k = X509_get0_pubkey(cert);
  if (k == nullptr) return fail(openssl_error(ErrorCode::kMalformed, "certificate has no usable public key"));
  return public_key_from_pkey(k);
}

static std::string name_string(const X509_NAME* n) {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string subject(X509* cert) { return name_string(X509_get_subject_name(cert)); }
std::string issuer(X509* cert) { return name_string(X509_get_issuer_name(cert)); }

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", md[i]);
  return out;
}

static std::string time_string(const ASN1_TIME* t) {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print_ex(bio.get(), t, ASN1_DTFLGS_ISO8601);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string not_before(X509* cert) { return time_string(X509_get0_notBefore(cert)); }
std::string not_after(X509* cert) { return time_string(X509_get0_notAfter(cert)); }

}  // namespace modelsign::x509
