// Helpers shared by the hashing tests: temporary model trees, independent reference
// hashing (plain OpenSSL EVP, not the pipeline under test) and manifest formatting.
#pragma once

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "modelsign/crypto.h"
#include "modelsign/manifest.h"
#include "test_support.h"

namespace modelsign::testing {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir (honours TMPDIR), removed with everything
// in it on destruction: the shared test-support one.
using TempDir = test::TempDir;

// Changes the working directory for the lifetime of the object.
class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() {
    std::error_code ec;
    fs::current_path(old_, ec);
  }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  fs::path old_;
};

// Writes `content` to `path`, creating parent directories.
inline void write_file(const fs::path& path, std::string_view content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Deterministic pseudo-random bytes (xorshift), so large test files are reproducible.
inline std::string pattern_bytes(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1u;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xffu);
  }
  return out;
}

// Reference digest computed with plain OpenSSL EVP (independent of the pipeline).
inline std::string ref_digest_hex(std::string_view data, const char* md_name = "SHA256") {
  EVP_MD* md = EVP_MD_fetch(nullptr, md_name, nullptr);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int ok = EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  EVP_MD_free(md);
  if (ok != 1) throw std::runtime_error("EVP_Digest failed");
  return to_hex(std::span<const std::uint8_t>(out, len));
}

// Reference root digest: SHA-256 over the concatenated raw digests (spec §2.13).
inline std::string ref_root_hex(const std::vector<std::string>& hex_digests) {
  std::string raw;
  for (const auto& h : hex_digests) {
    auto b = from_hex(h);
    if (!b) throw std::runtime_error("bad hex");
    raw.append(b->begin(), b->end());
  }
  return ref_digest_hex(raw);
}

// The upstream golden-manifest lines: "<name>:<hex>" (shards names carry start:end).
inline std::vector<std::string> manifest_lines(const Manifest& m) {
  std::vector<std::string> out;
  for (const auto& r : m.resources) out.push_back(r.name + ":" + to_hex(r.digest));
  return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

inline std::string root_hex(const Manifest& m) { return to_hex(m.root_digest()); }

// Outcome of a function run in a forked child with a deadline.
// Make the system call `nr` fail with `err` for this process from now on (a seccomp
// filter; use it in a child). Injects failures the real kernel would report, e.g. EIO
// from getdents64, which root cannot provoke with permission bits. False if the
// kernel refuses the filter.
inline bool deny_syscall(long nr, int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

struct ChildResult {
  bool timed_out = false;
  int exit_code = -1;   // valid when the child exited normally
  int term_signal = 0;  // set when it was killed by a signal
  std::string output;   // what the child wrote to the report pipe
};

// Runs `fn` in a forked child; `fn` writes its report to the given fd and returns the
// exit code. The child is killed when `timeout` passes, so a hang fails the test
// instead of blocking the suite.
inline ChildResult run_in_child(const std::function<int(int report_fd)>& fn,
                                std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    int rc = fn(fds[1]);
    ::close(fds[1]);
    ::_exit(rc);
  }
  ::close(fds[1]);
  ChildResult res;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(fds[0], buf, sizeof(buf));
    if (got <= 0) {
      eof = true;
    } else {
      res.output.append(buf, static_cast<std::size_t>(got));
    }
  }
  ::close(fds[0]);
  if (res.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  // The pipe closed; the child is exiting. Still bound the wait.
  while (true) {
    pid_t w = ::waitpid(pid, &status, res.timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline && !res.timed_out) {
      res.timed_out = true;
      ::kill(pid, SIGKILL);
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) res.term_signal = WTERMSIG(status);
  return res;
}

inline void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace modelsign::testing
