// Public keys rebuilt from token attributes, and key descriptions for listings.
#pragma once

#include <optional>
#include <string>

#include "pkcs11/p11_common.h"

namespace modelsign::pkcs11 {

// From a public-key object (CKA_EC_PARAMS/CKA_EC_POINT, CKA_MODULUS/CKA_PUBLIC_EXPONENT,
// Ed25519 CKA_EC_POINT), a certificate object (CKA_VALUE), or the same attributes of a
// private-key object when the token exposes them.
Result<PublicKey> public_key_from_object(const Session& s, CK_OBJECT_HANDLE o);

// Public key from the pieces (exposed for tests and keygen).
Result<PublicKey> ec_public_key(const Bytes& ec_params, const Bytes& ec_point);
Result<PublicKey> ed25519_public_key(const Bytes& ec_point);
Result<PublicKey> rsa_public_key(const Bytes& modulus, const Bytes& exponent);

// "EC P-256", "RSA 3072", "Ed25519", "certificate" ... for listings.
std::string describe_object_key(const Session& s, CK_OBJECT_HANDLE o);

// DER ECParameters (named-curve OID) for keygen.
Bytes ec_params_p256();
Bytes ec_params_p384();
Bytes ec_params_p521();
Bytes ec_params_ed25519();

}  // namespace modelsign::pkcs11
