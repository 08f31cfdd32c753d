// Every attack the TUF specification names, against a repository the test generates
// with its own keys and serves on loopback HTTP. Each is refused with a named error and
// the cache keeps the last good state.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "tuf/errors.h"
#include "tuf/http_fetcher.h"
#include "tuf/updater.h"
#include "tuf_test_util.h"

namespace modelsign::tuf {
namespace {

namespace fs = std::filesystem;
using test::slurp;

class TufAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    gen = std::make_unique<test::RepoGen>(repo.path());
    gen->publish_root();
    bootstrap = gen->read("1.root.json");
    gen->publish();
    server = std::make_unique<test::LoopbackServer>(repo.path());
  }

  UpdaterConfig config() const {
    UpdaterConfig c;
    c.bootstrap_root = bootstrap;
    c.cache_dir = cache.path() / "repo";
    c.reference_time = gen->now;
    c.targets = {"trusted_root.json"};
    return c;
  }
  Result<UpdateReport> update() {
    HttpFetcher http(server->url(), std::chrono::seconds(20));
    return refresh(config(), http);
  }
  void update_ok() {
    auto r = update();
    ASSERT_TRUE(r) << r.error().describe();
  }
  std::string cached(const std::string& name) const { return slurp(cache.path() / "repo" / name); }
  std::uint64_t cached_version(const std::string& name, const char* role) const {
    auto env = parse_envelope(cached(name), role, 1 << 22);
    return env ? env->version : 0;
  }
  // Refused with `f`; and the cache's files are unchanged.
  void expect_refused(Failure f) {
    std::map<std::string, std::string> before;
    for (const char* n : {"root.json", "timestamp.json", "snapshot.json", "targets.json", "targets/trusted_root.json"})
      if (fs::exists(cache.path() / "repo" / n)) before[n] = cached(n);
    auto r = update();
    ASSERT_FALSE(r) << "expected " << failure_name(f);
    EXPECT_TRUE(is_failure(r.error(), f)) << "expected " << failure_name(f) << ", got " << r.error().backend << ": "
                                          << r.error().message;
    for (const auto& [n, bytes] : before) EXPECT_EQ(cached(n), bytes) << n << " changed in the cache";
    // The last good state still loads and serves its target.
    if (!before.empty()) {
      auto st = load_cached(config());
      ASSERT_TRUE(st) << st.error().describe();
      EXPECT_TRUE(cached_target(config(), *st, "trusted_root.json"));
    }
  }
  void bump(std::uint64_t v) { gen->timestamp_version = gen->snapshot_version = gen->targets_version = v; }

  modelsign::test::TempDir repo, cache;
  std::unique_ptr<test::RepoGen> gen;
  std::unique_ptr<test::LoopbackServer> server;
  std::string bootstrap;
};

TEST_F(TufAttack, GoodUpdateCachesEveryRoleAndTheTarget) {
  auto r = update();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->timestamp.before, 0u);
  EXPECT_EQ(r->timestamp.after, 1u);
  EXPECT_EQ(r->targets_changed, std::vector<std::string>{"trusted_root.json"});
  EXPECT_EQ(cached("targets/trusted_root.json"), gen->target_files["trusted_root.json"]);
  // Nothing new: a second update downloads no target.
  auto again = update();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->targets_changed.empty());
}

TEST_F(TufAttack, ArbitrarySoftwareTargetHashMismatchIsRefused) {
  update_ok();
  std::string next = gen->target_files["trusted_root.json"];
  next.back() = ' ';
  gen->target_files["trusted_root.json"] = next;
  bump(2);
  gen->publish();
  std::string evil = next;
  evil[5] = 'X';  // same length, other bytes
  gen->write(fmt::format("targets/{}.trusted_root.json", test::sha256_of(next)), evil);
  expect_refused(Failure::kHashMismatch);
  EXPECT_NE(cached("targets/trusted_root.json"), evil);
  EXPECT_EQ(cached_version("targets.json", "targets"), 1u);
  // A longer file stops at the recorded length.
  gen->write(fmt::format("targets/{}.trusted_root.json", test::sha256_of(next)), next + "padding");
  auto r2 = update();
  ASSERT_FALSE(r2);
  EXPECT_TRUE(is_failure(r2.error(), Failure::kTooLarge)) << r2.error().describe();
}

TEST_F(TufAttack, RollbackOfTimestampIsRefused) {
  gen->timestamp_version = 2;
  gen->publish();
  update_ok();
  gen->timestamp_version = 1;
  gen->publish();
  expect_refused(Failure::kRollback);
  EXPECT_EQ(cached_version("timestamp.json", "timestamp"), 2u);
}

TEST_F(TufAttack, RollbackOfSnapshotIsRefused) {
  bump(2);
  gen->targets_version = 1;
  gen->publish();
  update_ok();
  gen->timestamp_version = 3;
  gen->snapshot_version = 1;
  gen->publish();
  expect_refused(Failure::kRollback);
  EXPECT_EQ(cached_version("snapshot.json", "snapshot"), 2u);
}

TEST_F(TufAttack, RollbackOfTargetsIsRefused) {
  bump(2);
  gen->publish();
  update_ok();
  bump(3);
  gen->targets_version = 1;
  gen->publish();
  expect_refused(Failure::kRollback);
  EXPECT_EQ(cached_version("targets.json", "targets"), 2u);
}

TEST_F(TufAttack, IndefiniteFreezeExpiredTimestampIsRefused) {
  update_ok();
  gen->timestamp_version = 2;
  gen->expires["timestamp"] = gen->now - 1;
  gen->publish();
  expect_refused(Failure::kExpired);
  EXPECT_EQ(cached_version("timestamp.json", "timestamp"), 1u);
  // Later, the cached state itself expires: offline use refuses it too.
  auto c = config();
  c.reference_time = gen->now + 31 * 86400;
  auto st = load_cached(c);
  ASSERT_FALSE(st);
  EXPECT_TRUE(is_failure(st.error(), Failure::kExpired)) << st.error().describe();
}

TEST_F(TufAttack, IndefiniteFreezeExpiredSnapshotIsRefused) {
  update_ok();
  bump(2);
  gen->expires["snapshot"] = gen->now - 1;
  gen->publish();
  expect_refused(Failure::kExpired);
  EXPECT_EQ(cached_version("snapshot.json", "snapshot"), 1u);
  EXPECT_EQ(cached_version("timestamp.json", "timestamp"), 1u);
}

TEST_F(TufAttack, IndefiniteFreezeExpiredTargetsIsRefused) {
  update_ok();
  bump(2);
  gen->expires["targets"] = gen->now - 1;
  gen->publish();
  expect_refused(Failure::kExpired);
  EXPECT_EQ(cached_version("targets.json", "targets"), 1u);
  EXPECT_EQ(cached_version("snapshot.json", "snapshot"), 1u);
}

TEST_F(TufAttack, EndlessDataOversizedMetadataIsRefused) {
  update_ok();
  // A timestamp.json past the 16 KiB limit.
  gen->write("timestamp.json", gen->read("timestamp.json") + std::string(100 << 10, ' '));
  expect_refused(Failure::kTooLarge);
  // A response that never ends.
  server->make_endless("timestamp.json");
  expect_refused(Failure::kTooLarge);
  server->clear_faults();
  // A snapshot longer than the length timestamp.json records.
  bump(2);
  gen->publish();
  gen->write("2.snapshot.json", gen->read("2.snapshot.json") + "    ");
  expect_refused(Failure::kTooLarge);
}

TEST_F(TufAttack, MixAndMatchSnapshotNotMatchingTargetsVersionIsRefused) {
  gen->meta_hashes = false;  // else the hash check fires first
  gen->publish();
  update_ok();
  bump(2);
  gen->publish();
  gen->targets_version = 1;  // 2.targets.json now holds targets version 1
  gen->write("2.targets.json", gen->targets_text());
  expect_refused(Failure::kVersionMismatch);
}

TEST_F(TufAttack, ThresholdNotMetIsRefused) {
  update_ok();
  const test::TestKey* a = gen->roles["timestamp"].keys[0];
  const test::TestKey* b = gen->new_key(true);
  gen->roles["timestamp"] = {{a, b}, 2};
  gen->root_version = 2;
  gen->publish_root();
  gen->timestamp_version = 2;
  gen->publish();
  update_ok();  // both keys sign: accepted
  gen->timestamp_version = 3;
  const std::string snap = gen->read("1.snapshot.json");
  gen->write("timestamp.json", gen->timestamp_text(snap, {}, std::vector<const test::TestKey*>{a}));
  expect_refused(Failure::kThresholdNotMet);
  // The same key twice is still one key.
  gen->write("timestamp.json", gen->timestamp_text(snap, {}, std::vector<const test::TestKey*>{a, a}));
  expect_refused(Failure::kThresholdNotMet);
}

TEST_F(TufAttack, NewRootNotSignedByTheTrustedRootIsRefused) {
  update_ok();
  const test::TestKey* usurper = gen->new_key();
  gen->roles["root"] = {{usurper}, 1};
  gen->root_version = 2;
  gen->publish_root(std::vector<const test::TestKey*>{usurper});  // only its own signature
  expect_refused(Failure::kThresholdNotMet);
  EXPECT_EQ(cached_version("root.json", "root"), 1u);
}

TEST_F(TufAttack, RootRotationSkippingAVersionIsRefused) {
  update_ok();
  gen->root_version = 3;
  gen->write("2.root.json", gen->root_text());
  expect_refused(Failure::kVersionMismatch);
  EXPECT_EQ(cached_version("root.json", "root"), 1u);
}

TEST_F(TufAttack, KeyRemovedInARotationStillSigningIsRefused) {
  update_ok();
  const test::TestKey* old_root = gen->roles["root"].keys[0];
  const test::TestKey* new_root = gen->new_key();
  const test::TestKey* old_ts = gen->roles["timestamp"].keys[0];
  const test::TestKey* new_ts = gen->new_key(true);
  // Version 2 replaces the root and timestamp keys, signed by old and new root keys.
  gen->roles["root"] = {{new_root}, 1};
  gen->roles["timestamp"] = {{new_ts}, 1};
  gen->root_version = 2;
  gen->publish_root(std::vector<const test::TestKey*>{old_root, new_root});
  gen->timestamp_version = 2;
  gen->publish();
  update_ok();
  EXPECT_EQ(cached_version("root.json", "root"), 2u);
  // The removed timestamp key signs a new timestamp.
  gen->timestamp_version = 3;
  gen->write("timestamp.json",
             gen->timestamp_text(gen->read("1.snapshot.json"), {}, std::vector<const test::TestKey*>{old_ts}));
  expect_refused(Failure::kThresholdNotMet);
  // The removed root key signs a version 3 that puts itself back.
  gen->timestamp_version = 2;
  gen->publish();
  gen->roles["root"] = {{old_root}, 1};
  gen->root_version = 3;
  gen->publish_root(std::vector<const test::TestKey*>{old_root});
  expect_refused(Failure::kThresholdNotMet);
  EXPECT_EQ(cached_version("root.json", "root"), 2u);
}

TEST_F(TufAttack, FastForwardRecoveryAfterTimestampKeyRotation) {
  // An attacker holding the timestamp key pushed version 1000.
  gen->timestamp_version = 1000;
  gen->publish();
  update_ok();
  // The repository's real timestamp is at version 5: refused as a rollback...
  gen->timestamp_version = 5;
  gen->publish();
  expect_refused(Failure::kRollback);
  // ...until the timestamp key is rotated; then the cached 1000 is dropped.
  gen->roles["timestamp"] = {{gen->new_key()}, 1};
  gen->root_version = 2;
  gen->publish_root();
  gen->publish();
  auto r = update();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->fast_forward_recovery);
  EXPECT_EQ(r->timestamp.before, 1000u);
  EXPECT_EQ(r->timestamp.after, 5u);
  EXPECT_EQ(cached_version("timestamp.json", "timestamp"), 5u);
}

TEST_F(TufAttack, FastForwardRecoveryAfterSnapshotKeyRotation) {
  // An attacker holding the snapshot key pushed snapshot version 1000 (and a timestamp
  // naming it, signed with the real timestamp key).
  gen->snapshot_version = 1000;
  gen->publish();
  update_ok();
  // The repository's real snapshot is at version 5: refused as a rollback...
  gen->timestamp_version = 2;
  gen->snapshot_version = 5;
  gen->publish();
  expect_refused(Failure::kRollback);
  EXPECT_EQ(cached_version("snapshot.json", "snapshot"), 1000u);
  // ...until the snapshot key is rotated; then the cached timestamp and snapshot go.
  gen->roles["snapshot"] = {{gen->new_key(true)}, 1};
  gen->root_version = 2;
  gen->publish_root();
  gen->timestamp_version = 3;
  gen->publish();
  auto r = update();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->fast_forward_recovery);
  EXPECT_EQ(r->snapshot.before, 1000u);
  EXPECT_EQ(r->snapshot.after, 5u);
  EXPECT_EQ(cached_version("snapshot.json", "snapshot"), 5u);
  EXPECT_TRUE(load_cached(config()));
}

TEST_F(TufAttack, ExpiredRootAfterRotationIsRefused) {
  update_ok();
  gen->root_version = 2;
  gen->expires["root"] = gen->now - 60;
  gen->publish_root();
  auto r = update();
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_failure(r.error(), Failure::kExpired)) << r.error().describe();
}

TEST_F(TufAttack, UnknownTargetIsNamed) {
  update_ok();
  auto c = config();
  c.targets = {"signing_config.v0.2.json"};
  HttpFetcher http(server->url());
  auto r = refresh(c, http);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_failure(r.error(), Failure::kUnknownTarget)) << r.error().describe();
}

TEST_F(TufAttack, SlowRetrievalStalledServerTimesOut) {
  update_ok();
  server->make_stalled("timestamp.json");
  HttpFetcher http(server->url(), std::chrono::seconds(1));
  const auto start = std::chrono::steady_clock::now();
  auto r = refresh(config(), http);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_failure(r.error(), Failure::kFetch)) << r.error().describe();
  EXPECT_LT(took, std::chrono::seconds(5));
  server->clear_faults();
}

TEST_F(TufAttack, TargetNamesThatAreNotPlainFileNamesAreRefused) {
  gen->target_files["../escape"] = "x";
  gen->publish();  // the generator writes it beside targets/, never read
  update_ok();
  for (const char* name : {"../escape", "a/b", ".hidden", ""}) {
    auto c = config();
    c.targets = {name};
    HttpFetcher http(server->url());
    auto r = refresh(c, http);
    ASSERT_FALSE(r) << name;
    EXPECT_TRUE(is_failure(r.error(), Failure::kMalformed)) << name << ": " << r.error().describe();
  }
  EXPECT_FALSE(fs::exists(cache.path() / "escape"));
}

TEST(TufRepository, NonConsistentSnapshotLayoutIsFollowed) {
  modelsign::test::TempDir repo, cache;
  test::RepoGen gen(repo.path());
  gen.consistent_snapshot = false;
  gen.publish_root();
  gen.publish();
  ASSERT_TRUE(fs::exists(repo.path() / "targets/trusted_root.json"));
  ASSERT_TRUE(fs::exists(repo.path() / "snapshot.json"));
  UpdaterConfig c;
  c.bootstrap_root = gen.read("1.root.json");
  c.cache_dir = cache.path() / "r";
  c.reference_time = gen.now;
  c.targets = {"trusted_root.json"};
  DirectoryFetcher f(repo.path());
  auto r = refresh(c, f);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(slurp(c.cache_dir / "targets/trusted_root.json"), gen.target_files["trusted_root.json"]);
}

}  // namespace
}  // namespace modelsign::tuf
