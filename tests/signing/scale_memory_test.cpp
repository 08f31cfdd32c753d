// Memory per file of sign and verify on a model of many tiny files: the CLI's peak RSS
// (wait4 rusage of that child alone) at two model sizes; the difference over the extra
// files is what each file costs, without the process baseline. The target is 1 KiB per
// file for both (before the statement was read without a JSON tree, verify spent ~1.4).
// Speed is bench/scale_bench.sh's business, not a test's.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "test_support.h"

namespace modelsign {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kSmall = 2'000;
constexpr std::size_t kLarge = 20'000;
constexpr double kMaxBytesPerFile = 1024;

// The CLI as a child of its own: its peak RSS is that child's alone (wait4).
test::ChildRun run_cli(const std::vector<std::string>& args) {
  return test::run_child(args, {.merge_stderr = true, .max_output = 65536});
}

bool ok(const test::ChildRun& r) { return WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0; }

// Files of 0-15 bytes, 1000 to a folder, with names as long as bench/scale_bench.sh's.
void make_model(const fs::path& dir, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    fs::path folder = dir / fmt::format("shard-{:05}", i / 1000);
    if (i % 1000 == 0) fs::create_directories(folder);
    test::write_file(folder / fmt::format("file-{:07}.bin", i), std::string(i % 16, 'x'));
  }
}

struct Peaks {
  long sign_kib = 0, verify_kib = 0;
};

Peaks sign_and_verify(const test::TempDir& tmp, const std::string& name, std::size_t count) {
  fs::path model = tmp / name;
  make_model(model, count);
  const std::string sig = (tmp / (name + ".sig")).string();
  test::ChildRun s = run_cli({MODELSIGN_CLI_PATH, "sign", "key", "--threads", "2", "--private-key", (tmp / "key.pem").string(),
                   "--signature", sig, model.string()});
  EXPECT_TRUE(ok(s)) << s.output;
  test::ChildRun v = run_cli({MODELSIGN_CLI_PATH, "verify", "key", "--threads", "2", "--public-key", (tmp / "key.pub").string(),
                   "--signature", sig, model.string()});
  EXPECT_TRUE(ok(v)) << v.output;
  return {s.max_rss_kib, v.max_rss_kib};
}

TEST(ScaleMemory, SignAndVerifyPeakRssGrowsByLessThan1KiBPerFile) {
  test::TempDir tmp;
  test::ChildRun k = run_cli({MODELSIGN_CLI_PATH, "keygen", "--private-key", (tmp / "key.pem").string(), "--public-key",
                   (tmp / "key.pub").string()});
  ASSERT_TRUE(ok(k)) << k.output;
  Peaks small = sign_and_verify(tmp, "small", kSmall);
  Peaks large = sign_and_verify(tmp, "large", kLarge);
  auto per_file = [](long small_kib, long large_kib) {
    return static_cast<double>(large_kib - small_kib) * 1024 / static_cast<double>(kLarge - kSmall);
  };
  const double sign = per_file(small.sign_kib, large.sign_kib);
  const double verify = per_file(small.verify_kib, large.verify_kib);
  EXPECT_LE(sign, kMaxBytesPerFile) << "sign: " << small.sign_kib << " KiB at " << kSmall << " files, "
                                    << large.sign_kib << " KiB at " << kLarge;
  EXPECT_LE(verify, kMaxBytesPerFile) << "verify: " << small.verify_kib << " KiB at " << kSmall << " files, "
                                      << large.verify_kib << " KiB at " << kLarge;
  std::printf("bytes per file: sign %.0f, verify %.0f\n", sign, verify);
}

}  // namespace
}  // namespace modelsign
