// The hashing pipeline: a pool of worker threads over work units (files or shards).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hashing/enumerate.h"
#include "modelsign/manifest.h"

namespace modelsign::hashing {

struct WorkUnit {
  size_t file = 0;  // index into the file list
  std::uint64_t start = 0, end = 0;
};

// Hash every unit; result[i] is the digest of units[i]. The result never depends on
// the number of threads. Files of a directory model (`model_path`) are opened by name
// beneath it (open_beneath), so no directory on their path can be a symlink.
Result<std::vector<Bytes>> hash_units(const std::string& model_path, const std::vector<FileEntry>& files,
                                      const std::vector<WorkUnit>& units, HashAlgorithm hash,
                                      const HashingOptions& options);

namespace detail {
// Test hook: called by a worker after the first window/chunk of each file is hashed.
// Tests set it (through ScopedAfterFirstChunk) before hashing starts.
extern std::function<void(const std::string& name)> g_after_first_chunk;
}  // namespace detail

// Sets the test hook for the life of this object.
class ScopedAfterFirstChunk {
 public:
  template <class Fn>
  ScopedAfterFirstChunk(Fn fn) {  // NOLINT: implicit, so `ScopedAfterFirstChunk h = lambda;`
    detail::g_after_first_chunk = std::move(fn);
  }
  ScopedAfterFirstChunk(const ScopedAfterFirstChunk&) = delete;
  ScopedAfterFirstChunk& operator=(const ScopedAfterFirstChunk&) = delete;
  ~ScopedAfterFirstChunk() { detail::g_after_first_chunk = nullptr; }
};

}  // namespace modelsign::hashing
