#include "modelsign/key_provider.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "common/files.h"
#include "crypto/digest.h"

namespace modelsign {

namespace {
// A PIN, password or TPM authorisation value fits in far less; a larger file is a mistake.
constexpr std::size_t kMaxSecretFileSize = 64 * 1024;
}  // namespace

Result<Bytes> sign_message(Signer& signer, std::span<const std::uint8_t> message) {
  auto digest = prehash(signer.scheme(), message);
  if (!digest) return fail(digest.error());
  return signer.sign(SignRequest{message, *digest});
}

Result<GeneratedKey> KeyProvider::generate(std::string_view, KeyType, const ProviderOptions&) const {
  return fail(ErrorCode::kUnsupported,
              fmt::format("the {} provider cannot generate keys", name()));
}

Result<std::vector<std::string>> KeyProvider::list(std::string_view, const ProviderOptions&) const {
  return fail(ErrorCode::kUnsupported, fmt::format("the {} provider cannot list keys", name()));
}

// Reads the whole file into a wiped-on-destruction buffer (no stream buffers that would
// keep a copy), then strips one trailing newline (and a CR before it).
static Result<SecretString> read_secret_file(const std::string& path, std::string_view what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail(ErrorCode::kNotFound,
                fmt::format("cannot read the {} file '{}': {}", what, path, std::strerror(errno)));
  auto read = read_secret_fd(fd, kMaxSecretFileSize);
  ::close(fd);
  if (!read && read.error().too_large)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the {} file '{}' is longer than {} bytes: it does not hold a "
                            "{}",
                            what, path, kMaxSecretFileSize, what));
  if (!read)
    return fail(ErrorCode::kIo, fmt::format("cannot read the {} file '{}': {}", what, path,
                                            std::strerror(read.error().err)));
  SecretString out = std::move(*read);
  if (!out.empty() && out.value().back() == '\n') {
    out.pop_back();
    if (!out.empty() && out.value().back() == '\r') out.pop_back();
  }
  return out;
}

Result<SecretString> read_secret(const SecretSources& sources, std::string_view what, bool required) {
  if (!sources.file.empty()) return read_secret_file(sources.file, what);
  if (sources.value) return SecretString(sources.value->view());
  if (!sources.env_var.empty()) {
    if (const char* v = std::getenv(sources.env_var.c_str()); v != nullptr && *v != '\0')
      return SecretString(std::string_view(v));
  }
  if (sources.prompt && isatty(STDIN_FILENO) == 1) return sources.prompt(fmt::format("{}: ", what));
  if (required)
    return fail(ErrorCode::kAuth,
                fmt::format("a {} is required but none was given: pass it in a file{}{}", what,
                            sources.env_var.empty() ? "" : " or in the environment variable ",
                            sources.env_var));
  return SecretString();
}

}  // namespace modelsign
