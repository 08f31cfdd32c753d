// The client's trusted local state: one directory per repository, files replaced
// atomically (write, fsync, rename), and an advisory lock so that concurrent modelsign
// processes updating the same cache take turns.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::tuf {

class Cache {
 public:
  // Creates the directory (mode 0700) when missing.
  static Result<Cache> open(std::filesystem::path dir);
  const std::filesystem::path& dir() const { return dir_; }
  // nullopt when the file does not exist; kTooLarge past max_bytes.
  Result<std::optional<std::string>> read(std::string_view name, std::size_t max_bytes) const;
  Result<void> write(std::string_view name, std::string_view bytes) const;
  void remove(std::string_view name) const;

 private:
  explicit Cache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

// A flock(2) on <dir>/.lock, released on destruction (or process exit): exclusive for a
// refresh, shared for reading the cache (a read-only copy without a lock file is read
// unlocked).
class CacheLock {
 public:
  static Result<CacheLock> acquire(const std::filesystem::path& dir, std::chrono::milliseconds timeout,
                                   bool exclusive = true);
  CacheLock(CacheLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  CacheLock& operator=(CacheLock&&) = delete;
  CacheLock(const CacheLock&) = delete;
  ~CacheLock();

 private:
  explicit CacheLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// $XDG_CACHE_HOME/modelsign/tuf, else $HOME/.cache/modelsign/tuf.
Result<std::filesystem::path> default_cache_base();
// A directory name for a repository URL: scheme dropped, every byte outside
// [A-Za-z0-9.-] percent-encoded ("tuf-repo-cdn.sigstore.dev", "127.0.0.1%3A8080%2Frepo").
std::string repository_dir_name(std::string_view url);

}  // namespace modelsign::tuf
