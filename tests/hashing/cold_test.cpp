// The pipeline on data that is not in the page cache: files evicted with
// posix_fadvise(DONTNEED) after fsync, hashed through each way of reading cold data
// (buffered read(), readahead, O_DIRECT with several reads in flight).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "hashing/pipeline.h"
#include "test_util.h"

namespace modelsign::testing {
namespace {

// Write the file to disk and drop it from the page cache. False where the cache cannot
// be dropped this way (tmpfs and other memory-backed file systems keep it).
bool evict(const fs::path& p, off_t from = 0) {
  int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0 && ::posix_fadvise(fd, from, 0, POSIX_FADV_DONTNEED) == 0;
  ::close(fd);
  return ok;
}

// Pages of [from, from + len) of `p` in the page cache.
size_t resident_pages(const fs::path& p, size_t from, size_t len) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  void* a = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(from));
  ::close(fd);
  if (a == MAP_FAILED) return 0;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((len + page - 1) / page);
  size_t n = 0;
  if (::mincore(a, len, v.data()) == 0)
    for (unsigned char c : v) n += c & 1;
  ::munmap(a, len);
  return n;
}

std::string read_file_or_empty(const std::string& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

const char* name_of(ColdRead c) {
  switch (c) {
    case ColdRead::kAuto: return "auto";
    case ColdRead::kBuffered: return "buffered";
    case ColdRead::kReadahead: return "readahead";
    case ColdRead::kDirect: return "direct";
  }
  return "?";
}

class Cold : public ::testing::TestWithParam<ColdRead> {
 protected:
  void SetUp() override {
    // Sizes that are not multiples of the 4 KiB O_DIRECT alignment, over several chunks.
    for (std::uint32_t i = 0; i < 3; ++i) {
      contents_.push_back(pattern_bytes((3u << 20) + 4097u * i + 123u, 70 + i));
      write_file(model() / fmt::format("w{}.bin", i), contents_.back());
    }
    write_file(model() / "small.txt", "small");
  }
  fs::path model() const { return tmp_ / "model"; }
  bool evict_all() {
    for (size_t i = 0; i < contents_.size(); ++i) {
      fs::path p = model() / fmt::format("w{}.bin", i);
      if (!evict(p) || resident_pages(p, 0, contents_[i].size()) != 0) return false;
    }
    return true;
  }
  HashingOptions options(unsigned threads) const {
    HashingOptions h;
    h.cold_read = GetParam();
    h.threads = threads;
    h.io_depth = 8;
    h.mmap_window = 256 << 10;
    return h;
  }
  TempDir tmp_;
  std::vector<std::string> contents_;
};

TEST_P(Cold, EvictedFilesHashLikeTheReference) {
  for (unsigned threads : {1u, 3u}) {
    if (!evict_all()) GTEST_SKIP() << "the page cache cannot be dropped for files in " << tmp_.str();
    auto m = compute_manifest(model().string(), {}, options(threads));
    ASSERT_TRUE(m.has_value()) << m.error().message;
    ASSERT_EQ(m->resources.size(), 4u);  // small.txt, w0.bin, w1.bin, w2.bin
    for (size_t i = 0; i < contents_.size(); ++i)
      EXPECT_EQ(to_hex(m->resources[i + 1].digest), ref_digest_hex(contents_[i]))
          << i << ", " << threads << " threads";
  }
}

TEST_P(Cold, EvictedUnalignedShardsHashLikeTheReference) {
  // Shards start and end off the 4 KiB grid: O_DIRECT reads the aligned range around
  // them and only [start, end) may enter the digest.
  SerializationOptions ser;
  ser.method = Method::kShards;
  ser.shard_size = (1 << 20) + 4095;
  if (!evict_all()) GTEST_SKIP() << "the page cache cannot be dropped for files in " << tmp_.str();
  HashingOptions h = options(2);
  h.mmap_threshold = 4096;
  auto m = compute_manifest(model().string(), ser, h);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  size_t checked = 0;
  for (const auto& r : m->resources) {
    if (r.path == "small.txt") continue;
    const std::string& c = contents_[static_cast<size_t>(r.path[1] - '0')];
    EXPECT_EQ(to_hex(r.digest), ref_digest_hex(std::string_view(c).substr(r.start, r.end - r.start))) << r.name;
    ++checked;
  }
  EXPECT_EQ(checked, 9u);
}

TEST_P(Cold, FileTruncatedDuringAColdReadIsReported) {
  // The first window is cached (so the hook runs after it), the rest is not: the
  // truncation happens while the rest is read cold.
  fs::path big = model() / "w0.bin";
  const size_t size = contents_[0].size(), window = 256 << 10;
  if (!evict(big) || resident_pages(big, 0, size) != 0)
    GTEST_SKIP() << "the page cache cannot be dropped for files in " << tmp_.str();
  {
    // Read the first window back without readahead.
    int fd = ::open(big.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    std::string first(window, '\0');
    ASSERT_EQ(::pread(fd, first.data(), window, 0), static_cast<ssize_t>(window));
    ::close(fd);
  }
  if (resident_pages(big, 0, window) != window / 4096 || resident_pages(big, window, size - window) != 0)
    GTEST_SKIP() << "cannot cache the first window of a file alone here";
  HashingOptions h = options(1);
  std::atomic<bool> fired{false};
  hashing::ScopedAfterFirstChunk hook = [&](const std::string& name) {
    if (name == "w0.bin" && !fired.exchange(true)) fs::resize_file(big, (2 << 20) + 100);
  };
  auto m = compute_manifest(model().string(), {}, h);
  ASSERT_TRUE(fired.load()) << "the test hook never ran";
  ASSERT_FALSE(m.has_value()) << "a file truncated during a cold read went unnoticed";
  EXPECT_EQ(m.error().code, ErrorCode::kFileChanged) << m.error().message;
  EXPECT_TRUE(m.error().message.starts_with("file changed while hashing: w0.bin")) << m.error().message;
}

INSTANTIATE_TEST_SUITE_P(ColdReads, Cold,
                         ::testing::Values(ColdRead::kAuto, ColdRead::kBuffered, ColdRead::kReadahead,
                                           ColdRead::kDirect),
                         [](const ::testing::TestParamInfo<ColdRead>& p) { return std::string(name_of(p.param)); });

// ---- defaults chosen from the machine ------------------------------------------------

TEST(Defaults, ThreadsFollowTheAffinityMaskNotTheOnlineCpus) {
  auto r = run_in_child(
      [](int fd) {
        cpu_set_t one;
        CPU_ZERO(&one);
        int cpu = ::sched_getcpu();
        if (cpu < 0) return 77;
        CPU_SET(static_cast<size_t>(cpu), &one);
        if (::sched_setaffinity(0, sizeof(one), &one) != 0) return 77;
        write_all(fd, std::to_string(default_threads()));
        return 0;
      },
      std::chrono::seconds(10));
  ASSERT_FALSE(r.timed_out);
  if (r.exit_code == 77) GTEST_SKIP() << "sched_setaffinity refused";
  EXPECT_EQ(r.output, "1");
  cpu_set_t all;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(default_threads(), static_cast<unsigned>(CPU_COUNT(&all)));
}

TEST(Defaults, IoDepthFollowsTheModelsDevice) {
  EXPECT_EQ(default_io_depth("/nonexistent/model"), 16u) << "unknown device";
  TempDir tmp;
  struct stat st {};
  ASSERT_EQ(::stat(tmp.str().c_str(), &st), 0);
  const std::string dev = fmt::format("/sys/dev/block/{}:{}", ::major(st.st_dev), ::minor(st.st_dev));
  std::string rot = read_file_or_empty(dev + "/queue/rotational");
  if (rot.empty()) rot = read_file_or_empty(dev + "/../queue/rotational");  // a partition
  unsigned got = default_io_depth(tmp.str());
  if (::major(st.st_dev) == 0 || rot.empty()) EXPECT_EQ(got, 16u) << "no block device behind " << tmp.str();
  else if (rot[0] == '1') EXPECT_EQ(got, 4u) << "rotational";
  else EXPECT_TRUE(got == 32u || got == 64u) << got;
}

#ifdef MODELSIGN_HAVE_LIBURING
TEST(ColdDirect, ReadsBypassThePageCache) {
  // What shows that the default reads uncached data with O_DIRECT: the data is hashed
  // right and the file is still not cached afterwards (read() would have cached it).
  TempDir tmp;
  const std::string content = pattern_bytes((4 << 20) + 5, 3);
  fs::path p = tmp / "m/w.bin";
  write_file(p, content);
  if (!evict(p) || resident_pages(p, 0, content.size()) != 0)
    GTEST_SKIP() << "the page cache cannot be dropped for files in " << tmp.str();
  auto m = compute_manifest((tmp / "m").string(), {}, HashingOptions{});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(to_hex(m->resources[0].digest), ref_digest_hex(content));
  EXPECT_EQ(resident_pages(p, 0, content.size()), 0u) << "the cold file went through the page cache";
}

// Bytes this process has had read from storage (not from the page cache), or -1.
long long storage_read_bytes() {
  std::ifstream in("/proc/self/io");
  std::string key;
  long long v = -1;
  while (in >> key >> v)
    if (key == "read_bytes:") return v;
  return -1;
}

// Whether the pipeline may ask cachestat(2) which windows are cached, or must fall back
// to mincore(2) (kernels before 6.5, seccomp policies that do not know the call).
class ColdWindows : public ::testing::TestWithParam<bool> {};

TEST_P(ColdWindows, OnlyTheWindowsThatAreNotCachedAreReadFromTheDisk) {
  // The page cache evicts a file's oldest pages first, often its start. The windows that
  // are still cached must be hashed from the cache, not read again from the disk.
  const bool cachestat_allowed = GetParam();
  TempDir tmp;
  constexpr size_t kWindow = 256 << 10;
  const std::string content = pattern_bytes(16 * kWindow + 5, 9);
  fs::path p = tmp / "m/w.bin";
  write_file(p, content);
  HashingOptions h;
  h.threads = 1;
  h.io_depth = 4;
  h.mmap_window = kWindow;
  h.cold_read = ColdRead::kDirect;
  for (const std::vector<size_t>& evicted : {std::vector<size_t>{0}, std::vector<size_t>{0, 1, 5, 6, 7, 15}}) {
    // Nothing cached, then every window but the listed ones read back without readahead.
    if (!evict(p) || resident_pages(p, 0, content.size()) != 0)
      GTEST_SKIP() << "the page cache cannot be dropped for files in " << tmp.str();
    {
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
      std::string buf(kWindow, '\0');
      for (size_t w = 0; w * kWindow < content.size(); ++w)
        if (std::find(evicted.begin(), evicted.end(), w) == evicted.end()) {
          ASSERT_GT(::pread(fd, buf.data(), kWindow, static_cast<off_t>(w * kWindow)), 0);
        }
      ::close(fd);
    }
    size_t want_cached = 0;
    for (size_t w = 0; w * kWindow < content.size(); ++w) {
      const size_t len = std::min(kWindow, content.size() - w * kWindow);
      const bool gone = std::find(evicted.begin(), evicted.end(), w) != evicted.end();
      const size_t got = resident_pages(p, w * kWindow, len);
      if (gone ? got != 0 : got != (len + 4095) / 4096)
        GTEST_SKIP() << "cannot evict single windows of a file in " << tmp.str();
      want_cached += gone ? 0 : len;
    }
    if (storage_read_bytes() < 0) GTEST_SKIP() << "no I/O accounting in /proc/self/io";
    // In a child, so that its I/O accounting and seccomp filter are its own.
    auto r = run_in_child(
        [&](int fd) {
          if (!cachestat_allowed && !deny_syscall(451 /* cachestat */, ENOSYS)) return 77;
          const long long before = storage_read_bytes();
          auto m = compute_manifest((tmp / "m").string(), {}, h);
          const long long read = storage_read_bytes() - before;
          write_all(fd, m ? fmt::format("{} {}", to_hex(m->resources[0].digest), read) : "error: " + m.error().message);
          return 0;
        },
        std::chrono::seconds(30));
    ASSERT_FALSE(r.timed_out);
    if (r.exit_code == 77) GTEST_SKIP() << "seccomp filters cannot be installed here";
    ASSERT_EQ(r.exit_code, 0) << "signal " << r.term_signal;
    const size_t space = r.output.find(' ');
    ASSERT_NE(space, std::string::npos) << r.output;
    EXPECT_EQ(r.output.substr(0, space), ref_digest_hex(content));
    const long long read = std::stoll(r.output.substr(space + 1));
    const long long evicted_bytes = static_cast<long long>(evicted.size() * kWindow);
    EXPECT_GE(read, evicted_bytes) << "the evicted windows were not read from the disk";
    EXPECT_LE(read, evicted_bytes + static_cast<long long>(kWindow))
        << "cached windows were read from the disk again (" << want_cached << " bytes were cached)";
  }
}

INSTANTIATE_TEST_SUITE_P(ResidencyFrom, ColdWindows, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return std::string(p.param ? "cachestat" : "mincore");
                         });

TEST(ColdDirect, RefusedIoUringFallsBackToRead) {
  // Container runtimes often forbid io_uring: hashing must read the data another way.
  TempDir tmp;
  const std::string content = pattern_bytes((4 << 20) + 5, 4);
  fs::path p = tmp / "m/w.bin";
  write_file(p, content);
  if (!evict(p) || resident_pages(p, 0, content.size()) != 0)
    GTEST_SKIP() << "the page cache cannot be dropped for files in " << tmp.str();
  auto r = run_in_child(
      [&](int fd) {
        if (!deny_syscall(SYS_io_uring_setup, EPERM)) return 77;
        auto m = compute_manifest((tmp / "m").string(), {}, HashingOptions{});
        write_all(fd, m ? to_hex(m->resources[0].digest) : "error: " + m.error().message);
        return 0;
      },
      std::chrono::seconds(30));
  ASSERT_FALSE(r.timed_out);
  if (r.exit_code == 77) GTEST_SKIP() << "seccomp filters cannot be installed here";
  ASSERT_EQ(r.exit_code, 0) << "signal " << r.term_signal;
  EXPECT_EQ(r.output, ref_digest_hex(content));
  // read() went through the cache this time.
  EXPECT_GT(resident_pages(p, 0, content.size()), 0u);
}
#endif

}  // namespace
}  // namespace modelsign::testing
