// The signatures model_signing v0.3.1..v1.1.0 wrote (scripts/tests/ in model-transparency):
// the root digest computed from each fixture directory equals the one in its model.sig.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace modelsign::testing {
namespace {

const fs::path kFixtures =
    fs::path(MODELSIGN_TESTDATA_DIR) / "model-transparency/scripts/tests";

struct Fixture {
  std::string dir;
  bool single_file;  // README §3.3: these were signed with the file signme-1 as the model
};

// Every fixture whose statement uses the v1.0 predicate (README §3).
const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> kAll = {
      {"v0.3.1-certificate", false},  {"v0.3.1-elliptic-key", true},
      {"v0.3.1-sigstore", false},     {"v1.0.0-certificate", false},
      {"v1.0.0-elliptic-key", true},  {"v1.0.0-sigstore", false},
      {"v1.0.1-certificate", false},  {"v1.0.1-elliptic-key", false},
      {"v1.0.1-sigstore", false},     {"v1.1.0-certificate", false},
      {"v1.1.0-elliptic-key", false}, {"v1.1.0-sigstore", false},
  };
  return kAll;
}

nlohmann::json statement_of(const fs::path& sig) {
  auto bundle = nlohmann::json::parse(read_file(sig));
  auto payload = base64_decode(bundle.at("dsseEnvelope").at("payload").get<std::string>());
  if (!payload) throw std::runtime_error("payload is not base64: " + payload.error().message);
  return nlohmann::json::parse(payload->begin(), payload->end());
}

class SignedFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(SignedFixture, RootDigestEqualsSubjectDigestInModelSig) {
  const auto& f = GetParam();
  fs::path dir = kFixtures / f.dir;
  auto st = statement_of(dir / "model.sig");
  ASSERT_EQ(st["predicateType"], "https://model_signing/signature/v1.0");

  // The ignore paths the README's verify commands use, plus the signature itself.
  SerializationOptions ser;
  for (const char* p : {"ignore-me", "model.sig"}) {
    auto r = resolve_ignore_path((dir / p).string(), dir.string());
    ASSERT_TRUE(r.has_value()) << p;
    ser.ignore_paths.push_back(*r);
  }
  fs::path model = f.single_file ? dir / "signme-1" : dir;
  auto m = compute_manifest(model.string(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;

  EXPECT_EQ(root_hex(*m), st["subject"][0]["digest"]["sha256"].get<std::string>());
  EXPECT_EQ(m->model_name, st["subject"][0]["name"].get<std::string>());
  // Resources agree one by one too (name and digest), in the signed order.
  const auto& res = st["predicate"]["resources"];
  ASSERT_EQ(m->resources.size(), res.size());
  for (std::size_t i = 0; i < res.size(); ++i) {
    EXPECT_EQ(m->resources[i].name, res[i]["name"].get<std::string>());
    EXPECT_EQ(to_hex(m->resources[i].digest), res[i]["digest"].get<std::string>());
  }
}

// The ignore list matters: counting model.sig in gives a different root.
TEST(SignedFixtureIgnores, WithoutIgnoringModelSigTheRootDiffers) {
  for (const auto& f : fixtures()) {
    if (f.single_file) continue;
    fs::path dir = kFixtures / f.dir;
    auto st = statement_of(dir / "model.sig");
    SerializationOptions ser;
    ser.ignore_paths = {"ignore-me"};
    auto m = compute_manifest(dir.string(), ser);
    ASSERT_TRUE(m.has_value()) << m.error().message;
    EXPECT_NE(root_hex(*m), st["subject"][0]["digest"]["sha256"].get<std::string>()) << f.dir;
    EXPECT_TRUE(std::any_of(m->resources.begin(), m->resources.end(),
                            [](const Resource& r) { return r.name == "model.sig"; }))
        << f.dir;
  }
}

std::string fixture_name(const ::testing::TestParamInfo<Fixture>& p) {
  std::string n = p.param.dir;
  std::replace_if(n.begin(), n.end(), [](char c) { return c == '.' || c == '-'; }, '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(ModelSigningReleases, SignedFixture, ::testing::ValuesIn(fixtures()),
                         fixture_name);

// No v1.x fixture directory is left out of the table above.
TEST(SignedFixtureCoverage, EveryV1FixtureDirectoryIsListed) {
  std::set<std::string> listed, found;
  for (const auto& f : fixtures()) listed.insert(f.dir);
  for (const auto& e : fs::directory_iterator(kFixtures)) {
    if (!fs::exists(e.path() / "model.sig")) continue;
    if (statement_of(e.path() / "model.sig")["predicateType"] ==
        "https://model_signing/signature/v1.0")
      found.insert(e.path().filename().string());
  }
  EXPECT_EQ(listed, found);
}

}  // namespace
}  // namespace modelsign::testing
