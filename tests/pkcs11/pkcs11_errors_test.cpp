// Every error a user can act on, provoked on each token implementation
// (token_fixture.h), and the PIN kept out of all of them.
#include <gtest/gtest.h>

#include "modelsign/key_provider.h"
#include "pkcs11/p11_token.h"
#include "pkcs11/p11_uri.h"
#include "token_fixture.h"

namespace modelsign {
namespace {

using testing::TokenFixture;

const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

const Bytes kMessage = to_bytes("payload to sign");

// A PIN nobody would find in an error message by accident.
const std::string kSecretPin = "Wr0ngPin-7Q3x";

// The key's URI with the token's module and no PIN source: "...?module-path=M".
std::string base(const TokenFixture& tok, const std::string& object) {
  return tok.object(object) + "?module-path=" + tok.module();
}

class Pkcs11Errors : public testing::TokenTest {};

void expect_no_secret(const Error& e) {
  EXPECT_EQ(e.describe().find(kSecretPin), std::string::npos) << e.describe();
  EXPECT_EQ(e.describe().find("1234"), std::string::npos) << e.describe();
}

TEST_P(Pkcs11Errors, WrongPinFromUriIsAuthErrorWithTriesLeftAndNoPin) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(base(*tok, "ec-p256") + "&pin-value=" + kSecretPin, tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_EQ(s.error().backend, "CKR_PIN_INCORRECT");
  EXPECT_EQ(s.error().backend_code, CKR_PIN_INCORRECT);
  EXPECT_NE(s.error().message.find("wrong PIN for token '" + tok->label() + "'"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("the URI's pin-value"), std::string::npos) << s.error().message;
  // SoftHSM raises CKF_USER_PIN_COUNT_LOW after a failed login, softoken does not: the
  // message says what the token reports, and nothing it does not.
  EXPECT_EQ(s.error().message.find("few tries remain") != std::string::npos,
            tok->reports_pin_count_low())
      << s.error().message;
  expect_no_secret(s.error());
}

TEST_P(Pkcs11Errors, WrongPinFromEnvironmentNamesTheVariableNotThePin) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  setenv("MODELSIGN_PKCS11_PIN", kSecretPin.c_str(), 1);
  auto s = p11().open_signer(base(*tok, "ec-p256"), tok->options());
  unsetenv("MODELSIGN_PKCS11_PIN");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("MODELSIGN_PKCS11_PIN"), std::string::npos) << s.error().message;
  expect_no_secret(s.error());
}

TEST_P(Pkcs11Errors, RightPinFromEnvironmentSigns) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  setenv("MODELSIGN_PKCS11_PIN", "1234", 1);
  auto s = p11().open_signer(base(*tok, "ec-p256"), tok->options());
  unsetenv("MODELSIGN_PKCS11_PIN");
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_TRUE(sign_message(**s, kMessage));
}

TEST_P(Pkcs11Errors, PinFileWithTrailingNewlineWorks) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  ASSERT_EQ(testing::read_text(tok->pin_file()), "1234\n") << "the fixture writes the newline";
  auto s = p11().open_signer(base(*tok, "ec-p256") + "&pin-source=file:" + tok->pin_file(), tok->options());
  ASSERT_TRUE(s) << s.error().describe();
  auto sig = sign_message(**s, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  // Plain absolute path and file:// forms work too (model_signing accepts a bare path).
  EXPECT_TRUE(p11().open_signer(base(*tok, "ec-p256") + "&pin-source=" + tok->pin_file(), tok->options()));
  EXPECT_TRUE(p11().open_signer(base(*tok, "ec-p256") + "&pin-source=file://" + tok->pin_file(), tok->options()));
}

TEST_P(Pkcs11Errors, OnlyOneTrailingNewlineIsStrippedFromPinFile) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  std::string two = tok->dir() + "/pin2";
  testing::write_text(two, "1234\n\n");
  auto s = p11().open_signer(base(*tok, "ec-p256") + "&pin-source=file:" + two, tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("pin-source file '" + two + "'"), std::string::npos)
      << s.error().message;
}

TEST_P(Pkcs11Errors, PinOptionsFileIsUsedWhenUriHasNoPin) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  ProviderOptions o = tok->options();
  o.secret.file = tok->pin_file();
  auto s = p11().open_signer(base(*tok, "ec-p256"), o);
  ASSERT_TRUE(s) << s.error().describe();
}

TEST_P(Pkcs11Errors, MissingPinSaysWhereToPutIt) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(base(*tok, "ec-p256"), tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("requires a PIN"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("pin-source=file:"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("MODELSIGN_PKCS11_PIN"), std::string::npos) << s.error().message;
}

TEST_P(Pkcs11Errors, MissingPinFileIsNamed) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(base(*tok, "ec-p256") + "&pin-source=file:" + tok->dir() + "/nope", tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find(tok->dir() + "/nope"), std::string::npos) << s.error().message;
}

TEST_P(Pkcs11Errors, MissingTokenListsTheTokensSeenWithUris) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer("pkcs11:token=no-such-token;object=ec-p256?module-path=" + tok->module() +
                                 "&pin-value=" + kSecretPin,
                             tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("no PKCS#11 token matches 'pkcs11:token=no-such-token;object=ec-p256"),
            std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("tokens seen:"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("serial="), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("token=" + tok->label()), std::string::npos) << s.error().message;
  expect_no_secret(s.error());
}

// The second token: SoftHSM's made by the fixture, softoken's own crypto token.
TEST_P(Pkcs11Errors, UriMatchingTwoTokensListsBoth) {
  auto tok = make_token(testing::with_keys({"ec-p256"}).with_second_token(GetParam() == "SoftHSM"));
  auto s = p11().open_signer(
      "pkcs11:object=ec-p256?module-path=" + tok->module() + "&pin-source=file:" + tok->pin_file(),
      tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("matches 2 PKCS#11 tokens"), std::string::npos) << s.error().message;
  std::string other = tok->other_token();
  for (std::size_t at = 0; (at = other.find(' ', at)) != std::string::npos;) other.replace(at, 1, "%20");
  EXPECT_NE(s.error().message.find("token=" + tok->label()), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("token=" + other), std::string::npos) << s.error().message;
}

TEST_P(Pkcs11Errors, AmbiguousKeyListsTheMatchingUris) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  ASSERT_EQ(tok->raw()->generate(KeyType::kEcP256, "ec-p256", Bytes{0x09}), CKR_OK);
  auto s = p11().open_signer(base(*tok, "ec-p256") + "&pin-source=file:" + tok->pin_file(), tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("matches 2 private keys"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("id=%01;object=ec-p256;type=private"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("id=%09;object=ec-p256;type=private"), std::string::npos)
      << s.error().message;
  // Adding the id picks one.
  auto one = p11().open_signer(
      tok->object("ec-p256") + ";id=%09?module-path=" + tok->module() + "&pin-source=file:" +
          tok->pin_file(),
      tok->options());
  EXPECT_TRUE(one) << one.error().describe();
}

TEST_P(Pkcs11Errors, KeyNotFoundListsTheKeysOnTheToken) {
  auto tok = make_token(testing::with_keys({"ec-p256", "ec-p384"}));
  auto s = p11().open_signer(base(*tok, "no-such-key") + "&pin-source=file:" + tok->pin_file(), tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("no private key with object=no-such-key"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("object=ec-p256;type=private"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("object=ec-p384;type=private"), std::string::npos) << s.error().message;
  auto pub = p11().public_key(base(*tok, "no-such-key") + "&pin-source=file:" + tok->pin_file(), tok->options());
  ASSERT_FALSE(pub);
  EXPECT_EQ(pub.error().code, ErrorCode::kNotFound);
}

// No token involved in the next three: run once.
TEST(Pkcs11Module, MissingModuleNameListsThePathsTried) {
  auto s = p11().open_signer("pkcs11:token=t;object=k?module-name=no-such-module", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  const auto& m = s.error().message;
  EXPECT_NE(m.find("PKCS#11 module 'no-such-module' not found"), std::string::npos) << m;
  for (const char* dir : {"/usr/lib64/pkcs11/", "/usr/lib/pkcs11/", "/usr/lib/x86_64-linux-gnu/pkcs11/",
                          "/usr/lib/softhsm/", "the p11-kit registry"})
    EXPECT_NE(m.find(dir), std::string::npos) << dir << " missing in: " << m;
  EXPECT_NE(m.find("softhsm2"), std::string::npos) << "registered modules are listed: " << m;
}

TEST(Pkcs11Module, MissingModulePathIsNamed) {
  auto s = p11().open_signer("pkcs11:token=t;object=k?module-path=/nonexistent/libnothing.so", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("/nonexistent/libnothing.so"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Module, FileThatIsNotAModuleFailsToLoad) {
  const std::string not_a_module = std::string(MODELSIGN_SOURCE_DIR) + "/softhsm-fixtures/lib.sh";
  auto s = p11().open_signer("pkcs11:token=t;object=k?module-path=" + not_a_module, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kBackend);
  EXPECT_NE(s.error().message.find("cannot load the PKCS#11 module"), std::string::npos) << s.error().message;
}

// SoftHSM only: it alone has a mechanism policy to switch CKM_ECDSA off, as some HSM
// policies do (softoken always offers it).
TEST(Pkcs11SoftHsm, UnsupportedMechanismNamesItAndWhatTheTokenOffers) {
  auto tok = testing::make_token_fixture("SoftHSM", testing::with_keys({"ec-p256"}).with_mechanisms("-CKM_ECDSA"));
  auto s = p11().open_signer(tok->uri("ec-p256"), tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(s.error().backend, "CKR_MECHANISM_INVALID");
  EXPECT_NE(s.error().message.find("does not support CKM_ECDSA"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("CKM_RSA_PKCS_PSS"), std::string::npos) << s.error().message;
}

// A token without Ed25519: SoftHSM with EdDSA switched off by its policy, softoken as it is.
TEST_P(Pkcs11Errors, KeygenOfUnsupportedTypeNamesTheMechanism) {
  testing::TokenSpec spec;
  if (GetParam() == "SoftHSM") spec.mechanisms = "-CKM_EC_EDWARDS_KEY_PAIR_GEN,CKM_EDDSA";
  auto tok = make_token(spec);
  auto g = p11().generate(tok->uri("ed"), KeyType::kEd25519, tok->options());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(g.error().message.find("CKM_EC_EDWARDS_KEY_PAIR_GEN"), std::string::npos) << g.error().message;
  // What the token offers instead is listed by name (both tokens offer DSA and DH key
  // pair generation, which were once printed as numbers).
  EXPECT_NE(g.error().message.find("it offers: "), std::string::npos) << g.error().message;
  EXPECT_NE(g.error().message.find("CKM_EC_KEY_PAIR_GEN"), std::string::npos) << g.error().message;
  EXPECT_EQ(g.error().message.find("CKM_0x"), std::string::npos) << g.error().message;
}

// No token involved: run once.
TEST(Pkcs11Uri, MalformedUrisAreRejectedWithReasons) {
  struct Case {
    std::string uri, expect;
  };
  for (const Case& c : {
           Case{"pkcs12:token=x;object=y", "missing 'pkcs11:' prefix"},
           Case{"pkcs11:token=x;object=y?pin-value=" + kSecretPin + "&pin-source=file:/p",
                "mutually exclusive"},
           Case{"pkcs11:token=x;object=y?module-path=relative/lib.so", "must be an absolute path"},
           Case{"pkcs11:token=x;type=bogus", "Malformed pkcs11 URI"},
       }) {
    auto s = p11().open_signer(c.uri, {});
    ASSERT_FALSE(s) << c.uri;
    EXPECT_NE(s.error().message.find(c.expect), std::string::npos) << s.error().message;
    expect_no_secret(s.error());
  }
}

TEST_P(Pkcs11Errors, UriWithoutIdOrObjectIsRejected) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(
      "pkcs11:token=" + tok->label() + "?module-path=" + tok->module() + "&pin-source=file:" + tok->pin_file(),
      tok->options());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Neither 'id' nor 'object'"), std::string::npos) << s.error().message;
}

TEST_P(Pkcs11Errors, UnsupportedPinSourceSchemeIsRejected) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(base(*tok, "ec-p256") + "&pin-source=https://example.invalid/pin", tok->options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(s.error().message.find("PIN URI scheme"), std::string::npos) << s.error().message;
}

TEST_P(Pkcs11Errors, SigningWithAPublicKeyUriIsRefused) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(tok->object("ec-p256") + ";type=public?module-path=" + tok->module() +
                                 "&pin-source=file:" + tok->pin_file(),
                             tok->options());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("signing needs the private key"), std::string::npos) << s.error().message;
}

// SoftHSM only: softhsm2-util can delete a token under an open session; softoken's one
// database token cannot be removed from outside the process.
TEST(Pkcs11SoftHsm, TokenDeletedUnderAnOpenSignerIsReported) {
  auto tok = testing::make_token_fixture("SoftHSM", testing::with_keys({"ec-p256"}));
  auto s = p11().open_signer(tok->uri("ec-p256"), tok->options());
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(sign_message(**s, kMessage));
  // Another process deletes the token while this one holds a session on it.
  auto del = testing::run_command("softhsm2-util --delete-token --token " + tok->label() + " 2>&1");
  ASSERT_EQ(del.rc, 0) << del.out;
  auto sig = sign_message(**s, kMessage);
  ASSERT_FALSE(sig) << "signing with a deleted token must fail";
  EXPECT_NE(sig.error().message.find("removed"), std::string::npos) << sig.error().describe();
}

// SoftHSM 2.6 never locks a PIN and never reports the final-try flag, so these
// messages are checked on the error builder itself.
TEST(Pkcs11ErrorText, PinLockedTellsTheUserTheSecurityOfficerMustUnlock) {
  pkcs11::Token t;
  std::memcpy(t.info.label, "prod                            ", 32);
  t.module_file = "/usr/lib/softhsm/libsofthsm2.so";
  Error e = pkcs11::login_error(CKR_PIN_LOCKED, t, CKF_USER_PIN_LOCKED, "the URI's pin-value");
  EXPECT_EQ(e.code, ErrorCode::kLocked);
  EXPECT_EQ(e.backend, "CKR_PIN_LOCKED");
  EXPECT_NE(e.message.find("'prod'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("locked"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("security officer must unlock"), std::string::npos) << e.message;
}

TEST(Pkcs11ErrorText, WrongPinOnFinalTryWarnsThatTheNextLocks) {
  pkcs11::Token t;
  std::memcpy(t.info.label, "prod                            ", 32);
  Error e = pkcs11::login_error(CKR_PIN_INCORRECT, t, CKF_USER_PIN_FINAL_TRY, "the prompt");
  EXPECT_EQ(e.code, ErrorCode::kAuth);
  EXPECT_NE(e.message.find("ONE try left"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("PIN from the prompt"), std::string::npos) << e.message;
}

TEST(Pkcs11Uri, RedactionDropsOnlyThePinValue) {
  EXPECT_EQ(pkcs11::redact_uri("pkcs11:token=a;object=b?pin-value=" + kSecretPin + "&module-name=softhsm2"),
            "pkcs11:token=a;object=b?module-name=softhsm2");
  EXPECT_EQ(pkcs11::redact_uri("pkcs11:token=a?pin-source=file:/p"), "pkcs11:token=a?pin-source=file:/p");
  EXPECT_EQ(pkcs11::redact_uri("pkcs11:token=a?pin-value=x"), "pkcs11:token=a");
}

// Before: only the query was redacted; p11-kit also takes ";pin-value=" in the path.
TEST(Pkcs11Uri, PinValueInThePathIsRedactedToo) {
  EXPECT_EQ(pkcs11::redact_uri("pkcs11:object=typo;pin-value=" + kSecretPin), "pkcs11:object=typo");
  EXPECT_EQ(pkcs11::redact_uri("pkcs11:pin-value=" + kSecretPin + ";object=k?module-name=m&pin-value=x"),
            "pkcs11:object=k?module-name=m");
  EXPECT_EQ(pkcs11::redact_uri("pkcs11:object=k;PIN%2Dvalue=" + kSecretPin), "pkcs11:object=k");
  // A parsed URI is shown re-formatted, without its PIN (which is kept for login).
  auto u = pkcs11::parse_uri("pkcs11:token=t;object=typo;pin-value=" + kSecretPin + "?module-name=softhsm2");
  ASSERT_TRUE(u) << u.error().describe();
  EXPECT_EQ(u->redacted.find(kSecretPin), std::string::npos) << u->redacted;
  EXPECT_NE(u->redacted.find("object=typo"), std::string::npos) << u->redacted;
  EXPECT_NE(u->redacted.find("module-name=softhsm2"), std::string::npos) << u->redacted;
  EXPECT_TRUE(u->has_pin_value);
  EXPECT_EQ(u->pin_value.value(), kSecretPin);
}

TEST(Pkcs11Uri, ParsesPercentEncodedAttributes) {
  auto u = pkcs11::parse_uri("pkcs11:token=my%20token;object=key%2F1;id=%01%ff;type=private;slot-id=7?module-name=softhsm2");
  ASSERT_TRUE(u) << u.error().describe();
  EXPECT_EQ(u->label, std::optional<std::string>("key/1"));
  EXPECT_EQ(u->id, std::optional<Bytes>(Bytes{0x01, 0xff}));
  EXPECT_EQ(u->object_class, std::optional<CK_OBJECT_CLASS>(CKO_PRIVATE_KEY));
  EXPECT_EQ(u->slot_id, std::optional<CK_SLOT_ID>(7));
  EXPECT_EQ(u->module_name, "softhsm2");
  EXPECT_TRUE(u->names_token);
  auto bare = pkcs11::parse_uri("pkcs11:object=k");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->names_token);
}

// A module whose function list lacks an entry: every call goes through one wrapper that
// answers CKR_FUNCTION_NOT_SUPPORTED for it. Before the wrapper this jumped through a
// null pointer (SIGSEGV).
TEST_P(Pkcs11Errors, ModuleLackingAFunctionIsAnErrorNotACrash) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  setenv("MODELSIGN_TEST_DROP_FUNCTION", "C_GetMechanismList", 1);
  setenv("MODELSIGN_TEST_REAL_MODULE", tok->module().c_str(), 1);
  auto s = p11().open_signer(tok->object("ec-p256") + "?module-path=" +
                                 MODELSIGN_LOGIN_COUNTER_MODULE + "&pin-source=file:" +
                                 tok->pin_file(),
                             tok->options());
  unsetenv("MODELSIGN_TEST_DROP_FUNCTION");
  unsetenv("MODELSIGN_TEST_REAL_MODULE");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().backend, "CKR_FUNCTION_NOT_SUPPORTED") << s.error().describe();
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported) << s.error().describe();
}

INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Errors, testing::kTokenKinds, testing::token_name);

}  // namespace
}  // namespace modelsign
