// libcurl fetcher for TUF repositories: http(s) only, bounded size, timeouts, few
// redirects. Kept out of modelsign_tuf so offline verification never links libcurl.
#pragma once

#include <chrono>
#include <string>

#include "tuf/fetcher.h"

namespace modelsign::tuf {

class HttpFetcher : public Fetcher {
 public:
  // `base_url`: the repository's metadata URL; paths are appended after a '/'.
  explicit HttpFetcher(std::string base_url, std::chrono::seconds timeout = std::chrono::seconds(60));
  Result<std::string> fetch(std::string_view path, std::size_t max_bytes) override;

 private:
  std::string base_;
  std::chrono::seconds timeout_;
};

}  // namespace modelsign::tuf
