// keygen inside the token, and listing tokens and keys, on each token implementation.
#include <gtest/gtest.h>

#include "modelsign/key_provider.h"
#include "token_fixture.h"

namespace modelsign {
namespace {

using testing::TokenFixture;

const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

const Bytes kMessage = to_bytes("payload to sign");

class Pkcs11Keygen : public testing::TokenTest {};
class Pkcs11List : public testing::TokenTest {};

// "...?module-path=M" plus a PIN source, for a token or a key.
std::string with_pin(const TokenFixture& tok, const std::string& uri) {
  return uri + "?module-path=" + tok.module() + "&pin-source=file:" + tok.pin_file();
}

TEST_P(Pkcs11Keygen, GeneratedKeyIsSensitiveNonExtractableSignOnlyAndItsValueUnreadable) {
  auto tok = make_token();
  auto gen = p11().generate(tok->uri("new-key"), KeyType::kEcP256, tok->options());
  ASSERT_TRUE(gen) << gen.error().describe();

  auto rawp = tok->raw();
  auto& raw = *rawp;
  auto priv = raw.find("new-key", CKO_PRIVATE_KEY);
  ASSERT_EQ(priv.size(), 1u);
  EXPECT_EQ(raw.flag(priv[0], CKA_EXTRACTABLE), std::optional<bool>(false));
  EXPECT_EQ(raw.flag(priv[0], CKA_SENSITIVE), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_NEVER_EXTRACTABLE), std::optional<bool>(true));
  EXPECT_EQ(raw.flag(priv[0], CKA_ALWAYS_SENSITIVE), std::optional<bool>(true));
  // Softoken does not mark the keys it generates CKA_LOCAL.
  EXPECT_EQ(raw.flag(priv[0], CKA_LOCAL), std::optional<bool>(tok->marks_generated_keys_local()))
      << "generated on the token";
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

TEST_P(Pkcs11Keygen, EveryKeyTypeIsGeneratedInTheTokenAndSigns) {
  auto tok = make_token();
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
    if (testing::lack_is_reported(*tok, c.type)) continue;
    auto gen = p11().generate(tok->uri(label), c.type, tok->options());
    ASSERT_TRUE(gen) << label << ": " << gen.error().describe();
    EXPECT_EQ(gen->public_key.describe(), c.describe);
    // The returned reference (plus a PIN source) signs, and the returned public key verifies.
    auto signer = p11().open_signer(testing::with_query(gen->reference, "pin-source=file:" + tok->pin_file()), tok->options());
    ASSERT_TRUE(signer) << label << ": " << signer.error().describe();
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << label << ": " << sig.error().describe();
    EXPECT_TRUE(gen->public_key.verify(c.scheme, kMessage, *sig)) << label;
  }
}

TEST_P(Pkcs11Keygen, RefusesALabelThatExists) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto gen = p11().generate(tok->uri("ec-p256"), KeyType::kEcP384, tok->options());
  ASSERT_FALSE(gen);
  EXPECT_EQ(gen.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(gen.error().message.find("label 'ec-p256'"), std::string::npos) << gen.error().message;
  EXPECT_NE(gen.error().message.find("object=ec-p256"), std::string::npos) << gen.error().message;
  EXPECT_EQ(tok->raw()->find("ec-p256", CKO_PRIVATE_KEY).size(), 1u) << "nothing was added";
}

TEST_P(Pkcs11Keygen, RefusesAnIdThatExists) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto gen = p11().generate(with_pin(*tok, tok->object("fresh") + ";id=%01"), KeyType::kEcP256,
                            tok->options());
  ASSERT_FALSE(gen);
  EXPECT_NE(gen.error().message.find("id 01"), std::string::npos) << gen.error().message;
  EXPECT_TRUE(tok->raw()->find("fresh", CKO_PRIVATE_KEY).empty());
}

TEST_P(Pkcs11Keygen, TwoKeysGetDifferentIds) {
  auto tok = make_token();
  auto a = p11().generate(tok->uri("a"), KeyType::kEcP256, tok->options());
  auto b = p11().generate(tok->uri("b"), KeyType::kEcP256, tok->options());
  ASSERT_TRUE(a && b);
  auto raw = tok->raw();
  auto ia = raw->attr(raw->find("a", CKO_PRIVATE_KEY).at(0), CKA_ID).second;
  auto ib = raw->attr(raw->find("b", CKO_PRIVATE_KEY).at(0), CKA_ID).second;
  EXPECT_EQ(ia.size(), 16u);
  EXPECT_NE(ia, ib);
}

TEST_P(Pkcs11Keygen, NeedsAnObjectLabel) {
  auto tok = make_token();
  auto gen = p11().generate(with_pin(*tok, "pkcs11:token=" + tok->label()), KeyType::kEcP256,
                            tok->options());
  ASSERT_FALSE(gen);
  EXPECT_NE(gen.error().message.find("object=LABEL"), std::string::npos) << gen.error().message;
}

// The second token: SoftHSM's made by the fixture, softoken's own crypto token.
TEST_P(Pkcs11List, ListsTokensWithTheirUris) {
  auto tok = make_token(testing::TokenSpec().with_second_token(GetParam() == "SoftHSM"));
  ProviderOptions o = tok->options();
  o.params["module"] = tok->module();
  auto lines = p11().list("", o);
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  std::string other = tok->other_token();
  for (std::size_t at = 0; (at = other.find(' ', at)) != std::string::npos;) other.replace(at, 1, "%20");
  EXPECT_NE(all.find("token=" + tok->label()), std::string::npos) << all;
  EXPECT_NE(all.find("token=" + other), std::string::npos) << all;
  EXPECT_NE(all.find("manufacturer=" + tok->manufacturer()), std::string::npos) << all;
  EXPECT_NE(all.find("login required"), std::string::npos) << all;
}

TEST_P(Pkcs11List, ListsKeysWithUrisTypesAndProtectionFlags) {
  auto tok = make_token(testing::with_keys({"ec-p256", "ed25519"}));
  const bool ed25519 = !testing::lack_is_reported(*tok, KeyType::kEd25519);
  auto gen = p11().generate(tok->uri("made-here"), KeyType::kEcP384, tok->options());
  ASSERT_TRUE(gen) << gen.error().describe();
  auto lines = p11().list(with_pin(*tok, "pkcs11:token=" + tok->label()), tok->options());
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  EXPECT_NE(all.find(gen->reference), std::string::npos) << all;
  EXPECT_NE(all.find("private key EC P-384  sensitive=yes extractable=no"), std::string::npos) << all;
  if (ed25519) {
    EXPECT_NE(all.find("private key Ed25519  sensitive=yes extractable=no"), std::string::npos) << all;
    EXPECT_NE(all.find("object=ed25519;type=private"), std::string::npos) << all;
  }
  EXPECT_NE(all.find("public key EC P-256"), std::string::npos) << all;
  EXPECT_EQ(all.find("Not logged in"), std::string::npos) << all;

  // Every listed private-key URI is usable as it is.
  std::size_t signed_with = 0;
  for (const auto& l : *lines) {
    auto pos = l.find("pkcs11:");
    if (pos == std::string::npos || l.find("type=private") == std::string::npos) continue;
    auto signer = p11().open_signer(testing::with_query(l.substr(pos), "pin-source=file:" + tok->pin_file()), tok->options());
    ASSERT_TRUE(signer) << l << ": " << signer.error().describe();
    ++signed_with;
  }
  EXPECT_EQ(signed_with, ed25519 ? 3u : 2u);
}

TEST_P(Pkcs11List, WithoutPinShowsPublicObjectsAndSaysPrivateKeysAreHidden) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto lines = p11().list(tok->token_uri(), tok->options());
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  EXPECT_NE(all.find("object=ec-p256;type=public"), std::string::npos) << all;
  EXPECT_EQ(all.find("type=private"), std::string::npos) << all;
  EXPECT_NE(all.find("Not logged in"), std::string::npos) << all;
}

INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Keygen, testing::kTokenKinds, testing::token_name);
INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11List, testing::kTokenKinds, testing::token_name);

}  // namespace
}  // namespace modelsign
