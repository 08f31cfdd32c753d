// keygen inside the token, and listing tokens and keys.
#include <gtest/gtest.h>

#include "modelsign/key_provider.h"
#include "softhsm_fixture.h"

namespace modelsign {
namespace {

using testing::RawToken;
using testing::SoftHsmToken;

const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

const Bytes kMessage = to_bytes("payload to sign");

std::string token_uri(const SoftHsmToken& tok, const std::string& object) {
  return "pkcs11:token=" + tok.label() + ";object=" + object + "?pin-source=file:" + tok.pin_file();
}

TEST(Pkcs11Keygen, GeneratedKeyIsSensitiveNonExtractableSignOnlyAndItsValueUnreadable) {
  SoftHsmToken tok("--keys ''");
  auto gen = p11().generate(token_uri(tok, "new-key"), KeyType::kEcP256, {});
  ASSERT_TRUE(gen) << gen.error().describe();

  RawToken raw(tok.label());
  auto priv = raw.find("new-key", CKO_PRIVATE_KEY);
  ASSERT_EQ(priv.size(), 1u);
  EXPECT_EQ(raw.flag(priv[0], CKA_EXTRACTABLE), std::optional<bool>(false));
  EXPECT_EQ(raw.flag(priv[0], CKA_SENSITIVE), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_NEVER_EXTRACTABLE), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_ALWAYS_SENSITIVE), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_LOCAL), std::optional<bool>(true)) << "generated on the token";
  EXPECT_EQ(raw.flag(priv[0], CKA_TOKEN), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_PRIVATE), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_SIGN), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_DECRYPT), std::optional<bool>(false));
  EXPECT_EQ(raw.flag(priv[0], CKA_UNWRAP), std::optional<bool>(false));
  EXPECT_EQ(raw.flag(priv[0], CKA_DERIVE), std::optional<bool>(false));
  auto [rv, value] = raw.attr(priv[0], CKA_VALUE);
  EXPECT_EQ(rv, CKR_ATTRIBUTE_SENSITIVE) << "reading the private value must fail";
  EXPECT_TRUE(value.empty());

  // Fresh random 16-byte CKA_ID shared by both halves.
  auto [rv_id, id] = raw.attr(priv[0], CKA_ID);
  EXPECT_EQ(rv_id, CKR_OK);
  EXPECT_EQ(id.size(), 16u);
  auto pub = raw.find("new-key", CKO_PUBLIC_KEY);
  ASSERT_EQ(pub.size(), 1u);
  EXPECT_EQ(raw.attr(pub[0], CKA_ID).second, id);
  EXPECT_NE(gen->reference.find("id=%" ), std::string::npos) << gen->reference;
  EXPECT_NE(gen->reference.find("object=new-key"), std::string::npos) << gen->reference;
  EXPECT_NE(gen->reference.find("type=private"), std::string::npos) << gen->reference;
  EXPECT_EQ(gen->reference.find("1234"), std::string::npos) << "no PIN in the returned URI";
}

TEST(Pkcs11Keygen, EveryKeyTypeIsGeneratedInTheTokenAndSigns) {
  SoftHsmToken tok("--keys ''");
  struct Case {
    KeyType type;
    SignatureScheme scheme;
    std::string describe;
  };
  for (const Case& c : {Case{KeyType::kEcP256, SignatureScheme::kEcdsaP256Sha256, "EC P-256"},
                        Case{KeyType::kEcP384, SignatureScheme::kEcdsaP384Sha384, "EC P-384"},
                        Case{KeyType::kEcP521, SignatureScheme::kEcdsaP521Sha512, "EC P-521"},
                        Case{KeyType::kRsa3072, SignatureScheme::kRsaPssSha256, "RSA 3072"},
                        Case{KeyType::kEd25519, SignatureScheme::kEd25519, "Ed25519"}}) {
    std::string label = std::string("k-") + std::string(to_string(c.type));
    auto gen = p11().generate(token_uri(tok, label), c.type, {});
    ASSERT_TRUE(gen) << label << ": " << gen.error().describe();
    EXPECT_EQ(gen->public_key.describe(), c.describe);
    // The returned reference (plus a PIN source) signs, and the returned public key verifies.
    auto signer = p11().open_signer(gen->reference + "?pin-source=file:" + tok.pin_file(), {});
    ASSERT_TRUE(signer) << label << ": " << signer.error().describe();
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << label << ": " << sig.error().describe();
    EXPECT_TRUE(gen->public_key.verify(c.scheme, kMessage, *sig)) << label;
  }
}

TEST(Pkcs11Keygen, RefusesALabelThatExists) {
  SoftHsmToken tok("--keys ec-p256");
  auto gen = p11().generate(token_uri(tok, "ec-p256"), KeyType::kEcP384, {});
  ASSERT_FALSE(gen);
  EXPECT_EQ(gen.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(gen.error().message.find("label 'ec-p256'"), std::string::npos) << gen.error().message;
  EXPECT_NE(gen.error().message.find("object=ec-p256"), std::string::npos) << gen.error().message;
  RawToken raw(tok.label());
  EXPECT_EQ(raw.find("ec-p256", CKO_PRIVATE_KEY).size(), 1u) << "nothing was added";
}

TEST(Pkcs11Keygen, RefusesAnIdThatExists) {
  SoftHsmToken tok("--keys ec-p256");
  std::string uri = "pkcs11:token=" + tok.label() + ";object=fresh;id=%01?pin-source=file:" + tok.pin_file();
  auto gen = p11().generate(uri, KeyType::kEcP256, {});
  ASSERT_FALSE(gen);
  EXPECT_NE(gen.error().message.find("id 01"), std::string::npos) << gen.error().message;
  RawToken raw(tok.label());
  EXPECT_TRUE(raw.find("fresh", CKO_PRIVATE_KEY).empty());
}

TEST(Pkcs11Keygen, TwoKeysGetDifferentIds) {
  SoftHsmToken tok("--keys ''");
  auto a = p11().generate(token_uri(tok, "a"), KeyType::kEcP256, {});
  auto b = p11().generate(token_uri(tok, "b"), KeyType::kEcP256, {});
  ASSERT_TRUE(a && b);
  RawToken raw(tok.label());
  auto ia = raw.attr(raw.find("a", CKO_PRIVATE_KEY).at(0), CKA_ID).second;
  auto ib = raw.attr(raw.find("b", CKO_PRIVATE_KEY).at(0), CKA_ID).second;
  EXPECT_EQ(ia.size(), 16u);
  EXPECT_NE(ia, ib);
}

TEST(Pkcs11Keygen, NeedsAnObjectLabel) {
  SoftHsmToken tok("--keys ''");
  auto gen = p11().generate("pkcs11:token=" + tok.label() + "?pin-source=file:" + tok.pin_file(),
                            KeyType::kEcP256, {});
  ASSERT_FALSE(gen);
  EXPECT_NE(gen.error().message.find("object=LABEL"), std::string::npos) << gen.error().message;
}

TEST(Pkcs11List, ListsTokensWithTheirUris) {
  SoftHsmToken tok("--keys '' --second-token other-token");
  ProviderOptions o;
  o.params["module"] = testing::kSoftHsmModule;
  auto lines = p11().list("", o);
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  EXPECT_NE(all.find("token=" + tok.label()), std::string::npos) << all;
  EXPECT_NE(all.find("token=other-token"), std::string::npos) << all;
  EXPECT_NE(all.find("manufacturer=SoftHSM%20project"), std::string::npos) << all;
  EXPECT_NE(all.find("login required"), std::string::npos) << all;
}

TEST(Pkcs11List, ListsKeysWithUrisTypesAndProtectionFlags) {
  SoftHsmToken tok("--keys 'ec-p256 ed25519'");
  auto gen = p11().generate(token_uri(tok, "made-here"), KeyType::kEcP384, {});
  ASSERT_TRUE(gen) << gen.error().describe();
  auto lines = p11().list("pkcs11:token=" + tok.label() + "?pin-source=file:" + tok.pin_file(), {});
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  EXPECT_NE(all.find(gen->reference), std::string::npos) << all;
  EXPECT_NE(all.find("private key EC P-384  sensitive=yes extractable=no"), std::string::npos) << all;
  EXPECT_NE(all.find("private key Ed25519  sensitive=yes extractable=no"), std::string::npos) << all;
  EXPECT_NE(all.find("public key EC P-256"), std::string::npos) << all;
  EXPECT_NE(all.find("object=ed25519;type=private"), std::string::npos) << all;
  EXPECT_EQ(all.find("Not logged in"), std::string::npos) << all;

  // Every listed private-key URI is usable as it is.
  std::size_t signed_with = 0;
  for (const auto& l : *lines) {
    auto pos = l.find("pkcs11:");
    if (pos == std::string::npos || l.find("type=private") == std::string::npos) continue;
    auto signer = p11().open_signer(l.substr(pos) + "?pin-source=file:" + tok.pin_file(), {});
    ASSERT_TRUE(signer) << l << ": " << signer.error().describe();
    ++signed_with;
  }
  EXPECT_EQ(signed_with, 3u);
}

TEST(Pkcs11List, WithoutPinShowsPublicObjectsAndSaysPrivateKeysAreHidden) {
  SoftHsmToken tok("--keys ec-p256");
  auto lines = p11().list("pkcs11:token=" + tok.label(), {});
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  EXPECT_NE(all.find("object=ec-p256;type=public"), std::string::npos) << all;
  EXPECT_EQ(all.find("type=private"), std::string::npos) << all;
  EXPECT_NE(all.find("Not logged in"), std::string::npos) << all;
}

}  // namespace
}  // namespace modelsign
