// The provider against more than one PKCS#11 implementation: every test here runs on
// SoftHSM and on NSS's softoken through the same fixture interface (token_fixture.h).
// Where an implementation lacks something, the fixture declares it and the test checks
// that the provider says so (and prints the difference), rather than skipping.
#include <gtest/gtest.h>

#include <iostream>

#include "modelsign/key_provider.h"
#include "token_fixture.h"

namespace modelsign {
namespace {

using testing::TokenFixture;

const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

const Bytes kMessage = to_bytes("DSSEv1 28 application/vnd.in-toto+json 11 hello world");

class Pkcs11Token : public testing::TokenTest {
 protected:
  void SetUp() override { token_ = make_token(); }
  const TokenFixture& token() const { return *token_; }
  Result<GeneratedKey> generate(const std::string& object, KeyType type) {
    return p11().generate(token().uri(object), type, token().options());
  }

 private:
  std::unique_ptr<TokenFixture> token_;
};

TEST_P(Pkcs11Token, GeneratedKeysSignAndVerifyOrTheLackIsReported) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048, KeyType::kEd25519}) {
    const std::string object = std::string(to_string(type));
    SCOPED_TRACE(object);
    auto key = generate(object, type);
    if (std::string why = token().lacks(type); !why.empty()) {
      ASSERT_FALSE(key) << token().name() << " was declared to lack " << object;
      EXPECT_EQ(key.error().code, ErrorCode::kUnsupported) << key.error().describe();
      EXPECT_NE(key.error().message.find("does not support"), std::string::npos)
          << key.error().message;
      std::cout << "[ capability ] " << token().name() << ": no " << object << " keys (" << why
                << "); the provider reports: " << key.error().message << "\n";
      continue;
    }
    ASSERT_TRUE(key) << key.error().describe();
    auto signer = p11().open_signer(token().uri(object), token().options());
    ASSERT_TRUE(signer) << signer.error().describe();
    EXPECT_TRUE((*signer)->public_key().equals(key->public_key));
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << sig.error().describe();
    auto scheme = key->public_key.scheme();
    ASSERT_TRUE(scheme);
    EXPECT_TRUE(key->public_key.verify(*scheme, kMessage, *sig)) << object;
    auto pub = p11().public_key(token().uri(object), token().options());
    ASSERT_TRUE(pub) << pub.error().describe();
    EXPECT_TRUE(pub->equals(key->public_key));
  }
}

TEST_P(Pkcs11Token, WrongPinIsAnAuthError) {
  ASSERT_TRUE(generate("k", KeyType::kEcP256));
  auto s = p11().open_signer(token().uri_with_pin("k", "9999"), token().options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth) << s.error().describe();
  EXPECT_EQ(s.error().backend, "CKR_PIN_INCORRECT") << s.error().describe();
  EXPECT_NE(s.error().message.find("wrong PIN for token '" + token().label() + "'"),
            std::string::npos)
      << s.error().message;
}

TEST_P(Pkcs11Token, ListingShowsTheGeneratedKey) {
  ASSERT_TRUE(generate("listed-key", KeyType::kEcP256));
  auto lines = p11().list(token().token_uri() + "&pin-source=file:" + token().pin_file(),
                          token().options());
  ASSERT_TRUE(lines) << lines.error().describe();
  std::string all;
  for (const auto& l : *lines) all += l + "\n";
  EXPECT_NE(all.find("object=listed-key"), std::string::npos) << all;
  EXPECT_NE(all.find("private key EC P-256"), std::string::npos) << all;
  EXPECT_NE(all.find("sensitive=yes extractable=no"), std::string::npos) << all;
}

TEST_P(Pkcs11Token, KeygenNeverReplacesAKeyWithTheSameLabel) {
  ASSERT_TRUE(generate("taken", KeyType::kEcP256));
  auto again = generate("taken", KeyType::kEcP256);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(again.error().message.find("already holds"), std::string::npos) << again.error().message;
}

TEST_P(Pkcs11Token, MissingKeyErrorListsTheKeysOnTheToken) {
  ASSERT_TRUE(generate("present", KeyType::kEcP256));
  auto s = p11().open_signer(token().uri("absent"), token().options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("object=present"), std::string::npos) << s.error().message;
}

INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Token, testing::kTokenKinds, testing::token_name);

}  // namespace
}  // namespace modelsign
