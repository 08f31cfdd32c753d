// `modelsign trust update` / `trust show` end to end: the real binary against a generated
// repository on loopback HTTP, with its own cache (XDG_CACHE_HOME).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <ctime>

#include "support/test_support.h"
#include "tuf_test_util.h"

namespace modelsign::tuf {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int rc = -1;
  std::string out;
};

class TrustCli : public ::testing::Test {
 protected:
  void SetUp() override {
    gen = std::make_unique<test::RepoGen>(repo.path() / "repo");
    gen->now = static_cast<UnixTime>(std::time(nullptr));
    gen->target_files["trusted_root.json"] =
        test::slurp(fs::path(MODELSIGN_TESTDATA_DIR) / "sigstore-tuf/targets/trusted_root.json");
    gen->publish_root();
    modelsign::test::write_file(repo.path() / "root.json", gen->read("1.root.json"));
    gen->publish();
    server = std::make_unique<test::LoopbackServer>(repo.path() / "repo");
  }
  // Runs the CLI with its stdout and stderr captured together.
  CliRun cli(const std::string& args) const {
    const std::string cmd = fmt::format("XDG_CACHE_HOME='{}' '{}' {} --tuf-url {} --tuf-root '{}' 2>&1",
                                        cache.str(), MODELSIGN_CLI_PATH, args, server->url(),
                                        (repo.path() / "root.json").string());
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  modelsign::test::TempDir repo, cache;
  std::unique_ptr<test::RepoGen> gen;
  std::unique_ptr<test::LoopbackServer> server;
};

TEST_F(TrustCli, UpdatePrintsWhatChangedAndShowWorksOffline) {
  gen->root_version = 2;
  gen->publish_root();
  auto first = cli("trust update");
  ASSERT_EQ(first.rc, 0) << first.out;
  EXPECT_NE(first.out.find("root       version 1 -> 2"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("timestamp  version 1 (new)"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("updated trusted_root.json"), std::string::npos) << first.out;

  auto again = cli("trust update");
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("root       version 2 (unchanged)"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("target files unchanged"), std::string::npos) << again.out;

  const int before = server->requests.load();
  auto show = cli("trust show --offline");
  ASSERT_EQ(show.rc, 0) << show.out;
  EXPECT_EQ(server->requests.load(), before) << "--offline used the network";
  EXPECT_NE(show.out.find("offline: from the cache only"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("cache last refreshed"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("Fulcio certificate authorities:\n  https://fulcio.sigstore.dev"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("https://timestamp.sigstore.dev/api/v1/timestamp"), std::string::npos) << show.out;
  // Within the cached metadata's validity, show needs no network either.
  auto cached = cli("trust show");
  ASSERT_EQ(cached.rc, 0) << cached.out;
  EXPECT_EQ(server->requests.load(), before);
}

TEST_F(TrustCli, OfflineWithoutCacheSaysHowToCopyATrustedRoot) {
  auto show = cli("trust show --offline");
  EXPECT_EQ(show.rc, 1);
  EXPECT_NE(show.out.find("TUF_NO_TRUSTED_STATE"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("--trusted-root"), std::string::npos) << show.out;
}

TEST_F(TrustCli, RollbackIsRefusedByName) {
  gen->timestamp_version = 2;
  gen->publish();
  ASSERT_EQ(cli("trust update").rc, 0);
  gen->timestamp_version = 1;
  gen->publish();
  auto r = cli("trust update");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("TUF_ROLLBACK"), std::string::npos) << r.out;
}

TEST_F(TrustCli, ConcurrentUpdateProcessesAllSucceed) {
  const std::string one = fmt::format("XDG_CACHE_HOME='{}' '{}' trust update --tuf-url {} --tuf-root '{}'",
                                      cache.str(), MODELSIGN_CLI_PATH, server->url(),
                                      (repo.path() / "root.json").string());
  std::string script;
  for (int i = 0; i < 4; ++i)
    script += fmt::format("({} >'{}/out{}' 2>&1; echo $? >'{}/rc{}') & ", one, repo.str(), i, repo.str(), i);
  script += "wait";
  ASSERT_EQ(std::system(script.c_str()), 0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(test::slurp(repo.path() / fmt::format("rc{}", i)), "0\n")
        << test::slurp(repo.path() / fmt::format("out{}", i));
  auto show = cli("trust show --offline");
  EXPECT_EQ(show.rc, 0) << show.out;
}

}  // namespace
}  // namespace modelsign::tuf
