// Fuzz target for everything that parses untrusted signature input: the bundle, the
// statement inside it, and resource-name checks. Built as a libFuzzer/AFL++ target
// with -DMODELSIGN_FUZZ=ON, otherwise linked with a driver that replays a corpus.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bundle/bundle.h"
#include "bundle/statement.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto b = modelsign::bundle::parse_bundle(text);
  if (b) {
    std::string_view payload(reinterpret_cast<const char*>(b->payload.data()), b->payload.size());
    (void)modelsign::bundle::parse_statement(payload);
  }
  // The payload parser on raw input too, so the fuzzer need not learn base64.
  (void)modelsign::bundle::parse_statement(text);
  return 0;
}
