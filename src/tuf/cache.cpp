#include "tuf/cache.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "tuf/errors.h"
#include "tuf/fetcher.h"

namespace modelsign::tuf {

namespace {

std::unexpected<Error> cache_fail(std::string msg) {
  return tuf_fail(Failure::kCache, ErrorCode::kIo, std::move(msg));
}

Result<void> write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return cache_fail(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Result<Cache> Cache::open(std::filesystem::path dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return cache_fail(fmt::format("cannot create the TUF cache directory {}: {}; set XDG_CACHE_HOME to a "
                                  "writable directory",
                                  dir.string(), ec.message()));
  ::chmod(dir.c_str(), 0700);
  std::filesystem::create_directories(dir / "targets", ec);
  if (ec) return cache_fail(fmt::format("cannot create {}: {}", (dir / "targets").string(), ec.message()));
  return Cache(std::move(dir));
}

Result<std::optional<std::string>> Cache::read(std::string_view name, std::size_t max_bytes) const {
  DirectoryFetcher f(dir_);
  auto r = f.fetch(name, max_bytes);
  if (r) return std::optional<std::string>(std::move(*r));
  if (is_failure(r.error(), Failure::kNotFound)) return std::optional<std::string>();
  return std::unexpected(r.error().with_context("reading the TUF cache"));
}

Result<void> Cache::write(std::string_view name, std::string_view bytes) const {
  if (!is_safe_relative_path(name)) return cache_fail(fmt::format("refusing cache file name '{}'", name));
  const auto target = dir_ / std::string(name);
  std::random_device rd;
  const auto tmp = target.string() + fmt::format(".tmp.{}.{:x}", ::getpid(), rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return cache_fail(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  auto w = write_all(fd, bytes, tmp);
  if (w && ::fsync(fd) != 0) w = cache_fail(fmt::format("cannot flush {}: {}", tmp, std::strerror(errno)));
  ::close(fd);
  if (w && ::rename(tmp.c_str(), target.c_str()) != 0)
    w = cache_fail(fmt::format("cannot rename {} to {}: {}", tmp, target.string(), std::strerror(errno)));
  if (!w) {
    ::unlink(tmp.c_str());
    return w;
  }
  // Make the rename itself durable.
  int dfd = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

void Cache::remove(std::string_view name) const {
  if (!is_safe_relative_path(name)) return;
  ::unlink((dir_ / std::string(name)).c_str());
}

Result<CacheLock> CacheLock::acquire(const std::filesystem::path& dir, std::chrono::milliseconds timeout,
                                     bool exclusive) {
  const auto path = dir / ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && !exclusive) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && (errno == ENOENT || errno == EACCES || errno == EROFS)) return CacheLock(-1);
  }
  if (fd < 0) return cache_fail(fmt::format("cannot open the cache lock {}: {}", path.string(), std::strerror(errno)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return CacheLock(fd);
    if (errno != EWOULDBLOCK && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return cache_fail(fmt::format("another modelsign process has held the TUF cache lock {} for more than "
                                    "{} s; wait for it to finish, or remove the lock file if no modelsign "
                                    "process is running",
                                    path.string(), timeout.count() / 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int err = errno;
  ::close(fd);
  return cache_fail(fmt::format("cannot lock {}: {}", path.string(), std::strerror(err)));
}

CacheLock::~CacheLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Result<std::filesystem::path> default_cache_base() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::filesystem::path(xdg) / "modelsign" / "tuf";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::filesystem::path(home) / ".cache" / "modelsign" / "tuf";
  return cache_fail("neither XDG_CACHE_HOME nor HOME names an absolute directory; set XDG_CACHE_HOME to "
                    "where modelsign may keep its TUF cache");
}

std::string repository_dir_name(std::string_view url) {
  if (auto p = url.find("://"); p != std::string_view::npos) url.remove_prefix(p + 3);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  std::string out;
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
      out.push_back(ch);
    else
      out += fmt::format("%{:02X}", c);
  }
  if (out.empty() || out == "." || out == "..") out = "default";
  return out.substr(0, 200);
}

}  // namespace modelsign::tuf
