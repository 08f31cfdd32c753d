#include "tuf/fetcher.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "tuf/errors.h"

namespace modelsign::tuf {

bool is_safe_relative_path(std::string_view path) {
  if (path.empty() || path.size() > 1024 || path.front() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  for (char c : path)
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f) return false;
  return true;
}

Result<std::string> DirectoryFetcher::fetch(std::string_view path, std::size_t max_bytes) {
  if (!is_safe_relative_path(path))
    return tuf_fail(Failure::kMalformed, ErrorCode::kInvalidArgument,
                    fmt::format("refusing repository path '{}'", path.substr(0, 200)));
  const auto full = root_ / std::string(path);
  int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return tuf_fail(Failure::kNotFound, ErrorCode::kNotFound, fmt::format("{} does not exist", full.string()));
    return tuf_fail(Failure::kFetch, ErrorCode::kIo,
                    fmt::format("cannot open {}: {}", full.string(), std::strerror(err)));
  }
  std::string out;
  char buf[65536];
  Result<std::string> result;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = tuf_fail(Failure::kFetch, ErrorCode::kIo,
                        fmt::format("cannot read {}: {}", full.string(), std::strerror(errno)));
      break;
    }
    if (n == 0) {
      result = std::move(out);
      break;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      result = tuf_fail(Failure::kTooLarge, ErrorCode::kMalformed,
                        fmt::format("{} exceeds the limit of {} bytes for this file; refusing endless data",
                                    path, max_bytes));
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return result;
}

}  // namespace modelsign::tuf
