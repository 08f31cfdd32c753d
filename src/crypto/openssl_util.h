// OpenSSL plumbing for the core and the providers (internal): one owning pointer for
// every OpenSSL type, the error queue as an Error, and the bridge between PublicKey and
// OpenSSL's EVP_PKEY.
//
// Ownership, as in BoringSSL: ossl::UniquePtr<T> owns and frees with T's own free
// function; a raw pointer borrows. Each OpenSSL type gets its deleter once, below (a
// file's own ASN.1 type adds its own with MODELSIGN_OSSL_DELETER in namespace
// modelsign::ossl); a type without one does not compile as UniquePtr<T>.
#pragma once

#include <openssl/bio.h>
#include <openssl/ct.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string_view>

#include "modelsign/crypto.h"
#include "modelsign/error.h"

namespace modelsign {

namespace ossl {

template <class T>
struct Deleter;  // specialised once per OpenSSL type below

template <class T>
using UniquePtr = std::unique_ptr<T, Deleter<T>>;

#define MODELSIGN_OSSL_DELETER(type, free_fn)          \
  template <>                                          \
  struct Deleter<type> {                               \
    void operator()(type* p) const { free_fn(p); }     \
  }

inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }

MODELSIGN_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
MODELSIGN_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
MODELSIGN_OSSL_DELETER(EVP_MD, EVP_MD_free);
MODELSIGN_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
MODELSIGN_OSSL_DELETER(BIO, BIO_free_all);
MODELSIGN_OSSL_DELETER(BIGNUM, BN_free);
MODELSIGN_OSSL_DELETER(ECDSA_SIG, ECDSA_SIG_free);
MODELSIGN_OSSL_DELETER(OSSL_PARAM, OSSL_PARAM_free);
MODELSIGN_OSSL_DELETER(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free);
// ASN1_INTEGER, ASN1_OCTET_STRING, ASN1_UTF8STRING, ASN1_TIME, ... are all ASN1_STRING.
MODELSIGN_OSSL_DELETER(ASN1_STRING, ASN1_STRING_free);
MODELSIGN_OSSL_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
MODELSIGN_OSSL_DELETER(X509, X509_free);
MODELSIGN_OSSL_DELETER(STACK_OF(X509), free_x509_stack);
MODELSIGN_OSSL_DELETER(X509_ALGOR, X509_ALGOR_free);
MODELSIGN_OSSL_DELETER(X509_EXTENSION, X509_EXTENSION_free);
MODELSIGN_OSSL_DELETER(X509_PUBKEY, X509_PUBKEY_free);
MODELSIGN_OSSL_DELETER(X509_STORE, X509_STORE_free);
MODELSIGN_OSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
MODELSIGN_OSSL_DELETER(GENERAL_NAMES, GENERAL_NAMES_free);
MODELSIGN_OSSL_DELETER(STACK_OF(SCT), SCT_LIST_free);
MODELSIGN_OSSL_DELETER(TS_MSG_IMPRINT, TS_MSG_IMPRINT_free);
MODELSIGN_OSSL_DELETER(TS_REQ, TS_REQ_free);
MODELSIGN_OSSL_DELETER(TS_RESP, TS_RESP_free);
MODELSIGN_OSSL_DELETER(TS_RESP_CTX, TS_RESP_CTX_free);
MODELSIGN_OSSL_DELETER(TS_VERIFY_CTX, TS_VERIFY_CTX_free);
// Memory OpenSSL allocated for the caller (i2d_* output, names, PEM headers).
MODELSIGN_OSSL_DELETER(char, OPENSSL_free);
MODELSIGN_OSSL_DELETER(unsigned char, OPENSSL_free);

}  // namespace ossl

// The OpenSSL error queue as an Error (clears the queue).
Error openssl_error(ErrorCode code, std::string_view what);

// The key's EVP_PKEY, borrowed: valid while `key` (or a copy of it) lives.
EVP_PKEY* pkey_of(const PublicKey& key);

// A PublicKey holding a copy of the public half of `pkey` (through its
// SubjectPublicKeyInfo). The caller keeps `pkey`, which may be borrowed
// (X509_get0_pubkey) or a private key; no private part is copied.
Result<PublicKey> public_key_from_pkey(const EVP_PKEY* pkey);

}  // namespace modelsign
