// Bounded memory: the CLI's peak RSS stays <= 150 MiB while it hashes a 20 GiB sparse
// file. Slow (tens of seconds: every byte is hashed), so it is labelled "slow" in ctest.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/statfs.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace modelsign::testing {
namespace {

constexpr std::uint64_t kSparseSize = std::uint64_t{20} << 30;  // truncate -s 20G
constexpr long kMaxRssKiB = 150 * 1024;

bool memory_backed(const fs::path& dir) {
  struct statfs sf {};
  if (::statfs(dir.c_str(), &sf) != 0) return true;
  // Holes read through tmpfs/ramfs mappings allocate RAM that is never given back.
  return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

// SHA-256 of n zero bytes, streamed.
std::string zeros_digest(std::uint64_t n) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string zeros(1 << 20, '\0');
  for (std::uint64_t left = n; left > 0;) {
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
    EVP_DigestUpdate(ctx, zeros.data(), k);
    left -= k;
  }
  unsigned char out[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return to_hex(std::span<const std::uint8_t>(out, len));
}

struct CliRun {
  int status = 0;
  long max_rss_kib = 0;
  std::string out;
};

// Runs the CLI and reports its own peak RSS (wait4 rusage of that child only).
CliRun run_cli(const std::vector<std::string>& args) {
  auto c = test::run_child(args);
  return CliRun{c.status, c.max_rss_kib, std::move(c.output)};
}

TEST(SlowMemory, PeakRssStaysUnder150MiBHashing20GiBSparseFileWith8Threads) {
  TempDir tmp;
  fs::path dir = tmp.path();
  if (memory_backed(dir)) {
    // Use the build tree instead; it is on disk wherever the project is built.
    fs::path alt = fs::path(MODELSIGN_TEST_SCRATCH_DIR) / "sparse-scratch";
    fs::create_directories(alt);
    if (memory_backed(alt)) GTEST_SKIP() << "no disk-backed directory for a 20 GiB sparse file";
    dir = alt;
  }
  fs::path big = dir / "sparse-20g.bin";
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } cleanup{big};
  {
    int fd = ::open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kSparseSize)), 0);
    ::close(fd);
  }
  struct stat st {};
  ASSERT_EQ(::stat(big.c_str(), &st), 0);
  if (st.st_blocks * 512 > (1 << 20)) GTEST_SKIP() << "filesystem does not keep the file sparse";

  // Shards with 8 workers: the most memory the pipeline can hold at once (one mapped
  // window per worker), and shard digests that can be checked independently.
  CliRun r = run_cli({MODELSIGN_CLI_PATH, "digest", "--serialization", "shards", "--threads", "8",
                   "--json", big.string()});
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << "status " << r.status;
  EXPECT_LE(r.max_rss_kib, kMaxRssKiB) << "peak RSS " << r.max_rss_kib / 1024 << " MiB";

  auto j = nlohmann::json::parse(r.out);
  const auto& res = j.at("resources");
  std::uint64_t full = kSparseSize / kDefaultShardSize, tail = kSparseSize % kDefaultShardSize;
  ASSERT_EQ(res.size(), full + 1);
  std::string full_digest = zeros_digest(kDefaultShardSize), tail_digest = zeros_digest(tail);
  std::vector<std::string> digests;
  for (std::size_t i = 0; i < res.size(); ++i) {
    digests.push_back(res[i].at("digest").get<std::string>());
    EXPECT_EQ(digests.back(), i < full ? full_digest : tail_digest) << i;
  }
  EXPECT_EQ(j.at("root_digest").get<std::string>(), "sha256:" + ref_root_hex(digests));
}

}  // namespace
}  // namespace modelsign::testing
