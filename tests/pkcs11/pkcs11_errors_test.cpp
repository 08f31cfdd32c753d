// Every error a user can act on, provoked against a real SoftHSM token, and the PIN
// kept out of all of them.
#include <gtest/gtest.h>

#include "modelsign/key_provider.h"
#include "pkcs11/p11_token.h"
#include "pkcs11/p11_uri.h"
#include "softhsm_fixture.h"

namespace modelsign {
namespace {

using testing::SoftHsmToken;

const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

const Bytes kMessage = to_bytes("payload to sign");

// A PIN nobody would find in an error message by accident.
const std::string kSecretPin = "Wr0ngPin-7Q3x";

std::string base(const SoftHsmToken& tok, const std::string& object) {
  return "pkcs11:token=" + tok.label() + ";object=" + object;
}

void expect_no_secret(const Error& e) {
  EXPECT_EQ(e.describe().find(kSecretPin), std::string::npos) << e.describe();
  EXPECT_EQ(e.describe().find("1234"), std::string::npos) << e.describe();
}

TEST(Pkcs11Errors, WrongPinFromUriIsAuthErrorWithTriesLeftAndNoPin) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer(base(tok, "ec-p256") + "?pin-value=" + kSecretPin, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_EQ(s.error().backend, "CKR_PIN_INCORRECT");
  EXPECT_EQ(s.error().backend_code, CKR_PIN_INCORRECT);
  EXPECT_NE(s.error().message.find("wrong PIN for token 'modelsign-test'"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("the URI's pin-value"), std::string::npos) << s.error().message;
  // SoftHSM raises CKF_USER_PIN_COUNT_LOW after a failed login; the message reports it.
  EXPECT_NE(s.error().message.find("few tries remain"), std::string::npos) << s.error().message;
  expect_no_secret(s.error());
}

TEST(Pkcs11Errors, WrongPinFromEnvironmentNamesTheVariableNotThePin) {
  SoftHsmToken tok("--keys ec-p256");
  setenv("MODELSIGN_PKCS11_PIN", kSecretPin.c_str(), 1);
  auto s = p11().open_signer(base(tok, "ec-p256"), {});
  unsetenv("MODELSIGN_PKCS11_PIN");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("MODELSIGN_PKCS11_PIN"), std::string::npos) << s.error().message;
  expect_no_secret(s.error());
}

TEST(Pkcs11Errors, RightPinFromEnvironmentSigns) {
  SoftHsmToken tok("--keys ec-p256");
  setenv("MODELSIGN_PKCS11_PIN", "1234", 1);
  auto s = p11().open_signer(base(tok, "ec-p256"), {});
  unsetenv("MODELSIGN_PKCS11_PIN");
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_TRUE(sign_message(**s, kMessage));
}

TEST(Pkcs11Errors, PinFileWithTrailingNewlineWorks) {
  SoftHsmToken tok("--keys ec-p256");
  ASSERT_EQ(testing::read_text(tok.pin_file()), "1234\n") << "the fixture writes the newline";
  auto s = p11().open_signer(base(tok, "ec-p256") + "?pin-source=file:" + tok.pin_file(), {});
  ASSERT_TRUE(s) << s.error().describe();
  auto sig = sign_message(**s, kMessage);
  ASSERT_TRUE(sig) << sig.error().describe();
  // Plain absolute path and file:// forms work too (model_signing accepts a bare path).
  EXPECT_TRUE(p11().open_signer(base(tok, "ec-p256") + "?pin-source=" + tok.pin_file(), {}));
  EXPECT_TRUE(p11().open_signer(base(tok, "ec-p256") + "?pin-source=file://" + tok.pin_file(), {}));
}

TEST(Pkcs11Errors, OnlyOneTrailingNewlineIsStrippedFromPinFile) {
  SoftHsmToken tok("--keys ec-p256");
  std::string two = tok.dir() + "/pin2";
  testing::write_text(two, "1234\n\n");
  auto s = p11().open_signer(base(tok, "ec-p256") + "?pin-source=file:" + two, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("pin-source file '" + two + "'"), std::string::npos)
      << s.error().message;
}

TEST(Pkcs11Errors, PinOptionsFileIsUsedWhenUriHasNoPin) {
  SoftHsmToken tok("--keys ec-p256");
  ProviderOptions o;
  o.secret.file = tok.pin_file();
  auto s = p11().open_signer(base(tok, "ec-p256"), o);
  ASSERT_TRUE(s) << s.error().describe();
}

TEST(Pkcs11Errors, MissingPinSaysWhereToPutIt) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer(base(tok, "ec-p256"), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("requires a PIN"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("pin-source=file:"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("MODELSIGN_PKCS11_PIN"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, MissingPinFileIsNamed) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer(base(tok, "ec-p256") + "?pin-source=file:" + tok.dir() + "/nope", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find(tok.dir() + "/nope"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, MissingTokenListsTheTokensSeenWithUris) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer("pkcs11:token=no-such-token;object=ec-p256?pin-value=" + kSecretPin, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("no PKCS#11 token matches 'pkcs11:token=no-such-token;object=ec-p256'"),
            std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("tokens seen:"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("serial="), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("token=modelsign-test"), std::string::npos) << s.error().message;
  expect_no_secret(s.error());
}

TEST(Pkcs11Errors, UriMatchingTwoTokensListsBoth) {
  SoftHsmToken tok("--keys ec-p256 --second-token second");
  auto s = p11().open_signer(
      "pkcs11:object=ec-p256?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:" +
          tok.pin_file(),
      {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("matches 2 PKCS#11 tokens"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("token=modelsign-test"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("token=second"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, AmbiguousKeyListsTheMatchingUris) {
  SoftHsmToken tok("--keys ec-p256");
  auto dup = tok.tool("--keypairgen --key-type EC:prime256v1 --label ec-p256 --id 09");
  ASSERT_EQ(dup.rc, 0) << dup.out;
  auto s = p11().open_signer(base(tok, "ec-p256") + "?pin-source=file:" + tok.pin_file(), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("matches 2 private keys"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("id=%01;object=ec-p256;type=private"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("id=%09;object=ec-p256;type=private"), std::string::npos)
      << s.error().message;
  // Adding the id picks one.
  auto one = p11().open_signer(
      "pkcs11:token=" + tok.label() + ";object=ec-p256;id=%09?pin-source=file:" + tok.pin_file(), {});
  EXPECT_TRUE(one) << one.error().describe();
}

TEST(Pkcs11Errors, KeyNotFoundListsTheKeysOnTheToken) {
  SoftHsmToken tok("--keys 'ec-p256 ec-p384'");
  auto s = p11().open_signer(base(tok, "no-such-key") + "?pin-source=file:" + tok.pin_file(), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("no private key with object=no-such-key"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("object=ec-p256;type=private"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("object=ec-p384;type=private"), std::string::npos) << s.error().message;
  auto pub = p11().public_key(base(tok, "no-such-key") + "?pin-source=file:" + tok.pin_file(), {});
  ASSERT_FALSE(pub);
  EXPECT_EQ(pub.error().code, ErrorCode::kNotFound);
}

TEST(Pkcs11Errors, MissingModuleNameListsThePathsTried) {
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

TEST(Pkcs11Errors, MissingModulePathIsNamed) {
  auto s = p11().open_signer("pkcs11:token=t;object=k?module-path=/nonexistent/libnothing.so", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("/nonexistent/libnothing.so"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, FileThatIsNotAModuleFailsToLoad) {
  SoftHsmToken tok("--keys ''");
  auto s = p11().open_signer("pkcs11:token=t;object=k?module-path=" + tok.get("SOFTHSM2_CONF"), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kBackend);
  EXPECT_NE(s.error().message.find("cannot load the PKCS#11 module"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, UnsupportedMechanismNamesItAndWhatTheTokenOffers) {
  // SoftHSM configured without CKM_ECDSA, as some HSM policies are.
  SoftHsmToken tok("--keys ec-p256 --mechanisms -CKM_ECDSA");
  auto s = p11().open_signer(tok.uri("ec-p256"), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(s.error().backend, "CKR_MECHANISM_INVALID");
  EXPECT_NE(s.error().message.find("does not support CKM_ECDSA"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("CKM_RSA_PKCS_PSS"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, KeygenOfUnsupportedTypeNamesTheMechanism) {
  SoftHsmToken tok("--keys '' --mechanisms -CKM_EC_EDWARDS_KEY_PAIR_GEN,CKM_EDDSA");
  auto g = p11().generate(base(tok, "ed") + "?pin-source=file:" + tok.pin_file(), KeyType::kEd25519, {});
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(g.error().message.find("CKM_EC_EDWARDS_KEY_PAIR_GEN"), std::string::npos) << g.error().message;
}

TEST(Pkcs11Errors, MalformedUrisAreRejectedWithReasons) {
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

TEST(Pkcs11Errors, UriWithoutIdOrObjectIsRejected) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer("pkcs11:token=" + tok.label() + "?pin-source=file:" + tok.pin_file(), {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Neither 'id' nor 'object'"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, UnsupportedPinSourceSchemeIsRejected) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer(base(tok, "ec-p256") + "?pin-source=https://example.invalid/pin", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(s.error().message.find("PIN URI scheme"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, SigningWithAPublicKeyUriIsRefused) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer(base(tok, "ec-p256") + ";type=public?pin-source=file:" + tok.pin_file(), {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("signing needs the private key"), std::string::npos) << s.error().message;
}

TEST(Pkcs11Errors, TokenDeletedUnderAnOpenSignerIsReported) {
  SoftHsmToken tok("--keys ec-p256");
  auto s = p11().open_signer(tok.uri("ec-p256"), {});
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(sign_message(**s, kMessage));
  // Another process deletes the token while this one holds a session on it.
  auto del = testing::run_command("softhsm2-util --delete-token --token " + tok.label() + " 2>&1");
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
TEST(Pkcs11Errors, ModuleLackingAFunctionIsAnErrorNotACrash) {
  SoftHsmToken tok("--keys ec-p256");
  setenv("MODELSIGN_TEST_DROP_FUNCTION", "C_GetMechanismList", 1);
  auto s = p11().open_signer(base(tok, "ec-p256") + "?module-path=" +
                                 MODELSIGN_LOGIN_COUNTER_MODULE + "&pin-source=file:" +
                                 tok.pin_file(),
                             {});
  unsetenv("MODELSIGN_TEST_DROP_FUNCTION");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().backend, "CKR_FUNCTION_NOT_SUPPORTED") << s.error().describe();
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported) << s.error().describe();
}

}  // namespace
}  // namespace modelsign
