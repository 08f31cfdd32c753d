// X.509 helpers on top of OpenSSL (internal).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/openssl_util.h"
#include "modelsign/crypto.h"

namespace modelsign::x509 {

Result<ossl::UniquePtr<X509>> parse_der(std::span<const std::uint8_t> der);
// The DER of the first certificate in PEM text. A text without one fails with `code`
// and `what`, which say whose certificate it should have been.
Result<Bytes> pem_to_der(std::string_view pem, ErrorCode code, std::string_view what);
Result<PublicKey> public_key(X509* cert);
std::string subject(X509* cert);
std::string issuer(X509* cert);
// SHA-256 fingerprint as upper-case hex pairs separated by ':' (as model_signing logs it).
std::string fingerprint(X509* cert);
std::string not_before(X509* cert);
std::string not_after(X509* cert);

}  // namespace modelsign::x509
