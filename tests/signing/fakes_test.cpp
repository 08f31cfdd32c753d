// sign_model and the registry with the test doubles of fake_key_provider.h: no token,
// no TPM.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/openssl_util.h"
#include "fake_key_provider.h"
#include "modelsign/key_provider.h"
#include "modelsign/sign.h"
#include "registry/providers.h"
#include "test_support.h"

namespace modelsign {
namespace {

using test::FakeKeyProvider;
using test::FakeSigner;

std::string small_model(const test::TempDir& t) {
  test::write_file(t / "model" / "weights.bin", "weights");
  test::write_file(t / "model" / "config.json", "{}");
  return (t / "model").string();
}

// sign_model checks the backend's signature with the signer's public key: a key or
// token that returns a wrong signature is refused, whichever provider it came from.
TEST(FakeSigner, CorruptSignatureFromTheBackendIsRefusedBySignModel) {
  test::TempDir t;
  FakeSigner signer(FakeSigner::Mode::kCorruptSignature);
  auto r = sign_model(small_model(t), signer, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBackend);
  EXPECT_NE(r.error().message.find("does not verify with its own public key; the key or token is "
                                   "faulty"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("fake signer"), std::string::npos) << r.error().message;
}

TEST(FakeSigner, SignModelAsksForOneSignatureOverTheDssePae) {
  test::TempDir t;
  FakeSigner signer;
  auto r = sign_model(small_model(t), signer, {});
  ASSERT_TRUE(r) << r.error().describe();
  auto requests = signer.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string pae(requests[0].begin(), requests[0].end());
  EXPECT_TRUE(pae.starts_with("DSSEv1 28 application/vnd.in-toto+json ")) << pae.substr(0, 60);
  EXPECT_EQ(r->signer, signer.public_key().hint());
}

TEST(FakeSigner, BackendErrorIsPassedOn) {
  test::TempDir t;
  FakeSigner signer(FakeSigner::Mode::kFail);
  auto r = sign_model(small_model(t), signer, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBackend);
  EXPECT_NE(r.error().describe().find("the fake signer refuses to sign"), std::string::npos)
      << r.error().describe();
}

// public_key_from_pkey copies the public half: the key it was made from can go (a borrowed
// X509_get0_pubkey key is freed with its certificate) and a private key stays out.
TEST(PublicKeyFromPkey, CopiesThePublicHalfAndLeavesThePkeyToTheCaller) {
  ossl::UniquePtr<EVP_PKEY> priv(EVP_EC_gen("P-256"));
  ASSERT_TRUE(priv);
  auto pub = public_key_from_pkey(priv.get());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_NE(pkey_of(*pub), priv.get());
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey_of(*pub), "priv", nullptr), 0) << "the private half was kept";
  priv.reset();
  EXPECT_EQ(pub->describe(), "EC P-256");
  EXPECT_EQ(pub->to_pem().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
}

// The other direction: public_key_from_pkey neither takes nor frees the key it is given.
// A certificate's key borrowed through X509_get0_pubkey stays the certificate's: usable
// after the PublicKey made from it is gone, and freed once, with the certificate (the
// sanitizer pass reports a use after free or a double free if it were taken).
TEST(PublicKeyFromPkey, BorrowedCertificateKeyStaysWithTheCertificate) {
  test::Pki pki;
  test::TestCert cert = pki.make({.cn = "borrowed"}, "P-256", nullptr);
  EVP_PKEY* borrowed = X509_get0_pubkey(cert.cert);
  ASSERT_NE(borrowed, nullptr);
  {
    auto pub = public_key_from_pkey(borrowed);
    ASSERT_TRUE(pub) << pub.error().describe();
    EXPECT_NE(pkey_of(*pub), borrowed) << "the PublicKey holds the caller's key instead of a copy";
    EXPECT_EQ(EVP_PKEY_eq(pkey_of(*pub), borrowed), 1);
  }
  // Still the certificate's key, still whole: the certificate verifies with it.
  EXPECT_EQ(X509_get0_pubkey(cert.cert), borrowed);
  EXPECT_EQ(EVP_PKEY_get_base_id(borrowed), EVP_PKEY_EC);
  EXPECT_EQ(X509_verify(cert.cert, borrowed), 1);
  auto again = public_key_from_pkey(borrowed);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->describe(), "EC P-256");
}

// The registry routes by the provider's claim, ahead of the PEM provider that claims
// every other reference, and passes the options through.
TEST(FakeKeyProvider, RegistryRoutesClaimedReferencesToTheProvider) {
  auto owned = std::make_unique<FakeKeyProvider>();
  const FakeKeyProvider* fake = owned.get();
  detail::add_provider_for_testing(std::move(owned));
  auto found = find_provider("fake:key-1");
  ASSERT_TRUE(found) << found.error().describe();
  EXPECT_EQ((*found)->name(), "fake");
  auto by_name = provider_by_name("fake");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(*by_name, fake);

  ProviderOptions o;
  o.params["answer"] = "42";
  auto signer = open_signer("fake:key-1", o);
  ASSERT_TRUE(signer) << signer.error().describe();
  auto pub = load_public_key("fake:key-1", {});
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals((*signer)->public_key()));
  auto sig = sign_message(**signer, to_bytes("message"));
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE(pub->verify(SignatureScheme::kEcdsaP256Sha256, to_bytes("message"), *sig));
  EXPECT_EQ(fake->calls(), (std::vector<std::string>{"open_signer fake:key-1 answer",
                                                     "public_key fake:key-1"}));
  // Other references still go where they went.
  auto pem = find_provider("keys/model.pem");
  ASSERT_TRUE(pem);
  EXPECT_EQ((*pem)->name(), "pem");
}

}  // namespace
}  // namespace modelsign
