// Signing through the PKCS#11 provider, on each token implementation (token_fixture.h).
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "crypto/openssl_util.h"
#include "modelsign/key_provider.h"
#include "token_fixture.h"

namespace modelsign {
namespace {

using testing::RawToken;
using testing::TokenFixture;

const KeyProvider& p11() {
  const KeyProvider* p = provider_by_name("pkcs11").value_or(nullptr);
  if (p == nullptr) throw std::runtime_error("pkcs11 provider not registered");
  return *p;
}

const Bytes kMessage = to_bytes("DSSEv1 28 application/vnd.in-toto+json 11 hello world");

class Pkcs11Sign : public testing::TokenTest {};
class Pkcs11Planted : public testing::TokenTest {};

// Signs through open_signer and checks the signature with the signer's public key and
// with the PEM p11tool exported from the token.
void expect_round_trip(const TokenFixture& tok, const std::string& key, SignatureScheme scheme) {
  auto signer = p11().open_signer(tok.uri(key), tok.options());
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
  auto pub = p11().public_key(tok.uri(key), tok.options());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(*exported));
}

TEST_P(Pkcs11Sign, EcdsaP256SignatureVerifiesWithTokenKeyAndExportedPem) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  expect_round_trip(*tok, "ec-p256", SignatureScheme::kEcdsaP256Sha256);
}

TEST_P(Pkcs11Sign, EcdsaP384SignatureVerifiesWithTokenKeyAndExportedPem) {
  auto tok = make_token(testing::with_keys({"ec-p384"}));
  expect_round_trip(*tok, "ec-p384", SignatureScheme::kEcdsaP384Sha384);
}

TEST_P(Pkcs11Sign, EcdsaP521SignatureVerifiesWithTokenKeyAndExportedPem) {
  auto tok = make_token(testing::with_keys({"ec-p521"}));
  expect_round_trip(*tok, "ec-p521", SignatureScheme::kEcdsaP521Sha512);
}

TEST_P(Pkcs11Sign, RsaPss3072SignatureVerifiesWithTokenKeyAndExportedPem) {
  auto tok = make_token(testing::with_keys({"rsa-3072"}));
  expect_round_trip(*tok, "rsa-3072", SignatureScheme::kRsaPssSha256);
}

TEST_P(Pkcs11Sign, Ed25519SignatureVerifiesWithTokenKeyAndExportedPem) {
  auto tok = make_token(testing::with_keys({"ed25519"}));
  if (testing::lack_is_reported(*tok, KeyType::kEd25519)) return;
  expect_round_trip(*tok, "ed25519", SignatureScheme::kEd25519);
}

TEST_P(Pkcs11Sign, Ed25519SignsAMegabytePayloadInOneCall) {
  // Pure Ed25519 signs the whole DSSE payload, which grows with the number of files.
  auto tok = make_token(testing::with_keys({"ed25519"}));
  if (testing::lack_is_reported(*tok, KeyType::kEd25519)) return;
  auto signer = p11().open_signer(tok->uri("ed25519"), tok->options());
  ASSERT_TRUE(signer) << signer.error().describe();
  Bytes big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  auto sig = sign_message(**signer, big);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEd25519, big, *sig));
}

TEST_P(Pkcs11Sign, AllKeyTypesCoexistOnOneToken) {
  // libp11 cannot enumerate a token holding an Ed25519 key; this provider must.
  auto tok = make_token(testing::with_keys({"ec-p256", "ed25519", "ec-p384"}));
  expect_round_trip(*tok, "ec-p256", SignatureScheme::kEcdsaP256Sha256);
  if (!testing::lack_is_reported(*tok, KeyType::kEd25519))
    expect_round_trip(*tok, "ed25519", SignatureScheme::kEd25519);
  expect_round_trip(*tok, "ec-p384", SignatureScheme::kEcdsaP384Sha384);
}

TEST_P(Pkcs11Sign, RsaPssSignatureIsNotPkcs1v15) {
  auto tok = make_token(testing::with_keys({"rsa-2048"}));
  auto signer = p11().open_signer(tok->uri("rsa-2048"), tok->options());
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

// SoftHSM only: Debian registers it with p11-kit; softoken can be registered only
// machine-wide (p11-kit ignores a user's module files when run as root).
TEST(Pkcs11SoftHsm, UriWithoutModuleUsesP11KitRegistry) {
  auto tok = testing::make_token_fixture("SoftHSM", testing::with_keys({"ec-p256"}));
  std::string uri = tok->object("ec-p256") + "?pin-source=file:" + tok->pin_file();
  auto signer = p11().open_signer(uri, {});
  ASSERT_TRUE(signer) << signer.error().describe();
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEcdsaP256Sha256, kMessage, *sig));
}

TEST_P(Pkcs11Sign, ModulePathAndModuleNameBothLoadTheModule) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  const std::string base = tok->object("ec-p256") + "?pin-source=file:" + tok->pin_file();
  const std::string file = tok->module().substr(tok->module().rfind('/') + 1);
  for (const std::string& q : tok->module_queries()) {
    auto signer = p11().open_signer(base + "&" + q, tok->options());
    ASSERT_TRUE(signer) << q << ": " << signer.error().describe();
    EXPECT_NE((*signer)->describe().find(file), std::string::npos) << (*signer)->describe();
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << sig.error().describe();
  }
}

TEST_P(Pkcs11Sign, ModuleOptionIsUsedWhenUriNamesNoModule) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  ProviderOptions o = tok->options();
  o.params["module"] = tok->module();
  auto signer = p11().open_signer(tok->object("ec-p256") + "?pin-source=file:" + tok->pin_file(), o);
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_NE((*signer)->describe().find("module-path=" + tok->module()), std::string::npos)
      << (*signer)->describe();
}

TEST_P(Pkcs11Sign, SelectsKeyById) {
  auto tok = make_token(testing::with_keys({"ec-p256", "ec-p384"}));
  std::string uri = "pkcs11:token=" + tok->label() + ";id=%02?module-path=" + tok->module() +
                    "&pin-source=file:" + tok->pin_file();
  auto signer = p11().open_signer(uri, tok->options());
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_EQ((*signer)->scheme(), SignatureScheme::kEcdsaP384Sha384);
}

TEST_P(Pkcs11Sign, PublicKeyFallsBackToPrivateKeyAttributesWithoutPublicObject) {
  auto tok = make_token(testing::with_keys({"rsa-2048"}));
  auto expected = PublicKey::from_pem_file(tok->pub_pem("rsa-2048"));
  ASSERT_TRUE(expected);
  ASSERT_EQ(tok->raw()->destroy(Bytes{0x06}, CKO_PUBLIC_KEY), 1u);
  ASSERT_TRUE(tok->raw()->find("rsa-2048", CKO_PUBLIC_KEY).empty())
      << "the public key object is still there";
  auto pub = p11().public_key(tok->uri("rsa-2048"), tok->options());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(*expected));
  auto signer = p11().open_signer(tok->uri("rsa-2048"), tok->options());
  ASSERT_TRUE(signer) << signer.error().describe();
  auto sig = sign_message(**signer, kMessage);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(expected->verify(SignatureScheme::kRsaPssSha256, kMessage, *sig));
}

TEST_P(Pkcs11Sign, PublicKeyComesFromCertificateWithoutPublicObject) {
  auto tok = make_token(testing::with_keys({"ec-p256"}).with_cert());
  auto expected = PublicKey::from_pem_file(tok->pub_pem("ec-p256"));
  ASSERT_TRUE(expected);
  ASSERT_EQ(tok->raw()->destroy(Bytes{0x01}, CKO_PUBLIC_KEY), 1u);
  auto signer = p11().open_signer(tok->uri("ec-p256"), tok->options());
  ASSERT_TRUE(signer) << signer.error().describe();
  EXPECT_TRUE((*signer)->public_key().equals(*expected));
  // The certificate stored with the key is offered as its chain.
  auto chain = (*signer)->certificate_chain();
  ASSERT_EQ(chain.size(), 1u);
  auto der = testing::read_text(tok->dir() + "/ec-p256.cert.der");
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
Planted plant_public_key(const TokenFixture& tok, const std::string& label, Bytes id) {
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
  auto rt = tok.raw();
  CK_OBJECT_HANDLE h = 0;
  CK_RV rv = rt->f()->C_CreateObject(rt->session(), t, sizeof(t) / sizeof(t[0]), &h);
  if (rv != CKR_OK) throw std::runtime_error("C_CreateObject failed: " + std::to_string(rv));
  auto pub = public_key_from_pkey(raw);
  if (!pub) throw std::runtime_error("cannot wrap the planted key");
  return Planted{std::move(key), std::move(*pub)};
}

// Before: two public objects with the label made the URI ambiguous (a denial of
// service). Now the one with the private key's CKA_ID is the key.
TEST_P(Pkcs11Planted, PublicKeyWithTheLabelButAnotherIdIsIgnored) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto genuine = PublicKey::from_pem_file(tok->pub_pem("ec-p256"));
  ASSERT_TRUE(genuine);
  auto planted = plant_public_key(*tok, "ec-p256", Bytes{0x99});
  auto pub = p11().public_key(tok->uri("ec-p256"), tok->options());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(*genuine));
  EXPECT_FALSE(pub->equals(planted.pub));
}

// Before: with no genuine public object (a key imported with its certificate), the
// planted key was taken: a model signed by the attacker verified.
TEST_P(Pkcs11Planted, WithoutAPublicObjectThePlantedKeyIsNotTakenAndTheCertificateIs) {
  auto tok = make_token(testing::with_keys({"ec-p256"}).with_cert());
  auto genuine = PublicKey::from_pem_file(tok->pub_pem("ec-p256"));
  ASSERT_TRUE(genuine);
  ASSERT_EQ(tok->raw()->destroy(Bytes{0x01}, CKO_PUBLIC_KEY), 1u);
  auto planted = plant_public_key(*tok, "ec-p256", Bytes{0x99});
  auto pub = p11().public_key(tok->uri("ec-p256"), tok->options());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_FALSE(pub->equals(planted.pub)) << "the planted public key was used";
  EXPECT_TRUE(pub->equals(*genuine));
}

// A public object with the private key's CKA_ID but another key: which is right cannot
// be told, so it is refused, naming the candidates. Before: the genuine label matched
// first and the conflict went unnoticed (or, with the label too, was taken).
TEST_P(Pkcs11Planted, ConflictingPublicKeyWithTheSameIdIsRefusedNamingTheCandidates) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto planted = plant_public_key(*tok, "innocent", Bytes{0x01});
  for (bool signer : {false, true}) {
    Error e(ErrorCode::kInternal, "");
    if (signer) {
      auto s = p11().open_signer(tok->uri("ec-p256"), tok->options());
      ASSERT_FALSE(s) << "signing opened despite two public keys for one private key";
      e = s.error();
    } else {
      auto pub = p11().public_key(tok->uri("ec-p256"), tok->options());
      ASSERT_FALSE(pub) << "a public key was chosen among conflicting ones";
      e = pub.error();
    }
    EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.describe();
    EXPECT_NE(e.message.find("hold different public keys"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("object=innocent"), std::string::npos) << e.message;
    // Softoken keeps one public key per CKA_ID: the planted object replaced the genuine
    // one, and the private key's own public value is what contradicts it.
    const std::string genuine = tok->replaces_objects_with_the_same_id()
                                    ? "(its own public attributes)"
                                    : "object=ec-p256;type=public";
    EXPECT_NE(e.message.find(genuine), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(planted.pub.hint()), std::string::npos) << e.message;
  }
}

TEST_P(Pkcs11Sign, AlwaysAuthenticateKeyGetsContextSpecificLogin) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  ASSERT_EQ(tok->raw()->generate(KeyType::kEcP256, "aa-key", Bytes{0x0a}, true), CKR_OK);
  {
    // Control: SoftHSM enforces CKA_ALWAYS_AUTHENTICATE (C_Sign without the context
    // login is refused), so a success below means the provider logged in again; softoken
    // keeps the flag but does not enforce it, and must accept the provider's login.
    auto raw = tok->raw();
    auto keys = raw->find("aa-key", CKO_PRIVATE_KEY);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(raw->flag(keys[0], CKA_ALWAYS_AUTHENTICATE), std::optional<bool>(true));
    CK_MECHANISM m{CKM_ECDSA, nullptr, 0};
    ASSERT_EQ(raw->f()->C_SignInit(raw->session(), &m, keys[0]), CKR_OK);
    Bytes digest(32, 7), out(256);
    CK_ULONG len = out.size();
    EXPECT_EQ(raw->f()->C_Sign(raw->session(), digest.data(), digest.size(), out.data(), &len),
              tok->enforces_always_authenticate() ? CKR_USER_NOT_LOGGED_IN : CKR_OK);
  }
  auto signer = p11().open_signer(tok->uri("aa-key"), tok->options());
  ASSERT_TRUE(signer) << signer.error().describe();
  for (int i = 0; i < 3; ++i) {
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << sig.error().describe();
    EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEcdsaP256Sha256, kMessage, *sig));
  }
}

// C_Login calls are counted by a thin module that forwards to the token's module.
// Mutation: a provider that logs in on every open (or every signature) fails the count.
TEST_P(Pkcs11Sign, LoginHappensOncePerTokenAndProcess) {
  auto tok = make_token(testing::with_keys({"ec-p256", "ec-p384"}));
  const std::string log = tok->dir() + "/logins";
  setenv("MODELSIGN_TEST_LOGIN_LOG", log.c_str(), 1);
  setenv("MODELSIGN_TEST_REAL_MODULE", tok->module().c_str(), 1);
  const std::string module = std::string("module-path=") + MODELSIGN_LOGIN_COUNTER_MODULE;
  auto uri = [&](const std::string& key, bool with_pin) {
    return tok->object(key) + "?" + module +
           (with_pin ? "&pin-source=file:" + tok->pin_file() : std::string());
  };
  const ProviderOptions o = tok->options();
  auto first = p11().open_signer(uri("ec-p256", true), o);
  ASSERT_TRUE(first) << first.error().describe();
  ASSERT_TRUE(sign_message(**first, kMessage));
  // The token is logged in for the whole process: a second key on it opens with no
  // PIN source at all, and a third with one does not log in again.
  auto second = p11().open_signer(uri("ec-p384", false), o);
  ASSERT_TRUE(second) << second.error().describe();
  auto sig = sign_message(**second, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  EXPECT_TRUE((*second)->public_key().verify(SignatureScheme::kEcdsaP384Sha384, kMessage, *sig));
  auto third = p11().open_signer(uri("ec-p384", true), o);
  ASSERT_TRUE(third) << third.error().describe();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign_message(**third, kMessage));
  unsetenv("MODELSIGN_TEST_LOGIN_LOG");
  unsetenv("MODELSIGN_TEST_REAL_MODULE");

  std::string lines = testing::read_text(log);
  std::size_t logins = 0;
  for (std::size_t at = 0; (at = lines.find("C_Login", at)) != std::string::npos; ++at) ++logins;
  EXPECT_EQ(logins, 1u) << "C_Login calls seen by the module:\n" << lines;
  EXPECT_NE(lines.find("C_Login user=1 rv=0x0"), std::string::npos) << lines;
}

// No token involved: run once.
TEST(Pkcs11Registry, RoutesPkcs11UrisToThisProvider) {
  auto found = find_provider("pkcs11:token=x;object=y");
  ASSERT_TRUE(found) << found.error().describe();
  const KeyProvider* p = *found;
  EXPECT_EQ(p->name(), "pkcs11");
  EXPECT_TRUE(p->claims("PKCS11:token=x"));
  EXPECT_FALSE(p->claims("/keys/pkcs11:key.pem"));
  EXPECT_FALSE(p->claims("key.pem"));
}

INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Sign, testing::kTokenKinds, testing::token_name);
INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Planted, testing::kTokenKinds, testing::token_name);

}  // namespace
}  // namespace modelsign
