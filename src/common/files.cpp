#include "common/files.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace modelsign {

Result<void> write_new_file(const std::string& path, std::string_view data, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  static_cast<mode_t>(mode));
  if (fd < 0) {
    if (errno == EEXIST)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("refusing to overwrite the existing file '{}'; choose another path or "
                              "remove it first",
                              path));
    return fail(ErrorCode::kIo, fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  }
  int err = 0;
  for (std::size_t done = 0; done < data.size() && err == 0;) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(path.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  return {};
}

Result<std::string> read_file(const std::string& path, std::string_view what, std::size_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail(ErrorCode::kNotFound,
                fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  std::string out;
  char buf[65536];
  int err = 0;
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_size) {
      ::close(fd);
      return fail(ErrorCode::kMalformed,
                  fmt::format("{} '{}' is larger than {} bytes", what, path, max_size));
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (err != 0)
    return fail(ErrorCode::kIo, fmt::format("cannot read {} '{}': {}", what, path, std::strerror(err)));
  return out;
}

std::expected<SecretString, SecretReadError> read_secret_fd(int fd, std::size_t max_size) {
  SecretString out;
  char buf[4096];
  SecretReadError error;
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error.err = errno;
      break;
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_size) {
      error.too_large = true;
      break;
    }
    out.append(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  if (error.err != 0 || error.too_large) return std::unexpected(error);
  return out;
}

}  // namespace modelsign
