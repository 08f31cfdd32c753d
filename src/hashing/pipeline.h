// The hashing pipeline: a pool of worker threads over work units (files or shards).
#pragma once

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

}  // namespace modelsign::hashing
