#include "modelsign/sign.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <optional>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "bundle/bundle.h"
#include "common/files.h"
#include "bundle/dsse.h"
#include "bundle/limits.h"
#include "bundle/statement.h"
#include "crypto/openssl_util.h"
#include "sign/staged.h"
#include "crypto/x509.h"
#include "hashing/enumerate.h"
#include "common/signal_cleanup.h"
#include "modelsign/log.h"
#include "verify/certificate_chain.h"

namespace modelsign {

namespace detail {
bool g_disable_tmpfile = false;
}  // namespace detail

Result<std::vector<Bytes>> read_pem_certificates(const std::string& path) {
  auto read = read_file(path, "certificate file");
  if (!read) return fail(read.error());
  const std::string& text = *read;
  ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::vector<Bytes> out;
  // PEM_read_bio_X509 skips text between blocks (certtool writes descriptions there).
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ossl::UniquePtr<X509> owned(c);
    unsigned char* der = nullptr;
    int len = i2d_X509(c, &der);
    if (len <= 0) return fail(openssl_error(ErrorCode::kMalformed, "cannot encode certificate"));
    out.emplace_back(der, der + len);
    OPENSSL_free(der);
  }
  ERR_clear_error();
  if (out.empty())
    return fail(ErrorCode::kMalformed,
                fmt::format("no PEM certificate ('-----BEGIN CERTIFICATE-----') found in '{}'", path));
  return out;
}

namespace {

constexpr std::string_view kTempPrefix = ".modelsign-";

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// ".modelsign-" + 6 characters of mkstemp's alphabet: only our own temporary files.
bool is_our_temp_name(std::string_view name) {
  if (name.size() != kTempPrefix.size() + 6 || !name.starts_with(kTempPrefix)) return false;
  for (char c : name.substr(kTempPrefix.size()))
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

Result<void> write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

void sync_dir(const std::string& dir) {
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string random_temp_name() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char rnd[6];
  if (RAND_bytes(rnd, sizeof(rnd)) != 1) ERR_clear_error();
  std::string name(kTempPrefix);
  for (unsigned char c : rnd) name += kAlphabet[c % (sizeof(kAlphabet) - 1)];
  return name;
}

// O_TMPFILE: the data is written to a file without a name, which only gets one (the
// final one, or a temporary one renamed over an existing file at once) when complete.
// A kill at any point before leaves nothing behind. nullopt: not supported here.
std::optional<Result<void>> write_via_tmpfile(const std::string& path, const std::string& dir,
                                              std::string_view data, unsigned mode) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, static_cast<mode_t>(mode & 0777));
  if (fd < 0) return std::nullopt;  // EOPNOTSUPP, EISDIR (old kernels), ...: use a named temp file
  auto failed = [&](std::string_view what, int err) {
    ::close(fd);
    return fail(ErrorCode::kIo, fmt::format("cannot write '{}' ({}: {}); the previous file, if any, "
                                            "is unchanged",
                                            path, what, std::strerror(err)));
  };
  if (auto w = write_all(fd, data); !w) return failed("write", errno);
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return failed("chmod", errno);
  if (::fsync(fd) != 0) return failed("fsync", errno);
  const std::string proc = fmt::format("/proc/self/fd/{}", fd);
  {
    // From the first name to the final one: no SIGINT/SIGTERM in between.
    signal_cleanup::DeferSignals defer;
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      if (errno != EEXIST) {
        // No /proc, or a file system that refuses to link an O_TMPFILE (EPERM, EOPNOTSUPP):
        // the named temp file way reports any error that is not about linking.
        ::close(fd);
        return std::nullopt;
      }
      // Replace the existing file: a temporary name, renamed over it at once.
      std::string tmp;
      int err = EEXIST;
      for (int attempt = 0; attempt < 16 && err == EEXIST; ++attempt) {
        tmp = (dir == "/" ? std::string("/") : dir + "/") + random_temp_name();
        err = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
      }
      if (err != 0) return failed("link", err);
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
        ::unlink(tmp.c_str());
        ::close(fd);
        return fail(ErrorCode::kIo, fmt::format("cannot rename the temporary file to '{}': {}", path,
                                                std::strerror(err)));
      }
    }
  }
  ::close(fd);
  sync_dir(dir);
  return Result<void>{};
}

}  // namespace

void remove_stale_temp_files(const std::string& dir, std::chrono::seconds age) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const auto now = std::chrono::system_clock::now();
  while (const dirent* e = ::readdir(d)) {
    if (!is_our_temp_name(e->d_name)) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
    auto mtime = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    if (now - mtime < age) continue;  // maybe another signer's, still writing
    if (::unlinkat(::dirfd(d), e->d_name, 0) == 0)
      log::info("removed '{}/{}', a temporary file a killed modelsign left behind", dir, e->d_name);
  }
  ::closedir(d);
}

Result<void> check_output_path(const std::string& path) {
  const std::string dir = parent_dir(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound, fmt::format("cannot write the signature '{}': its directory '{}' "
                                                  "{}; create it or choose another --signature path",
                                                  path, dir,
                                                  errno == ENOENT ? "does not exist" : std::strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot write the signature '{}': '{}' is not a directory", path, dir));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail(ErrorCode::kPermission,
                fmt::format("cannot write the signature '{}': the directory '{}' is not writable ({}); "
                            "choose another --signature path",
                            path, dir, std::strerror(errno)));
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot write the signature '{}': it is a directory; pass a file path "
                            "with --signature",
                            path));
  return {};
}

Result<void> write_file_atomically(const std::string& path, std::string_view data, unsigned mode) {
  const std::string dir = parent_dir(path);
  remove_stale_temp_files(dir, std::chrono::hours(1));
  if (!detail::g_disable_tmpfile)
    if (auto r = write_via_tmpfile(path, dir, data, mode)) return *r;

  std::string tmpl = (dir == "/" ? std::string() : dir) + "/" + std::string(kTempPrefix) + "XXXXXX";
  if (dir == ".") tmpl = std::string(kTempPrefix) + "XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  std::optional<signal_cleanup::RemoveOnSignal> remove_on_signal;
  int fd = -1;
  {
    // Registered before a signal could leave the name behind unremoved.
    signal_cleanup::DeferSignals defer;
    fd = ::mkstemp(name.data());
    if (fd >= 0) remove_on_signal.emplace(std::string(name.data()));
  }
  if (fd < 0)
    return fail(ErrorCode::kIo, fmt::format("cannot create a temporary file in '{}' to write '{}': {}",
                                            dir, path, std::strerror(errno)));
  std::string tmp(name.data());
  auto cleanup_fail = [&](std::string_view what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot write '{}' ({}: {}); the previous file, if any, "
                                            "is unchanged",
                                            path, what, std::strerror(err)));
  };
  if (auto w = write_all(fd, data); !w) return cleanup_fail("write");
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return cleanup_fail("chmod");
  if (::fsync(fd) != 0) return cleanup_fail("fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot rename the temporary file to '{}': {}", path,
                                            std::strerror(err)));
  }
  sync_dir(dir);  // makes the rename itself durable
  return {};
}

static_assert(kMaxSignatureBytes == limits::kMaxBundleBytes);

namespace {

Error refused_by_verify(const Error& e) {
  return e.with_context("not signing: verify would refuse this signature");
}

}  // namespace

Result<void> check_verifiable(const Manifest& m) {
  // The limits and checks bundle::parse_statement applies, with its messages.
  if (auto c = bundle::check_resource_count(m.resources.size()); !c) return fail(refused_by_verify(c.error()));
  if (!hashing::is_valid_utf8(m.model_name))
    return fail(ErrorCode::kInvalidArgument,
                "not signing: the model name (the last component of the model path) is not valid "
                "UTF-8; rename the model directory or file");
  if (auto c = bundle::check_ignore_paths(m.serialization.ignore_paths); !c)
    return fail(refused_by_verify(c.error()));
  for (const auto& r : m.resources)
    if (auto c = bundle::check_resource_path(r.path); !c) return fail(refused_by_verify(c.error()));
  // The verifier counts JSON values while parsing the statement: 4 per resource (object,
  // name, algorithm, digest), one per ignore path and 17 of the statement's own. Today the
  // two limits above keep this under kMaxStatementJsonValues; checked so that sign and
  // verify stay in step if one of the limits changes.
  const std::size_t values = 4 * m.resources.size() + m.serialization.ignore_paths.size() + 17;
  if (values > limits::kMaxStatementJsonValues)
    return fail(refused_by_verify(Error(
        ErrorCode::kMalformed, fmt::format("the signed statement holds more than {} JSON values; no valid "
                                           "document is that large",
                                           limits::kMaxStatementJsonValues))));
  return {};
}

namespace {

// The certificates given with the key (sign certificate, pkcs11-certificate, ...), or
// none (a public-key bundle). Checked before hashing: a certificate for another key,
// expired or not for code signing would make a signature that never verifies.
class StaticCertificates final : public sign::CertificateSource {
 public:
  StaticCertificates(const std::vector<Bytes>& chain, std::optional<std::chrono::system_clock::time_point> at)
      : chain_(chain), at_(at) {}
  Result<void> prepare(Signer& signer) override {
    if (chain_.empty()) return {};
    auto leaf = x509::parse_der(chain_.front());
    if (!leaf) return fail(leaf.error().with_context("signing certificate"));
    auto leaf_key = x509::public_key(leaf->get());
    if (!leaf_key) return fail(leaf_key.error());
    if (!leaf_key->equals(signer.public_key()))
      return fail(ErrorCode::kInvalidArgument,
                  "The public key from the certificate does not match the public key paired with "
                  "the private key; pass the certificate issued for this key");
    std::time_t t = at_ ? std::chrono::system_clock::to_time_t(*at_) : std::time(nullptr);
    if (auto v = verify::check_validity(leaf->get(), t); !v)
      return fail(ErrorCode::kInvalidArgument,
                  v.error().message + "; a signature made with it would never verify: renew the certificate");
    if (auto u = verify::check_signing_usage(leaf->get()); !u)
      return fail(ErrorCode::kInvalidArgument,
                  u.error().message + "; a signature made with it would never verify");
    return {};
  }
  Result<std::vector<Bytes>> certificates(Signer&) override { return chain_; }
  bundle::Material material() const override {
    return chain_.empty() ? bundle::Material::kPublicKey : bundle::Material::kCertificateChain;
  }
  std::string describe(const std::vector<Bytes>& certs) const override {
    auto leaf = x509::parse_der(certs.front());
    return leaf ? x509::subject(leaf->get()) : std::string("?");
  }

 private:
  const std::vector<Bytes>& chain_;
  std::optional<std::chrono::system_clock::time_point> at_;
};

}  // namespace

Result<SignResult> sign_model(const std::string& model_path, Signer& signer, const SignOptions& options) {
  return sign::sign_model_staged(model_path, signer, options, {});
}

Result<SignResult> sign::sign_model_staged(const std::string& model_path, Signer& signer, const SignOptions& options,
                                           const Stages& stages) {
  const PublicKey& key = signer.public_key();
  auto scheme = key.scheme();
  if (!scheme) return fail(scheme.error());
  if (!is_model_signing_compatible(signer.scheme()))
    log::warning("signing with {}: modelsign verifies it, but model_signing cannot (it supports "
                 "ECDSA P-256/P-384/P-521 only)",
                 to_string(signer.scheme()));
  if (options.serialization.method != Method::kFiles || options.serialization.hash != HashAlgorithm::kSha256)
    log::warning("serialization {} / {}: modelsign verifies it, but the model_signing CLI only "
                 "verifies files / sha256",
                 to_string(options.serialization.method), to_string(options.serialization.hash));

  StaticCertificates static_source(options.certificate_chain, options.signing_time);
  CertificateSource& source = stages.certificate_source != nullptr ? *stages.certificate_source : static_source;
  if (auto p = source.prepare(signer); !p) return fail(p.error());

  auto manifest = compute_manifest(model_path, options.serialization, options.hashing);
  if (!manifest) return fail(manifest.error());
  if (auto c = check_verifiable(*manifest); !c) return fail(c.error());

  auto certificates = source.certificates(signer);
  if (!certificates) return fail(certificates.error());
  const bundle::Material material = source.material();
  if (material != bundle::Material::kPublicKey && certificates->empty())
    return fail(ErrorCode::kInternal, "the certificate source supplied no certificate");
  std::string signer_desc = certificates->empty() ? key.hint() : source.describe(*certificates);

  // The PAE header goes in front of the statement in the same buffer: the statement text
  // is held once, signed in place, and base64-encoded straight into the bundle.
  std::string text = bundle::write_statement(*manifest);
  const std::size_t statement_size = text.size();
  std::string prefix = bundle::pae_header(bundle::kInTotoPayloadType, statement_size);
  text.insert(0, prefix);
  auto as_bytes = [](std::string_view v) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
  };
  std::span<const std::uint8_t> pae = as_bytes(text);
  std::span<const std::uint8_t> payload = pae.subspan(prefix.size());
  auto sig = sign_message(signer, pae);
  if (!sig) return fail(sig.error());
  // Check the backend's signature before anyone relies on it.
  if (auto v = key.verify(signer.scheme(), pae, *sig); !v)
    return fail(ErrorCode::kBackend,
                fmt::format("the signature made by {} does not verify with its own public key; "
                            "the key or token is faulty",
                            signer.describe()));

  bundle::Bundle b;
  b.payload_type = std::string(bundle::kInTotoPayloadType);
  b.signature = std::move(*sig);
  b.material = material;
  if (material == bundle::Material::kPublicKey) b.key_hint = key.hint();
  else b.certificates = std::move(*certificates);

  SignedEnvelope envelope{b.payload_type, payload, b.signature, b.certificates, key};
  for (Witness* w : stages.witnesses)
    if (auto r = w->witness(envelope, b); !r) return fail(r.error());
  if (stages.final_check) {
    // The check sees the bundle as a verifier will (payload included).
    b.payload.assign(payload.begin(), payload.end());
    auto c = stages.final_check(b);
    Bytes().swap(b.payload);
    if (!c) return fail(c.error());
  }

  std::string bundle_json = bundle::write_bundle(b, payload);
  std::string().swap(text);
  if (auto c = bundle::check_bundle_size(bundle_json.size(), options.max_bundle_bytes); !c)
    return fail(refused_by_verify(c.error()));
  SignResult out;
  out.bundle_json = std::move(bundle_json);
  out.manifest = std::move(*manifest);
  out.signer = signer_desc;
  return out;
}

}  // namespace modelsign
