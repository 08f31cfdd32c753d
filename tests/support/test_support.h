// Helpers shared by the test binaries: temp dirs, files, and a throwaway X.509 PKI made
// with OpenSSL (no fixture files to expire).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crypto/openssl_util.h"
#include "modelsign/crypto.h"

namespace modelsign::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  fs::path operator/(const std::string& p) const { return path_ / p; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, std::string_view content, unsigned mode = 0644);

// A shell command's exit code (-1 when it did not exit) and its output.
struct ShellRun {
  int rc = -1;
  std::string output;
};
// Runs `command` with /bin/sh (popen); stdout only, unless the command redirects.
ShellRun run_shell(const std::string& command);
// `s` as one single-quoted shell word.
std::string shell_quote(const std::string& s);

// A child process's wait status, peak RSS (wait4: that child only) and output.
struct ChildRun {
  int status = 0;
  long max_rss_kib = 0;
  std::string output;
};
struct ChildOptions {
  bool merge_stderr = false;           // capture stderr into `output` too
  long address_space_kib = 0;          // > 0: RLIMIT_AS of the child
  std::size_t max_output = SIZE_MAX;   // bytes kept of the output (the rest is read and dropped)
};
// Runs argv[0] (a path) with execv, no shell.
ChildRun run_child(const std::vector<std::string>& argv, const ChildOptions& options = {});
std::string read_file(const fs::path& p);
fs::path testdata();          // tests/testdata
fs::path upstream_fixtures(); // tests/testdata/model-transparency/scripts/tests

// A new EC key as a PEM private key written 0600 (the test keys in git are 0644).
std::string write_ec_key(const fs::path& p, const char* curve);

struct CertSpec {
  std::string cn;
  bool ca = false;
  bool key_usage_digital_signature = true;
  bool eku_code_signing = true;
  long not_before_offset = -3600;  // seconds from now
  long not_after_offset = 86400 * 365;
  // Chosen validity (seconds since the epoch), instead of the offsets from now.
  std::optional<std::int64_t> not_before_time = std::nullopt;
  std::optional<std::int64_t> not_after_time = std::nullopt;
  // Replaces the leaf's KeyUsage / ExtendedKeyUsage value, e.g. "critical,keyEncipherment"
  // or "serverAuth" (OpenSSL config syntax).
  std::string key_usage = {};
  std::string extended_key_usage = {};
};

struct TestCert {
  EVP_PKEY* key = nullptr;  // borrowed from the Pki that made it
  X509* cert = nullptr;     // borrowed from the Pki that made it
  std::string pem() const;
  Bytes der() const;
};

// Owns every key and certificate it makes; the TestCerts it hands out borrow them.
class Pki {
 public:
  // issuer == nullptr: self-signed.
  TestCert make(const CertSpec& spec, const char* curve, const TestCert* issuer);

 private:
  std::vector<ossl::UniquePtr<EVP_PKEY>> keys_;
  std::vector<ossl::UniquePtr<X509>> certs_;
};

std::string private_key_pem(const EVP_PKEY* key);

}  // namespace modelsign::test
