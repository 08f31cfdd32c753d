// Signing never makes a signature its own verification refuses, and the streaming
// statement/bundle writers produce exactly the bytes the JSON-tree writers did.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/limits.h"
#include "bundle/statement.h"
#include "common/files.h"
#include "crypto/encoding.h"
#include "modelsign/key_provider.h"
#include "modelsign/sign.h"
#include "modelsign/verify.h"
#include "test_support.h"

namespace modelsign {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using OJ = nlohmann::ordered_json;

// The writer the statement was first defined by: an ordered_json tree, dump(2, ' ', true).
std::string statement_by_tree(const Manifest& m) {
  OJ ser = {{"method", to_string(m.serialization.method)},
            {"hash_type", to_string(m.serialization.hash)},
            {"allow_symlinks", m.serialization.allow_symlinks}};
  if (m.serialization.shard_size) ser["shard_size"] = *m.serialization.shard_size;
  if (!m.serialization.ignore_paths.empty()) ser["ignore_paths"] = m.serialization.ignore_paths;
  OJ resources = OJ::array();
  for (const auto& r : m.resources)
    resources.push_back({{"name", r.name}, {"algorithm", r.algorithm}, {"digest", to_hex(r.digest)}});
  OJ st = {{"_type", bundle::kStatementType},
           {"subject", OJ::array({OJ{{"name", m.model_name},
                                     {"digest", OJ{{"sha256", to_hex(m.root_digest())}}}}})},
           {"predicateType", bundle::kPredicateType},
           {"predicate", OJ{{"serialization", ser}, {"resources", resources}}}};
  return st.dump(2, ' ', true);
}

Resource resource(std::string name, std::string alg = "sha256") {
  Resource r;
  r.name = r.path = std::move(name);
  r.algorithm = std::move(alg);
  r.digest = Bytes(32, static_cast<std::uint8_t>(r.name.size()));
  return r;
}

TEST(StreamingWriters, StatementBytesEqualTheJsonTreeDump) {
  Manifest m;
  m.model_name = "mod\xc3\xa9l \"q\"";
  for (const char* n : {"a", "dir/b.bin", "quote\"and\\slash", "tab\tnl\ncr\r\x01\x1f\x7f",
                        "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "emoji\xf0\x9f\x98\x80", "sl/ash"})
    m.resources.push_back(resource(n));
  EXPECT_EQ(bundle::write_statement(m), statement_by_tree(m));
  // Reserved once with room for the PAE header: never reallocated while written or signed.
  for (int i = 0; i < 2000; ++i) m.resources.push_back(resource(fmt::format("d/\xe6\x97\xa5{}\"", i)));
  std::string big = bundle::write_statement(m);
  EXPECT_GE(big.capacity(), big.size() + 64);
  EXPECT_LT(big.capacity(), big.size() + big.size() / 4) << "reallocated while written";
  EXPECT_EQ(big, statement_by_tree(m));
  m.resources.resize(7);

  m.serialization.ignore_paths = {".git", "x\xc3\xa9.sig"};
  m.serialization.allow_symlinks = true;
  EXPECT_EQ(bundle::write_statement(m), statement_by_tree(m));

  Manifest shards;
  shards.model_name = "s";
  shards.serialization.method = Method::kShards;
  shards.serialization.hash = HashAlgorithm::kBlake2b;
  shards.serialization.shard_size = 1000000000;
  shards.resources.push_back(resource("w:0:1000000000", "blake2b-sharded-1000000000"));
  EXPECT_EQ(bundle::write_statement(shards), statement_by_tree(shards));

  Manifest empty;
  empty.model_name = "e";
  EXPECT_EQ(bundle::write_statement(empty), statement_by_tree(empty));
}

TEST(StreamingWriters, BundleBytesEqualTheJsonTreeDump) {
  bundle::Bundle b;
  b.payload_type = std::string(bundle::kInTotoPayloadType);
  b.signature = to_bytes("sig");
  // Payload sizes around the encoder's block boundary.
  for (std::size_t size : {0u, 1u, 2u, 3u, 49151u, 49152u, 49153u, 100000u}) {
    b.payload = Bytes(size);
    for (std::size_t i = 0; i < size; ++i) b.payload[i] = static_cast<std::uint8_t>(i * 7);
    for (bool chain : {false, true}) {
      b.material = chain ? bundle::Material::kCertificateChain : bundle::Material::kPublicKey;
      b.key_hint = "h\xc3\xa9nt\"";
      b.certificates = chain ? std::vector<Bytes>{to_bytes("leaf"), to_bytes("ca!")} : std::vector<Bytes>{};
      OJ vm;
      if (!chain) {
        vm["publicKey"] = OJ{{"hint", *b.key_hint}};
      } else {
        OJ certs = OJ::array();
        for (const auto& c : b.certificates) certs.push_back(OJ{{"rawBytes", base64_encode(c)}});
        vm["x509CertificateChain"] = OJ{{"certificates", certs}};
      }
      vm["tlogEntries"] = OJ::array();
      OJ tree = {{"mediaType", b.media_type},
                 {"verificationMaterial", vm},
                 {"dsseEnvelope",
                  OJ{{"payload", base64_encode(b.payload)},
                     {"payloadType", b.payload_type},
                     {"signatures", OJ::array({OJ{{"sig", base64_encode(b.signature)}, {"keyid", ""}}})}}}};
      EXPECT_EQ(bundle::write_bundle(b), tree.dump()) << "payload of " << size << " bytes";
    }
  }
}

class SignLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = open_signer(test::write_ec_key(tmp_ / "key.pem", "P-256"), {});
    ASSERT_TRUE(s.has_value()) << s.error().describe();
    signer_ = std::move(*s);
    options_.hashing.threads = 1;
  }
  TempDir tmp_;
  std::unique_ptr<Signer> signer_;
  SignOptions options_;
};

TEST_F(SignLimits, AModelDeeperThanVerifyAcceptsFailsAtSigning) {
  fs::path model = tmp_ / "model";
  fs::path dir = model;
  for (std::size_t i = 0; i < limits::kMaxPathComponents + 1; ++i) dir /= "d";
  fs::create_directories(dir);
  test::write_file(dir / "w.bin", "weights");
  auto r = sign_model(model.string(), *signer_, options_);
  ASSERT_FALSE(r.has_value()) << "signed a model verify cannot accept";
  EXPECT_NE(r.error().message.find("verify would refuse"), std::string::npos) << r.error().message;
  // verify's own message for the same name
  auto verify_says = bundle::check_resource_path(
      fs::relative(dir / "w.bin", model).string());
  ASSERT_FALSE(verify_says.has_value());
  EXPECT_NE(r.error().message.find(verify_says.error().message), std::string::npos) << r.error().message;

  // One level less is within the limit and signs.
  fs::path shallow = tmp_ / "shallow";
  dir = shallow;
  for (std::size_t i = 0; i < limits::kMaxPathComponents - 1; ++i) dir /= "d";
  fs::create_directories(dir);
  test::write_file(dir / "w.bin", "weights");
  auto ok = sign_model(shallow.string(), *signer_, options_);
  EXPECT_TRUE(ok.has_value()) << ok.error().describe();
}

TEST_F(SignLimits, ABundleOverTheSizeLimitFailsAtSigningWithVerifysMessage) {
  fs::path model = tmp_ / "model";
  fs::create_directories(model);
  for (int i = 0; i < 40; ++i) test::write_file(model / fmt::format("file-{:03}.bin", i), "x");
  auto fits = sign_model(model.string(), *signer_, options_);
  ASSERT_TRUE(fits.has_value()) << fits.error().describe();
  const std::size_t size = fits->bundle_json.size();

  options_.max_bundle_bytes = size - 1;
  auto r = sign_model(model.string(), *signer_, options_);
  ASSERT_FALSE(r.has_value());
  // parse_strict's wording for an oversized bundle, with the size signing would have written
  // (ECDSA signatures differ in length by a byte or two between runs).
  EXPECT_NE(r.error().message.find("not signing: verify would refuse this signature: the signature "
                                   "bundle is "),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(fmt::format("bytes; the limit is {} bytes", size - 1)),
            std::string::npos)
      << r.error().message;
  auto verify_says = bundle::check_bundle_size(limits::kMaxBundleBytes + 1, limits::kMaxBundleBytes);
  ASSERT_FALSE(verify_says.has_value());
  auto parse_says = bundle::parse_bundle(std::string(limits::kMaxBundleBytes + 1, ' '));
  ASSERT_FALSE(parse_says.has_value());
  EXPECT_EQ(verify_says.error().message, parse_says.error().message);
}

TEST_F(SignLimits, TooManyIgnorePathsFailAtSigning) {
  fs::path model = tmp_ / "model";
  fs::create_directories(model);
  test::write_file(model / "w.bin", "x");
  for (std::size_t i = 0; i <= limits::kMaxIgnorePaths; ++i)
    options_.serialization.ignore_paths.push_back(fmt::format("ignored-{}", i));
  auto r = sign_model(model.string(), *signer_, options_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("ignore_paths; the limit is"), std::string::npos) << r.error().message;
}

// ---------------------------------------------------------------- atomic writer

bool tmpfile_supported(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with(".modelsign-")) out.push_back(e.path().filename());
  return out;
}

// Does process `pid` have a file of `dir` open (named or O_TMPFILE)?
bool writing_into(pid_t pid, const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "fd", ec)) {
    auto target = fs::read_symlink(e.path(), ec);
    if (!ec && target.string().starts_with(dir.string() + "/")) return true;
  }
  return false;
}

// Kills a child process in the middle of write_file_atomically with `sig`; returns true
// when the kill landed while the child was writing (the child died of the signal).
bool kill_while_writing(const fs::path& dir, const std::string& data, bool named_temp, int sig) {
  const fs::path target = dir / "m.sig";
  pid_t pid = ::fork();
  if (pid == 0) {
    detail::g_disable_tmpfile = named_temp;
    auto r = write_file_atomically(target.string(), data);
    ::_exit(r ? 0 : 3);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!writing_into(pid, dir) && std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return false;  // finished before we saw it
  }
  ::kill(pid, sig);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

void expect_kills_leave_nothing(bool named_temp, std::initializer_list<int> signals) {
  TempDir t;
  const std::string data(96u << 20, 'x');
  for (int sig : signals) {
    test::write_file(t / "m.sig", "previous signature");
    bool landed = false;
    for (int attempt = 0; attempt < 5 && !landed; ++attempt) landed = kill_while_writing(t.path(), data, named_temp, sig);
    EXPECT_TRUE(landed) << "signal " << sig << " never reached the writer mid-write";
    EXPECT_EQ(temp_files(t.path()), std::vector<std::string>{}) << "signal " << sig;
    std::string now = test::read_file(t / "m.sig");
    EXPECT_TRUE(now == "previous signature" || now == data) << "a partial signature after signal " << sig;
  }
}

TEST(AtomicWrite, AKillAtAnyPointLeavesNoTemporaryFile) {
  TempDir t;
  if (!tmpfile_supported(t.path())) GTEST_SKIP() << "no O_TMPFILE on this file system";
  expect_kills_leave_nothing(false, {SIGKILL, SIGTERM, SIGINT});
}

TEST(AtomicWrite, WithoutTmpfileSigintAndSigtermRemoveTheTemporaryFile) {
  expect_kills_leave_nothing(true, {SIGTERM, SIGINT});
}

TEST(AtomicWrite, ReplacesAnExistingFileAndCreatesANewOne) {
  TempDir t;
  for (bool named : {false, true}) {
    detail::g_disable_tmpfile = named;
    fs::remove(t / "new.sig");
    ASSERT_TRUE(write_file_atomically((t / "new.sig").string(), "one", 0640));
    EXPECT_EQ(test::read_file(t / "new.sig"), "one");
    EXPECT_EQ(fs::status(t / "new.sig").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    ASSERT_TRUE(write_file_atomically((t / "new.sig").string(), "two"));
    EXPECT_EQ(test::read_file(t / "new.sig"), "two");
    EXPECT_EQ(temp_files(t.path()), std::vector<std::string>{});
  }
  detail::g_disable_tmpfile = false;
}

}  // namespace
}  // namespace modelsign
