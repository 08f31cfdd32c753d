// Several processes updating one TUF cache at once: the lock serialises them, atomic
// renames mean no reader sees a half-written file, and the result verifies.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "support/test_support.h"
#include "tuf/cache.h"
#include "tuf/errors.h"
#include "tuf/updater.h"
#include "tuf_test_util.h"

namespace modelsign::tuf {
namespace {

namespace fs = std::filesystem;

// Slows every download so that the processes overlap.
class SlowFetcher : public Fetcher {
 public:
  explicit SlowFetcher(fs::path dir) : inner_(std::move(dir)) {}
  Result<std::string> fetch(std::string_view path, std::size_t max) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
    return inner_.fetch(path, max);
  }

 private:
  DirectoryFetcher inner_;
};

TEST(TufCache, ConcurrentProcessesUpdatingOneCacheAllSucceed) {
  modelsign::test::TempDir repo, cache;
  test::RepoGen gen(repo.path());
  gen.publish_root();
  gen.publish();
  UpdaterConfig cfg;
  cfg.bootstrap_root = gen.read("1.root.json");
  cfg.cache_dir = cache.path() / "repo";
  cfg.reference_time = gen.now;
  cfg.targets = {"trusted_root.json"};
  {
    DirectoryFetcher f(repo.path());
    ASSERT_TRUE(refresh(cfg, f));
  }
  // A new version of everything: the refreshing processes rewrite every cached file while
  // the others read.
  gen.timestamp_version = gen.snapshot_version = gen.targets_version = 2;
  gen.target_files["trusted_root.json"] += " ";
  gen.publish();

  constexpr int kProcesses = 6;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)!::read(go[0], &c, 1);  // start together
      SlowFetcher f(repo.path());
      // Half refresh, half read the cache while the others write it.
      int rc = 0;
      for (int round = 0; round < 40; ++round) {
        if (i % 2 == 0) {
          if (round < 2) rc |= refresh(cfg, f) ? 0 : 1;
        } else {
          // Version 1 or version 2, but always a complete, verifying set.
          rc |= load_cached(cfg) ? 0 : 2;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
      ::_exit(rc);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // EOF releases every child
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child " << pid;
  }
  auto st = load_cached(cfg);
  ASSERT_TRUE(st) << st.error().describe();
  EXPECT_EQ(st->files.at("trusted_root.json"), gen.target_files["trusted_root.json"]);
  for (const auto& e : fs::recursive_directory_iterator(cfg.cache_dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(TufCache, HeldLockMakesARefreshWaitThenFailWithANamedError) {
  modelsign::test::TempDir repo, cache;
  test::RepoGen gen(repo.path());
  gen.publish_root();
  gen.publish();
  UpdaterConfig cfg;
  cfg.bootstrap_root = gen.read("1.root.json");
  cfg.cache_dir = cache.path() / "repo";
  cfg.reference_time = gen.now;
  cfg.lock_timeout = std::chrono::milliseconds(200);
  ASSERT_TRUE(Cache::open(cfg.cache_dir));
  auto held = CacheLock::acquire(cfg.cache_dir, std::chrono::milliseconds(100));
  ASSERT_TRUE(held);
  DirectoryFetcher f(repo.path());
  auto r = refresh(cfg, f);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_failure(r.error(), Failure::kCache)) << r.error().describe();
  EXPECT_NE(r.error().message.find("lock"), std::string::npos);
}

TEST(TufCache, RepositoryDirectoryNamesAreDistinctAndSafe) {
  EXPECT_EQ(repository_dir_name("https://tuf-repo-cdn.sigstore.dev"), "tuf-repo-cdn.sigstore.dev");
  EXPECT_EQ(repository_dir_name("https://tuf-repo-cdn.sigstore.dev/"), "tuf-repo-cdn.sigstore.dev");
  EXPECT_EQ(repository_dir_name("http://127.0.0.1:8080/a/../b"), "127.0.0.1%3A8080%2Fa%2F..%2Fb");
  EXPECT_EQ(repository_dir_name(".."), "default");
}

}  // namespace
}  // namespace modelsign::tuf
