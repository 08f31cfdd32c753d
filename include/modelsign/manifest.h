// The manifest of a model: every file's (or shard's) digest, in model_signing order,
// rolled into a root digest. Byte-compatible with sigstore/model-transparency.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/error.h"

namespace modelsign {

enum class Method { kFiles, kShards };
enum class HashAlgorithm { kSha256, kBlake2b };

std::string_view to_string(Method m);       // "files" / "shards"
std::string_view to_string(HashAlgorithm h); // "sha256" / "blake2b" (the payload names)
Result<Method> parse_method(std::string_view s);
Result<HashAlgorithm> parse_hash(std::string_view s);  // also accepts "blake2"

inline constexpr std::uint64_t kDefaultShardSize = 1'000'000'000;  // 10^9, not 2^30

enum class SymlinkPolicy {
  kReject,         // any symlink is an error (default, as model_signing)
  kFollowInRoot,   // follow links whose target stays inside the model root
  kFollowAnywhere, // follow any link (model_signing --allow_symlinks semantics)
};

struct SerializationOptions {
  Method method = Method::kFiles;
  HashAlgorithm hash = HashAlgorithm::kSha256;
  std::uint64_t shard_size = kDefaultShardSize;
  SymlinkPolicy symlinks = SymlinkPolicy::kReject;
  bool ignore_git_paths = true;
  // Paths relative to the model root (use resolve_ignore_path for CLI-style paths).
  std::vector<std::string> ignore_paths;
};

// Lets an embedding program (the Python package) watch and stop hashing from another
// thread: `done` and `total` count bytes, and setting `cancel` stops hashing early with
// an error whose message is kHashingCancelled.
struct HashObserver {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> total{0};
  std::atomic<bool> cancel{false};
};
inline constexpr const char* kHashingCancelled = "hashing was cancelled";
// How data that is not in the page cache is read (see docs/performance.md).
enum class ColdRead {
  kAuto,       // the measured best: kDirect where it works, else kBuffered
  kBuffered,   // read() in 1 MiB requests; the kernel's readahead keeps the disk busy
  kReadahead,  // kBuffered plus readahead(2) of the next io_depth MiB ahead of the reader
  kDirect,     // O_DIRECT reads, io_depth of them in flight (io_uring), bypassing the cache
};

struct HashingOptions {
  unsigned threads = 0;                 // 0 = the CPUs this process may run on
  // Reads in flight, all threads together, for data not in the page cache; 0 = chosen
  // from the model's device (default_io_depth).
  unsigned io_depth = 0;
  ColdRead cold_read = ColdRead::kAuto;
  bool progress = false;                // progress bar on stderr
  std::uint64_t mmap_threshold = 1 << 20;  // files at least this big are hashed from mmap windows
  std::uint64_t mmap_window = 32 << 20;    // bytes mapped at once per worker (read() if not cached)
  std::uint64_t read_buffer = 128 << 10;   // read() buffer for small files (stays in L2)
  // Only hash these resource paths (model-relative); used by --ignore-unsigned-files.
  std::optional<std::vector<std::string>> only_paths;
  // An empty model is an error unless this is set (tests of upstream goldens, verify).
  bool allow_empty_model = false;
  // Progress and cancellation for embedders; may be null.
  std::shared_ptr<HashObserver> observer;
};

struct Resource {
  std::string name;       // "path" (files) or "path:start:end" (shards); "." for a file model
  std::string path;       // file path relative to the model root ("." for a file model)
  std::uint64_t start = 0, end = 0;  // byte range (shards); [0, size) for files
  std::string algorithm;  // "sha256", "blake2b", "sha256-sharded-<k>"
  Bytes digest;
};

struct Serialization {
  Method method = Method::kFiles;
  HashAlgorithm hash = HashAlgorithm::kSha256;
  bool allow_symlinks = false;
  std::optional<std::uint64_t> shard_size;
  std::vector<std::string> ignore_paths;  // sorted; recorded in the payload when non-empty
};

struct Manifest {
  std::string model_name;
  Serialization serialization;
  std::vector<Resource> resources;  // in model_signing order (component-wise by path)

  // SHA-256 over the concatenated raw digests, in resources order.
  Bytes root_digest() const;
};

// Compute the manifest of the model at `model_path` (a directory or a single file).
Result<Manifest> compute_manifest(const std::string& model_path, const SerializationOptions& ser,
                                  const HashingOptions& hashing = {});

// The defaults of HashingOptions::threads (the CPUs this process may run on) and
// HashingOptions::io_depth (from the block device holding `model_path`: 4 when it is
// rotational, 64 for NVMe, 32 for other non-rotational disks, 16 when it cannot be told).
unsigned default_threads();
unsigned default_io_depth(const std::string& model_path);

// The model name (subject name) model_signing derives from a model path.
std::string model_name_for(const std::string& model_path);

// Resolve a user-given ignore path (relative to the CWD or absolute) against the model
// like model_signing does (realpath, then relative to realpath(model)). Returns nullopt
// when the path lies outside the model.
std::optional<std::string> resolve_ignore_path(const std::string& path, const std::string& model_path);

// The full ignore set (git defaults + ignore_paths), sorted and de-duplicated; as recorded.
std::vector<std::string> effective_ignore_set(const SerializationOptions& ser);

// Component-wise path order used by model_signing (and the shard tuple order).
bool resource_less(const Resource& a, const Resource& b);
bool path_less(std::string_view a, std::string_view b);

// The upstream golden-manifest line format (name:hex) – used by tests and `digest --json`.
std::string algorithm_name(HashAlgorithm h, Method m, std::uint64_t shard_size);

}  // namespace modelsign
