// Sigstore's own TUF repository (tests/testdata/sigstore-tuf): from root 1 as the
// trusted root through all fifteen rotations to trusted_root.json, over a directory and
// over loopback HTTP, at a reference time inside every expiry window.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <ctime>

#include "support/test_support.h"
#include "tuf/errors.h"
#include "tuf/http_fetcher.h"
#include "tuf/tuf.h"
#include "tuf_test_util.h"

namespace modelsign::tuf {
namespace {

namespace fs = std::filesystem;
using test::slurp;

const fs::path kData = fs::path(MODELSIGN_TESTDATA_DIR) / "sigstore-tuf";
constexpr std::string_view kTrustedRootSha256 = "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";

// The repository as Sigstore serves it: consistent-snapshot names.
void lay_out(const fs::path& out) {
  fs::create_directories(out / "targets");
  for (int v = 1; v <= 15; ++v)
    fs::copy_file(kData / "metadata/root_history" / fmt::format("{}.root.json", v), out / fmt::format("{}.root.json", v));
  fs::copy_file(kData / "metadata/timestamp.json", out / "timestamp.json");
  fs::copy_file(kData / "metadata/snapshot.json", out / "165.snapshot.json");
  fs::copy_file(kData / "metadata/targets.json", out / "14.targets.json");
  for (const auto& e : fs::directory_iterator(kData / "targets")) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = slurp(e.path());
    fs::copy_file(e.path(), out / "targets" / fmt::format("{}.{}", test::sha256_of(bytes), e.path().filename().string()));
  }
}

TufOptions options(const fs::path& cache, std::optional<UnixTime> at) {
  TufOptions o;
  o.url = "https://sigstore-tuf.test";
  o.root_json = slurp(kData / "metadata/root_history/1.root.json");
  o.cache_base = cache;
  o.reference_time = at;
  o.network = NetworkPolicy::kAlways;
  return o;
}

const UnixTime kReference = *parse_time("2026-08-22T00:00:00Z");

TEST(TufSigstoreRealData, WalksFifteenRootRotationsToTrustedRootFromDirectory) {
  modelsign::test::TempDir repo, cache;
  lay_out(repo.path());
  DirectoryFetcher f(repo.path());
  auto t = get_target(options(cache.path(), kReference), "trusted_root.json", &f);
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(test::sha256_of(t->bytes), kTrustedRootSha256);
  EXPECT_EQ(t->bytes, slurp(kData / "targets/trusted_root.json"));
  ASSERT_TRUE(t->report);
  EXPECT_EQ(t->report->root.before, 1u);
  EXPECT_EQ(t->report->root.after, 15u);
  EXPECT_EQ(t->report->timestamp.after, 762u);
  EXPECT_EQ(t->report->snapshot.after, 165u);
  EXPECT_EQ(t->report->targets.after, 14u);
  EXPECT_TRUE(t->used_network);
  // The cache now holds root 15, byte for byte.
  EXPECT_EQ(slurp(t->cache_dir / "root.json"), slurp(kData / "metadata/root_history/15.root.json"));

  // A second call within the metadata's validity reads the cache only.
  auto o = options(cache.path(), kReference);
  o.network = NetworkPolicy::kIfStale;
  auto again = get_target(o, "trusted_root.json", nullptr);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_FALSE(again->used_network);
  EXPECT_EQ(again->bytes, t->bytes);
  EXPECT_TRUE(again->refreshed_at.has_value());
}

TEST(TufSigstoreRealData, WalksFifteenRootRotationsOverLoopbackHttp) {
  modelsign::test::TempDir repo, cache;
  lay_out(repo.path());
  test::LoopbackServer server(repo.path());
  HttpFetcher http(server.url(), std::chrono::seconds(20));
  auto o = options(cache.path(), kReference);
  o.url = server.url();
  auto t = get_target(o, "trusted_root.json", &http);
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(test::sha256_of(t->bytes), kTrustedRootSha256);
  EXPECT_EQ(t->report->root.after, 15u);
  // 14 roots + the missing 16.root.json + timestamp + snapshot + targets + trusted_root.json
  // + signing_config.v0.2.json (cached alongside for the keyless signer).
  EXPECT_EQ(server.requests.load(), 20);
  EXPECT_EQ(slurp(t->cache_dir / "targets/signing_config.v0.2.json"),
            slurp(kData / "targets/signing_config.v0.2.json"));
}

TEST(TufSigstoreRealData, RefusesExpiredMetadataAtTheCurrentTime) {
  const UnixTime now = static_cast<UnixTime>(std::time(nullptr));
  if (now < *parse_time("2026-08-28T19:25:56Z")) GTEST_SKIP() << "the clock is before the timestamp's expiry";
  modelsign::test::TempDir repo, cache;
  lay_out(repo.path());
  DirectoryFetcher f(repo.path());
  auto t = get_target(options(cache.path(), std::nullopt), "trusted_root.json", &f);
  ASSERT_FALSE(t);
  EXPECT_TRUE(is_failure(t.error(), Failure::kExpired)) << t.error().describe();
  EXPECT_NE(t.error().message.find("expired at"), std::string::npos);
}

TEST(TufSigstoreRealData, BuiltInProductionRootIsSigstoreRoot15) {
  EXPECT_EQ(embedded_production_root(), slurp(kData / "metadata/root_history/15.root.json"));
  auto env = parse_envelope(embedded_staging_root(), "root", 1 << 20);
  ASSERT_TRUE(env);
  auto root = parse_root(*env);
  ASSERT_TRUE(root);
  EXPECT_TRUE(verify_role(*root, "root", *env, "staging root"));
}

TEST(TufSigstoreRealData, AlteredIntermediateRootIsRefused) {
  modelsign::test::TempDir repo, cache;
  lay_out(repo.path());
  // Change one character of root 7's signed part: no signature covers it any more.
  std::string r7 = slurp(repo.path() / "7.root.json");
  auto pos = r7.find("\"expires\": \"20");
  ASSERT_NE(pos, std::string::npos);
  r7[pos + 14] = '9';
  modelsign::test::write_file(repo.path() / "7.root.json", r7);
  DirectoryFetcher f(repo.path());
  auto t = get_target(options(cache.path(), kReference), "trusted_root.json", &f);
  ASSERT_FALSE(t);
  EXPECT_TRUE(is_failure(t.error(), Failure::kThresholdNotMet)) << t.error().describe();
  // The six verified rotations stay cached.
  auto env = parse_envelope(slurp(cache.path() / "sigstore-tuf.test" / "root.json"), "root", 1 << 20);
  ASSERT_TRUE(env);
  EXPECT_EQ(env->version, 6u);
}

}  // namespace
}  // namespace modelsign::tuf
