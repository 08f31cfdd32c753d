// Test utilities for the TUF client: a loopback HTTP server and a generator of TUF
// repositories signed with the tests' own keys (over the client's canonical JSON).
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bundle/json.h"
#include "tuf/metadata.h"

namespace modelsign::tuf::test {

namespace fs = std::filesystem;
using bundle::Json;

// Serves files under `root` on 127.0.0.1 (an ephemeral port), one connection at a time.
// Paths in `endless` get a response that never ends (until the client hangs up); paths
// in `stalled` get no response at all.
class LoopbackServer {
 public:
  explicit LoopbackServer(fs::path root);
  ~LoopbackServer();
  std::string url() const;
  void make_endless(const std::string& path);
  void make_stalled(const std::string& path);  // no answer until the server stops (10 s at most)
  void clear_faults();
  std::atomic<int> requests{0};

 private:
  void serve();
  std::mutex mu_;
  std::set<std::string> endless_, stalled_;
  fs::path root_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
};

struct TestKey {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string keyid;
  Json public_json;  // the entry of a root's "keys"
};
TestKey make_key(bool ed25519 = false);
std::string sign_hex(const TestKey& key, std::string_view message);

// Metadata JSON text with `signed` signed by `signers` (each signature listed once per
// entry, so a key passed twice signs twice).
std::string envelope(const Json& signed_part, const std::vector<const TestKey*>& signers);

struct RoleSpec {
  std::vector<const TestKey*> keys;
  std::uint64_t threshold = 1;
};

// A repository under construction; publish_*() write files in the consistent-snapshot
// layout into dir.
class RepoGen {
 public:
  explicit RepoGen(fs::path dir);
  fs::path dir;
  UnixTime now = 1893456000;  // 2030-01-01T00:00:00Z: the tests' reference time
  // Keys (owned here; roles point into it).
  std::vector<std::unique_ptr<TestKey>> keys;
  const TestKey* new_key(bool ed25519 = false);

  std::map<std::string, RoleSpec> roles;  // root, timestamp, snapshot, targets
  std::uint64_t root_version = 1, timestamp_version = 1, snapshot_version = 1, targets_version = 1;
  std::map<std::string, UnixTime> expires;  // per role; default now + 30 days
  bool consistent_snapshot = true;
  bool meta_hashes = true;  // record length and hashes of snapshot/targets in their parents
  std::map<std::string, std::string> target_files;

  // Root JSON of the current roles and root_version, signed by `signers` (default: the
  // root role's keys).
  std::string root_text(std::optional<std::vector<const TestKey*>> signers = std::nullopt);
  void publish_root(std::optional<std::vector<const TestKey*>> signers = std::nullopt);
  std::string targets_text(std::optional<std::vector<const TestKey*>> signers = std::nullopt);
  std::string snapshot_text(const std::string& targets_bytes, std::optional<std::uint64_t> targets_version = {},
                            std::optional<std::vector<const TestKey*>> signers = std::nullopt);
  std::string timestamp_text(const std::string& snapshot_bytes, std::optional<std::uint64_t> snapshot_version = {},
                             std::optional<std::vector<const TestKey*>> signers = std::nullopt);
  // Writes target files, V.targets.json, V.snapshot.json and timestamp.json.
  void publish();
  void write(const std::string& name, const std::string& bytes) const;
  std::string read(const std::string& name) const;

 private:
  UnixTime expiry(const std::string& role) const;
  Json role_json(const std::string& role) const;
};

std::string sha256_of(std::string_view bytes);
std::string slurp(const fs::path& p);

}  // namespace modelsign::tuf::test
