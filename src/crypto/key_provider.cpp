#include "modelsign/key_provider.h"

#include <unistd.h>

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace modelsign {

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

static std::string strip_one_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

Result<std::string> read_secret(const SecretSources& sources, std::string_view what, bool required) {
  if (!sources.file.empty()) {
    std::ifstream in(sources.file, std::ios::binary);
    if (!in)
      return fail(ErrorCode::kNotFound,
                  fmt::format("cannot read the {} file '{}'", what, sources.file));
    std::stringstream ss;
    ss << in.rdbuf();
    return strip_one_newline(ss.str());
  }
  if (!sources.env_var.empty()) {
    if (const char* v = std::getenv(sources.env_var.c_str()); v != nullptr && *v != '\0')
      return std::string(v);
  }
  if (sources.prompt && isatty(STDIN_FILENO) == 1) return sources.prompt(fmt::format("{}: ", what));
  if (required)
    return fail(ErrorCode::kAuth,
                fmt::format("a {} is required but none was given: pass it in a file{}{}", what,
                            sources.env_var.empty() ? "" : " or in the environment variable ",
                            sources.env_var));
  return std::string();
}

}  // namespace modelsign
