// Where TUF files come from. The client logic only sees this interface, so it runs
// against a directory in tests and air-gapped copies, and over HTTP (http_fetcher.h,
// a separate library) in production.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::tuf {

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Returns the file at `path` (relative to the repository root, '/'-separated). Fails
  // with Failure::kNotFound when the repository has no such file and Failure::kTooLarge
  // as soon as more than `max_bytes` arrive.
  virtual Result<std::string> fetch(std::string_view path, std::size_t max_bytes) = 0;
};

// A repository laid out in a local directory (consistent-snapshot file names).
class DirectoryFetcher : public Fetcher {
 public:
  explicit DirectoryFetcher(std::filesystem::path root) : root_(std::move(root)) {}
  Result<std::string> fetch(std::string_view path, std::size_t max_bytes) override;

 private:
  std::filesystem::path root_;
};

// Whether `path` is a safe relative repository path: no empty, "." or ".." component, no
// leading '/', no backslash or control character.
bool is_safe_relative_path(std::string_view path);

}  // namespace modelsign::tuf
