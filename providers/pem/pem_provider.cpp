#include "pem/pem_provider.h"

#include "common/files.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"
#include "modelsign/log.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <optional>

namespace modelsign {

namespace {


constexpr std::string_view kEnvPrefix = "env:";
// A PEM private key (even RSA 16384, encrypted) is far below this.
constexpr std::uint64_t kMaxKeyFileSize = 1u << 20;

bool has_private_key_block(std::string_view text) {
  return text.find("-----BEGIN PRIVATE KEY-----") != std::string_view::npos ||
         text.find("-----BEGIN EC PRIVATE KEY-----") != std::string_view::npos ||
         text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos;
}

// Like OpenSSH: the key file is opened first and the checks are made on the open
// descriptor (no window between a stat() and the open() for a swap); a key readable by
// group or others, or owned by another user than us or root, is refused. A key readable
// by others passes only when the caller opted in (a secret mounted read-only by CI or
// Kubernetes, often 0644 and owned by root).
Result<SecretString> read_private_key_file(const std::string& path, bool allow_insecure) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return fail(ErrorCode::kNotFound,
                  fmt::format("Private key not found: '{}' does not exist ({})", path, std::strerror(err)));
    return fail(ErrorCode::kPermission,
                fmt::format("cannot open private key file '{}': {}", path, std::strerror(err)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return fail(ErrorCode::kIo, fmt::format("cannot stat private key file '{}': {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("private key '{}' is not a regular file", path));
  if ((st.st_mode & 077) != 0 && allow_insecure)
    log::warning("private key file '{}' is accessible by group or others (mode {:04o}); accepted "
                 "because of --allow-insecure-key-permissions",
                 path, st.st_mode & 07777);
  else if ((st.st_mode & 077) != 0)
    return fail(ErrorCode::kPermission,
                fmt::format("private key file '{}' is accessible by group or others (mode {:04o}); "
                            "protect it with: chmod 600 '{}'",
                            path, st.st_mode & 07777, path));
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return fail(ErrorCode::kPermission,
                fmt::format("private key file '{}' is owned by another user (uid {}; this process "
                            "runs as uid {}): another user could have replaced it. Use a key you "
                            "own (chown it to yourself)",
                            path, st.st_uid, ::geteuid()));
  if (static_cast<std::uint64_t>(st.st_size) > kMaxKeyFileSize)
    return fail(ErrorCode::kMalformed, fmt::format("private key file '{}' is {} bytes: not a PEM key",
                                                   path, st.st_size));
  auto text = read_secret_fd(fd, kMaxKeyFileSize);
  if (!text && text.error().too_large)
    return fail(ErrorCode::kMalformed, fmt::format("private key file '{}' is too large for a PEM key", path));
  if (!text)
    return fail(ErrorCode::kIo, fmt::format("cannot read private key file '{}': {}", path,
                                            std::strerror(text.error().err)));
  return std::move(*text);
}

struct PasswordContext {
  const SecretSources* sources;
  bool asked = false;
  std::optional<Error> error;
};

int password_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* ctx = static_cast<PasswordContext*>(u);
  ctx->asked = true;
  SecretSources s = *ctx->sources;
  if (s.env_var.empty()) s.env_var = kKeyPasswordEnv;
  auto pw = read_secret(s, "private key password", true);
  if (!pw) {
    ctx->error = pw.error();
    return -1;
  }
  if (pw->size() > static_cast<size_t>(size)) return -1;  // *pw is wiped as it goes
  std::memcpy(buf, pw->data(), pw->size());
  return static_cast<int>(pw->size());
}

Result<ossl::UniquePtr<EVP_PKEY>> load_private_key(std::string_view text, const std::string& origin,
                                    const SecretSources& secret) {
  if (!has_private_key_block(text))
    return fail(ErrorCode::kMalformed,
                fmt::format("'{}' is not a PEM private key: expected a '-----BEGIN PRIVATE KEY-----', "
                            "'-----BEGIN EC PRIVATE KEY-----' or '-----BEGIN ENCRYPTED PRIVATE KEY-----' block",
                            origin));
  ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  PasswordContext pctx{&secret, false, std::nullopt};
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, password_cb, &pctx);
  if (raw == nullptr) {
    ERR_clear_error();
    if (pctx.error) return fail(pctx.error->with_context(fmt::format("encrypted private key '{}'", origin)));
    if (pctx.asked)
      return fail(ErrorCode::kAuth,
                  fmt::format("cannot decrypt the private key '{}': wrong password", origin));
    return fail(ErrorCode::kMalformed, fmt::format("cannot parse the PEM private key '{}'", origin));
  }
  return ossl::UniquePtr<EVP_PKEY>(raw);
}

class PemSigner final : public Signer {
 public:
  PemSigner(ossl::UniquePtr<EVP_PKEY> key, PublicKey pub, SignatureScheme scheme, std::string origin)
      : key_(std::move(key)), pub_(std::move(pub)), scheme_(scheme), origin_(std::move(origin)) {}

  SignatureScheme scheme() const override { return scheme_; }
  const PublicKey& public_key() const override { return pub_; }
  std::string describe() const override { return origin_; }

  Result<Bytes> sign(const SignRequest& req) override {
    // Sign the CPU-computed digest (the backend only ever sees a digest).
    ossl::UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "cannot initialise signing"));
    std::string md(hash_name(scheme_));
    if (EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_get_digestbyname(md.c_str())) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "cannot set the signature hash"));
    size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, req.digest.data(), req.digest.size()) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "signing failed"));
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, req.digest.data(), req.digest.size()) != 1)
      return fail(openssl_error(ErrorCode::kBackend, "signing failed"));
    sig.resize(len);
    return sig;  // DER ECDSA-Sig-Value
  }

 private:
  ossl::UniquePtr<EVP_PKEY> key_;
  PublicKey pub_;
  SignatureScheme scheme_;
  std::string origin_;
};

// A reference naming a pin-value is a mistyped URI (e.g. "pkcs12:...;pin-value=..."),
// not a file: it is never echoed, since it holds a PIN.
bool mentions_pin_value(std::string_view reference) {
  std::string lower;
  for (char c : reference) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower.find("pin-value") != std::string::npos || lower.find("pin%2dvalue") != std::string::npos;
}

Error pin_reference_error() {
  return Error(ErrorCode::kNotFound,
               "Private key not found: the key reference is not a file, and it carries a "
               "pin-value (not shown); a PKCS#11 key is named by a URI that starts with 'pkcs11:'");
}

constexpr size_t kMaxKeyText = 1 << 20;  // a PEM key is a few KB

Result<SecretString> key_text(std::string_view reference, const ProviderOptions& options,
                              std::string* origin) {
  if (mentions_pin_value(reference) && ::access(std::string(reference).c_str(), F_OK) != 0)
    return fail(pin_reference_error());
  if (reference.starts_with(kEnvPrefix)) {
    std::string var(reference.substr(kEnvPrefix.size()));
    *origin = "$" + var;
    const char* v = std::getenv(var.c_str());
    if (v == nullptr)
      return fail(ErrorCode::kNotFound,
                  fmt::format("Private key not found: the environment variable {} is not set", var));
    if (*v == '\0')
      return fail(ErrorCode::kNotFound,
                  fmt::format("Private key not found: the environment variable {} is set but empty", var));
    std::string_view raw(v);
    // Some secret stores deliver a PEM on one line with literal "\n" sequences.
    if (raw.find('\n') == std::string_view::npos && raw.find("\\n") != std::string_view::npos) {
      SecretString fixed;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == 'n') {
          fixed.append("\n");
          ++i;
        } else {
          fixed.append(raw.substr(i, 1));
        }
      }
      log::debug("{} holds the PEM with literal \\n sequences; they were read as line breaks", var);
      return fixed;
    }
    return SecretString(raw);
  }
  if (reference == "-") {
    *origin = "standard input";
    SecretString text;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(STDIN_FILENO, buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || text.view().size() + static_cast<size_t>(n) > kMaxKeyText) {
        OPENSSL_cleanse(buf, sizeof buf);
        return fail(ErrorCode::kIo, n < 0 ? "cannot read the private key from standard input"
                                          : "standard input holds more than 1 MiB: not a PEM private key");
      }
      text.append(std::string_view(buf, static_cast<size_t>(n)));
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (text.view().empty())
      return fail(ErrorCode::kNotFound, "Private key not found: standard input (--private-key -) was empty");
    return text;
  }
  *origin = std::string(reference);
  return read_private_key_file(*origin, options.params.contains(kPemAllowInsecurePermissionsOption));
}

class PemProvider final : public KeyProvider {
 public:
  std::string_view name() const override { return "pem"; }
  bool claims(std::string_view reference) const override {
    return !reference.empty() && !reference.starts_with("pkcs11:") && !reference.starts_with("handle:") &&
           !reference.starts_with("tpm2:");
  }

  Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                              const ProviderOptions& options) const override {
    std::string origin;
    auto text = key_text(reference, options, &origin);
    if (!text) return fail(text.error());
    auto key = load_private_key(text->view(), origin, options.secret);
    if (!key) return fail(key.error());
    if (EVP_PKEY_get_base_id(key->get()) != EVP_PKEY_EC)
      return fail(ErrorCode::kUnsupported,
                  fmt::format("Only elliptic curve keys are supported: '{}' is not an EC key "
                              "(supported curves: P-256, P-384, P-521)",
                              origin));
    auto pub = public_key_from_pkey(key->get());
    if (!pub) return fail(pub.error());
    auto scheme = pub->scheme();
    if (!scheme) return fail(scheme.error().with_context(origin));
    return std::unique_ptr<Signer>(new PemSigner(std::move(*key), std::move(*pub), *scheme, origin));
  }

  Result<PublicKey> public_key(std::string_view reference, const ProviderOptions& options) const override {
    if (mentions_pin_value(reference) && ::access(std::string(reference).c_str(), F_OK) != 0)
      return fail(pin_reference_error());
    std::string path(reference);
    // The file may hold a private key (its public half is used): read it as a secret.
    SecretSources as_file;
    as_file.file = path;
    auto read = read_secret(as_file, "public key", true);
    if (!read) return fail(ErrorCode::kNotFound, fmt::format("cannot read public key file '{}'", path));
    std::string_view text = read->view();
    if (text.find("-----BEGIN PUBLIC KEY-----") != std::string::npos) {
      auto k = PublicKey::from_pem(text);
      if (!k) return fail(k.error().with_context(fmt::format("public key file '{}'", path)));
      return k;
    }
    if (has_private_key_block(text)) {
      auto signer = open_signer(reference, options);
      if (!signer) return fail(signer.error());
      return (*signer)->public_key();
    }
    return fail(ErrorCode::kMalformed,
                fmt::format("'{}' holds no PEM public key ('-----BEGIN PUBLIC KEY-----')", path));
  }

  Result<GeneratedKey> generate(std::string_view reference, KeyType type,
                                const ProviderOptions& options) const override {
    const char* curve = nullptr;
    switch (type) {
      case KeyType::kEcP256: curve = "P-256"; break;
      case KeyType::kEcP384: curve = "P-384"; break;
      case KeyType::kEcP521: curve = "P-521"; break;
      default:
        return fail(ErrorCode::kUnsupported,
                    fmt::format("key type {} is not supported for PEM keys: use ec-p256, ec-p384 or "
                                "ec-p521",
                                to_string(type)));
    }
    std::string path(reference);
    if (::access(path.c_str(), F_OK) == 0)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("refusing to overwrite the existing file '{}'", path));
    EVP_PKEY* raw = EVP_EC_gen(curve);
    if (raw == nullptr) return fail(openssl_error(ErrorCode::kInternal, "key generation failed"));
    ossl::UniquePtr<EVP_PKEY> key(raw);
    SecretString password;
    const bool wants_password = !options.secret.file.empty() || options.secret.value ||
                                !options.secret.env_var.empty();
    if (wants_password) {
      auto pw = read_secret(options.secret, "private key password", false);
      if (!pw) return fail(pw.error());
      password = std::move(*pw);
      // An empty password file would otherwise write the key unencrypted, silently.
      bool blank = password.view().find_first_not_of("\r\n") == std::string_view::npos;
      if (blank && (!options.secret.file.empty() || options.secret.value))
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("the password {} is empty: refusing to write the private key "
                                "unencrypted. Put the password in the file, or leave out "
                                "--password-file for an unencrypted key",
                                options.secret.file.empty()
                                    ? std::string("given")
                                    : fmt::format("file '{}'", options.secret.file)));
    }
    ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    int ok = password.empty()
                 ? PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)
                 : PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(),
                                                 const_cast<char*>(password.data()),
                                                 static_cast<int>(password.size()), nullptr, nullptr);
    password.wipe();
    if (ok != 1) return fail(openssl_error(ErrorCode::kInternal, "cannot encode the private key"));
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    if (auto w = write_new_file(path, std::string_view(data, static_cast<size_t>(len)), 0600); !w)
      return fail(w.error());
    auto pub = public_key_from_pkey(key.get());
    if (!pub) return fail(pub.error());
    return GeneratedKey{path, std::move(*pub)};
  }
};

}  // namespace

std::unique_ptr<KeyProvider> make_pem_provider() { return std::make_unique<PemProvider>(); }

}  // namespace modelsign
