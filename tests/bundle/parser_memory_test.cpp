// Bounded memory before authentication: for hostile signature files the CLI's peak RSS
// (wait4 rusage of that child alone) stays <= 2 x the file size + 64 MiB, it exits 1
// with a message (never 134), also under a 400 MB address-space limit (`ulimit -v 400000`).
// The bundles at the size limit are labelled slow (they write 256 MiB files).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bundle/limits.h"
#include "crypto/encoding.h"
#include "modelsign/crypto.h"
#include "test_support.h"

namespace modelsign {
namespace {

namespace fs = std::filesystem;
constexpr long kSlackKiB = 64 * 1024;
// The upstream test key; its v1.1 hint, so verification reaches the signature check.
constexpr const char* kHint = "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e";

struct Run {
  int status = 0;
  long max_rss_kib = 0;
  std::string err;
};

// Runs the CLI with stderr captured; address_space_kib > 0 sets RLIMIT_AS in the child.
Run run_cli(const std::vector<std::string>& args, long address_space_kib = 0) {
  test::ChildOptions o;
  o.merge_stderr = true;
  o.address_space_kib = address_space_kib;
  o.max_output = 65536;
  auto c = test::run_child(args, o);
  return Run{c.status, c.max_rss_kib, std::move(c.output)};
}

// Streams a file of `size` bytes: prefix, then fill bytes, then suffix.
void write_padded(const fs::path& p, const std::string& prefix, char fill, const std::string& suffix,
                  std::size_t size) {
  std::ofstream out(p, std::ios::binary);
  out << prefix;
  std::string chunk(1 << 20, fill);
  for (std::size_t left = size - prefix.size() - suffix.size(); left > 0;) {
    std::size_t k = std::min(left, chunk.size());
    out.write(chunk.data(), static_cast<std::streamsize>(k));
    left -= k;
  }
  out << suffix;
}

std::string bundle_head(bool hint) {
  return std::string(R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",)") +
         (hint ? std::string(R"("verificationMaterial":{"publicKey":{"hint":")") + kHint + R"("},"tlogEntries":[]},)"
               : std::string(R"("verificationMaterial":{"publicKey":{}},)"));
}

std::string bundle_tail(bool hint) {
  return std::string(R"(","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUCIQD)") +
         std::string(80, 'A') + R"(","keyid":)" + (hint ? "\"\"" : "null") + "}]}}";
}

struct Hostile {
  std::string name;
  std::string error;  // what the CLI must say: proves how far verification got
  std::function<void(const fs::path&, std::size_t)> make;
};

std::vector<Hostile> hostile_bundles() {
  return {
      {"deep nesting", "deeper than 32 levels", [](const fs::path& p, std::size_t n) { write_padded(p, "", '[', "", n); }},
      {"sibling objects", "more than 100000 JSON values",
       [](const fs::path& p, std::size_t n) {
         std::ofstream out(p, std::ios::binary);
         std::string chunk;
         for (int i = 0; i < (1 << 18); ++i) chunk += "{},";
         out << "[";
         std::size_t written = 1;
         while (written + chunk.size() + 3 < n) {
           out << chunk;
           written += chunk.size();
         }
         out << "{}]";
       }},
      {"huge string in an unknown field", "missing field 'mediaType'",
       [](const fs::path& p, std::size_t n) { write_padded(p, R"({"x":")", 'A', R"("})", n); }},
      // Largest payload the limits let through (or the whole file), reaching the signature check.
      {"largest payload", "Invalid signature",
       [](const fs::path& p, std::size_t n) {
         std::string head = bundle_head(true) + R"("dsseEnvelope":{"payload":")";
         std::string tail = bundle_tail(true);
         std::size_t b64 = std::min(n - head.size() - tail.size(), limits::kMaxPayloadBytes / 3 * 4);
         write_padded(p, head, 'e', tail, head.size() + b64 + tail.size());
       }},
      // Pre-1.1 form with a Digests/v0.1 payload of bytes that the compat encoding
      // expands fourfold (\xhh): the largest compat PAE the verifier can be made to build.
      {"largest legacy payload", "Invalid signature",
       [](const fs::path& p, std::size_t) {
         std::string marker = "https://model_signing/Digests/v0.1";
         Bytes payload(limits::kMaxLegacyPayloadBytes, 0xff);
         std::copy(marker.begin(), marker.end(), payload.begin());
         std::ofstream out(p, std::ios::binary);
         out << bundle_head(false) << R"("dsseEnvelope":{"payload":")" << base64_encode(payload)
             << bundle_tail(false);
       }},
  };
}

void check_all(std::size_t size) {
  test::TempDir tmp;
  fs::path model = tmp / "model";
  fs::create_directories(model);
  test::write_file(model / "f", "x");
  std::string key = (test::upstream_fixtures() / "keys" / "certificate" / "signing-key-pub.pem").string();
  for (const auto& h : hostile_bundles()) {
    SCOPED_TRACE(h.name);
    fs::path sig = tmp / "model.sig";
    h.make(sig, size);
    const long file_kib = static_cast<long>(fs::file_size(sig) / 1024);
    std::vector<std::string> args = {MODELSIGN_CLI_PATH, "verify", "key", "--signature", sig.string(),
                                     "--public-key", key, model.string()};
    Run r = run_cli(args);
    ASSERT_TRUE(WIFEXITED(r.status)) << "killed by signal " << WTERMSIG(r.status) << ": " << r.err;
    EXPECT_EQ(WEXITSTATUS(r.status), 1) << r.err;
    EXPECT_NE(r.err.find("Verification failed with error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(h.error), std::string::npos) << r.err;
    EXPECT_LE(r.max_rss_kib, 2 * file_kib + kSlackKiB)
        << "peak RSS " << r.max_rss_kib << " KiB for a " << file_kib << " KiB file";
    std::printf("[ rss ] %-32s file %7ld KiB  peak %7ld KiB  bound %7ld KiB\n", h.name.c_str(), file_kib,
                r.max_rss_kib, 2 * file_kib + kSlackKiB);
    // `ulimit -v 400000`: running out of address space is an error message, not an abort.
    Run limited = run_cli(args, 400000);
    ASSERT_TRUE(WIFEXITED(limited.status))
        << "killed by signal " << WTERMSIG(limited.status) << " under ulimit -v: " << limited.err;
    EXPECT_EQ(WEXITSTATUS(limited.status), 1) << limited.err;
    EXPECT_NE(limited.err.find("Verification failed with error: "), std::string::npos) << limited.err;
  }
}

TEST(ParserMemory, HostileBundlesOf40MiBStayWithinTwiceTheirSizePlus64MiB) { check_all(40u << 20); }

TEST(SlowParserMemory, HostileBundlesAtTheSizeLimitStayWithinTwiceTheirSizePlus64MiB) {
  check_all(limits::kMaxBundleBytes);
}

}  // namespace
}  // namespace modelsign
