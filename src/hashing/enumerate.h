// Walks a model and lists the files that enter its manifest (spec §2.2).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "modelsign/error.h"
#include "modelsign/manifest.h"

namespace modelsign::hashing {

struct FileEntry {
  std::string name;     // resource path relative to the model root ("." for a file model)
  std::string os_path;  // path to open
  bool via_symlink = false;
  std::uint64_t size = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  std::int64_t mtime_ns = 0;
};

// Enumerate `model_path`; `ignores` are model-relative paths. Result is sorted
// component-wise by name.
Result<std::vector<FileEntry>> enumerate_model(const std::string& model_path,
                                               const std::vector<std::string>& ignores,
                                               SymlinkPolicy symlinks);

// Stat the listed model-relative paths only (--ignore-unsigned-files).
Result<std::vector<FileEntry>> enumerate_listed(const std::string& model_path,
                                                const std::vector<std::string>& paths,
                                                const std::vector<std::string>& ignores,
                                                SymlinkPolicy symlinks);

bool is_valid_utf8(std::string_view s);
std::vector<std::string> split_components(std::string_view path);

}  // namespace modelsign::hashing
