// Enumeration edge cases: names, ordering, symlinks, special files, permissions, empty
// models, ignore paths and model names (spec §2.2-§2.12).
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <algorithm>
#include <fmt/format.h>
#include <cstring>
#include <string>
#include <vector>

#include "hashing/enumerate.h"
#include "hashing/pipeline.h"
#include "test_util.h"

namespace modelsign::testing {
namespace {

std::vector<std::string> names_of(const Manifest& m) {
  std::vector<std::string> out;
  for (const auto& r : m.resources) out.push_back(r.name);
  return out;
}

const Resource* find(const Manifest& m, const std::string& name) {
  for (const auto& r : m.resources)
    if (r.name == name) return &r;
  return nullptr;
}

SerializationOptions with_symlinks(SymlinkPolicy p) {
  SerializationOptions s;
  s.symlinks = p;
  return s;
}

class Enumerate : public ::testing::Test {
 protected:
  fs::path model() const { return tmp_ / "model"; }
  std::string model_str() const { return model().string(); }
  TempDir tmp_;
};

// ---- names and ordering ----------------------------------------------------------

TEST_F(Enumerate, UnicodeAndSpaceNamesAreKeptVerbatimWithContentDigests) {
  const std::vector<std::string> files = {
      "with space.txt",
      "\u00fcn\u00efc\u00f8d\u00e9/\u6587\u4ef6 1.bin",  // ünïcødé/文件 1.bin
      "emoji \U0001F600.json", " leading space"};
  for (std::size_t i = 0; i < files.size(); ++i)
    write_file(model() / files[i], pattern_bytes(100 + i, static_cast<std::uint32_t>(i)));
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->resources.size(), files.size());
  for (const auto& f : files) {
    const Resource* r = find(*m, f);
    ASSERT_NE(r, nullptr) << f;
    EXPECT_EQ(to_hex(r->digest), ref_digest_hex(read_file(model() / f)));
  }
}

TEST_F(Enumerate, NestedDirectoriesGiveSlashSeparatedRelativeNames) {
  write_file(model() / "a/b/c/d/e.bin", "deep");
  write_file(model() / "a/top.bin", "top");
  fs::create_directories(model() / "empty/dir/never/listed");
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{"a/b/c/d/e.bin", "a/top.bin"}));
  EXPECT_EQ(to_hex(find(*m, "a/b/c/d/e.bin")->digest), ref_digest_hex("deep"));
}

TEST_F(Enumerate, HiddenFilesAreIncluded) {
  write_file(model() / ".hidden", "h");
  write_file(model() / ".config/settings", "s");
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{".config/settings", ".hidden"}));
}

TEST_F(Enumerate, EmptyFileIsListedWithTheEmptyDigest) {
  write_file(model() / "empty", "");
  write_file(model() / "full", "x");
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_NE(find(*m, "empty"), nullptr);
  EXPECT_EQ(to_hex(find(*m, "empty")->digest), ref_digest_hex(""));
}

TEST_F(Enumerate, DirectoryComponentSortsBeforeSpaceName) {
  // Byte-wise, "a b" (0x20) < "a/b" (0x2f); component-wise "a" < "a b".
  write_file(model() / "a b", "1");
  write_file(model() / "a/b", "2");
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{"a/b", "a b"}));
  EXPECT_EQ(root_hex(*m), ref_root_hex({ref_digest_hex("2"), ref_digest_hex("1")}));
}

// ---- symlinks ---------------------------------------------------------------------

TEST_F(Enumerate, SymlinkIsRejectedByDefaultWithUpstreamMessage) {
  write_file(model() / "real", "content");
  fs::create_symlink("real", model() / "link");
  auto m = compute_manifest(model_str(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(m.error().message.starts_with("Cannot use '" + (model() / "link").string() +
                                            "' because it is a symlink."))
      << m.error().message;
}

TEST_F(Enumerate, SymlinkedModelPathIsRejectedByDefault) {
  write_file(model() / "f", "x");
  fs::create_directory_symlink(model(), tmp_ / "alias");
  auto m = compute_manifest((tmp_ / "alias").string(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("because it is a symlink"), std::string::npos) << m.error().message;
  auto followed = compute_manifest((tmp_ / "alias").string(), with_symlinks(SymlinkPolicy::kFollowInRoot));
  ASSERT_TRUE(followed.has_value()) << followed.error().message;
  EXPECT_EQ(names_of(*followed), std::vector<std::string>{"f"});
  EXPECT_EQ(followed->model_name, "alias");  // the link's own name (spec §2.12)
}

TEST_F(Enumerate, IgnoredSymlinkIsNotAnError) {
  write_file(model() / "real", "content");
  fs::create_symlink("/nonexistent/target", model() / "dangling");
  SerializationOptions ser;
  ser.ignore_paths = {"dangling"};
  auto m = compute_manifest(model_str(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), std::vector<std::string>{"real"});
}

TEST_F(Enumerate, FollowInRootHashesTargetContentUnderLinkName) {
  write_file(model() / "weights/real.bin", "the weights");
  fs::create_symlink("weights/real.bin", model() / "alias.bin");
  auto m = compute_manifest(model_str(), with_symlinks(SymlinkPolicy::kFollowInRoot));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{"alias.bin", "weights/real.bin"}));
  EXPECT_EQ(to_hex(find(*m, "alias.bin")->digest), ref_digest_hex("the weights"));
  EXPECT_TRUE(m->serialization.allow_symlinks);
}

TEST_F(Enumerate, LinkLeavingRootFailsInRootButWorksAnywhere) {
  write_file(tmp_ / "outside.bin", "outside content");
  write_file(model() / "inside", "i");
  fs::create_symlink("../outside.bin", model() / "out");

  auto in_root = compute_manifest(model_str(), with_symlinks(SymlinkPolicy::kFollowInRoot));
  ASSERT_FALSE(in_root.has_value());
  EXPECT_EQ(in_root.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(in_root.error().message.find("outside the model root"), std::string::npos)
      << in_root.error().message;

  auto anywhere = compute_manifest(model_str(), with_symlinks(SymlinkPolicy::kFollowAnywhere));
  ASSERT_TRUE(anywhere.has_value()) << anywhere.error().message;
  ASSERT_NE(find(*anywhere, "out"), nullptr);
  EXPECT_EQ(to_hex(find(*anywhere, "out")->digest), ref_digest_hex("outside content"));
}

TEST_F(Enumerate, LinkThroughSiblingDirectoryNamedLikeRootPrefixIsOutside) {
  // "model-evil" shares the root's string prefix but is not inside it.
  write_file(tmp_ / "model-evil/secret", "s");
  write_file(model() / "f", "x");
  fs::create_symlink(tmp_ / "model-evil/secret", model() / "s");
  auto m = compute_manifest(model_str(), with_symlinks(SymlinkPolicy::kFollowInRoot));
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("outside the model root"), std::string::npos) << m.error().message;
}

TEST_F(Enumerate, BrokenSymlinkFailsUnderEveryPolicy) {
  write_file(model() / "f", "x");
  fs::create_symlink("missing-target", model() / "broken");
  for (auto p : {SymlinkPolicy::kReject, SymlinkPolicy::kFollowInRoot, SymlinkPolicy::kFollowAnywhere}) {
    auto m = compute_manifest(model_str(), with_symlinks(p));
    ASSERT_FALSE(m.has_value()) << static_cast<int>(p);
    EXPECT_NE(m.error().message.find((model() / "broken").string()), std::string::npos)
        << m.error().message;
  }
  auto m = compute_manifest(model_str(), with_symlinks(SymlinkPolicy::kFollowAnywhere));
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("broken"), std::string::npos) << m.error().message;
}

TEST_F(Enumerate, SymlinkCycleFailsInsteadOfLooping) {
  write_file(model() / "f", "x");
  fs::create_symlink("b", model() / "a");
  fs::create_symlink("a", model() / "b");
  for (auto p : {SymlinkPolicy::kFollowInRoot, SymlinkPolicy::kFollowAnywhere}) {
    auto m = compute_manifest(model_str(), with_symlinks(p));
    ASSERT_FALSE(m.has_value());
    EXPECT_NE(m.error().message.find("cycle"), std::string::npos) << m.error().message;
  }
}

TEST_F(Enumerate, LinkToAncestorDirectoryFails) {
  write_file(model() / "sub/f", "x");
  fs::create_directory_symlink("..", model() / "sub/up");
  for (auto p : {SymlinkPolicy::kFollowInRoot, SymlinkPolicy::kFollowAnywhere}) {
    auto m = compute_manifest(model_str(), with_symlinks(p));
    ASSERT_FALSE(m.has_value());
    EXPECT_NE(m.error().message.find("cycle"), std::string::npos) << m.error().message;
  }
}

// model_signing neither follows a directory symlink nor records it, so what is behind
// it would be covered by nothing (issue: it was skipped with a warning).
TEST_F(Enumerate, LinkToSiblingDirectoryIsRefusedNeverSilentlySkipped) {
  write_file(model() / "real/f", "x");
  fs::create_directory_symlink("real", model() / "dirlink");
  for (auto p : {SymlinkPolicy::kFollowInRoot, SymlinkPolicy::kFollowAnywhere}) {
    auto m = compute_manifest(model_str(), with_symlinks(p));
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code, ErrorCode::kUnsupported);
    EXPECT_NE(m.error().message.find("'" + (model() / "dirlink").string() +
                                     "': it is a symlink to a directory"),
              std::string::npos)
        << m.error().message;
  }
  // An ignored one is fine.
  SerializationOptions s = with_symlinks(SymlinkPolicy::kFollowInRoot);
  s.ignore_paths = {"dirlink"};
  auto m = compute_manifest(model_str(), s);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), std::vector<std::string>{"real/f"});
}

// ---- special files ----------------------------------------------------------------

// Runs compute_manifest in a child with a deadline; returns "code|message" or "ok".
ChildResult manifest_in_child(const std::string& model, const SerializationOptions& ser,
                              const HashingOptions& h = {}) {
  return run_in_child(
      [&](int fd) {
        auto m = compute_manifest(model, ser, h);
        write_all(fd, m ? std::string("ok") : std::string(to_string(m.error().code)) + "|" + m.error().message);
        return 0;
      },
      std::chrono::seconds(20));
}

TEST_F(Enumerate, FifoIsRejectedQuicklyNeverOpened) {
  write_file(model() / "f", "x");
  ASSERT_EQ(::mkfifo((model() / "pipe").c_str(), 0600), 0) << std::strerror(errno);
  // The child's deadline proves there is no hang; no wall-clock assertion on top.
  auto r = manifest_in_child(model_str(), {});
  ASSERT_FALSE(r.timed_out) << "hashing a model with a FIFO hung";
  EXPECT_EQ(r.exit_code, 0) << "signal " << r.term_signal;
  EXPECT_TRUE(r.output.starts_with("unsupported|Cannot use '" + (model() / "pipe").string() +
                                   "' as file or directory."))
      << r.output;
}

TEST_F(Enumerate, FifoBehindSymlinkIsRejectedQuickly) {
  write_file(model() / "f", "x");
  ASSERT_EQ(::mkfifo((tmp_ / "pipe").c_str(), 0600), 0) << std::strerror(errno);
  fs::create_symlink(tmp_ / "pipe", model() / "link");
  auto r = manifest_in_child(model_str(), with_symlinks(SymlinkPolicy::kFollowAnywhere));
  ASSERT_FALSE(r.timed_out) << "hashing a symlink to a FIFO hung";
  EXPECT_TRUE(r.output.starts_with("unsupported|Cannot use")) << r.output;
}

TEST_F(Enumerate, FileSwappedForFifoDuringHashingFailsQuickly) {
  write_file(model() / "a-big.bin", pattern_bytes(300000, 1));
  write_file(model() / "z-small.bin", "small");
  HashingOptions h;
  h.threads = 1;  // largest first: a-big.bin is hashed before z-small.bin
  h.read_buffer = 4096;
  std::string victim = (model() / "z-small.bin").string();
  hashing::ScopedAfterFirstChunk hook = [victim](const std::string& name) {
    if (name != "a-big.bin") return;
    ::unlink(victim.c_str());
    ::mkfifo(victim.c_str(), 0600);
  };
  auto r = manifest_in_child(model_str(), {}, h);
  ASSERT_FALSE(r.timed_out) << "opening a FIFO swapped in during hashing hung";
  EXPECT_TRUE(r.output.starts_with("file-changed|file changed while hashing: z-small.bin")) << r.output;
}

TEST_F(Enumerate, FifoInIgnoredPathIsSkipped) {
  write_file(model() / "f", "x");
  fs::create_directories(model() / "runtime");
  ASSERT_EQ(::mkfifo((model() / "runtime/pipe").c_str(), 0600), 0);
  SerializationOptions ser;
  ser.ignore_paths = {"runtime"};
  auto r = manifest_in_child(model_str(), ser);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "ok");
}

TEST_F(Enumerate, UnixSocketIsRejected) {
  write_file(model() / "f", "x");
  std::string path = (model() / "sock").string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) GTEST_SKIP() << "temp path too long for a socket";
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  ::close(s);
  auto m = compute_manifest(model_str(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(m.error().message.starts_with("Cannot use '" + path + "' as file or directory."))
      << m.error().message;
}

TEST_F(Enumerate, DeviceBehindSymlinkIsRejected) {
  write_file(model() / "f", "x");
  fs::create_symlink("/dev/null", model() / "null");
  auto m = compute_manifest(model_str(), with_symlinks(SymlinkPolicy::kFollowAnywhere));
  ASSERT_FALSE(m.has_value());
  EXPECT_TRUE(m.error().message.starts_with("Cannot use '" + (model() / "null").string() + "'"))
      << m.error().message;
}

TEST_F(Enumerate, NonUtf8NameIsRejected) {
  write_file(model() / "good", "x");
  write_file(model() / "bad\xff name", "y");
  auto m = compute_manifest(model_str(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(m.error().message.find("not valid UTF-8"), std::string::npos) << m.error().message;
}

TEST_F(Enumerate, NonUtf8DirectoryNameAndOverlongFormAreRejected) {
  write_file(model() / "d\xc0\xaf/f", "x");  // overlong '/'
  auto m = compute_manifest(model_str(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("not valid UTF-8"), std::string::npos) << m.error().message;
}

TEST_F(Enumerate, IgnoredNonUtf8NameIsSkipped) {
  write_file(model() / "good", "x");
  write_file(model() / "cache/bad\xfe", "y");
  SerializationOptions ser;
  ser.ignore_paths = {"cache"};
  auto m = compute_manifest(model_str(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), std::vector<std::string>{"good"});
}

// ---- permissions ------------------------------------------------------------------

// Root reads through any permission bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). Drop
// those capabilities in a child so the permission checks apply as to any user.
bool drop_dac_capabilities() {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  for (int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
    auto bit = static_cast<std::uint32_t>(1u << (cap % 32));
    data[cap / 32].effective &= ~bit;
    data[cap / 32].permitted &= ~bit;
  }
  return ::syscall(SYS_capset, &hdr, data) == 0;
}

// Runs compute_manifest as an unprivileged reader; exit 77 = capabilities not droppable.
ChildResult manifest_without_dac(const std::string& model) {
  return run_in_child(
      [&](int fd) {
        if (::geteuid() == 0 && !drop_dac_capabilities()) return 77;
        auto m = compute_manifest(model, {});
        write_all(fd, m ? std::string("ok") : std::string(to_string(m.error().code)) + "|" + m.error().message);
        return 0;
      },
      std::chrono::seconds(20));
}

TEST_F(Enumerate, UnreadableFileFailsWithItsName) {
  write_file(model() / "ok", "x");
  write_file(model() / "secret.bin", "y");
  fs::permissions(model() / "secret.bin", fs::perms::none);
  auto r = manifest_without_dac(model_str());
  if (r.exit_code == 77) GTEST_SKIP() << "running as root and cannot drop CAP_DAC_OVERRIDE here";
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.output.starts_with("io|")) << r.output;
  EXPECT_NE(r.output.find((model() / "secret.bin").string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;
}

TEST_F(Enumerate, UnreadableDirectoryFailsInsteadOfBeingSkipped) {
  write_file(model() / "ok", "x");
  write_file(model() / "locked/inner", "y");
  fs::permissions(model() / "locked", fs::perms::none);
  auto r = manifest_without_dac(model_str());
  if (r.exit_code == 77) GTEST_SKIP() << "running as root and cannot drop CAP_DAC_READ_SEARCH here";
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.output.starts_with("permission|cannot read directory '" + (model() / "locked").string()))
      << r.output;
}

// ---- empty models -----------------------------------------------------------------

TEST_F(Enumerate, EmptyDirectoryIsAnErrorUnlessAllowed) {
  fs::create_directories(model());
  auto m = compute_manifest(model_str(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kNotFound);
  EXPECT_NE(m.error().message.find("no file to sign"), std::string::npos) << m.error().message;

  HashingOptions h;
  h.allow_empty_model = true;
  auto allowed = compute_manifest(model_str(), {}, h);
  ASSERT_TRUE(allowed.has_value()) << allowed.error().message;
  EXPECT_TRUE(allowed->resources.empty());
  EXPECT_EQ(root_hex(*allowed), ref_digest_hex(""));
}

TEST_F(Enumerate, ModelWithOnlyIgnoredFilesIsEmpty) {
  write_file(model() / ".git/HEAD", "ref");
  write_file(model() / ".gitignore", "*.o");
  write_file(model() / "model.sig", "{}");
  fs::create_directories(model() / "empty-subdir");
  SerializationOptions ser;
  ser.ignore_paths = {"model.sig"};
  auto m = compute_manifest(model_str(), ser);
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("no file to sign"), std::string::npos) << m.error().message;
}

TEST_F(Enumerate, MissingModelPathFails) {
  auto m = compute_manifest((tmp_ / "nope").string(), {});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kNotFound);
}

// ---- ignore paths -----------------------------------------------------------------

TEST_F(Enumerate, NestedIgnoreRemovesSubtreeOnlyAtComponentBoundary) {
  write_file(model() / "sub/dir/x", "1");
  write_file(model() / "sub/dir/y/z", "2");
  write_file(model() / "sub/dirx", "3");
  write_file(model() / "sub/other", "4");
  SerializationOptions ser;
  ser.ignore_paths = {"sub/dir"};
  auto m = compute_manifest(model_str(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{"sub/dirx", "sub/other"}));
}

TEST_F(Enumerate, IgnoringGitignoreKeepsGitignoreBackup) {
  write_file(model() / ".gitignore", "a");
  write_file(model() / ".gitignore_backup", "b");
  write_file(model() / ".github_pages/index", "c");
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{".github_pages/index", ".gitignore_backup"}));
}

TEST_F(Enumerate, GitDefaultsApplyAtTheRootOnly) {
  for (const char* p : {".git/HEAD", ".gitattributes", ".github/workflows/ci.yml", ".gitignore",
                        "sub/.git/HEAD", "sub/.gitattributes", "sub/.github/x", "sub/.gitignore",
                        "weights.bin"})
    write_file(model() / p, p);
  auto m = compute_manifest(model_str(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), (std::vector<std::string>{"sub/.git/HEAD", "sub/.gitattributes",
                                                    "sub/.github/x", "sub/.gitignore", "weights.bin"}));
  EXPECT_EQ(m->serialization.ignore_paths,
            (std::vector<std::string>{".git", ".gitattributes", ".github", ".gitignore"}));

  SerializationOptions no_git;
  no_git.ignore_git_paths = false;
  auto all = compute_manifest(model_str(), no_git);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  EXPECT_EQ(all->resources.size(), 9u);
  EXPECT_TRUE(all->serialization.ignore_paths.empty());
}

TEST_F(Enumerate, ResolveIgnorePathRelativeToCwdAndAbsolute) {
  write_file(model() / "weights.bin", "w");
  write_file(model() / "sub/cache.bin", "c");
  write_file(tmp_ / "elsewhere.bin", "e");
  ScopedCwd cwd(tmp_.path());
  EXPECT_EQ(resolve_ignore_path("model/weights.bin", "model"), "weights.bin");
  EXPECT_EQ(resolve_ignore_path("./model/sub/../sub/cache.bin", "model/"), "sub/cache.bin");
  EXPECT_EQ(resolve_ignore_path((tmp_ / "model/sub").string(), "model"), "sub");
  EXPECT_EQ(resolve_ignore_path("model/not-created-yet.sig", "model"), "not-created-yet.sig");
  // Outside the model (or the model itself): dropped.
  EXPECT_EQ(resolve_ignore_path("elsewhere.bin", "model"), std::nullopt);
  EXPECT_EQ(resolve_ignore_path((tmp_ / "elsewhere.bin").string(), "model"), std::nullopt);
  EXPECT_EQ(resolve_ignore_path("model", "model"), std::nullopt);
  EXPECT_EQ(resolve_ignore_path("model-other/x", "model"), std::nullopt);
  {
    ScopedCwd inner(tmp_ / "model/sub");
    EXPECT_EQ(resolve_ignore_path("cache.bin", ".."), "sub/cache.bin");
    EXPECT_EQ(resolve_ignore_path("../weights.bin", ".."), "weights.bin");
  }
  // realpath semantics: a symlinked ignore path resolves to its target (spec §2.11 quirk).
  fs::create_symlink("weights.bin", tmp_ / "model/w-link");
  EXPECT_EQ(resolve_ignore_path("model/w-link", "model"), "weights.bin");
}

TEST_F(Enumerate, CwdRelativeIgnoreExcludesTheFileFromTheManifest) {
  write_file(model() / "weights.bin", "w");
  write_file(model() / "model.sig", "s");
  ScopedCwd cwd(tmp_.path());
  SerializationOptions ser;
  auto r = resolve_ignore_path("model/model.sig", "model");
  ASSERT_TRUE(r.has_value());
  ser.ignore_paths.push_back(*r);
  auto m = compute_manifest("model", ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), std::vector<std::string>{"weights.bin"});
}

TEST_F(Enumerate, OutsideModelIgnoreEntriesAreDroppedFromTheRecordedSet) {
  SerializationOptions ser;
  ser.ignore_paths = {"../outside", "..", "./inside/x", "inside/x", "."};
  auto set = effective_ignore_set(ser);
  EXPECT_EQ(set, (std::vector<std::string>{".git", ".gitattributes", ".github", ".gitignore",
                                           "inside/x"}));
}

// ---- model names (spec §2.12) -----------------------------------------------------

TEST_F(Enumerate, ModelNameRules) {
  write_file(model() / "sub/weights.bin", "w");
  ScopedCwd cwd(tmp_.path());
  EXPECT_EQ(model_name_for("model"), "model");
  EXPECT_EQ(model_name_for("model/"), "model");
  EXPECT_EQ(model_name_for("model///"), "model");
  EXPECT_EQ(model_name_for("./model/"), "model");
  EXPECT_EQ(model_name_for("model/sub/.."), "model");
  EXPECT_EQ(model_name_for((tmp_ / "model").string()), "model");
  EXPECT_EQ(model_name_for("model/sub/weights.bin"), "weights.bin");
  // Spec §2.12: "/" has no name upstream (the key is then omitted and model_signing's
  // verifier fails); modelsign must emit a non-empty one, and emits "model".
  EXPECT_EQ(model_name_for("/"), "model");
  {
    ScopedCwd in_model(tmp_ / "model");
    EXPECT_EQ(model_name_for("."), "model");
    EXPECT_EQ(model_name_for("./"), "model");
  }
  {
    ScopedCwd in_sub(tmp_ / "model/sub");
    EXPECT_EQ(model_name_for(".."), "model");
  }
}

TEST_F(Enumerate, TrailingSlashDotAndDotDotGiveTheSameManifest) {
  write_file(model() / "sub/weights.bin", "w");
  write_file(model() / "config.json", "{}");
  ScopedCwd cwd(tmp_.path());
  auto plain = compute_manifest("model", {});
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  for (std::string path : {"model/", "./model//", "model/sub/.."}) {
    auto m = compute_manifest(path, {});
    ASSERT_TRUE(m.has_value()) << path << ": " << m.error().message;
    EXPECT_EQ(names_of(*m), names_of(*plain)) << path;
    EXPECT_EQ(root_hex(*m), root_hex(*plain)) << path;
    EXPECT_EQ(m->model_name, "model") << path;
  }
  ScopedCwd in_model(tmp_ / "model");
  auto dot = compute_manifest(".", {});
  ASSERT_TRUE(dot.has_value()) << dot.error().message;
  EXPECT_EQ(names_of(*dot), names_of(*plain));
  EXPECT_EQ(dot->model_name, "model");
}

TEST_F(Enumerate, SingleFileModelIsNamedDotAndAfterTheFile) {
  write_file(tmp_ / "weights.safetensors", "tensor bytes");
  auto m = compute_manifest((tmp_ / "weights.safetensors").string(), {});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(names_of(*m), std::vector<std::string>{"."});
  EXPECT_EQ(m->model_name, "weights.safetensors");
  EXPECT_EQ(to_hex(m->resources[0].digest), ref_digest_hex("tensor bytes"));
}


// ---- no symlinked directory on a listed path (open_beneath) ------------------------

HashingOptions only(std::vector<std::string> paths) {
  HashingOptions h;
  h.only_paths = std::move(paths);
  h.allow_empty_model = true;
  return h;
}

// Issue: with --ignore-unsigned-files only the last component was opened with
// O_NOFOLLOW; `sub` replaced by a link to an outside copy verified.
TEST_F(Enumerate, ListedPathThroughSymlinkedDirectoryIsRefused) {
  write_file(tmp_ / "outside/sub/w.bin", "weights");
  write_file(model() / "a.bin", "a");
  fs::create_directory_symlink(tmp_ / "outside/sub", model() / "sub");
  for (auto p : {SymlinkPolicy::kReject, SymlinkPolicy::kFollowInRoot, SymlinkPolicy::kFollowAnywhere}) {
    auto m = compute_manifest(model_str(), with_symlinks(p), only({"a.bin", "sub/w.bin"}));
    ASSERT_FALSE(m.has_value()) << "policy " << static_cast<int>(p);
    EXPECT_NE(m.error().message.find("a directory on its path is a symlink"), std::string::npos)
        << m.error().message;
  }
}

TEST_F(Enumerate, ListedPathsThroughRealDirectoriesHashAsAWalkDoes) {
  write_file(model() / "a/b/c.bin", "deep");
  write_file(model() / "top.bin", "top");
  auto walk = compute_manifest(model_str(), {});
  auto listed = compute_manifest(model_str(), {}, only({"a/b/c.bin", "top.bin", "gone.bin"}));
  ASSERT_TRUE(walk.has_value()) << walk.error().message;
  ASSERT_TRUE(listed.has_value()) << listed.error().message;
  EXPECT_EQ(to_hex(walk->root_digest()), to_hex(listed->root_digest()));
}

// Both implementations, each on its own: the kernel's openat2 and the per-component
// fallback used where openat2 is missing or filtered.
TEST_F(Enumerate, OpenBeneathRefusesSymlinksOnThePathInBothImplementations) {
  write_file(model() / "d/f", "x");
  write_file(tmp_ / "outside/f", "x");
  fs::create_directory_symlink(tmp_ / "outside", model() / "dlink");
  fs::create_directory_symlink("d", model() / "inner");
  fs::create_symlink("d/f", model() / "flink");
  hashing::UniqueFd root(::open(model_str().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  using Fn = int (*)(int, std::string_view, int, bool);
  std::vector<std::pair<const char*, Fn>> impls = {{"openat2", &hashing::open_beneath_openat2},
                                                   {"walk", &hashing::open_beneath_walk}};
  for (auto [what, open_fn] : impls) {
    SCOPED_TRACE(what);
    int ok = open_fn(root.get(), "d/f", O_RDONLY, false);
    if (ok == -ENOSYS) {
      ASSERT_STREQ(what, "openat2");
      continue;  // kernel without openat2: the fallback is what runs
    }
    ASSERT_GE(ok, 0) << std::strerror(-ok);
    ::close(ok);
    EXPECT_EQ(open_fn(root.get(), "dlink/f", O_RDONLY, false), -ELOOP);
    EXPECT_EQ(open_fn(root.get(), "dlink/f", O_RDONLY, true), -ELOOP);
    EXPECT_EQ(open_fn(root.get(), "inner/f", O_RDONLY, true), -ELOOP);  // inside, still a link
    EXPECT_EQ(open_fn(root.get(), "flink", O_RDONLY, false), -ELOOP);
    int followed = open_fn(root.get(), "flink", O_RDONLY, true);  // allowed last component
    EXPECT_GE(followed, 0) << std::strerror(-followed);
    if (followed >= 0) ::close(followed);
    EXPECT_EQ(open_fn(root.get(), "flink", O_PATH, false), -ELOOP);
    int link_itself = open_fn(root.get(), "flink", O_PATH | O_NOFOLLOW, false);
    EXPECT_GE(link_itself, 0) << std::strerror(-link_itself);
    if (link_itself >= 0) ::close(link_itself);
    EXPECT_EQ(open_fn(root.get(), "dlink", O_PATH | O_DIRECTORY, false), -ELOOP);
    EXPECT_EQ(open_fn(root.get(), "d/../d/f", O_RDONLY, false), -EINVAL);
    EXPECT_EQ(open_fn(root.get(), "d/f/", O_RDONLY, false), -EINVAL);
    EXPECT_EQ(open_fn(root.get(), "/etc/passwd", O_RDONLY, false), -EINVAL);
    EXPECT_EQ(open_fn(root.get(), "d/missing", O_RDONLY, false), -ENOENT);
  }
}

// Where a seccomp policy refuses openat2 (ENOSYS or EPERM, as container runtimes do),
// open_beneath falls back and still refuses symlinked directories.
TEST_F(Enumerate, OpenBeneathFallsBackWhenSeccompRefusesOpenat2) {
  write_file(model() / "a.bin", "a");
  write_file(model() / "d/b.bin", "b");
  write_file(tmp_ / "outside/w.bin", "w");
  fs::create_directory_symlink(tmp_ / "outside", model() / "sub");
  auto reference = compute_manifest(model_str(), {}, only({"a.bin", "d/b.bin"}));
  ASSERT_TRUE(reference.has_value()) << reference.error().message;
  std::string want = to_hex(reference->root_digest());
  for (int err : {ENOSYS, EPERM}) {
    auto r = run_in_child(
        [&](int fd) {
          if (!deny_syscall(SYS_openat2, err)) return 77;
          hashing::UniqueFd root(::open(model_str().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
          std::string out = fmt::format("direct={};", hashing::open_beneath_openat2(root.get(), "a.bin", O_RDONLY, false));
          auto m = compute_manifest(model_str(), {}, only({"a.bin", "d/b.bin"}));
          out += m ? "root=" + to_hex(m->root_digest()) + ";" : "error=" + m.error().message + ";";
          auto bad = compute_manifest(model_str(), {}, only({"a.bin", "sub/w.bin"}));
          out += bad ? std::string("linked=ok") : "linked=" + bad.error().message;
          write_all(fd, out);
          return 0;
        },
        std::chrono::seconds(20));
    ASSERT_FALSE(r.timed_out);
    if (r.exit_code == 77) GTEST_SKIP() << "seccomp filters cannot be installed here";
    ASSERT_EQ(r.exit_code, 0) << "signal " << r.term_signal;
    EXPECT_NE(r.output.find(fmt::format("direct={};", -err)), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("root=" + want + ";"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("linked=Cannot use"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("a directory on its path is a symlink"), std::string::npos) << r.output;
  }
}

// Signing too: a directory swapped for a symlink while the model is hashed is not
// followed, even to the very same file (a hard link keeps inode and mtime equal, so
// only the path check can see it).
TEST_F(Enumerate, HashingNeverFollowsADirectorySwappedForASymlink) {
  write_file(model() / "a-big.bin", pattern_bytes(300000, 1));
  write_file(model() / "sub/z.bin", "small");
  fs::create_directories(tmp_ / "outside");
  fs::create_hard_link(model() / "sub/z.bin", tmp_ / "outside/z.bin");
  HashingOptions h;
  h.threads = 1;  // largest first: a-big.bin is hashed before sub/z.bin
  h.read_buffer = 4096;
  std::string sub = (model() / "sub").string(), moved = (tmp_ / "sub.old").string();
  std::string outside = (tmp_ / "outside").string();
  hashing::ScopedAfterFirstChunk hook = [=](const std::string& name) {
    if (name != "a-big.bin") return;
    ::rename(sub.c_str(), moved.c_str());
    ::symlink(outside.c_str(), sub.c_str());
  };
  auto r = manifest_in_child(model_str(), {}, h);
  ASSERT_FALSE(r.timed_out);
  EXPECT_TRUE(r.output.starts_with("file-changed|file changed while hashing: sub/z.bin")) << r.output;
}

// ---- directory read errors -----------------------------------------------------------

// Issue: readdir's errno was never checked, so a listing cut short by an I/O error
// was signed as the whole model. Root reads through permission bits, so the error is
// injected with a seccomp filter that fails getdents64 with EIO in a child.
TEST_F(Enumerate, DirectoryReadErrorFailsInsteadOfSigningAPartialListing) {
  write_file(model() / "a.bin", "a");
  write_file(model() / "sub/b.bin", "b");
  auto r = run_in_child(
      [&](int fd) {
        if (!deny_syscall(SYS_getdents64, EIO)) return 77;
        auto m = compute_manifest(model_str(), {});
        write_all(fd, m ? std::string("ok") : std::string(to_string(m.error().code)) + "|" + m.error().message);
        return 0;
      },
      std::chrono::seconds(20));
  ASSERT_FALSE(r.timed_out);
  if (r.exit_code == 77) GTEST_SKIP() << "seccomp filters cannot be installed here";
  ASSERT_EQ(r.exit_code, 0) << "signal " << r.term_signal;
  EXPECT_TRUE(r.output.starts_with("io|cannot list directory '" + model_str() + "'")) << r.output;
  EXPECT_NE(r.output.find("Input/output error"), std::string::npos) << r.output;
}

TEST_F(Enumerate, ListPresentReportsReadErrorsToo) {
  write_file(model() / ".git/config", "x");
  auto r = run_in_child(
      [&](int fd) {
        if (!deny_syscall(SYS_getdents64, EIO)) return 77;
        auto l = hashing::list_present(model_str(), ".git", {});
        write_all(fd, l ? std::string("ok") : l.error().message);
        return 0;
      },
      std::chrono::seconds(20));
  ASSERT_FALSE(r.timed_out);
  if (r.exit_code == 77) GTEST_SKIP() << "seccomp filters cannot be installed here";
  EXPECT_TRUE(r.output.starts_with("cannot list directory")) << r.output;
}

// ---- size as stat reports it -------------------------------------------------------------

// Issue: files were hashed up to their stat size; /proc/self/status (size 0) signed
// as an empty file.
TEST_F(Enumerate, ProcfsFileReportingSizeZeroIsRefusedNotHashedAsEmpty) {
  for (auto method : {Method::kFiles, Method::kShards}) {
    SerializationOptions s;
    s.method = method;
    auto m = compute_manifest("/proc/self/status", s);
    ASSERT_FALSE(m.has_value()) << to_hex(m->root_digest());
    EXPECT_NE(m.error().message.find("reports a size of 0 bytes but has content"), std::string::npos)
        << m.error().message;
  }
}

// The hasher itself checks that the file ends where its size said, whatever the
// enumeration saw.
TEST_F(Enumerate, HasherRefusesAFileHoldingMoreThanItsSize) {
  hashing::FileEntry e;  // as the enumeration would list it, bypassing its own check
  e.name = ".";
  const std::string path = "/proc/self/status";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_EQ(st.st_size, 0) << "procfs reports a size here; the premise of this test is gone";
  e.size = 0;
  e.dev = st.st_dev;
  e.ino = st.st_ino;
  e.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  auto r = hashing::hash_units(path, {e}, {{0, 0, 0}}, HashAlgorithm::kSha256, {});
  ASSERT_FALSE(r.has_value()) << "hashed as " << to_hex(r->front());
  EXPECT_NE(r.error().message.find("holds more than the 0 bytes its size says"), std::string::npos)
      << r.error().message;
}

// ---- files under ignored paths -----------------------------------------------------

TEST_F(Enumerate, ListPresentNamesEveryEntryWithoutFollowingLinks) {
  write_file(model() / ".git/objects/ab/cdef", "o");
  write_file(model() / ".git/HEAD", "ref");
  write_file(tmp_ / "outside/secret", "s");
  fs::create_directory_symlink(tmp_ / "outside", model() / ".git/linked");
  ASSERT_EQ(::mkfifo((model() / ".git/fifo").c_str(), 0600), 0);
  write_file(model() / "keep.bin", "k");
  auto l = hashing::list_present(model_str(), ".git", {".git/HEAD"});
  ASSERT_TRUE(l.has_value()) << l.error().message;
  EXPECT_EQ(*l, (std::vector<std::string>{".git/fifo", ".git/linked", ".git/objects/ab/cdef"}));
  auto file = hashing::list_present(model_str(), "keep.bin", {});
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(*file, std::vector<std::string>{"keep.bin"});
  fs::create_symlink("keep.bin", model() / ".gitignore");
  auto link = hashing::list_present(model_str(), ".gitignore", {});
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(*link, std::vector<std::string>{".gitignore"});
  auto none = hashing::list_present(model_str(), "absent", {});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

// ---- the walk on several threads ------------------------------------------------------

// A tree that gives every worker something to do: 60 directories two levels deep, one
// directory whose listing spans several batches, and ignored paths among them.
void write_wide_tree(const fs::path& root) {
  for (int d = 0; d < 60; ++d)
    for (int f = 0; f < 3; ++f)
      write_file(root / fmt::format("d{:02}/sub{}/f{}.bin", d, d % 4, f), fmt::format("{}-{}", d, f));
  for (int f = 0; f < 1100; ++f) write_file(root / "flat" / fmt::format("n{:04}", f), std::to_string(f));
  write_file(root / "flat/skip-me/x", "ignored");
  write_file(root / "d07/sub3/ignored.bin", "ignored");
}

std::vector<std::string> listed_names(const std::vector<hashing::FileEntry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(fmt::format("{} {} {}", e.name, e.size, e.ino));
  return out;
}

TEST_F(Enumerate, ParallelWalkListsExactlyWhatOneThreadLists) {
  write_wide_tree(model());
  const std::vector<std::string> ignores = {"flat/skip-me", "d07/sub3/ignored.bin"};
  auto one = hashing::enumerate_model(model_str(), ignores, SymlinkPolicy::kReject, 1);
  ASSERT_TRUE(one.has_value()) << one.error().message;
  ASSERT_EQ(one->size(), 60u * 3 + 1100);
  for (unsigned threads : {2u, 3u, 8u}) {
    auto many = hashing::enumerate_model(model_str(), ignores, SymlinkPolicy::kReject, threads);
    ASSERT_TRUE(many.has_value()) << many.error().message;
    EXPECT_EQ(listed_names(*many), listed_names(*one)) << threads << " threads";
  }
}

TEST_F(Enumerate, ParallelWalkKeepsFewDirectoriesOpen) {
  // 400 directories, and at most 64 descriptors: a walk that queued every directory it
  // found (each one open) would fail with EMFILE.
  for (int d = 0; d < 400; ++d) write_file(model() / fmt::format("dir{:03}/w.bin", d), "w");
  auto r = run_in_child(
      [&](int fd) {
        rlimit lim{64, 64};
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return 77;
        auto files = hashing::enumerate_model(model_str(), {}, SymlinkPolicy::kReject, 4);
        write_all(fd, files ? std::to_string(files->size()) : "error: " + files.error().message);
        return 0;
      },
      std::chrono::seconds(30));
  if (r.exit_code == 77) GTEST_SKIP() << "cannot lower RLIMIT_NOFILE here";
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "400");
}

TEST_F(Enumerate, ParallelWalkRefusesABadEntryInAnyBatchOrDirectory) {
  write_wide_tree(model());
  // The last batch of the long listing, and a directory deep in the tree.
  write_file(model() / "flat" / "zz\xff.bin", "bad name");
  ASSERT_EQ(::mkfifo((model() / "d59/sub3/pipe").c_str(), 0600), 0);
  for (unsigned threads : {1u, 2u, 8u}) {
    auto files = hashing::enumerate_model(model_str(), {}, SymlinkPolicy::kReject, threads);
    ASSERT_FALSE(files.has_value()) << threads << " threads";
    const std::string& msg = files.error().message;
    EXPECT_TRUE(msg.find("not valid UTF-8") != std::string::npos || msg.find("d59/sub3/pipe") != std::string::npos)
        << msg;
  }
  // Each alone is found by every thread count.
  fs::remove(model() / "d59/sub3/pipe");
  for (unsigned threads : {1u, 2u, 8u}) {
    auto files = hashing::enumerate_model(model_str(), {}, SymlinkPolicy::kReject, threads);
    ASSERT_FALSE(files.has_value());
    EXPECT_NE(files.error().message.find("not valid UTF-8"), std::string::npos) << files.error().message;
  }
  fs::remove(model() / "flat" / "zz\xff.bin");
  ASSERT_EQ(::mkfifo((model() / "d59/sub3/pipe").c_str(), 0600), 0);
  for (unsigned threads : {1u, 2u, 8u}) {
    auto files = hashing::enumerate_model(model_str(), {}, SymlinkPolicy::kReject, threads);
    ASSERT_FALSE(files.has_value());
    EXPECT_NE(files.error().message.find("d59/sub3/pipe"), std::string::npos) << files.error().message;
  }
}

}  // namespace
}  // namespace modelsign::testing
