#include "test_support.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace modelsign::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelsign-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

// Gives back the permissions a test removed from directories (each before it is
// entered), so that everything below can be deleted; symlinks are not followed.
static void chmod_tree_writable(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_symlink(dir, ec) || !fs::is_directory(dir, ec)) return;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    chmod_tree_writable(it->path());
}

TempDir::~TempDir() {
  chmod_tree_writable(path_);
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& p, std::string_view content, unsigned mode) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path testdata() { return fs::path(MODELSIGN_TESTDATA_DIR); }
fs::path upstream_fixtures() { return testdata() / "model-transparency" / "scripts" / "tests"; }

std::string private_key_pem(const EVP_PKEY* key) {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string write_ec_key(const fs::path& p, const char* curve) {
  ossl::UniquePtr<EVP_PKEY> k(EVP_EC_gen(curve));
  if (!k) throw std::runtime_error("EVP_EC_gen failed");
  write_file(p, private_key_pem(k.get()), 0600);
  return p.string();
}

std::string TestCert::pem() const {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Bytes TestCert::der() const {
  unsigned char* d = nullptr;
  int len = i2d_X509(cert, &d);
  ossl::UniquePtr<unsigned char> owned(d);
  return Bytes(d, d + len);
}

static void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  X509_add_ext(cert, ext.get(), -1);
}

TestCert Pki::make(const CertSpec& spec, const char* curve, const TestCert* issuer) {
  ossl::UniquePtr<EVP_PKEY> owned_key(EVP_EC_gen(curve));
  ossl::UniquePtr<X509> owned_cert(X509_new());
  if (!owned_key || !owned_cert) throw std::runtime_error("cannot make a test key or certificate");
  EVP_PKEY* key = owned_key.get();
  X509* cert = owned_cert.get();
  X509_set_version(cert, 2);
  static std::mt19937_64 rng(42);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), rng() >> 2);
  if (spec.not_before_time) ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(*spec.not_before_time));
  else X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_offset);
  if (spec.not_after_time) ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(*spec.not_after_time));
  else X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_offset);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn.c_str()),
                             -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert : cert;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key : key;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509_set_pubkey(cert, key);
  if (spec.ca) {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    if (!spec.key_usage.empty()) add_ext(cert, issuer_cert, NID_key_usage, spec.key_usage.c_str());
    else if (spec.key_usage_digital_signature) add_ext(cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
    if (!spec.extended_key_usage.empty())
      add_ext(cert, issuer_cert, NID_ext_key_usage, spec.extended_key_usage.c_str());
    else if (spec.eku_code_signing) add_ext(cert, issuer_cert, NID_ext_key_usage, "codeSigning");
  }
  add_ext(cert, issuer_cert, NID_subject_key_identifier, "hash");
  X509_sign(cert, issuer_key, EVP_sha256());
  keys_.push_back(std::move(owned_key));
  certs_.push_back(std::move(owned_cert));
  return TestCert{key, cert};
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

ShellRun run_shell(const std::string& command) {
  ShellRun r;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

ChildRun run_child(const std::vector<std::string>& args, const ChildOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    if (options.merge_stderr) ::dup2(fds[1], STDERR_FILENO);
    if (options.address_space_kib > 0) {
      rlim_t bytes = static_cast<rlim_t>(options.address_space_kib) * 1024;
      rlimit rl{bytes, bytes};
      ::setrlimit(RLIMIT_AS, &rl);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  ChildRun r;
  char buf[65536];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (r.output.size() < options.max_output)
      r.output.append(buf, std::min(static_cast<std::size_t>(n), options.max_output - r.output.size()));
  }
  ::close(fds[0]);
  rusage ru{};
  ::wait4(pid, &r.status, 0, &ru);
  r.max_rss_kib = ru.ru_maxrss;
  return r;
}

}  // namespace modelsign::test
