// Signing through the PKCS#11 provider against a real SoftHSM token.
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "crypto/openssl_util.h"
#include "modelsign/key_provider.h"
#include "softhsm_fixture.h"

namespace modelsign {
namespace {

using testing::RawToken;
using testing::SoftHsmToken;

const KeyProvider& p11() {
  const KeyProvider* p = provider_by_name("pkcs11").value_or(nullptr);
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

// ---------------------------------------------------------------- planted public keys
// Anyone who may create public objects on a token can add a public key with the label of
// a real key. The public key must come only from objects bound to the private key.

struct Planted {
  ossl::UniquePtr<EVP_PKEY> key;
  PublicKey pub;
};

// Creates a P-256 public-key object holding a fresh (attacker's) key on the token.
Planted plant_public_key(const SoftHsmToken& tok, const std::string& label, Bytes id) {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  if (raw == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  ossl::UniquePtr<EVP_PKEY> key(raw);
  unsigned char point[65];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(raw, "encoded-pub-key", point, sizeof(point), &len) != 1 || len != 65)
    throw std::runtime_error("cannot read the EC point");
  Bytes ec_point{0x04, 65};  // DER OCTET STRING around the uncompressed point
  ec_point.insert(ec_point.end(), point, point + len);
  Bytes params{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};  // prime256v1
  CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
  CK_KEY_TYPE type = CKK_EC;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  std::string l = label;
  CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &type, sizeof(type)},
                      {CKA_TOKEN, &yes, sizeof(yes)},       {CKA_PRIVATE, &no, sizeof(no)},
                      {CKA_VERIFY, &yes, sizeof(yes)},      {CKA_LABEL, l.data(), l.size()},
                      {CKA_ID, id.data(), id.size()},       {CKA_EC_PARAMS, params.data(), params.size()},
                      {CKA_EC_POINT, ec_point.data(), ec_point.size()}};
  RawToken rt(tok.label());
  CK_OBJECT_HANDLE h = 0;
  CK_RV rv = rt.f()->C_CreateObject(rt.session(), t, sizeof(t) / sizeof(t[0]), &h);
  if (rv != CKR_OK) throw std::runtime_error("C_CreateObject failed: " + std::to_string(rv));
  auto pub = public_key_from_pkey(raw);
  if (!pub) throw std::runtime_error("cannot wrap the planted key");
  return Planted{std::move(key), std::move(*pub)};
}

// Before: two public objects with the label made the URI ambiguous (a denial of
// service). Now the one with the private key's CKA_ID is the key.
TEST(Pkcs11Planted, PublicKeyWithTheLabelButAnotherIdIsIgnored) {
  SoftHsmToken tok("--keys ec-p256");
  auto genuine = PublicKey::from_pem_file(tok.pub_pem("ec-p256"));
  ASSERT_TRUE(genuine);
  auto planted = plant_public_key(tok, "ec-p256", Bytes{0x99});
  auto pub = p11().public_key(tok.uri("ec-p256"), {});
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(*genuine));
  EXPECT_FALSE(pub->equals(planted.pub));
}

// Before: with no genuine public object (a key imported with its certificate), the
// planted key was taken: a model signed by the attacker verified.
TEST(Pkcs11Planted, WithoutAPublicObjectThePlantedKeyIsNotTakenAndTheCertificateIs) {
  SoftHsmToken tok("--keys ec-p256 --cert");
  auto genuine = PublicKey::from_pem_file(tok.pub_pem("ec-p256"));
  ASSERT_TRUE(genuine);
  auto del = tok.tool("--delete-object --type pubkey --id 01");
  ASSERT_EQ(del.rc, 0) << del.out;
  auto planted = plant_public_key(tok, "ec-p256", Bytes{0x99});
  auto pub = p11().public_key(tok.uri("ec-p256"), {});
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_FALSE(pub->equals(planted.pub)) << "the planted public key was used";
  EXPECT_TRUE(pub->equals(*genuine));
}

// A public object with the private key's CKA_ID but another key: which is right cannot
// be told, so it is refused, naming the candidates. Before: the genuine label matched
// first and the conflict went unnoticed (or, with the label too, was taken).
TEST(Pkcs11Planted, ConflictingPublicKeyWithTheSameIdIsRefusedNamingTheCandidates) {
  SoftHsmToken tok("--keys ec-p256");
  auto planted = plant_public_key(tok, "innocent", Bytes{0x01});
  for (bool signer : {false, true}) {
    Error e(ErrorCode::kInternal, "");
    if (signer) {
      auto s = p11().open_signer(tok.uri("ec-p256"), {});
      ASSERT_FALSE(s) << "signing opened despite two public keys for one private key";
      e = s.error();
    } else {
      auto pub = p11().public_key(tok.uri("ec-p256"), {});
      ASSERT_FALSE(pub) << "a public key was chosen among conflicting ones";
      e = pub.error();
    }
    EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.describe();
    EXPECT_NE(e.message.find("hold different public keys"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("object=innocent"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("object=ec-p256;type=public"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(planted.pub.hint()), std::string::npos) << e.message;
  }
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

// C_Login calls are counted by a thin module that forwards to SoftHSM. Mutation: a
// provider that logs in on every open (or every signature) fails the count.
TEST(Pkcs11Sign, LoginHappensOncePerTokenAndProcess) {
  SoftHsmToken tok("--keys 'ec-p256 ec-p384'");
  const std::string log = tok.dir() + "/logins";
  setenv("MODELSIGN_TEST_LOGIN_LOG", log.c_str(), 1);
  const std::string module = std::string("module-path=") + MODELSIGN_LOGIN_COUNTER_MODULE;
  auto uri = [&](const std::string& key, bool with_pin) {
    return "pkcs11:token=" + tok.label() + ";object=" + key + "?" + module +
           (with_pin ? "&pin-source=file:" + tok.pin_file() : std::string());
  };
  auto first = p11().open_signer(uri("ec-p256", true), {});
  ASSERT_TRUE(first) << first.error().describe();
  ASSERT_TRUE(sign_message(**first, kMessage));
  // The token is logged in for the whole process: a second key on it opens with no
  // PIN source at all, and a third with one does not log in again.
  auto second = p11().open_signer(uri("ec-p384", false), {});
  ASSERT_TRUE(second) << second.error().describe();
  auto sig = sign_message(**second, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*second)->public_key().verify(SignatureScheme::kEcdsaP384Sha384, kMessage, *sig));
  auto third = p11().open_signer(uri("ec-p384", true), {});
  ASSERT_TRUE(third) << third.error().describe();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign_message(**third, kMessage));
  unsetenv("MODELSIGN_TEST_LOGIN_LOG");

  std::string lines = testing::read_text(log);
  std::size_t logins = 0;
  for (std::size_t at = 0; (at = lines.find("C_Login", at)) != std::string::npos; ++at) ++logins;
  EXPECT_EQ(logins, 1u) << "C_Login calls seen by the module:\n" << lines;
  EXPECT_NE(lines.find("C_Login user=1 rv=0x0"), std::string::npos) << lines;
}

TEST(Pkcs11Sign, RegistryRoutesPkcs11UrisToThisProvider) {
  auto found = find_provider("pkcs11:token=x;object=y");
  ASSERT_TRUE(found) << found.error().describe();
  const KeyProvider* p = *found;
  EXPECT_EQ(p->name(), "pkcs11");
  EXPECT_TRUE(p->claims("PKCS11:token=x"));
  EXPECT_FALSE(p->claims("/keys/pkcs11:key.pem"));
  EXPECT_FALSE(p->claims("key.pem"));
}

}  // namespace
}  // namespace modelsign
