// The four upstream keyless fixtures (signed on the Sigstore production instance):
// they verify with the production root through the library, fail with the staging
// root or another identity, and fail when any field of the evidence is altered.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "modelsign/verify.h"
#include "test_support.h"

namespace modelsign {
namespace {

const char* kId = "stefanb@us.ibm.com";
const char* kIssuer = "https://sigstore.verify.ibm.com/oauth2";

std::string dir(const std::string& v) { return (test::upstream_fixtures() / (v + "-sigstore")).string(); }

VerifyOptions options(const std::string&) {
  VerifyOptions o;
  o.method = VerifyMethod::kSigstore;
  o.sigstore.identity = kId;
  o.sigstore.issuer = kIssuer;
  o.serialization.ignore_paths = {"model.sig", "ignore-me"};
  return o;
}

Result<VerifyResult> verify(const std::string& v, const std::string& bundle, const VerifyOptions& o) {
  return verify_model(dir(v), bundle, o);
}

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, VerifiesWithTheBuiltInProductionRoot) {
  auto r = verify(GetParam(), test::read_file(dir(GetParam()) + "/model.sig"), options(GetParam()));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->sigstore.has_value());
  EXPECT_EQ(r->sigstore->identity, kId);
  EXPECT_EQ(r->sigstore->issuer, kIssuer);
  EXPECT_EQ(r->sigstore->signing_time_source, "Rekor integrated time");
  EXPECT_TRUE(r->sigstore->rekor_log_index.has_value());
}

TEST_P(Fixture, VerifiesWithTheProductionRootFileAndTheUpstreamTrustConfig) {
  auto o = options(GetParam());
  o.sigstore.trust_material = test::read_file(test::testdata() / "sigstore/trusted_root.production.json");
  EXPECT_TRUE(verify(GetParam(), test::read_file(dir(GetParam()) + "/model.sig"), o).has_value());
  o.sigstore.trust_material = test::read_file(test::testdata() / "model-transparency/tests/_signing/testdata/custom_trust_config.json");
  o.sigstore.trust_material_is_trust_config = true;
  auto r = verify(GetParam(), test::read_file(dir(GetParam()) + "/model.sig"), o);
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST_P(Fixture, FailsWithTheStagingRoot) {
  auto o = options(GetParam());
  o.sigstore.use_staging = true;
  auto r = verify(GetParam(), test::read_file(dir(GetParam()) + "/model.sig"), o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("not a transparency log of the trusted root"), std::string::npos) << r.error().message;
}

TEST_P(Fixture, FailsWithAnotherIdentityOrIssuer) {
  auto o = options(GetParam());
  o.sigstore.identity = "mallory@us.ibm.com";
  auto r = verify(GetParam(), test::read_file(dir(GetParam()) + "/model.sig"), o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("identity mismatch: wanted mallory@us.ibm.com, certificate has stefanb@us.ibm.com"),
            std::string::npos)
      << r.error().message;
  o = options(GetParam());
  o.sigstore.issuer = "https://token.actions.githubusercontent.com";
  r = verify(GetParam(), test::read_file(dir(GetParam()) + "/model.sig"), o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("issuer mismatch"), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Upstream, Fixture, ::testing::Values("v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

// ---- byte-flip tampering of every field of v1.1.0 (the fixture with a timestamp) --------

using Json = nlohmann::json;

std::string flip_b64(const std::string& s, std::size_t at_permille) {
  auto b = *base64_decode(s);
  b[b.size() * at_permille / 1000] ^= 0x01;
  return base64_encode(b);
}

struct Tamper {
  const char* name;
  std::function<void(Json&)> edit;
};

TEST(FixtureTampering, EveryAlteredFieldOfTheEvidenceFails) {
  const std::string v = "v1.1.0";
  const Json orig = Json::parse(test::read_file(dir(v) + "/model.sig"));
  auto entry = [](Json& j) -> Json& { return j["verificationMaterial"]["tlogEntries"][0]; };
  std::vector<Tamper> cases = {
      {"payload", [](Json& j) { j["dsseEnvelope"]["payload"] = flip_b64(j["dsseEnvelope"]["payload"], 500); }},
      {"signature", [](Json& j) {
         j["dsseEnvelope"]["signatures"][0]["sig"] = flip_b64(j["dsseEnvelope"]["signatures"][0]["sig"], 500);
       }},
      {"certificate", [](Json& j) {
         auto& c = j["verificationMaterial"]["certificate"]["rawBytes"];
         c = flip_b64(c, 300);
       }},
      {"certificate signature", [](Json& j) {
         auto& c = j["verificationMaterial"]["certificate"]["rawBytes"];
         c = flip_b64(c, 990);
       }},
      {"SET", [&](Json& j) {
         auto& s = entry(j)["inclusionPromise"]["signedEntryTimestamp"];
         s = flip_b64(s, 700);
       }},
      {"integratedTime", [&](Json& j) { entry(j)["integratedTime"] = "1760062341"; }},
      {"logIndex", [&](Json& j) { entry(j)["logIndex"] = "598151087"; }},
      {"logId", [&](Json& j) { entry(j)["logId"]["keyId"] = flip_b64(entry(j)["logId"]["keyId"], 500); }},
      {"canonicalizedBody", [&](Json& j) { entry(j)["canonicalizedBody"] = flip_b64(entry(j)["canonicalizedBody"], 400); }},
      {"proof rootHash", [&](Json& j) {
         auto& p = entry(j)["inclusionProof"];
         p["rootHash"] = flip_b64(p["rootHash"], 500);
       }},
      {"proof logIndex", [&](Json& j) { entry(j)["inclusionProof"]["logIndex"] = "476246823"; }},
      {"proof treeSize", [&](Json& j) { entry(j)["inclusionProof"]["treeSize"] = "476246826"; }},
      {"checkpoint root", [&](Json& j) {
         auto& c = entry(j)["inclusionProof"]["checkpoint"]["envelope"];
         std::string s = c;
         s[s.find("V0NA")] = 'W';
         c = s;
       }},
      {"checkpoint key name", [&](Json& j) {
         auto& c = entry(j)["inclusionProof"]["checkpoint"]["envelope"];
         std::string s = c;
         s[s.rfind("rekor.sigstore.dev") + 2] = 'x';
         c = s;
       }},
      {"checkpoint signature", [&](Json& j) {
         auto& c = entry(j)["inclusionProof"]["checkpoint"]["envelope"];
         std::string s = c;
         s[s.size() - 10] = s[s.size() - 10] == 'A' ? 'B' : 'A';
         c = s;
       }},
      // (The token's certificate set is not signed: the TSA certificate comes from the
      // trusted root, so flipping a byte there is not an alteration of the evidence.)
      {"timestamp (message imprint)", [](Json& j) {
         auto& t = j["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"];
         auto der = *base64_decode(t.get<std::string>());
         auto imprint = *sha256(*base64_decode(j["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>()));
         auto at = std::search(der.begin(), der.end(), imprint.begin(), imprint.end());
         ASSERT_NE(at, der.end()) << "the imprint is the SHA-256 of the DSSE signature";
         at[5] ^= 0x01;
         t = base64_encode(der);
       }},
      {"timestamp (genTime)", [](Json& j) {
         auto& t = j["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"];
         t = flip_b64(t, 90);
       }},
      {"timestamp (signature)", [](Json& j) {
         auto& t = j["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"];
         t = flip_b64(t, 985);
       }},
  };
  for (std::size_t i = 0; i < orig["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"].size(); ++i)
    cases.push_back({"proof hash", [&entry, i](Json& j) {
                       auto& h = entry(j)["inclusionProof"]["hashes"][i];
                       h = flip_b64(h, 500);
                     }});
  ASSERT_TRUE(verify(v, orig.dump(), options(v)).has_value());
  for (const auto& c : cases) {
    Json j = orig;
    c.edit(j);
    auto r = verify(v, j.dump(), options(v));
    EXPECT_FALSE(r.has_value()) << "tampered " << c.name << " still verifies";
    if (!r) {
      EXPECT_NE(r.error().code, ErrorCode::kMismatch) << c.name << ": " << r.error().message;
    }
  }
}

}  // namespace
}  // namespace modelsign
