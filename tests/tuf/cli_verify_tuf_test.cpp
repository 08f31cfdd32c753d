// `modelsign verify sigstore` taking its trusted root from a TUF repository: the real
// binary, an upstream keyless fixture signed on Sigstore production, and a repository the
// test generates (its target trusted_root.json is Sigstore's production trusted root),
// served on loopback HTTP, with the binary's own cache (XDG_CACHE_HOME).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "support/test_support.h"
#include "tuf/cache.h"
#include "tuf_test_util.h"

namespace modelsign::tuf {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(MODELSIGN_TESTDATA_DIR) / "model-transparency/scripts/tests/v1.1.0-sigstore";
constexpr const char* kIdentity = "stefanb@us.ibm.com";
constexpr const char* kIssuer = "https://sigstore.verify.ibm.com/oauth2";

struct CliRun {
  int rc = -1;
  std::string out;  // stdout and stderr together
  bool has(std::string_view s) const { return out.find(s) != std::string::npos; }
};

CliRun run_shell(const std::string& cmd) {
  CliRun r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class VerifyOverTuf : public ::testing::Test {
 protected:
  void SetUp() override {
    gen = std::make_unique<test::RepoGen>(repo.path() / "repo");
    gen->now = static_cast<UnixTime>(std::time(nullptr));
    gen->target_files["trusted_root.json"] =
        test::slurp(fs::path(MODELSIGN_TESTDATA_DIR) / "sigstore/trusted_root.production.json");
    gen->target_files["signing_config.v0.2.json"] =
        test::slurp(fs::path(MODELSIGN_TESTDATA_DIR) / "sigstore/signing_config.production.v0.2.json");
    gen->publish_root();
    modelsign::test::write_file(repo.path() / "root.json", gen->read("1.root.json"));
  }
  void serve() {
    gen->publish();
    server = std::make_unique<test::LoopbackServer>(repo.path() / "repo");
    url = server->url();
  }
  // `verify sigstore` on the fixture; `trust` selects the trust material (default: the
  // test's TUF repository).
  CliRun verify(const std::string& extra = "", std::optional<std::string> trust = std::nullopt) const {
    const std::string t =
        trust ? *trust : fmt::format("--tuf-url {} --tuf-root '{}'", url, (repo.path() / "root.json").string());
    return run_shell(fmt::format("XDG_CACHE_HOME='{}' '{}' verify sigstore '{}' --signature '{}' --ignore-paths "
                                 "'{}' --identity {} --identity-provider {} {} {}",
                                 cache.str(), MODELSIGN_CLI_PATH, kFixture.string(), (kFixture / "model.sig").string(),
                                 (kFixture / "ignore-me").string(), kIdentity, kIssuer, t, extra));
  }
  int requests() const { return server ? server->requests.load() : 0; }

  modelsign::test::TempDir repo, cache;
  std::unique_ptr<test::RepoGen> gen;
  std::unique_ptr<test::LoopbackServer> server;
  std::string url;
};

TEST_F(VerifyOverTuf, FirstUseFetchesThenTheValidCacheServesWithoutAnyNetworkAccess) {
  serve();
  auto first = verify();
  ASSERT_EQ(first.rc, 0) << first.out;
  EXPECT_TRUE(first.has("Verification succeeded")) << first.out;
  EXPECT_TRUE(first.has(fmt::format("trusted root: TUF repository {} (targets version 1, refreshed now)", url)))
      << first.out;
  EXPECT_GT(requests(), 0);
  // The cache directory named after the repository holds the verified files.
  const fs::path dir = cache.path() / "modelsign/tuf" / repository_dir_name(url);
  EXPECT_EQ(test::slurp(dir / "targets/trusted_root.json"), gen->target_files["trusted_root.json"]);
  EXPECT_EQ(test::slurp(dir / "targets/signing_config.v0.2.json"), gen->target_files["signing_config.v0.2.json"]);

  // Within the metadata's validity: not one request.
  const int before = requests();
  auto second = verify();
  ASSERT_EQ(second.rc, 0) << second.out;
  EXPECT_EQ(requests(), before) << "the second verification used the network";
  EXPECT_TRUE(second.has("cache refreshed")) << second.out;

  // And with the server gone altogether.
  server.reset();
  auto down = verify();
  ASSERT_EQ(down.rc, 0) << down.out;
  auto offline = verify("--offline");
  ASSERT_EQ(offline.rc, 0) << offline.out;
  EXPECT_TRUE(offline.has("seconds ago), offline)")) << offline.out;
}

TEST_F(VerifyOverTuf, NeitherNetworkNorCacheSaysSoAndHowToCopyATrustedRoot) {
  serve();
  server.reset();  // the port is closed now: no network
  auto r = verify();
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_TRUE(r.has(fmt::format("the TUF repository {} cannot be reached", url))) << r.out;
  // The failed first refresh left only the built-in root in the cache.
  EXPECT_TRUE(r.has("there is no valid cache of it to use instead (the TUF cache at")) << r.out;
  EXPECT_TRUE(r.has("holds no verifiable timestamp.json)")) << r.out;
  EXPECT_TRUE(r.has("TUF_NO_TRUSTED_STATE")) << r.out;
  EXPECT_TRUE(r.has("pass --trusted-root FILE")) << r.out;
  EXPECT_TRUE(r.has(fmt::format("run `modelsign trust update --tuf-url {} --tuf-root", url))) << r.out;
  EXPECT_TRUE(r.has(fmt::format("to {} here", (cache.path() / "modelsign/tuf" / repository_dir_name(url)).string())))
      << r.out;

  auto offline = verify("--offline");
  EXPECT_EQ(offline.rc, 1) << offline.out;
  EXPECT_TRUE(offline.has("offline (--offline), and the TUF cache of the TUF repository")) << offline.out;
  EXPECT_TRUE(offline.has("pass --trusted-root FILE")) << offline.out;
}

// Sleeps until the clock is past `t` (the CLI judges expiry by the real clock).
void sleep_past(UnixTime t) {
  while (static_cast<UnixTime>(std::time(nullptr)) <= t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

TEST_F(VerifyOverTuf, ExpiredCacheIsRefreshedWhenTheNetworkAllows) {
  gen->expires["timestamp"] = gen->now + 5;
  serve();
  ASSERT_EQ(verify().rc, 0);
  sleep_past(gen->now + 5);
  gen->timestamp_version = 2;
  gen->expires.erase("timestamp");
  gen->publish();
  const int before = requests();
  auto r = verify();
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.has("refreshed now")) << r.out;
  EXPECT_GT(requests(), before);
}

TEST_F(VerifyOverTuf, ExpiredCacheWithoutNetworkIsRefusedAndSaysItExpired) {
  gen->expires["timestamp"] = gen->now + 5;
  serve();
  ASSERT_EQ(verify().rc, 0);
  sleep_past(gen->now + 5);
  server.reset();
  auto r = verify();
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_TRUE(r.has("cannot be reached")) << r.out;
  EXPECT_TRUE(r.has("cached timestamp metadata version 1 expired at")) << r.out;
  EXPECT_TRUE(r.has("pass --trusted-root FILE")) << r.out;
  auto offline = verify("--offline");
  EXPECT_EQ(offline.rc, 1) << offline.out;
  EXPECT_TRUE(offline.has("TUF_EXPIRED")) << offline.out;
}

TEST_F(VerifyOverTuf, TrustedRootAndTrustConfigFilesBypassTuf) {
  serve();
  auto r = verify("", fmt::format("--trusted-root '{}'",
                                  (fs::path(MODELSIGN_TESTDATA_DIR) / "sigstore/trusted_root.production.json").string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  auto c = verify("", fmt::format("--trust-config '{}'",
                                  (fs::path(MODELSIGN_TESTDATA_DIR) /
                                   "model-transparency/tests/_signing/testdata/custom_trust_config.json")
                                      .string()));
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_EQ(requests(), 0);
  EXPECT_FALSE(fs::exists(cache.path() / "modelsign")) << "a file given by hand must not touch the TUF cache";
  // A file excludes a repository: a usage error, not a silent choice.
  auto both = verify(fmt::format("--tuf-url {}", url),
                     fmt::format("--trusted-root '{}'", (repo.path() / "root.json").string()));
  EXPECT_EQ(both.rc, 2) << both.out;
}

TEST_F(VerifyOverTuf, MissingSignatureIsReportedBeforeAnyTufAccess) {
  serve();
  auto r = run_shell(fmt::format("XDG_CACHE_HOME='{}' '{}' verify sigstore '{}' --identity a@example.com "
                                 "--identity-provider {} --tuf-url {} --tuf-root '{}'",
                                 cache.str(), MODELSIGN_CLI_PATH, repo.str(), kIssuer, url,
                                 (repo.path() / "root.json").string()));
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_TRUE(r.has("not found")) << r.out;
  EXPECT_EQ(requests(), 0);
}

TEST_F(VerifyOverTuf, ProductionAndStagingUseTheirOwnCacheDirectories) {
  // --offline: these name the real Sigstore repositories, which the test must not contact.
  auto prod = verify("--offline", "");
  EXPECT_EQ(prod.rc, 1) << prod.out;
  EXPECT_TRUE(prod.has("Sigstore production TUF repository https://tuf-repo-cdn.sigstore.dev")) << prod.out;
  EXPECT_TRUE(prod.has((cache.path() / "modelsign/tuf/tuf-repo-cdn.sigstore.dev").string())) << prod.out;
  EXPECT_TRUE(prod.has("run `modelsign trust update` on a machine")) << prod.out;
  auto staging = verify("--offline --use-staging", "");
  EXPECT_EQ(staging.rc, 1) << staging.out;
  EXPECT_TRUE(staging.has("Sigstore staging TUF repository https://tuf-repo-cdn.sigstage.dev")) << staging.out;
  EXPECT_TRUE(staging.has((cache.path() / "modelsign/tuf/tuf-repo-cdn.sigstage.dev").string())) << staging.out;
  EXPECT_TRUE(staging.has("run `modelsign trust update --use-staging` on a machine")) << staging.out;
}

TEST_F(VerifyOverTuf, ConcurrentFirstUseVerificationsShareOneCache) {
  serve();
  const std::string one = fmt::format(
      "XDG_CACHE_HOME='{}' '{}' verify sigstore '{}' --signature '{}' --ignore-paths '{}' --identity {} "
      "--identity-provider {} --tuf-url {} --tuf-root '{}'",
      cache.str(), MODELSIGN_CLI_PATH, kFixture.string(), (kFixture / "model.sig").string(),
      (kFixture / "ignore-me").string(), kIdentity, kIssuer, url, (repo.path() / "root.json").string());
  std::string script;
  for (int i = 0; i < 4; ++i)
    script += fmt::format("({} >'{}/out{}' 2>&1; echo $? >'{}/rc{}') & ", one, repo.str(), i, repo.str(), i);
  script += "wait";
  ASSERT_EQ(std::system(script.c_str()), 0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(test::slurp(repo.path() / fmt::format("rc{}", i)), "0\n")
        << test::slurp(repo.path() / fmt::format("out{}", i));
  const int before = requests();
  ASSERT_EQ(verify("--offline").rc, 0);
  EXPECT_EQ(requests(), before);
}

}  // namespace
}  // namespace modelsign::tuf
