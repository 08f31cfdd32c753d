// Signing through the PKCS#11 provider against a real SoftHSM token.
#include <gtest/gtest.h>

#include "modelsign/key_provider.h"
#include "softhsm_fixture.h"

namespace modelsign {
namespace {

using testing::RawToken;
using testing::SoftHsmToken;

const KeyProvider& p11() {
  const KeyProvider* p = provider_by_name("pkcs11");
  if (p == nullptr) throw std::runtime_error("pkcs11 provider not registered");
  return *p;
}

const Bytes kMessage = to_bytes("DSSEv1 28 application/vnd.in-toto+json 11 hello world");

// Signs through open_signer and checks the signature with the signer's public key and
// with the PEM p11tool exported from the token.
void expect_round_trip(const SoftHsmToken& tok, const std::string& key, SignatureScheme scheme) {
  auto signer = p11().open_signer(tok.uri(key), {});
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_EQ((*signer)->scheme(), scheme);
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  auto own = (*signer)->public_key().verify(scheme, kMessage, *sig);
  EXPECT_TRUE(own) << own.error().describe();

  auto exported = PublicKey::from_pem_file(tok.pub_pem(key));
  ASSERT_TRUE(exported) << exported.error().describe();
  EXPECT_TRUE(exported->equals((*signer)->public_key()));
  auto ext = exported->verify(scheme, kMessage, *sig);
  EXPECT_TRUE(ext) << ext.error().describe();

  Bytes other = kMessage;
  other.back() ^= 1;
  EXPECT_FALSE(exported->verify(scheme, other, *sig)) << "a changed message must not verify";

  // public_key() reads the same key without opening a signer.
  auto pub = p11().public_key(tok.uri(key), {});
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(*exported));
}

TEST(Pkcs11Sign, EcdsaP256SignatureVerifiesWithTokenKeyAndExportedPem) {
  SoftHsmToken tok("--keys ec-p256");
  expect_round_trip(tok, "ec-p256", SignatureScheme::kEcdsaP256Sha256);
}

TEST(Pkcs11Sign, EcdsaP384SignatureVerifiesWithTokenKeyAndExportedPem) {
  SoftHsmToken tok("--keys ec-p384");
  expect_round_trip(tok, "ec-p384", SignatureScheme::kEcdsaP384Sha384);
}

TEST(Pkcs11Sign, EcdsaP521SignatureVerifiesWithTokenKeyAndExportedPem) {
  SoftHsmToken tok("--keys ec-p521");
  expect_round_trip(tok, "ec-p521", SignatureScheme::kEcdsaP521Sha512);
}

TEST(Pkcs11Sign, RsaPss3072SignatureVerifiesWithTokenKeyAndExportedPem) {
  SoftHsmToken tok("--keys rsa-3072");
  expect_round_trip(tok, "rsa-3072", SignatureScheme::kRsaPssSha256);
}

TEST(Pkcs11Sign, Ed25519SignatureVerifiesWithTokenKeyAndExportedPem) {
  SoftHsmToken tok("--keys ed25519");
  expect_round_trip(tok, "ed25519", SignatureScheme::kEd25519);
}

TEST(Pkcs11Sign, Ed25519SignsAMegabytePayloadInOneCall) {
  // Pure Ed25519 signs the whole DSSE payload, which grows with the number of files.
  SoftHsmToken tok("--keys ed25519");
  auto signer = p11().open_signer(tok.uri("ed25519"), {});
  ASSERT_TRUE(signer) << signer.error().describe();
  Bytes big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  auto sig = sign_message(**signer, big);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEd25519, big, *sig));
}

TEST(Pkcs11Sign, AllKeyTypesCoexistOnOneToken) {
  // libp11 cannot enumerate a token holding an Ed25519 key; this provider must.
  SoftHsmToken tok("--keys 'ec-p256 ed25519 ec-p384'");
  expect_round_trip(tok, "ec-p256", SignatureScheme::kEcdsaP256Sha256);
  expect_round_trip(tok, "ed25519", SignatureScheme::kEd25519);
  expect_round_trip(tok, "ec-p384", SignatureScheme::kEcdsaP384Sha384);
}

TEST(Pkcs11Sign, RsaPssSignatureIsNotPkcs1v15) {
  SoftHsmToken tok("--keys rsa-2048");
  auto signer = p11().open_signer(tok.uri("rsa-2048"), {});
  ASSERT_TRUE(signer) << signer.error().describe();
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  // PKCS#1 v1.5 verification of a PSS signature must fail, PSS must pass.
  EXPECT_FALSE((*signer)->public_key().verify_with_hash("SHA256", kMessage, *sig));
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kRsaPssSha256, kMessage, *sig));
  // PSS is randomised: a second signature differs and verifies too.
  auto sig2 = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig2);
  EXPECT_NE(*sig, *sig2);
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kRsaPssSha256, kMessage, *sig2));
}

TEST(Pkcs11Sign, UriWithoutModuleUsesP11KitRegistry) {
  SoftHsmToken tok("--keys ec-p256");
  std::string uri = "pkcs11:token=" + tok.label() + ";object=ec-p256?pin-source=file:" + tok.pin_file();
  auto signer = p11().open_signer(uri, {});
  ASSERT_TRUE(signer) << signer.error().describe();
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEcdsaP256Sha256, kMessage, *sig));
}

TEST(Pkcs11Sign, ModulePathAndModuleNameBothLoadSoftHsm) {
  SoftHsmToken tok("--keys ec-p256");
  std::string base = "pkcs11:token=" + tok.label() + ";object=ec-p256?pin-source=file:" + tok.pin_file();
  for (const std::string& q : {std::string("&module-path=/usr/lib/softhsm/libsofthsm2.so"),
                               std::string("&module-name=softhsm2"),
                               std::string("&module-name=SoftHSM2")}) {
    auto signer = p11().open_signer(base + q, {});
    ASSERT_TRUE(signer) << q << ": " << signer.error().describe();
    EXPECT_NE((*signer)->describe().find("libsofthsm2.so"), std::string::npos) << (*signer)->describe();
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << sig.error().describe();
  }
}

TEST(Pkcs11Sign, ModuleOptionIsUsedWhenUriNamesNoModule) {
  SoftHsmToken tok("--keys ec-p256");
  ProviderOptions o;
  o.params["module"] = testing::kSoftHsmModule;
  auto signer = p11().open_signer(tok.uri("ec-p256"), o);
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_NE((*signer)->describe().find("module-path=/usr/lib/softhsm/libsofthsm2.so"), std::string::npos)
      << (*signer)->describe();
}

TEST(Pkcs11Sign, SelectsKeyById) {
  SoftHsmToken tok("--keys 'ec-p256 ec-p384'");
  std::string uri = "pkcs11:token=" + tok.label() + ";id=%02?pin-source=file:" + tok.pin_file();
  auto signer = p11().open_signer(uri, {});
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_EQ((*signer)->scheme(), SignatureScheme::kEcdsaP384Sha384);
}

TEST(Pkcs11Sign, PublicKeyFallsBackToPrivateKeyAttributesWithoutPublicObject) {
  SoftHsmToken tok("--keys rsa-2048");
  auto expected = PublicKey::from_pem_file(tok.pub_pem("rsa-2048"));
  ASSERT_TRUE(expected);
  auto del = tok.tool("--delete-object --type pubkey --id 06");
  ASSERT_EQ(del.rc, 0) << del.out;
  {
    RawToken raw(tok.label());
    ASSERT_TRUE(raw.find("rsa-2048", CKO_PUBLIC_KEY).empty()) << "the public key object is still there";
  }
  auto pub = p11().public_key(tok.uri("rsa-2048"), {});
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(*expected));
  auto signer = p11().open_signer(tok.uri("rsa-2048"), {});
  ASSERT_TRUE(signer) << signer.error().describe();
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(expected->verify(SignatureScheme::kRsaPssSha256, kMessage, *sig));
}

TEST(Pkcs11Sign, PublicKeyComesFromCertificateWithoutPublicObject) {
  SoftHsmToken tok("--keys ec-p256 --cert");
  auto expected = PublicKey::from_pem_file(tok.pub_pem("ec-p256"));
  ASSERT_TRUE(expected);
  auto del = tok.tool("--delete-object --type pubkey --id 01");
  ASSERT_EQ(del.rc, 0) << del.out;
  auto signer = p11().open_signer(tok.uri("ec-p256"), {});
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_TRUE((*signer)->public_key().equals(*expected));
  // The certificate stored with the key is offered as its chain.
  auto chain = (*signer)->certificate_chain();
  ASSERT_EQ(chain.size(), 1u);
  std::string pem = testing::read_text(tok.get("MODELSIGN_PKCS11_CERT_EC_P256"));
  auto der = testing::read_text(tok.dir() + "/ec-p256.cert.der");
  EXPECT_EQ(chain[0], Bytes(der.begin(), der.end()));
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(expected->verify(SignatureScheme::kEcdsaP256Sha256, kMessage, *sig));
}

TEST(Pkcs11Sign, AlwaysAuthenticateKeyGetsContextSpecificLogin) {
  SoftHsmToken tok("--keys ec-p256");
  auto gen = tok.tool("--keypairgen --key-type EC:prime256v1 --label aa-key --id 0a --always-auth");
  ASSERT_EQ(gen.rc, 0) << gen.out;
  {
    // Control: SoftHSM enforces CKA_ALWAYS_AUTHENTICATE (C_Sign without the context
    // login is refused), so a success below means the provider logged in again.
    RawToken raw(tok.label());
    auto keys = raw.find("aa-key", CKO_PRIVATE_KEY);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(raw.flag(keys[0], CKA_ALWAYS_AUTHENTICATE), std::optional<bool>(true));
    CK_MECHANISM m{CKM_ECDSA, nullptr, 0};
    ASSERT_EQ(raw.f()->C_SignInit(raw.session(), &m, keys[0]), CKR_OK);
    Bytes digest(32, 7), out(256);
    CK_ULONG len = out.size();
    EXPECT_EQ(raw.f()->C_Sign(raw.session(), digest.data(), digest.size(), out.data(), &len),
              CKR_USER_NOT_LOGGED_IN);
  }
  std::string uri = "pkcs11:token=" + tok.label() + ";object=aa-key?pin-source=file:" + tok.pin_file();
  auto signer = p11().open_signer(uri, {});
  ASSERT_TRUE(signer) << signer.error().describe();
  for (int i = 0; i < 3; ++i) {
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << sig.error().describe();
    EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEcdsaP256Sha256, kMessage, *sig));
  }
}

TEST(Pkcs11Sign, LoginHappensOncePerTokenAndProcess) {
  SoftHsmToken tok("--keys 'ec-p256 ec-p384'");
  auto first = p11().open_signer(tok.uri("ec-p256"), {});
  ASSERT_TRUE(first) << first.error().describe();
  // The token is logged in for the whole process: a second key on it opens with no
  // PIN source at all (and would fail below if the provider tried to log in again).
  std::string no_pin = "pkcs11:token=" + tok.label() + ";object=ec-p384";
  auto second = p11().open_signer(no_pin, {});
  ASSERT_TRUE(second) << second.error().describe();
  auto sig = sign_message(**second, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*second)->public_key().verify(SignatureScheme::kEcdsaP384Sha384, kMessage, *sig));
}

TEST(Pkcs11Sign, RegistryRoutesPkcs11UrisToThisProvider) {
  const KeyProvider* p = find_provider("pkcs11:token=x;object=y");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name(), "pkcs11");
  EXPECT_TRUE(p->claims("PKCS11:token=x"));
  EXPECT_FALSE(p->claims("/keys/pkcs11:key.pem"));
  EXPECT_FALSE(p->claims("key.pem"));
}

}  // namespace
}  // namespace modelsign
