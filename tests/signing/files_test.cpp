// The one exclusive-create writer and the one whole-file reader the core, the providers
// and the command line share (common/files.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "modelsign/manifest.h"
#include "test_support.h"

namespace modelsign {
namespace {

// The test hook is no part of the public hashing options.
template <class T>
concept HasAfterFirstChunk = requires(T h) { h.after_first_chunk; };
static_assert(!HasAfterFirstChunk<HashingOptions>);

TEST(Files, WriteNewFileNeverReplacesAnExistingFile) {
  test::TempDir t;
  const std::string path = (t / "key.pem").string();
  ASSERT_TRUE(write_new_file(path, "first", 0600));
  auto again = write_new_file(path, "second", 0600);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(again.error().message.find("refusing to overwrite the existing file"), std::string::npos)
      << again.error().message;
  EXPECT_EQ(test::read_file(path), "first");
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Files, WriteNewFileDoesNotFollowASymlink) {
  test::TempDir t;
  const std::string target = (t / "target").string(), link_path = (t / "link").string();
  ASSERT_EQ(::symlink(target.c_str(), link_path.c_str()), 0);
  EXPECT_FALSE(write_new_file(link_path, "data", 0644));
  EXPECT_NE(::access(target.c_str(), F_OK), 0) << "the write went through the symlink";
}

TEST(Files, ReadFileReadsWholeFilesAndRefusesOversizedOnes) {
  test::TempDir t;
  const std::string path = (t / "f").string();
  std::string content(200000, 'x');
  test::write_file(path, content);
  auto r = read_file(path, "test file");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, content);
  auto small = read_file(path, "test file", 1000);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code, ErrorCode::kMalformed);
  auto missing = read_file((t / "missing").string(), "certificate file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("cannot read certificate file"), std::string::npos);
}

TEST(Files, ReadSecretFdStopsAtTheLimit) {
  test::TempDir t;
  const std::string path = (t / "secret").string();
  test::write_file(path, std::string(5000, 's'), 0600);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto r = read_secret_fd(fd, 4096);
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().too_large);
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto ok = read_secret_fd(fd, 8192);
  ::close(fd);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 5000u);
}

}  // namespace
}  // namespace modelsign
