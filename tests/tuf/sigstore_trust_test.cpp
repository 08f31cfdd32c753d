// resolve_sigstore_trust (src/cli/sigstore_trust.h): the one function the keyless
// commands use to get a trusted root and a signing config from their options.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "bundle/json.h"
#include "cli/sigstore_trust.h"
#include "support/test_support.h"
#include "tuf/cache.h"
#include "tuf_test_util.h"

namespace modelsign::cli {
namespace {

namespace fs = std::filesystem;
using tuf::test::slurp;

const fs::path kData = fs::path(MODELSIGN_TESTDATA_DIR);

// Points the TUF cache at a fresh directory for the test's duration.
class ScopedCacheHome {
 public:
  explicit ScopedCacheHome(const fs::path& dir) {
    if (const char* old = std::getenv("XDG_CACHE_HOME")) old_ = old;
    ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  }
  ~ScopedCacheHome() {
    if (old_) ::setenv("XDG_CACHE_HOME", old_->c_str(), 1);
    else ::unsetenv("XDG_CACHE_HOME");
  }

 private:
  std::optional<std::string> old_;
};

class SigstoreTrustResolution : public ::testing::Test {
 protected:
  void SetUp() override {
    gen = std::make_unique<tuf::test::RepoGen>(repo.path() / "repo");
    gen->now = static_cast<tuf::UnixTime>(std::time(nullptr));
    gen->target_files["trusted_root.json"] = slurp(kData / "sigstore/trusted_root.production.json");
    gen->publish_root();
    modelsign::test::write_file(repo.path() / "root.json", gen->read("1.root.json"));
  }
  void serve() {
    gen->publish();
    server = std::make_unique<tuf::test::LoopbackServer>(repo.path() / "repo");
  }
  SigstoreTrustOptions tuf_options() const {
    SigstoreTrustOptions o;
    o.tuf_url = server->url();
    o.tuf_root = (repo.path() / "root.json").string();
    return o;
  }

  modelsign::test::TempDir repo, cache;
  ScopedCacheHome home{cache.path()};
  std::unique_ptr<tuf::test::RepoGen> gen;
  std::unique_ptr<tuf::test::LoopbackServer> server;
};

TEST_F(SigstoreTrustResolution, TufGivesTheTrustedRootAndTheSigningConfig) {
  const std::string sc = slurp(kData / "sigstore/signing_config.production.v0.2.json");
  gen->target_files["signing_config.v0.2.json"] = sc;
  serve();
  auto t = resolve_sigstore_trust(tuf_options());
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_TRUE(t->from_tuf);
  EXPECT_TRUE(t->used_network);
  EXPECT_EQ(t->trusted_root_json, gen->target_files["trusted_root.json"]);
  ASSERT_TRUE(t->signing_config_json.has_value()) << t->signing_config_source;
  EXPECT_EQ(*t->signing_config_json, sc);
  EXPECT_NE(t->signing_config_source.find("signing_config.v0.2.json from the TUF repository"), std::string::npos)
      << t->signing_config_source;
  ASSERT_TRUE(t->valid_until.has_value());
  EXPECT_GT(*t->valid_until, gen->now);

  // From the cache, offline: the same two documents.
  auto o = tuf_options();
  o.offline = true;
  const int before = server->requests.load();
  auto again = resolve_sigstore_trust(o);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_FALSE(again->used_network);
  EXPECT_EQ(server->requests.load(), before);
  EXPECT_EQ(again->signing_config_json, t->signing_config_json);
  EXPECT_NE(again->trusted_root_source.find("offline"), std::string::npos) << again->trusted_root_source;
}

TEST_F(SigstoreTrustResolution, RepositoryWithoutASigningConfigSaysSoAndStillGivesTheTrustedRoot) {
  serve();  // targets.json lists trusted_root.json only
  auto t = resolve_sigstore_trust(tuf_options());
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_FALSE(t->signing_config_json.has_value());
  EXPECT_NE(t->signing_config_source.find("lists no signing_config.v0.2.json (targets version 1); pass "
                                          "--trust-config"),
            std::string::npos)
      << t->signing_config_source;
  EXPECT_EQ(t->trusted_root_json, gen->target_files["trusted_root.json"]);
}

TEST_F(SigstoreTrustResolution, SigningConfigOfAnotherMediaTypeIsNotPassedOn) {
  // The v0.1 signing config Sigstore also publishes, under the v0.2 name.
  gen->target_files["signing_config.v0.2.json"] = R"({"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.1+json"})";
  serve();
  auto t = resolve_sigstore_trust(tuf_options());
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_FALSE(t->signing_config_json.has_value());
  EXPECT_NE(t->signing_config_source.find("is not usable: its media type"), std::string::npos)
      << t->signing_config_source;
}

TEST_F(SigstoreTrustResolution, TrustConfigGivesItsTrustedRootAndSigningConfigWithoutTuf) {
  const fs::path path = kData / "model-transparency/tests/_signing/testdata/custom_trust_config.json";
  SigstoreTrustOptions o;
  o.trust_config = path.string();
  auto t = resolve_sigstore_trust(o);
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_FALSE(t->from_tuf);
  EXPECT_EQ(t->trusted_root_source, path.string());
  auto doc = bundle::Json::parse(slurp(path));
  EXPECT_EQ(bundle::Json::parse(t->trusted_root_json), doc.at("trustedRoot"));
  ASSERT_TRUE(t->signing_config_json.has_value()) << t->signing_config_source;
  EXPECT_EQ(bundle::Json::parse(*t->signing_config_json), doc.at("signing_config"));  // upstream spells it in snake case
  EXPECT_FALSE(fs::exists(cache.path() / "modelsign"));
}

TEST_F(SigstoreTrustResolution, TrustedRootFileHasNoSigningConfigAndSaysWhatToPass) {
  SigstoreTrustOptions o;
  o.trusted_root = (kData / "sigstore/trusted_root.staging.json").string();
  auto t = resolve_sigstore_trust(o);
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(t->trusted_root_json, slurp(o.trusted_root));
  EXPECT_FALSE(t->signing_config_json.has_value());
  EXPECT_NE(t->signing_config_source.find("pass --trust-config"), std::string::npos);
  EXPECT_FALSE(fs::exists(cache.path() / "modelsign"));
}

TEST_F(SigstoreTrustResolution, TrustConfigOfAnotherMediaTypeIsRefused) {
  modelsign::test::write_file(repo.path() / "tc.json", slurp(kData / "sigstore/trusted_root.production.json"));
  SigstoreTrustOptions o;
  o.trust_config = (repo.path() / "tc.json").string();
  auto t = resolve_sigstore_trust(o);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("for a bare trusted_root.json use --trusted-root"), std::string::npos)
      << t.error().message;
}

TEST_F(SigstoreTrustResolution, TufUrlWithoutTufRootIsRefused) {
  serve();
  auto o = tuf_options();
  o.tuf_root.clear();
  auto t = resolve_sigstore_trust(o);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("--tuf-url and --tuf-root go together"), std::string::npos);
  EXPECT_EQ(server->requests.load(), 0);
}

}  // namespace
}  // namespace modelsign::cli
