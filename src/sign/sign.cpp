#include "modelsign/sign.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/statement.h"
#include "crypto/x509.h"
#include "modelsign/log.h"
#include "verify/certificate_chain.h"

namespace modelsign {

Result<std::vector<Bytes>> read_pem_certificates(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, fmt::format("cannot read certificate file '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  ossl::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::vector<Bytes> out;
  // PEM_read_bio_X509 skips text between blocks (certtool writes descriptions there).
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ossl::X509Ptr owned(c);
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

Result<void> write_file_atomically(const std::string& path, std::string_view data, unsigned mode) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string tmpl = (dir == "/" ? std::string() : dir) + "/.modelsign-XXXXXX";
  if (dir == ".") tmpl = ".modelsign-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
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
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cleanup_fail("write");
    }
    off += static_cast<size_t>(n);
  }
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
  // Make the rename itself durable.
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<SignResult> sign_model(const std::string& model_path, Signer& signer, const SignOptions& options) {
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

  std::string signer_desc = key.hint();
  if (!options.certificate_chain.empty()) {
    auto leaf = x509::parse_der(options.certificate_chain.front());
    if (!leaf) return fail(leaf.error().with_context("signing certificate"));
    auto leaf_key = x509::public_key(leaf->get());
    if (!leaf_key) return fail(leaf_key.error());
    if (!leaf_key->equals(key))
      return fail(ErrorCode::kInvalidArgument,
                  "The public key from the certificate does not match the public key paired with "
                  "the private key; pass the certificate issued for this key");
    std::time_t at = options.signing_time ? std::chrono::system_clock::to_time_t(*options.signing_time)
                                          : std::time(nullptr);
    if (auto v = verify::check_validity(leaf->get(), at); !v)
      return fail(ErrorCode::kInvalidArgument,
                  v.error().message + "; a signature made with it would never verify: renew the certificate");
    if (auto u = verify::check_signing_usage(leaf->get()); !u)
      return fail(ErrorCode::kInvalidArgument,
                  u.error().message + "; a signature made with it would never verify");
    signer_desc = x509::subject(leaf->get());
  }

  auto manifest = compute_manifest(model_path, options.serialization, options.hashing);
  if (!manifest) return fail(manifest.error());

  std::string statement = bundle::write_statement(*manifest);
  Bytes payload(statement.begin(), statement.end());
  Bytes pae = bundle::pae(bundle::kInTotoPayloadType, payload);
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
  b.payload = std::move(payload);
  b.signature = std::move(*sig);
  if (options.certificate_chain.empty()) {
    b.material = bundle::Material::kPublicKey;
    b.key_hint = key.hint();
  } else {
    b.material = bundle::Material::kCertificateChain;
    b.certificates = options.certificate_chain;
  }
  SignResult out;
  out.bundle_json = bundle::write_bundle(b);
  out.manifest = std::move(*manifest);
  out.signer = signer_desc;
  return out;
}

}  // namespace modelsign
