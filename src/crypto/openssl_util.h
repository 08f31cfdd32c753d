// OpenSSL plumbing for the core and the providers (internal): RAII owners for the
// OpenSSL handles (BoringSSL-style ownership: a unique_ptr owns, a raw pointer borrows),
// the error queue as an Error, and the bridge between PublicKey and OpenSSL's EVP_PKEY.
#pragma once

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/param_build.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string_view>

#include "modelsign/crypto.h"
#include "modelsign/error.h"

namespace modelsign {

namespace ossl {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdPtr = std::unique_ptr<EVP_MD, Deleter<EVP_MD_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using X509PubkeyPtr = std::unique_ptr<X509_PUBKEY, Deleter<X509_PUBKEY_free>>;

inline void x509_stack_free(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Deleter<x509_stack_free>>;

}  // namespace ossl

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, ossl::Deleter<EVP_PKEY_free>>;

// The OpenSSL error queue as an Error (clears the queue).
Error openssl_error(ErrorCode code, std::string_view what);

// The key's EVP_PKEY, borrowed: valid while `key` (or a copy of it) lives.
EVP_PKEY* pkey_of(const PublicKey& key);

// A PublicKey holding a copy of the public half of `pkey` (through its
// SubjectPublicKeyInfo). The caller keeps `pkey`, which may be borrowed
// (X509_get0_pubkey) or a private key; no private part is copied.
Result<PublicKey> public_key_from_pkey(const EVP_PKEY* pkey);

}  // namespace modelsign
