// The method chosen from the flags and the environment, and the CI step outputs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "ci/ci_outputs.h"
#include "ci/method_choice.h"
#include "cli/commands.h"
#include "env_map.h"
#include "test_support.h"

namespace modelsign::ci {
namespace {

using modelsign::test::env_of;

const std::string kPem = "-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n";

TEST(SignMethodChoice, AnExplicitKeyFlagPicksItsProviderWhateverTheEnvironment) {
  auto env = env_of({{"SIGSTORE_ID_TOKEN", "jwt"}, {"SIGNING_PRIVATE_KEY", kPem}});
  SignFlags f;
  f.private_key = true;
  EXPECT_EQ(choose_sign_method(f, env)->method, "key");
  f.signing_certificate = true;
  EXPECT_EQ(choose_sign_method(f, env)->method, "certificate");
  SignFlags p;
  p.pkcs11_uri = true;
  EXPECT_EQ(choose_sign_method(p, env)->method, "pkcs11-key");
  SignFlags t;
  t.tpm2_key = true;
  t.signing_certificate = true;
  auto c = choose_sign_method(t, env);
  EXPECT_EQ(c->method, "tpm2-certificate");
  EXPECT_NE(c->reason.find("--tpm2-key"), std::string::npos);
}

TEST(SignMethodChoice, TwoKeyFlagsAreRefused) {
  SignFlags f;
  f.private_key = f.pkcs11_uri = true;
  auto c = choose_sign_method(f, env_of({}));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
}

TEST(SignMethodChoice, AnOidcTokenPicksKeylessBeforeTheEnvironmentKey) {
  auto c = choose_sign_method({}, env_of({{"SIGSTORE_ID_TOKEN", "jwt"}, {"SIGNING_PRIVATE_KEY", kPem}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->method, "sigstore");
  EXPECT_NE(c->reason.find("SIGSTORE_ID_TOKEN"), std::string::npos);
  EXPECT_NE(c->reason.find("SIGNING_PRIVATE_KEY is set too"), std::string::npos) << c->reason;
}

TEST(SignMethodChoice, GithubAmbientCredentialsNeedBothUrlAndToken) {
  auto both = choose_sign_method({}, env_of({{"ACTIONS_ID_TOKEN_REQUEST_URL", "https://x"},
                                             {"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"}}));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->method, "sigstore");
  EXPECT_NE(both->reason.find("GitHub Actions ambient"), std::string::npos);
  auto url_only = choose_sign_method({}, env_of({{"ACTIONS_ID_TOKEN_REQUEST_URL", "https://x"}}));
  ASSERT_FALSE(url_only);
  EXPECT_NE(url_only.error().message.find("ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"), std::string::npos);
}

TEST(SignMethodChoice, TheEnvironmentKeyIsUsedWhenNoOidcIdentityIsAvailable) {
  auto c = choose_sign_method({}, env_of({{"GITHUB_ACTIONS", "true"}, {"SIGNING_PRIVATE_KEY", kPem},
                                          {"SIGSTORE_ID_TOKEN", ""}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->method, "key");
  EXPECT_EQ(c->key_reference, "env:SIGNING_PRIVATE_KEY");
  EXPECT_NE(c->reason.find("no OIDC identity"), std::string::npos);
}

TEST(SignMethodChoice, NothingAvailableListsWhatWasLookedForInTheTroubleshootingWords) {
  auto c = choose_sign_method({}, env_of({{"GITHUB_ACTIONS", "true"}, {"SIGNING_PRIVATE_KEY", ""}}));
  ASSERT_FALSE(c);
  const std::string& m = c.error().message;
  for (const char* part : {"No OIDC token available", "SIGSTORE_ID_TOKEN is not set", "id-token: write",
                           "Private key not found", "SIGNING_PRIVATE_KEY is set but empty", "PEM", "600"})
    EXPECT_NE(m.find(part), std::string::npos) << part << " in: " << m;
  auto gl = choose_sign_method({}, env_of({{"GITLAB_CI", "true"}}));
  EXPECT_NE(gl.error().message.find("id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore"), std::string::npos);
}

TEST(VerifyMethodChoice, TheSignaturesMaterialAndTheFlagsMustAgree) {
  VerifyFlags key;
  key.public_key = true;
  EXPECT_EQ(choose_verify_method(bundle::Material::kPublicKey, "ab", key)->method, "key");
  auto wrong = choose_verify_method(bundle::Material::kCertificateChain, "", key);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("--certificate-chain"), std::string::npos);
  VerifyFlags none;
  auto missing = choose_verify_method(bundle::Material::kPublicKey, "ab12", none);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("hint ab12"), std::string::npos);
  VerifyFlags chain;
  chain.certificate_chain = true;
  EXPECT_EQ(choose_verify_method(bundle::Material::kCertificateChain, "", chain)->method, "certificate");
  VerifyFlags id;
  id.identity = true;
  EXPECT_FALSE(choose_verify_method(bundle::Material::kSigstore, "", id));  // needs the issuer too
  id.identity_provider = true;
  EXPECT_EQ(choose_verify_method(bundle::Material::kSigstore, "", id)->method, "sigstore");
  EXPECT_FALSE(choose_verify_method(bundle::Material::kPublicKey, "", id));
}

const Outputs kOutputs = {{"model_hash", "sha256:00ff"},
                          {"signature_path", "models/bert.sig"},
                          {"method", "key"},
                          {"signer", "CN=a|b `c`"}};

TEST(CiOutputs, GithubOutputUsesKeyValueAndADelimiterForMultiLineValues) {
  EXPECT_EQ(github_output_text(kOutputs),
            "model_hash=sha256:00ff\nsignature_path=models/bert.sig\nmethod=key\nsigner=CN=a|b `c`\n");
  std::string t = github_output_text({{"signer", "line1\nline2"}});
  ASSERT_TRUE(t.starts_with("signer<<ghadelimiter_")) << t;
  std::string delim = t.substr(8, t.find('\n') - 8);
  EXPECT_EQ(t, "signer<<" + delim + "\nline1\nline2\n" + delim + "\n");
  EXPECT_EQ(t.find("::set-output"), std::string::npos);
}

TEST(CiOutputs, StepSummaryIsAMarkdownTableWithEscapedValues) {
  std::string s = step_summary_text("modelsign: signed m", kOutputs);
  EXPECT_NE(s.find("| Output | Value |\n| --- | --- |\n"), std::string::npos) << s;
  EXPECT_NE(s.find("| model_hash | <code>sha256:00ff</code> |"), std::string::npos) << s;
  EXPECT_NE(s.find("<code>CN=a&#124;b &#96;c&#96;</code>"), std::string::npos) << s;
}

TEST(CiOutputs, DotenvRefusesALineBreak) {
  EXPECT_EQ(*dotenv_text(kOutputs), "model_hash=sha256:00ff\nsignature_path=models/bert.sig\nmethod=key\nsigner=CN=a|b `c`\n");
  EXPECT_FALSE(dotenv_text({{"signer", "a\nb"}}));
}

TEST(CiOutputs, DotenvPathComesFromTheFlagOrFromTheEnvironmentOnlyUnderGitlab) {
  EXPECT_EQ(targets_from_env(env_of({{"MODELSIGN_CI_DOTENV", "x.env"}}), "").dotenv, "");
  EXPECT_EQ(targets_from_env(env_of({{"GITLAB_CI", "true"}, {"MODELSIGN_CI_DOTENV", "x.env"}}), "").dotenv, "x.env");
  EXPECT_EQ(targets_from_env(env_of({{"GITLAB_CI", "true"}, {"MODELSIGN_CI_DOTENV", "x.env"}}), "f.env").dotenv,
            "f.env");
  auto t = targets_from_env(env_of({{"GITHUB_OUTPUT", "o"}, {"GITHUB_STEP_SUMMARY", "s"}}), "");
  EXPECT_EQ(t.github_output, "o");
  EXPECT_EQ(t.step_summary, "s");
}

TEST(CiOutputs, WriteOutputsAppendsToEveryTarget) {
  modelsign::test::TempDir d;
  Targets t{(d / "out").string(), (d / "sum").string(), (d / "x.env").string()};
  ASSERT_TRUE(write_outputs(t, "title", kOutputs));
  ASSERT_TRUE(write_outputs(t, "title", {{"method", "key"}}));
  EXPECT_EQ(modelsign::test::read_file(d / "x.env"), *dotenv_text(kOutputs) + "method=key\n");
  const std::string out = modelsign::test::read_file(d / "out");
  EXPECT_EQ(out, github_output_text(kOutputs) + "method=key\n");
}

TEST(EnvironmentSecret, WipedInPlaceAndUnset) {
  ::setenv("MODELSIGN_TEST_SECRET", "-----BEGIN PRIVATE KEY-----secret", 1);
  char* v = std::getenv("MODELSIGN_TEST_SECRET");
  const size_t n = std::strlen(v);
  cli::wipe_environment_secret("MODELSIGN_TEST_SECRET");
  EXPECT_EQ(std::getenv("MODELSIGN_TEST_SECRET"), nullptr);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(v[i], '\0') << i;  // setenv's copy is not freed by unsetenv (glibc)
}

}  // namespace
}  // namespace modelsign::ci
