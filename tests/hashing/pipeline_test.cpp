// The hashing pipeline: files changing under the hasher (mmap and read() paths), shard
// boundaries, and independence from the thread count and I/O path.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "hashing/pipeline.h"
#include "test_util.h"

namespace modelsign::testing {
namespace {

enum class IoPath { kMmap, kRead };

// Small windows/buffers so a 1 MiB file spans many chunks on either path.
HashingOptions io_options(IoPath path) {
  HashingOptions h;
  h.threads = 1;
  if (path == IoPath::kMmap) {
    h.mmap_threshold = 4096;
    h.mmap_window = 64 << 10;
  } else {
    h.mmap_threshold = std::uint64_t{1} << 40;
    h.read_buffer = 64 << 10;
  }
  return h;
}

constexpr std::size_t kBigSize = 1 << 20;  // 16 windows of 64 KiB

class FileChanged : public ::testing::TestWithParam<IoPath> {
 protected:
  void SetUp() override {
    write_file(model() / "big.bin", pattern_bytes(kBigSize, 42));
    write_file(model() / "small.txt", "small");
  }
  fs::path model() const { return tmp_ / "model"; }
  fs::path big() const { return model() / "big.bin"; }

  // Hash with `change` applied once, right after the first chunk of big.bin.
  Result<Manifest> hash_with_change(std::function<void()> change) {
    HashingOptions h = io_options(GetParam());
    hashing::ScopedAfterFirstChunk hook = [this, change](const std::string& name) {
      if (name == "big.bin" && !fired_.exchange(true)) change();
    };
    return compute_manifest(model().string(), {}, h);
  }

  void expect_file_changed(const Result<Manifest>& m) {
    ASSERT_TRUE(fired_) << "the test hook never ran";
    ASSERT_FALSE(m.has_value()) << "a file changed during hashing went unnoticed";
    EXPECT_EQ(m.error().code, ErrorCode::kFileChanged) << m.error().message;
    EXPECT_TRUE(m.error().message.starts_with("file changed while hashing: big.bin"))
        << m.error().message;
  }

  TempDir tmp_;
  std::atomic<bool> fired_{false};
};

TEST_P(FileChanged, TruncatedMidFileIsReportedNotCrashed) {
  // 100 KiB ends inside the second window: the mapping faults (SIGBUS) part way through.
  auto m = hash_with_change([&] { fs::resize_file(big(), 100 << 10); });
  expect_file_changed(m);

  // The process is intact and the next run hashes the (now stable) file normally.
  auto again = compute_manifest(model().string(), {}, io_options(GetParam()));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(to_hex(again->resources[0].digest), ref_digest_hex(read_file(big())));
}

TEST_P(FileChanged, TruncatedToZeroIsReported) {
  auto m = hash_with_change([&] { fs::resize_file(big(), 0); });
  expect_file_changed(m);
}

TEST_P(FileChanged, GrownFileIsReported) {
  auto m = hash_with_change([&] {
    std::FILE* f = std::fopen(big().c_str(), "ab");
    std::fputs("appended", f);
    std::fclose(f);
  });
  expect_file_changed(m);
}

TEST_P(FileChanged, ReplacedFileIsReported) {
  auto m = hash_with_change([&] {
    write_file(model() / "big.bin.new", pattern_bytes(kBigSize, 43));  // same size
    fs::rename(model() / "big.bin.new", big());
  });
  expect_file_changed(m);
}

TEST_P(FileChanged, RemovedFileIsReported) {
  auto m = hash_with_change([&] { fs::remove(big()); });
  expect_file_changed(m);
}

TEST_P(FileChanged, TruncatedShardIsReported) {
  HashingOptions h = io_options(GetParam());
  hashing::ScopedAfterFirstChunk hook = [this](const std::string& name) {
    if (name == "big.bin" && !fired_.exchange(true)) fs::resize_file(big(), 200 << 10);
  };
  SerializationOptions ser;
  ser.method = Method::kShards;
  ser.shard_size = 512 << 10;
  auto m = compute_manifest(model().string(), ser, h);
  expect_file_changed(m);
}

INSTANTIATE_TEST_SUITE_P(IoPaths, FileChanged, ::testing::Values(IoPath::kMmap, IoPath::kRead),
                         [](const ::testing::TestParamInfo<IoPath>& p) {
                           return std::string(p.param == IoPath::kMmap ? "mmap" : "read");
                         });

// ---- shards -----------------------------------------------------------------------

TEST(Shards, ExactMultiplesOfShardSizeHaveNoEmptyTrailingShard) {
  TempDir tmp;
  fs::path model = tmp / "m";
  const std::vector<std::pair<std::string, std::size_t>> files = {
      {"s0", 0}, {"s7", 7}, {"s8", 8}, {"s9", 9}, {"s16", 16}, {"s24", 24}};
  for (std::size_t i = 0; i < files.size(); ++i)
    write_file(model / files[i].first, pattern_bytes(files[i].second, static_cast<std::uint32_t>(i)));
  SerializationOptions ser;
  ser.method = Method::kShards;
  ser.shard_size = 8;
  auto m = compute_manifest(model.string(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;

  std::vector<std::string> expected;
  for (const char* n : {"s16:0:8", "s16:8:16", "s24:0:8", "s24:8:16", "s24:16:24", "s7:0:7",
                        "s8:0:8", "s9:0:8", "s9:8:9"})
    expected.push_back(n);
  std::vector<std::string> names;
  for (const auto& r : m->resources) {
    names.push_back(r.name);
    EXPECT_EQ(r.algorithm, "sha256-sharded-8");
    std::string content = read_file(model / r.path);
    EXPECT_EQ(to_hex(r.digest), ref_digest_hex(content.substr(r.start, r.end - r.start))) << r.name;
  }
  EXPECT_EQ(names, expected);
}

TEST(Shards, UnalignedShardsThroughMmapMatchReference) {
  // Shards start at offsets that are not page multiples; the mapped path must still
  // hash exactly [start, end).
  TempDir tmp;
  const std::string content = pattern_bytes(3 * 5000 + 123, 9);
  write_file(tmp / "m/w.bin", content);
  SerializationOptions ser;
  ser.method = Method::kShards;
  ser.shard_size = 5000;
  for (std::uint64_t threshold : {std::uint64_t{1}, std::uint64_t{1} << 40}) {
    HashingOptions h;
    h.mmap_threshold = threshold;
    h.mmap_window = 8192;
    h.read_buffer = 3000;
    auto m = compute_manifest((tmp / "m").string(), ser, h);
    ASSERT_TRUE(m.has_value()) << m.error().message;
    ASSERT_EQ(m->resources.size(), 4u);
    for (const auto& r : m->resources)
      EXPECT_EQ(to_hex(r.digest), ref_digest_hex(std::string_view(content).substr(r.start, r.end - r.start)))
          << r.name << " threshold " << threshold;
  }
}

TEST(Shards, ZeroShardSizeIsRejected) {
  TempDir tmp;
  write_file(tmp / "m/f", "x");
  SerializationOptions ser;
  ser.method = Method::kShards;
  ser.shard_size = 0;
  auto m = compute_manifest((tmp / "m").string(), ser);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
}

// ---- determinism ------------------------------------------------------------------

// A model mixing empty, small and multi-window files in nested folders.
fs::path make_mixed_model(const TempDir& tmp) {
  fs::path model = tmp / "mixed";
  for (std::uint32_t i = 0; i < 40; ++i)
    write_file(model / fmt::format("d{}/f{}", i % 5, i),
               pattern_bytes((i * 7919u) % 200000u, i));
  write_file(model / "large-a.bin", pattern_bytes(3 << 20, 100));
  write_file(model / "large-b.bin", pattern_bytes((5 << 20) + 17, 101));
  write_file(model / "empty", "");
  return model;
}

TEST(Determinism, ThreadCounts1To8GiveIdenticalManifests) {
  TempDir tmp;
  fs::path model = make_mixed_model(tmp);
  for (Method method : {Method::kFiles, Method::kShards}) {
    SerializationOptions ser;
    ser.method = method;
    ser.shard_size = 1 << 20;
    HashingOptions h;
    h.mmap_window = 256 << 10;
    h.threads = 1;
    auto base = compute_manifest(model.string(), ser, h);
    ASSERT_TRUE(base.has_value()) << base.error().message;
    // The single-threaded result is itself right, file by file.
    for (const auto& r : base->resources) {
      std::string content = read_file(model / r.path);
      ASSERT_EQ(to_hex(r.digest), ref_digest_hex(std::string_view(content).substr(r.start, r.end - r.start)))
          << r.name;
    }
    for (unsigned t = 2; t <= 8; ++t) {
      h.threads = t;
      auto m = compute_manifest(model.string(), ser, h);
      ASSERT_TRUE(m.has_value()) << m.error().message;
      EXPECT_EQ(manifest_lines(*m), manifest_lines(*base)) << t << " threads";
      EXPECT_EQ(root_hex(*m), root_hex(*base)) << t << " threads";
    }
  }
}

TEST(Determinism, MmapAndReadPathsGiveIdenticalDigests) {
  TempDir tmp;
  fs::path model = make_mixed_model(tmp);
  HashingOptions h;
  h.threads = 2;
  h.mmap_threshold = std::uint64_t{1} << 40;
  auto read_only = compute_manifest(model.string(), {}, h);
  ASSERT_TRUE(read_only.has_value()) << read_only.error().message;
  // The baseline must be right itself, not only agree with the mmap path: check it
  // against the independent reference digest of every file.
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(model))
    if (e.is_regular_file()) ++files;
  ASSERT_EQ(read_only->resources.size(), files);
  for (const auto& r : read_only->resources)
    EXPECT_EQ(to_hex(r.digest), ref_digest_hex(read_file(model / r.path))) << r.path;
  for (std::uint64_t threshold : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4096},
                                  std::uint64_t{1} << 20}) {
    h.mmap_threshold = threshold;
    for (std::uint64_t window : {std::uint64_t{4096}, std::uint64_t{100000}, std::uint64_t{32} << 20}) {
      h.mmap_window = window;
      auto m = compute_manifest(model.string(), {}, h);
      ASSERT_TRUE(m.has_value()) << m.error().message;
      EXPECT_EQ(manifest_lines(*m), manifest_lines(*read_only))
          << "threshold " << threshold << " window " << window;
    }
  }
}

TEST(Determinism, MappedFilesAtPageAndWindowBoundariesMatchTheReference) {
  // Mapped memory is hashed a page at a time with the next page prefetched: files that
  // end just before, at and just after a page or a window boundary, and empty ones, must
  // hash like the reference, in files and in unaligned shards.
  TempDir tmp;
  fs::path model = tmp / "edges";
  constexpr std::uint64_t kWindow = 64 << 10;
  const std::vector<std::size_t> sizes = {0, 1, 4095, 4096, 4097, 8191, 8192, 8193,
                                          kWindow - 1, kWindow, kWindow + 1, 3 * kWindow + 4097};
  for (std::size_t i = 0; i < sizes.size(); ++i)
    write_file(model / fmt::format("f{:02}", i), pattern_bytes(sizes[i], static_cast<std::uint32_t>(i)));
  for (std::uint64_t shard : {std::uint64_t{0}, std::uint64_t{5000}, kWindow}) {
    SerializationOptions ser;
    if (shard != 0) {
      ser.method = Method::kShards;
      ser.shard_size = shard;
    }
    for (std::uint64_t threshold : {std::uint64_t{0}, std::uint64_t{1}}) {
      HashingOptions h;
      h.threads = 2;
      h.mmap_threshold = threshold;
      h.mmap_window = kWindow;
      auto m = compute_manifest(model.string(), ser, h);
      ASSERT_TRUE(m.has_value()) << m.error().message;
      std::size_t bytes = 0;
      for (const auto& r : m->resources) {
        std::string content = read_file(model / r.path);
        EXPECT_EQ(to_hex(r.digest), ref_digest_hex(std::string_view(content).substr(r.start, r.end - r.start)))
            << r.name << " shard " << shard << " threshold " << threshold;
        bytes += r.end - r.start;
      }
      std::size_t total = 0;
      for (std::size_t n : sizes) total += n;
      EXPECT_EQ(bytes, total) << "shard " << shard;
    }
  }
}

}  // namespace
}  // namespace modelsign::testing
