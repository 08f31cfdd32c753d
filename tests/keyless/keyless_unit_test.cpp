// Keyless signing's local decisions, no network: the identity token checks made before
// any service sees the token, and the choice of services from a SigningConfig v0.2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <ctime>

#include "identity_token.h"
#include "keyless.h"
#include "signing_config.h"

namespace modelsign::sigstore {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

std::string b64url(const std::string& s) {
  return base64url_encode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

std::string jwt(const nlohmann::json& claims) {
  return b64url(R"({"alg":"ES256","typ":"JWT"})") + "." + b64url(claims.dump()) + "." + b64url("not-a-real-signature");
}

nlohmann::json claims() {
  return {{"iss", "https://issuer.example"}, {"sub", "user-1"}, {"email", "alice@example.com"},
          {"aud", "sigstore"},               {"exp", kNow + 300}};
}

Result<IdentityToken> check(const std::string& t, std::string_view client_id = "sigstore") {
  return check_token(SecretString(std::string_view(t)), "SIGSTORE_ID_TOKEN", client_id, kNow);
}

// A failed check must not repeat the token (or its signature part) in its message.
void expect_refused(const std::string& t, std::string_view text, std::string_view client_id = "sigstore") {
  auto r = check(t, client_id);
  ASSERT_FALSE(r.has_value()) << "accepted: " << t;
  EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
  if (!t.empty()) {
    EXPECT_EQ(r.error().message.find(t), std::string::npos) << "the token leaked into the error";
  }
  EXPECT_EQ(r.error().message.find(b64url("not-a-real-signature")), std::string::npos);
}

TEST(IdentityTokenCheck, AValidTokenNamesTheEmailItCertifies) {
  auto r = check(jwt(claims()));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->identity, "alice@example.com");
  EXPECT_EQ(r->proof_subject(), "alice@example.com");
  EXPECT_EQ(r->issuer, "https://issuer.example");
  EXPECT_EQ(r->source, "SIGSTORE_ID_TOKEN");
}

TEST(IdentityTokenCheck, WithoutEmailTheSubjectIsProvedAndGithubNamesTheWorkflow) {
  auto c = claims();
  c.erase("email");
  auto r = check(jwt(c));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->proof_subject(), "user-1");
  c["iss"] = "https://token.actions.githubusercontent.com";
  c["sub"] = "repo:octo/model:ref:refs/heads/main";
  c["job_workflow_ref"] = "octo/model/.github/workflows/sign.yml@refs/heads/main";
  r = check(jwt(c));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->identity, "https://github.com/octo/model/.github/workflows/sign.yml@refs/heads/main");
  EXPECT_EQ(r->proof_subject(), "repo:octo/model:ref:refs/heads/main");
}

TEST(IdentityTokenCheck, AudienceMustContainSigstoreOrTheClientId) {
  auto c = claims();
  c["aud"] = nlohmann::json::array({"other", "sigstore"});
  EXPECT_TRUE(check(jwt(c)).has_value());
  c["aud"] = "other";
  expect_refused(jwt(c), "is for audience 'other', not 'sigstore'");
  c["aud"] = "my-client";
  EXPECT_TRUE(check(jwt(c), "my-client").has_value());
  c.erase("aud");
  expect_refused(jwt(c), "not 'sigstore'");
}

TEST(IdentityTokenCheck, ExpiredTokensAreRefusedBeforeAnyNetworkCall) {
  auto c = claims();
  c["exp"] = kNow - 60;
  expect_refused(jwt(c), "expired at");
  c["exp"] = kNow;  // expiring this second is expired
  expect_refused(jwt(c), "expired at");
  c.erase("exp");
  expect_refused(jwt(c), "has no expiry");
}

TEST(IdentityTokenCheck, MalformedTokensAreRefusedWithoutEchoingThem) {
  expect_refused("", "is empty");
  expect_refused("abc.def", "is not a JWT");
  expect_refused("a.b.c.d", "is not a JWT");
  expect_refused("a..c", "is not a JWT");
  expect_refused("secret token with spaces.x.y", "holds characters");
  expect_refused("eyJ.!!!.x", "holds characters");
  expect_refused(b64url("{}") + "." + b64url("[1,2]") + ".sig", "not a JSON object");
  expect_refused(b64url("{}") + "." + b64url("not json") + ".sig", "not a JSON object");
  auto c = claims();
  c.erase("iss");
  expect_refused(jwt(c), "has no issuer");
  c = claims();
  c.erase("sub");
  c.erase("email");
  expect_refused(jwt(c), "names no subject");
  expect_refused(std::string(kMaxTokenBytes + 1, 'a'), "longer than");
}

TEST(IdentityTokenCheck, Base64UrlRoundTripsAndRefusesStandardAlphabet) {
  std::string raw = "\xfb\xff\xfe?>";
  std::string enc = b64url(raw);
  EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
  auto dec = base64url_decode(enc);
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(*dec, raw);
  EXPECT_FALSE(base64url_decode("ab+/").has_value());
}

// ---------------------------------------------------------------- SigningConfig

nlohmann::json service(const std::string& url, int version, const std::string& start, const std::string& op,
                       const std::string& end = "") {
  nlohmann::json s = {{"url", url}, {"majorApiVersion", version}, {"validFor", {{"start", start}}}, {"operator", op}};
  if (!end.empty()) s["validFor"]["end"] = end;
  return s;
}

nlohmann::json config() {
  return {{"mediaType", "application/vnd.dev.sigstore.signingconfig.v0.2+json"},
          {"caUrls",
           {service("https://old-fulcio", 1, "2020-01-01T00:00:00Z", "a", "2021-01-01T00:00:00Z"),
            service("https://future-fulcio", 1, "2099-01-01T00:00:00Z", "a"),
            service("https://fulcio", 1, "2020-01-01T00:00:00Z", "a")}},
          {"oidcUrls", {service("https://oauth", 1, "2020-01-01T00:00:00Z", "a")}},
          {"rekorTlogUrls",
           {service("https://rekor-v3", 3, "2020-01-01T00:00:00Z", "a"),
            service("https://rekor-v2-a", 2, "2020-01-01T00:00:00Z", "a"),
            service("https://rekor-v2-a-second", 2, "2020-01-01T00:00:00Z", "a"),
            service("https://rekor-v2-b", 2, "2020-01-01T00:00:00Z", "b"),
            service("https://rekor-v1", 1, "2020-01-01T00:00:00Z", "a")}},
          {"tsaUrls",
           {service("https://tsa-a", 1, "2020-01-01T00:00:00Z", "a"),
            service("https://tsa-b", 1, "2020-01-01T00:00:00Z", "b")}},
          {"rekorTlogConfig", {{"selector", "ANY"}}},
          {"tsaConfig", {{"selector", "ALL"}}}};
}

Result<SigningConfig> parse(const nlohmann::json& j) { return parse_signing_config(j.dump(), "test config"); }

std::vector<std::string> urls(const std::vector<Service>& s) {
  std::vector<std::string> out;
  for (const auto& x : s) out.push_back(x.url);
  return out;
}

TEST(SigningConfigSelection, FulcioIsTheFirstServiceValidNow) {
  auto c = parse(config());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  auto f = select_one(c->ca, {1}, kNow, "Fulcio");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->url, "https://fulcio");  // the expired and the future one are skipped
  EXPECT_FALSE(select_one(c->ca, {2}, kNow, "Fulcio").has_value());
}

TEST(SigningConfigSelection, TheHighestSupportedVersionWinsAndSelectorsCountOperators) {
  auto c = parse(config());
  ASSERT_TRUE(c.has_value());
  // v3 is not spoken; v2 is the highest we do: ANY takes one of them.
  auto any = select(c->tlogs, {1, 2}, c->tlog_selection, kNow, "Rekor");
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(urls(*any), std::vector<std::string>{"https://rekor-v2-a"});
  // ALL: one per operator, the first listed.
  auto all = select(c->tlogs, {1, 2}, {Selector::kAll, 0}, kNow, "Rekor");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(urls(*all), (std::vector<std::string>{"https://rekor-v2-a", "https://rekor-v2-b"}));
  auto exact = select(c->tlogs, {1, 2}, {Selector::kExact, 2}, kNow, "Rekor");
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->size(), 2u);
  auto too_many = select(c->tlogs, {1, 2}, {Selector::kExact, 3}, kNow, "Rekor");
  ASSERT_FALSE(too_many.has_value());
  EXPECT_NE(too_many.error().message.find("exactly 3"), std::string::npos);
  // A client speaking v1 only gets the v1 log.
  auto v1 = select(c->tlogs, {1}, c->tlog_selection, kNow, "Rekor");
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(urls(*v1), std::vector<std::string>{"https://rekor-v1"});
  auto tsas = select(c->tsas, {1}, c->tsa_selection, kNow, "TSA");
  ASSERT_TRUE(tsas.has_value());
  EXPECT_EQ(tsas->size(), 2u);
}

TEST(SigningConfigSelection, NoUsableServiceIsAnErrorButNoTsaIsAllowed) {
  auto j = config();
  j["rekorTlogUrls"] = {service("https://rekor", 1, "2099-01-01T00:00:00Z", "a")};
  j["tsaUrls"] = nlohmann::json::array();
  auto c = parse(j);
  ASSERT_TRUE(c.has_value());
  auto plan = plan_services(*c, kNow);
  ASSERT_FALSE(plan.has_value());
  EXPECT_NE(plan.error().message.find("no Rekor (rekorTlogUrls) service valid now"), std::string::npos)
      << plan.error().message;
  j["rekorTlogUrls"] = {service("https://rekor", 1, "2020-01-01T00:00:00Z", "a")};
  plan = plan_services(*parse(j), kNow);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_TRUE(plan->tsas.empty());
  // Rekor v2 alone gives no signed time: a TSA is then required.
  j["rekorTlogUrls"] = {service("https://rekor", 2, "2020-01-01T00:00:00Z", "a")};
  plan = plan_services(*parse(j), kNow);
  ASSERT_FALSE(plan.has_value());
  EXPECT_NE(plan.error().message.find("no TSA"), std::string::npos);
}

TEST(SigningConfigSelection, MalformedConfigsAreRefused) {
  auto j = config();
  j["mediaType"] = "application/vnd.dev.sigstore.signingconfig.v0.1+json";
  EXPECT_FALSE(parse(j).has_value());
  j = config();
  j["rekorTlogConfig"]["selector"] = "SOME";
  EXPECT_FALSE(parse(j).has_value());
  j["rekorTlogConfig"] = {{"selector", "EXACT"}};  // no count
  EXPECT_FALSE(parse(j).has_value());
  j = config();
  j["caUrls"][0]["majorApiVersion"] = -1;
  EXPECT_FALSE(parse(j).has_value());
  j = config();
  j["caUrls"][0].erase("validFor");
  EXPECT_FALSE(parse(j).has_value());
  EXPECT_FALSE(parse_signing_config("{", "broken").has_value());
}

TEST(SigningConfigSelection, BuiltInConfigsParseAndNameSigstoreServices) {
  for (bool staging : {false, true}) {
    auto c = builtin_signing_config(staging);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    auto plan = plan_services(*c, kNow);
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_EQ(plan->fulcio.url, staging ? "https://fulcio.sigstage.dev" : "https://fulcio.sigstore.dev");
    EXPECT_EQ(plan->tsas.size(), 1u);
    EXPECT_EQ(plan->tlogs.size(), 1u);
  }
  // Before the production Rekor v2 log's start, the v1 log is used.
  auto c = builtin_signing_config(false);
  auto plan = plan_services(*c, 1'755'000'000);  // 2025-08
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->tlogs.front().url, "https://rekor.sigstore.dev");
}

TEST(SigningConfigSelection, TrustConfigSigningConfigIsRead) {
  nlohmann::json tc = {{"mediaType", "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"},
                       {"trustedRoot", nlohmann::json::object()},
                       {"signingConfig", config()}};
  auto c = parse_trust_config_signing(tc.dump(), "trust.json");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->ca.size(), 3u);
  tc.erase("signingConfig");
  auto missing = parse_trust_config_signing(tc.dump(), "trust.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("no signingConfig"), std::string::npos);
}

// ---------------------------------------------------------------- HTTP client

TEST(HttpClientErrors, TheServersMessageIsQuotedPrintableBoundedAndRedacted) {
  const std::string token = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.c2ln";
  EXPECT_EQ(server_message(R"({"code":400,"message":"bad token )" + token + R"("})", {token}), "bad token [redacted]");
  EXPECT_EQ(server_message(R"({"error":"invalid_grant","error_description":"PKCE failed"})", {}), "PKCE failed");
  EXPECT_EQ(server_message("plain text\n", {}), "plain text");
  EXPECT_EQ(server_message("line1\nFAKE RESULT", {}), "line1\\nFAKE RESULT");  // no forged lines
  EXPECT_EQ(server_message("", {}), "(empty body)");
  EXPECT_LE(server_message(std::string(10000, 'x'), {}).size(), 303u);
}

TEST(HttpClientErrors, OnlyHttpsIsSpoken) {
  HttpClient http(HttpOptions{});
  HttpRequest r;
  r.service = "Fulcio";
  r.url = "http://fulcio.example/api/v2/signingCert";
  auto resp = http.send(r);
  ASSERT_FALSE(resp.has_value());
  EXPECT_NE(resp.error().message.find("Fulcio URL 'http://fulcio.example/api/v2/signingCert' is not https://"),
            std::string::npos)
      << resp.error().message;
}

}  // namespace
}  // namespace modelsign::sigstore
