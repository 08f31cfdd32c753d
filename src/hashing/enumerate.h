// Walks a model and lists the files that enter its manifest (spec §2.2).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modelsign/error.h"
#include "modelsign/manifest.h"

namespace modelsign::hashing {

// A file's modification time in nanoseconds: recorded at enumeration, compared after hashing.
inline std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

struct FileEntry {
  std::string name;  // resource path relative to the model root ("." for a file model)
  bool via_symlink = false;
  std::uint64_t size = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  std::int64_t mtime_ns = 0;
};

// The path of a listed file as it is opened and shown in messages: the model path
// (without trailing slashes) and the file's name, or the model path itself for a
// single-file model. (Built when needed, not held per file: a model may list millions.)
std::string display_path(std::string_view model_path, const FileEntry& f);

// Enumerate `model_path` on `threads` threads; `ignores` are model-relative paths. Result
// is sorted component-wise by name and does not depend on `threads`. When several
// entries are refused, which one is reported may vary between runs with threads > 1.
Result<std::vector<FileEntry>> enumerate_model(const std::string& model_path,
                                               const std::vector<std::string>& ignores,
                                               SymlinkPolicy symlinks, unsigned threads = 1);

// Stat the listed model-relative paths only (--ignore-unsigned-files).
Result<std::vector<FileEntry>> enumerate_listed(const std::string& model_path,
                                                const std::vector<std::string>& paths,
                                                const std::vector<std::string>& ignores,
                                                SymlinkPolicy symlinks);

bool is_valid_utf8(std::string_view s);

// An owned file descriptor (-1 when empty).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Open the model-relative path `rel` beneath the directory `root_fd` without following a
// symlink in any directory on the way, and never leaving the root: a swapped-in link to
// an outside directory cannot redirect the open. The last component is followed only
// when `follow_last` (a file symlink allowed by the policy). Returns a descriptor or
// -errno: -ELOOP when a symlink stands where none may, -EINVAL for "", "." or ".."
// components. Uses openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) and falls back to
// opening one component at a time when the kernel (or a seccomp filter) refuses it.
int open_beneath(int root_fd, std::string_view rel, int flags, bool follow_last);
// The two implementations, for tests. open_beneath_openat2 returns -ENOSYS or -EPERM
// when openat2 is unavailable.
int open_beneath_openat2(int root_fd, std::string_view rel, int flags, bool follow_last);
int open_beneath_walk(int root_fd, std::string_view rel, int flags, bool follow_last);

// Every non-directory entry (files, symlinks, special files) at or under the
// model-relative path `rel` ("" = the whole model), as model-relative names, without
// following symlinks and without hashing. Entries at or under a path in `skip` are left
// out. A missing `rel` gives an empty list; an unreadable directory is an error.
Result<std::vector<std::string>> list_present(const std::string& model_path, const std::string& rel,
                                              const std::vector<std::string>& skip);

// Whether `path` equals one of `prefixes` or lies under one (component-wise).
bool under_any(std::string_view path, const std::vector<std::string>& prefixes);
std::vector<std::string> split_components(std::string_view path);

}  // namespace modelsign::hashing
