// Fuzz target for everything that parses untrusted signature input: the bundle, the
// statement inside it, and resource-name checks. Built as a libFuzzer/AFL++ target
// with -DMODELSIGN_FUZZ=ON, otherwise linked with a driver that replays a corpus.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bundle/bundle.h"
#include "bundle/statement.h"
#include "root/trusted_root.h"
#include "timestamp/rfc3161.h"
#include "tlog/tlog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto b = modelsign::bundle::parse_bundle(text);
  if (b) {
    std::string_view payload(reinterpret_cast<const char*>(b->payload.data()), b->payload.size());
    (void)modelsign::bundle::parse_statement(payload);
    // Keyless evidence: entry bodies (JSON) and RFC 3161 responses (DER) are parsed
    // before anything is trusted; an empty root makes every check fail, never crash.
    modelsign::root::TrustedRoot empty;
    for (const auto& e : b->tlog) (void)modelsign::tlog::check_body_matches(e, *b);
    for (const auto& t : b->rfc3161_timestamps) (void)modelsign::timestamp::verify(t, b->signature, empty);
  }
  (void)modelsign::root::parse_trusted_root(text, "fuzz input");
  (void)modelsign::root::parse_trust_config(text, "fuzz input");
  // The payload parser on raw input too, so the fuzzer need not learn base64.
  (void)modelsign::bundle::parse_statement(text);
  return 0;
}
