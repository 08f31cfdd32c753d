// Reading and writing whole files, one way each, for the core, the providers and the
// command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/error.h"
#include "modelsign/secret.h"

namespace modelsign {

// Creates `path` with `mode` and writes `data`, never replacing an existing file (nor
// following a symlink there); fsynced. A file that could not be written whole is removed.
// An existing file is kInvalidArgument, any other failure kIo.
Result<void> write_new_file(const std::string& path, std::string_view data, unsigned mode);

// The whole file as text, refused (kMalformed) when larger than `max_size`; `what`
// names the file in errors ("certificate file").
Result<std::string> read_file(const std::string& path, std::string_view what,
                              std::size_t max_size = std::size_t{64} << 20);

// Why read_secret_fd stopped: errno of a failed read, or the content passed max_size.
struct SecretReadError {
  int err = 0;
  bool too_large = false;
};
// All of `fd` into a buffer that is wiped when destroyed, at most `max_size` bytes; the
// read buffer is wiped too. Does not close `fd`.
std::expected<SecretString, SecretReadError> read_secret_fd(int fd, std::size_t max_size);

// Writes `data` to `path` atomically: an unnamed O_TMPFILE in the same directory, fsync,
// then linked in (renamed over an existing file), so a kill at any point leaves no partial
// or temporary file. Where O_TMPFILE is unsupported: a named temp file (.modelsign-XXXXXX)
// removed on SIGINT/SIGTERM. Our temp files older than an hour in that directory (left
// by a SIGKILL) are removed first. On any failure the previous file is left untouched.
// (Defined in sign/sign.cpp.)
Result<void> write_file_atomically(const std::string& path, std::string_view data, unsigned mode = 0644);

namespace detail {
// Test hook: force the named-temp-file path of write_file_atomically.
extern bool g_disable_tmpfile;
}  // namespace detail

// Reads PEM certificates (any number per file; leading text allowed) as DER.
// (Defined in sign/sign.cpp.)
Result<std::vector<Bytes>> read_pem_certificates(const std::string& path);

}  // namespace modelsign
