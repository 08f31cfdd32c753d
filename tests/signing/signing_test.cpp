// Sign and verify through the library API (no CLI): upstream fixtures, round trips,
// and every rejection the verifier must make, each with its specific error.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/statement.h"
#include "common/files.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "modelsign/key_provider.h"
#include "modelsign/sign.h"
#include "modelsign/verify.h"
#include "test_support.h"

namespace modelsign {
namespace {

using test::TempDir;
using test::write_file;
using Json = nlohmann::json;

// Inside the upstream certificates' validity (2025-05-02 .. 2035-04-30).
const auto kUpstreamFixtureTime = std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01

std::string upstream_key_dir() { return (test::upstream_fixtures() / "keys" / "certificate").string(); }

PublicKey upstream_public_key() {
  auto k = PublicKey::from_pem_file(upstream_key_dir() + "/signing-key-pub.pem");
  EXPECT_TRUE(k.has_value());
  return *k;
}

std::vector<Bytes> certs_from(const std::string& path) {
  auto c = read_pem_certificates(path);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return c ? *c : std::vector<Bytes>{};
}

VerifyOptions options_for(const std::string& model, const std::string& sig,
                          const std::vector<std::string>& ignores = {}) {
  VerifyOptions o;
  for (const auto& i : ignores)
    if (auto r = resolve_ignore_path(i, model)) o.serialization.ignore_paths.push_back(*r);
  if (auto r = resolve_ignore_path(sig, model)) o.serialization.ignore_paths.push_back(*r);
  o.hashing.threads = 2;
  return o;
}

// ---------------------------------------------------------------- upstream fixtures

struct Fixture {
  std::string dir;
  bool certificate;
  bool single_file;   // v0.3.1/v1.0.0 elliptic-key sign only signme-1
  bool ignore_me;     // v1.0.1+ need --ignore-paths ignore-me (v1.1 records it)
};

class UpstreamFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(UpstreamFixture, VerifiesWithTheUpstreamKeyOrChain) {
  const Fixture& f = GetParam();
  std::string dir = (test::upstream_fixtures() / f.dir).string();
  std::string model = f.single_file ? dir + "/signme-1" : dir;
  std::string sig = dir + "/model.sig";
  auto o = options_for(model, sig, f.ignore_me ? std::vector<std::string>{dir + "/ignore-me"}
                                               : std::vector<std::string>{});
  if (f.certificate) {
    o.method = VerifyMethod::kCertificate;
    o.trust_anchors = certs_from(upstream_key_dir() + "/ca-cert.pem");
    // The upstream certificates expire on 2035-04-30: check them at a fixed time.
    o.verification_time = kUpstreamFixtureTime;
  } else {
    o.method = VerifyMethod::kKey;
    o.public_key = upstream_public_key();
  }
  auto r = verify_model(model, test::read_file(sig), o);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_FALSE(r->signed_manifest.resources.empty());
}

INSTANTIATE_TEST_SUITE_P(
    AllVersions, UpstreamFixture,
    ::testing::Values(Fixture{"v0.2.0-certificate", true, false, false},
                      Fixture{"v0.3.1-certificate", true, false, false},
                      Fixture{"v1.0.0-certificate", true, false, false},
                      Fixture{"v1.0.1-certificate", true, false, true},
                      Fixture{"v1.1.0-certificate", true, false, true},
                      Fixture{"v0.3.1-elliptic-key", false, true, false},
                      Fixture{"v1.0.0-elliptic-key", false, true, false},
                      Fixture{"v1.0.1-elliptic-key", false, false, true},
                      Fixture{"v1.1.0-elliptic-key", false, false, true}),
    [](const auto& param_info) {
      std::string n = param_info.param.dir;
      for (auto& c : n)
        if (c == '.' || c == '-') c = '_';
      return n;
    });

TEST(UpstreamFixtures, V110VerifiesWithoutRepeatingIgnorePathsBecauseTheyAreRecorded) {
  std::string dir = (test::upstream_fixtures() / "v1.1.0-elliptic-key").string();
  auto o = options_for(dir, dir + "/model.sig");
  o.public_key = upstream_public_key();
  auto r = verify_model(dir, test::read_file(dir + "/model.sig"), o);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
}

TEST(UpstreamFixtures, V101WithoutIgnorePathsReportsTheExtraFile) {
  std::string dir = (test::upstream_fixtures() / "v1.0.1-certificate").string();
  auto o = options_for(dir, dir + "/model.sig");
  o.method = VerifyMethod::kCertificate;
  o.trust_anchors = certs_from(upstream_key_dir() + "/ca-cert.pem");
  o.verification_time = kUpstreamFixtureTime;
  auto r = verify_model(dir, test::read_file(dir + "/model.sig"), o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kMismatch);
  EXPECT_NE(r.error().message.find("Extra files found in model 'v1.0.1-certificate': ignore-me"),
            std::string::npos)
      << r.error().message;
  o.ignore_unsigned_files = true;
  EXPECT_TRUE(verify_model(dir, test::read_file(dir + "/model.sig"), o).has_value());
}

TEST(UpstreamFixtures, LegacyKeyBundleWarnsAboutTheOldFormat) {
  std::string dir = (test::upstream_fixtures() / "v1.0.0-elliptic-key").string();
  auto o = options_for(dir + "/signme-1", dir + "/model.sig");
  o.public_key = upstream_public_key();
  auto r = verify_model(dir + "/signme-1", test::read_file(dir + "/model.sig"), o);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(r->warnings[0].starts_with("WARNING: This model's signature uses an older"));
}

TEST(UpstreamFixtures, PublicKeyHintMatchesTheUpstreamVector) {
  EXPECT_EQ(upstream_public_key().hint(), "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
}

TEST(UpstreamFixtures, V020OnlyVerifiesThroughTheCompatPae) {
  // The standard PAE must fail on this bundle; success therefore proves the compat path.
  std::string sig = (test::upstream_fixtures() / "v0.2.0-certificate" / "model.sig").string();
  auto b = bundle::parse_bundle(test::read_file(sig));
  ASSERT_TRUE(b.has_value());
  auto certs = b->certificates;
  const unsigned char* p = certs[0].data();
  ossl::UniquePtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(certs[0].size())));
  ASSERT_NE(x, nullptr);
  auto key = public_key_from_pkey(X509_get0_pubkey(x.get()));
  x.reset();
  ASSERT_TRUE(key.has_value());
  Bytes std_pae = bundle::pae(bundle::kInTotoPayloadType, b->payload);
  EXPECT_FALSE(key->verify(SignatureScheme::kEcdsaP384Sha384, std_pae, b->signature).has_value());
  Bytes compat = bundle::compat_pae(bundle::kInTotoPayloadType, b->payload);
  EXPECT_TRUE(key->verify_with_hash("SHA256", compat, b->signature).has_value());
}

// ---------------------------------------------------------------- round trips

struct Model {
  TempDir tmp;
  std::string dir;
  Model() : dir((tmp / "model").string()) {
    write_file(tmp / "model/weights.bin", std::string(100000, 'w'));
    write_file(tmp / "model/config.json", "{\"layers\": 2}");
    write_file(tmp / "model/sub/tokenizer.json", "{}");
  }
  std::string sig() const { return dir + ".sig"; }
};

std::unique_ptr<Signer> pem_signer(const std::string& path) {
  auto s = open_signer(path, {});
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
  return s ? std::move(*s) : nullptr;
}

SignOptions sign_options(const std::string& model, const std::string& sig) {
  SignOptions o;
  if (auto r = resolve_ignore_path(sig, model)) o.serialization.ignore_paths.push_back(*r);
  o.hashing.threads = 2;
  return o;
}

Result<SignResult> sign_to(const Model& m, Signer& s, const SignOptions& o) {
  auto r = sign_model(m.dir, s, o);
  if (r) {
    EXPECT_TRUE(write_file_atomically(m.sig(), r->bundle_json).has_value());
  }
  return r;
}

class CurveRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(CurveRoundTrip, KeyBundleVerifiesAndHasTheV11Shape) {
  Model m;
  std::string key = test::write_ec_key(m.tmp / "key.pem", GetParam());
  auto signer = pem_signer(key);
  ASSERT_TRUE(signer);
  auto r = sign_to(m, *signer, sign_options(m.dir, m.sig()));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  Json b = Json::parse(r->bundle_json);
  EXPECT_EQ(b["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ(b["verificationMaterial"]["publicKey"]["hint"], signer->public_key().hint());
  EXPECT_TRUE(b["verificationMaterial"]["tlogEntries"].is_array() &&
              b["verificationMaterial"]["tlogEntries"].empty());
  EXPECT_EQ(b["dsseEnvelope"]["signatures"][0]["keyid"], "");
  EXPECT_EQ(b["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");

  auto o = options_for(m.dir, m.sig());
  o.public_key = signer->public_key();
  auto v = verify_model(m.dir, test::read_file(m.sig()), o);
  ASSERT_TRUE(v.has_value()) << v.error().describe();
  EXPECT_EQ(v->signed_manifest.resources.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Curves, CurveRoundTrip, ::testing::Values("P-256", "P-384", "P-521"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           n.erase(n.find('-'), 1);
                           return n;
                         });

TEST(RoundTrip, StatementBytesAreIdenticalAcrossTwoSignings) {
  Model m;
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto a = sign_model(m.dir, *signer, sign_options(m.dir, m.sig()));
  auto b = sign_model(m.dir, *signer, sign_options(m.dir, m.sig()));
  ASSERT_TRUE(a && b);
  auto pa = bundle::parse_bundle(a->bundle_json), pb = bundle::parse_bundle(b->bundle_json);
  ASSERT_TRUE(pa && pb);
  EXPECT_EQ(pa->payload, pb->payload);
  EXPECT_NE(pa->signature, pb->signature);  // ECDSA is randomized; only the statement is stable
}

TEST(RoundTrip, SingleFileModel) {
  TempDir t;
  write_file(t / "model.safetensors", "tensor bytes");
  std::string model = (t / "model.safetensors").string(), sig = model + ".sig";
  auto signer = pem_signer(test::write_ec_key(t / "key.pem", "P-384"));
  auto r = sign_model(model, *signer, sign_options(model, sig));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  ASSERT_EQ(r->manifest.resources.size(), 1u);
  EXPECT_EQ(r->manifest.resources[0].name, ".");
  EXPECT_EQ(r->manifest.model_name, "model.safetensors");
  auto o = options_for(model, sig);
  o.public_key = signer->public_key();
  EXPECT_TRUE(verify_model(model, r->bundle_json, o).has_value());
}

TEST(RoundTrip, SignatureInsideTheModelIsIgnoredAndRecorded) {
  Model m;
  std::string sig = m.dir + "/model.sig";
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto r = sign_model(m.dir, *signer, sign_options(m.dir, sig));
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(write_file_atomically(sig, r->bundle_json).has_value());
  const auto& ig = r->manifest.serialization.ignore_paths;
  EXPECT_NE(std::find(ig.begin(), ig.end(), "model.sig"), ig.end());
  auto o = options_for(m.dir, sig);
  o.public_key = signer->public_key();
  auto v = verify_model(m.dir, test::read_file(sig), o);
  EXPECT_TRUE(v.has_value()) << v.error().describe();
}

TEST(RoundTrip, UnicodeAndSpaceNames) {
  Model m;
  write_file(m.tmp / "model/données é/模型 权重.bin", "unicode");
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto r = sign_to(m, *signer, sign_options(m.dir, m.sig()));
  ASSERT_TRUE(r.has_value());
  // Non-ASCII is written as \u escapes, as model_signing's printer does.
  auto b = bundle::parse_bundle(r->bundle_json);
  std::string payload(b->payload.begin(), b->payload.end());
  EXPECT_NE(payload.find("donn\\u00e9es \\u00e9/\\u6a21\\u578b \\u6743\\u91cd.bin"), std::string::npos) << payload;
  auto o = options_for(m.dir, m.sig());
  o.public_key = signer->public_key();
  EXPECT_TRUE(verify_model(m.dir, test::read_file(m.sig()), o).has_value());
}

TEST(RoundTrip, RecordedIgnorePathsApplyAtVerification) {
  Model m;
  write_file(m.tmp / "model/cache/tmp.bin", "scratch");
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto so = sign_options(m.dir, m.sig());
  so.serialization.ignore_paths.push_back("cache");
  auto r = sign_to(m, *signer, so);
  ASSERT_TRUE(r.has_value());
  for (const auto& res : r->manifest.resources) EXPECT_FALSE(res.name.starts_with("cache"));
  write_file(m.tmp / "model/cache/tmp.bin", "changed scratch");
  auto o = options_for(m.dir, m.sig());  // no ignore given: the signature carries it
  o.public_key = signer->public_key();
  auto v = verify_model(m.dir, test::read_file(m.sig()), o);
  EXPECT_TRUE(v.has_value()) << v.error().describe();
}

TEST(RoundTrip, CertificateBundleWithIntermediateVerifiesAgainstTheRoot) {
  for (const char* curve : {"P-256", "P-384"}) {
    Model m;
    test::Pki pki;
    auto root = pki.make({.cn = "root", .ca = true}, "P-384", nullptr);
    auto inter = pki.make({.cn = "intermediate", .ca = true}, "P-384", &root);
    auto leaf = pki.make({.cn = "signer"}, curve, &inter);
    write_file(m.tmp / "leaf.pem", test::private_key_pem(leaf.key), 0600);
    auto signer = pem_signer((m.tmp / "leaf.pem").string());
    auto so = sign_options(m.dir, m.sig());
    so.certificate_chain = {leaf.der(), inter.der()};
    auto r = sign_to(m, *signer, so);
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(r->signer, "CN=signer");
    Json b = Json::parse(r->bundle_json);
    EXPECT_EQ(b["verificationMaterial"]["x509CertificateChain"]["certificates"].size(), 2u);
    auto o = options_for(m.dir, m.sig());
    o.method = VerifyMethod::kCertificate;
    o.trust_anchors = {root.der()};
    auto v = verify_model(m.dir, test::read_file(m.sig()), o);
    ASSERT_TRUE(v.has_value()) << v.error().describe();
    EXPECT_EQ(v->signer, "CN=signer");
  }
}

TEST(Signing, RefusesACertificateThatIsNotForTheKey) {
  Model m;
  test::Pki pki;
  auto root = pki.make({.cn = "root", .ca = true}, "P-256", nullptr);
  auto leaf = pki.make({.cn = "other"}, "P-256", &root);
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto so = sign_options(m.dir, m.sig());
  so.certificate_chain = {leaf.der()};
  auto r = sign_model(m.dir, *signer, so);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("does not match the public key paired with the private key"), std::string::npos);
}

TEST(Signing, RefusesNonEcPemKeysNamingTheSupportedCurves) {
  TempDir t;
  ossl::UniquePtr<EVP_PKEY> rsa(EVP_RSA_gen(2048));
  write_file(t / "rsa.pem", test::private_key_pem(rsa.get()), 0600);
  auto s = open_signer((t / "rsa.pem").string(), {});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(s.error().message.find("P-256, P-384, P-521"), std::string::npos) << s.error().message;
}

TEST(Signing, RefusesUnsupportedCurves) {
  TempDir t;
  ossl::UniquePtr<EVP_PKEY> k(EVP_EC_gen("secp256k1"));
  write_file(t / "k1.pem", test::private_key_pem(k.get()), 0600);
  auto s = open_signer((t / "k1.pem").string(), {});
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("P-256, P-384 and P-521"), std::string::npos) << s.error().message;
}

TEST(Signing, FailedWriteLeavesThePreviousSignatureUntouched) {
  Model m;
  write_file(m.sig(), "previous signature");
  std::string big(100000, 'x');
  // A file-size limit makes write() fail with EFBIG, as a full disk would.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &rl);
    auto w = write_file_atomically(m.sig(), big);
    _exit(!w.has_value() && w.error().message.find("previous file") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(test::read_file(m.sig()), "previous signature");
  for (const auto& e : std::filesystem::directory_iterator(m.tmp.path()))
    EXPECT_FALSE(e.path().filename().string().starts_with(".modelsign-")) << e.path();
}

// ---------------------------------------------------------------- rejections

// A signed model plus helpers to forge variants of its bundle.
struct Signed {
  Model m;
  std::unique_ptr<Signer> signer;
  std::string bundle;
  Signed() {
    signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
    auto r = sign_to(m, *signer, sign_options(m.dir, m.sig()));
    EXPECT_TRUE(r.has_value());
    bundle = r->bundle_json;
  }
  Result<VerifyResult> verify(const std::string& b, bool ignore_unsigned = false) const {
    auto o = options_for(m.dir, m.sig());
    o.public_key = signer->public_key();
    o.ignore_unsigned_files = ignore_unsigned;
    return verify_model(m.dir, b, o);
  }
  Result<VerifyResult> verify() const { return verify(bundle); }
  // Re-sign an arbitrary statement with the same key.
  std::string forge(const std::string& statement, std::string_view payload_type = bundle::kInTotoPayloadType) {
    bundle::Bundle b;
    b.payload_type = std::string(payload_type);
    b.payload = to_bytes(statement);
    b.key_hint = signer->public_key().hint();
    auto sig = sign_message(*signer, bundle::pae(bundle::kInTotoPayloadType, b.payload));
    EXPECT_TRUE(sig.has_value());
    b.signature = *sig;
    return bundle::write_bundle(b);
  }
  Json statement() const {
    auto b = bundle::parse_bundle(bundle);
    return Json::parse(b->payload.begin(), b->payload.end());
  }
};

void expect_error(const Result<VerifyResult>& r, ErrorCode code, std::string_view text) {
  ASSERT_FALSE(r.has_value()) << "verification unexpectedly succeeded";
  EXPECT_EQ(r.error().code, code) << r.error().describe();
  EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().describe();
}

// Root digest for a hand-made resource list.
std::string root_of(const Json& resources) {
  Manifest m;
  for (const auto& r : resources) {
    Resource x;
    x.digest = *from_hex(r["digest"].get<std::string>());
    m.resources.push_back(x);
  }
  return to_hex(m.root_digest());
}

TEST(Rejects, OneChangedByteNamesTheFile) {
  Signed s;
  write_file(s.m.tmp / "model/config.json", "{\"layers\": 3}");
  expect_error(s.verify(), ErrorCode::kMismatch, "Hash mismatch for 'config.json'");
}

TEST(Rejects, MissingFileIsNamed) {
  Signed s;
  std::filesystem::remove(s.m.tmp / "model/sub/tokenizer.json");
  expect_error(s.verify(), ErrorCode::kMismatch, "Missing files in model 'model': sub/tokenizer.json");
}

TEST(Rejects, ExtraFileIsNamedAndToleratedWithIgnoreUnsignedFiles) {
  Signed s;
  write_file(s.m.tmp / "model/extra.txt", "new");
  expect_error(s.verify(), ErrorCode::kMismatch, "Extra files found in model 'model': extra.txt");
  auto ok = s.verify(s.bundle, true);
  EXPECT_TRUE(ok.has_value()) << ok.error().describe();
}

TEST(Rejects, AllThreeKindsOfDifferenceAreReportedTogether) {
  Signed s;
  write_file(s.m.tmp / "model/extra.txt", "new");
  std::filesystem::remove(s.m.tmp / "model/sub/tokenizer.json");
  write_file(s.m.tmp / "model/weights.bin", "tampered");
  auto r = s.verify();
  ASSERT_FALSE(r.has_value());
  for (const char* t : {"Extra files", "extra.txt", "Missing files", "sub/tokenizer.json",
                        "Hash mismatch for 'weights.bin'"})
    EXPECT_NE(r.error().message.find(t), std::string::npos) << t << ": " << r.error().message;
}

TEST(Rejects, ChangedPayloadByte) {
  Signed s;
  Json b = Json::parse(s.bundle);
  auto payload = *base64_decode(b["dsseEnvelope"]["payload"].get<std::string>());
  payload[payload.size() / 2] ^= 0x01;
  b["dsseEnvelope"]["payload"] = base64_encode(payload);
  expect_error(s.verify(b.dump()), ErrorCode::kVerification, "Invalid signature");
}

TEST(Rejects, ChangedSignatureByte) {
  Signed s;
  Json b = Json::parse(s.bundle);
  auto sig = *base64_decode(b["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
  sig[sig.size() - 3] ^= 0x40;
  b["dsseEnvelope"]["signatures"][0]["sig"] = base64_encode(sig);
  expect_error(s.verify(b.dump()), ErrorCode::kVerification, "Invalid signature");
}

TEST(Rejects, WrongPublicKeyByHint) {
  Signed s;
  auto other = pem_signer(test::write_ec_key(s.m.tmp / "other.pem", "P-256"));
  auto o = options_for(s.m.dir, s.m.sig());
  o.public_key = other->public_key();
  expect_error(verify_model(s.m.dir, s.bundle, o), ErrorCode::kVerification, "Key mismatch");
}

TEST(Rejects, WrongPublicKeyOnALegacyBundleFailsTheSignature) {
  std::string dir = (test::upstream_fixtures() / "v1.0.1-elliptic-key").string();
  TempDir t;
  auto other = pem_signer(test::write_ec_key(t / "other.pem", "P-384"));
  auto o = options_for(dir, dir + "/model.sig", {dir + "/ignore-me"});
  o.public_key = other->public_key();
  expect_error(verify_model(dir, test::read_file(dir + "/model.sig"), o), ErrorCode::kVerification,
               "Invalid signature");
}

TEST(Rejects, KeyBundleVerifiedAsCertificateAndViceVersa) {
  Signed s;
  auto o = options_for(s.m.dir, s.m.sig());
  o.method = VerifyMethod::kCertificate;
  expect_error(verify_model(s.m.dir, s.bundle, o), ErrorCode::kVerification, "verify it with 'verify key'");
  std::string dir = (test::upstream_fixtures() / "v1.1.0-certificate").string();
  auto k = options_for(dir, dir + "/model.sig");
  k.public_key = upstream_public_key();
  expect_error(verify_model(dir, test::read_file(dir + "/model.sig"), k), ErrorCode::kVerification,
               "verify it with 'verify certificate'");
}

TEST(Rejects, SigstoreBundleAsKeyOrCertificate) {
  std::string dir = (test::upstream_fixtures() / "v1.1.0-sigstore").string();
  auto k = options_for(dir, dir + "/model.sig");
  k.public_key = upstream_public_key();
  expect_error(verify_model(dir, test::read_file(dir + "/model.sig"), k), ErrorCode::kUnsupported, "Sigstore");
}

struct ForgedStatement : ::testing::Test {
  Signed s;
  Json st = s.statement();
  Result<VerifyResult> verify_forged(std::string_view payload_type = bundle::kInTotoPayloadType) {
    return s.verify(s.forge(st.dump(2), payload_type));
  }
  void set_resources(Json res) {
    st["predicate"]["resources"] = res;
    st["subject"][0]["digest"]["sha256"] = root_of(res);
  }
};

TEST_F(ForgedStatement, DotDotInAResourceNameIsRejectedBeforeReadingTheDisk) {
  auto res = st["predicate"]["resources"];
  res[0]["name"] = "../../etc/passwd";
  set_resources(res);
  expect_error(verify_forged(), ErrorCode::kMalformed, "'..' component");
}

TEST_F(ForgedStatement, AbsoluteResourceNameIsRejected) {
  auto res = st["predicate"]["resources"];
  res[0]["name"] = "/etc/passwd";
  set_resources(res);
  expect_error(verify_forged(), ErrorCode::kMalformed, "absolute path");
}

TEST_F(ForgedStatement, EmptyComponentIsRejected) {
  auto res = st["predicate"]["resources"];
  res[0]["name"] = "sub//tokenizer.json";
  set_resources(res);
  expect_error(verify_forged(), ErrorCode::kMalformed, "empty path component");
}

TEST_F(ForgedStatement, EmptyResourcesAreRejected) {
  set_resources(Json::array());
  expect_error(verify_forged(), ErrorCode::kVerification, "empty resources");
}

TEST_F(ForgedStatement, InconsistentRootDigestIsRejected) {
  st["subject"][0]["digest"]["sha256"] = std::string(64, 'a');
  expect_error(verify_forged(), ErrorCode::kVerification, "Manifest is inconsistent");
}

TEST_F(ForgedStatement, WrongPredicateType) {
  st["predicateType"] = "https://model_signing/DigestOfDigests/v0.1";
  expect_error(verify_forged(), ErrorCode::kVerification, "Predicate type mismatch");
}

TEST_F(ForgedStatement, WrongStatementType) {
  st["_type"] = "https://in-toto.io/Statement/v0.1";
  expect_error(verify_forged(), ErrorCode::kVerification, "Expected in-toto https://in-toto.io/Statement/v1");
}

TEST_F(ForgedStatement, WrongPayloadType) {
  expect_error(verify_forged("application/json"), ErrorCode::kVerification, "Expected DSSE payload");
}

TEST_F(ForgedStatement, TwoSubjects) {
  st["subject"].push_back(st["subject"][0]);
  expect_error(verify_forged(), ErrorCode::kVerification, "Expected only one subject, got 2");
}

TEST_F(ForgedStatement, DuplicateKeysInTheSignedPayload) {
  std::string text = st.dump(2);
  text.insert(1, "\"_type\": \"x\",");
  expect_error(s.verify(s.forge(text)), ErrorCode::kMalformed, "twice");
}

TEST_F(ForgedStatement, FloatShardSizeFromPythonIsAccepted) {
  // Python writes shard_size as 1000000000.0; a forged shards statement with that form
  // must parse (and then mismatch only because the model was signed as files).
  st["predicate"]["serialization"]["method"] = "shards";
  st["predicate"]["serialization"]["shard_size"] = 1000000000.0;
  auto r = verify_forged();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed) << r.error().describe();  // names lack :start:end
  EXPECT_NE(r.error().message.find("Invalid resource name"), std::string::npos);
}

TEST(Rejects, WrongMediaType) {
  Signed s;
  Json b = Json::parse(s.bundle);
  b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1";
  expect_error(s.verify(b.dump()), ErrorCode::kMalformed, "Invalid sigstore bundle, got media type");
}

TEST(Rejects, TruncatedAndNonJsonBundles) {
  Signed s;
  expect_error(s.verify(s.bundle.substr(0, s.bundle.size() / 2)), ErrorCode::kMalformed, "not valid JSON");
  expect_error(s.verify("not json at all"), ErrorCode::kMalformed, "not valid JSON");
  expect_error(s.verify("[]"), ErrorCode::kMalformed, "not a JSON object");
  expect_error(s.verify(""), ErrorCode::kMalformed, "not valid JSON");
}

// ---------------------------------------------------------------- certificates

using Clock = std::chrono::system_clock;

Clock::time_point utc(int year, int month, int day) {
  std::tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  return Clock::from_time_t(timegm(&t));
}
std::int64_t epoch(int year, int month, int day) { return Clock::to_time_t(utc(year, month, day)); }

struct CertCase : ::testing::Test {
  Model m;
  test::Pki pki;
  test::TestCert root = pki.make({.cn = "root", .ca = true, .not_before_offset = -86400 * 30}, "P-256", nullptr);
  test::TestCert inter =
      pki.make({.cn = "intermediate", .ca = true, .not_before_offset = -86400 * 30}, "P-256", &root);
  std::string last_bundle;

  // Signs at `signed_at` (default now) and verifies at `verify_at` (default now).
  Result<VerifyResult> sign_and_verify(const test::TestCert& leaf, std::vector<Bytes> anchors,
                                       std::vector<Bytes> chain_extra,
                                       std::optional<Clock::time_point> signed_at = std::nullopt,
                                       std::optional<Clock::time_point> verify_at = std::nullopt) {
    write_file(m.tmp / "leaf.pem", test::private_key_pem(leaf.key), 0600);
    auto signer = pem_signer((m.tmp / "leaf.pem").string());
    auto so = sign_options(m.dir, m.sig());
    so.certificate_chain = {leaf.der()};
    for (auto& c : chain_extra) so.certificate_chain.push_back(c);
    so.signing_time = signed_at;
    auto r = sign_model(m.dir, *signer, so);
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if (!r) return fail(r.error());
    last_bundle = r->bundle_json;
    return verify_bundle(r->bundle_json, std::move(anchors), verify_at);
  }

  Result<VerifyResult> verify_bundle(const std::string& json, std::vector<Bytes> anchors,
                                     std::optional<Clock::time_point> verify_at = std::nullopt) {
    auto o = options_for(m.dir, m.sig());
    o.method = VerifyMethod::kCertificate;
    o.trust_anchors = std::move(anchors);
    o.verification_time = verify_at;
    return verify_model(m.dir, json, o);
  }

  // A certificate bundle for a leaf `sign certificate` would refuse (bad usage): signed
  // with the leaf's key as a key bundle, then given the chain.
  std::string forged_certificate_bundle(const test::TestCert& leaf, std::vector<Bytes> chain_extra) {
    write_file(m.tmp / "leaf.pem", test::private_key_pem(leaf.key), 0600);
    auto signer = pem_signer((m.tmp / "leaf.pem").string());
    auto r = sign_model(m.dir, *signer, sign_options(m.dir, m.sig()));
    EXPECT_TRUE(r.has_value());
    auto b = bundle::parse_bundle(r->bundle_json);
    EXPECT_TRUE(b.has_value());
    b->material = bundle::Material::kCertificateChain;
    b->key_hint.reset();
    b->certificates = {leaf.der()};
    for (auto& c : chain_extra) b->certificates.push_back(c);
    return bundle::write_bundle(*b);
  }
};

TEST_F(CertCase, WrongCa) {
  test::Pki other;
  auto other_root = other.make({.cn = "other-root", .ca = true}, "P-256", nullptr);
  auto leaf = pki.make({.cn = "signer"}, "P-256", &inter);
  expect_error(sign_and_verify(leaf, {other_root.der()}, {inter.der()}), ErrorCode::kVerification,
               "does not validate");
}

TEST_F(CertCase, IntermediateGivenAsRootIsNotATrustAnchor) {
  auto leaf = pki.make({.cn = "signer"}, "P-256", &inter);
  auto r = sign_and_verify(leaf, {inter.der()}, {});
  expect_error(r, ErrorCode::kVerification, "self-signed root CA");
}

TEST_F(CertCase, ExpiredLeafFailsAndGivesTheDates) {
  auto leaf = pki.make({.cn = "signer", .not_before_offset = -86400 * 10, .not_after_offset = -86400}, "P-256",
                       &inter);
  auto r = sign_and_verify(leaf, {root.der()}, {inter.der()}, Clock::now() - std::chrono::hours(24 * 5));
  expect_error(r, ErrorCode::kVerification, "has expired: valid from");
}

TEST_F(CertCase, NotYetValidLeafFails) {
  // The CA must already cover the leaf's start for the chain to build at notBefore.
  auto leaf = pki.make({.cn = "signer", .not_before_offset = 86400, .not_after_offset = 86400 * 5}, "P-256",
                       &inter);
  expect_error(sign_and_verify(leaf, {root.der()}, {inter.der()}, Clock::now() + std::chrono::hours(48)),
               ErrorCode::kVerification, "not valid yet");
}

TEST_F(CertCase, LeafWithoutDigitalSignatureOrCodeSigningFails) {
  auto leaf = pki.make({.cn = "signer", .key_usage_digital_signature = false, .eku_code_signing = false},
                       "P-256", &inter);
  expect_error(verify_bundle(forged_certificate_bundle(leaf, {inter.der()}), {root.der()}),
               ErrorCode::kVerification, "Signing certificate cannot be used for signing");
}

TEST_F(CertCase, LeafWithOnlyCodeSigningEkuIsAccepted) {
  auto leaf = pki.make({.cn = "signer", .key_usage_digital_signature = false}, "P-256", &inter);
  auto r = sign_and_verify(leaf, {root.der()}, {inter.der()});
  EXPECT_TRUE(r.has_value()) << r.error().describe();
}

TEST_F(CertCase, LeafWithOnlyDigitalSignatureKeyUsageIsAccepted) {
  auto leaf = pki.make({.cn = "signer", .eku_code_signing = false}, "P-256", &inter);
  auto r = sign_and_verify(leaf, {root.der()}, {inter.der()});
  EXPECT_TRUE(r.has_value()) << r.error().describe();
}

// Before: KU keyEncipherment + EKU codeSigning verified (either extension sufficed).
TEST_F(CertCase, KeyEnciphermentKeyUsageWithCodeSigningEkuIsRejected) {
  auto leaf = pki.make({.cn = "signer", .key_usage = "critical,keyEncipherment"}, "P-256", &inter);
  expect_error(verify_bundle(forged_certificate_bundle(leaf, {inter.der()}), {root.der()}),
               ErrorCode::kVerification, "KeyUsage without digitalSignature");
}

// Before: a TLS server certificate (EKU serverAuth) with KU digitalSignature verified.
TEST_F(CertCase, ServerAuthEkuWithDigitalSignatureIsRejected) {
  auto leaf = pki.make({.cn = "tls.example", .extended_key_usage = "serverAuth"}, "P-256", &inter);
  expect_error(verify_bundle(forged_certificate_bundle(leaf, {inter.der()}), {root.der()}),
               ErrorCode::kVerification, "ExtendedKeyUsage without codeSigning");
}

// Before: no --certificate-chain meant OpenSSL's default store, which SSL_CERT_FILE
// redirects: a root planted there vouched for the signer.
TEST_F(CertCase, WithoutTrustAnchorsTheSystemStoreIsNotTrusted) {
  auto leaf = pki.make({.cn = "signer"}, "P-256", &inter);
  write_file(m.tmp / "store.pem", root.pem());
  setenv("SSL_CERT_FILE", (m.tmp / "store.pem").c_str(), 1);
  auto r = sign_and_verify(leaf, {}, {inter.der()});
  expect_error(r, ErrorCode::kInvalidArgument, "no trust anchor given");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("--use-system-trust-store"), std::string::npos) << r.error().message;

  // The explicit opt-in trusts it, and says whose store it is.
  auto o = options_for(m.dir, m.sig());
  o.method = VerifyMethod::kCertificate;
  o.use_system_trust_store = true;
  auto v = verify_model(m.dir, last_bundle, o);
  unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(v.has_value()) << v.error().describe();
  bool named = false;
  for (const auto& w : v->warnings)
    named = named || (w.find("system CA store") != std::string::npos &&
                      w.find((m.tmp / "store.pem").string()) != std::string::npos &&
                      w.find("SSL_CERT_FILE") != std::string::npos);
  EXPECT_TRUE(named) << "no warning names the store";
}

// Before: sign_model wrote these signatures, which could never verify.
TEST_F(CertCase, SigningRefusesCertificatesThatWouldNeverVerify) {
  struct Case {
    test::CertSpec spec;
    std::string expect;
  };
  for (const Case& c : {Case{{.cn = "expired", .not_before_offset = -86400 * 10, .not_after_offset = -86400},
                             "has expired"},
                        Case{{.cn = "future", .not_before_offset = 86400, .not_after_offset = 86400 * 5},
                             "not valid yet"},
                        Case{{.cn = "enc", .key_usage = "critical,keyEncipherment"},
                             "KeyUsage without digitalSignature"},
                        Case{{.cn = "tls", .extended_key_usage = "serverAuth"},
                             "ExtendedKeyUsage without codeSigning"},
                        Case{{.cn = "bare", .key_usage_digital_signature = false, .eku_code_signing = false},
                             "neither"}}) {
    auto leaf = pki.make(c.spec, "P-256", &inter);
    write_file(m.tmp / "leaf.pem", test::private_key_pem(leaf.key), 0600);
    auto signer = pem_signer((m.tmp / "leaf.pem").string());
    auto so = sign_options(m.dir, m.sig());
    so.certificate_chain = {leaf.der(), inter.der()};
    auto r = sign_model(m.dir, *signer, so);
    ASSERT_FALSE(r.has_value()) << c.spec.cn << ": signing succeeded";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().describe();
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().describe();
    EXPECT_NE(r.error().message.find("would never verify"), std::string::npos) << r.error().describe();
  }
}

// ---------------------------------------------------------------- chain time
// The verifier takes its time from VerifyOptions::verification_time; the chain is
// evaluated at the leaf's notBefore (model_signing's rule), the leaf at that time.

struct ChainTime : CertCase {
  // A PKI that lived in the past: root and intermediate valid 2020-01-01 .. 2022-01-01.
  test::Pki old_pki;
  test::TestCert old_root = old_pki.make(
      {.cn = "old-root", .ca = true, .not_before_time = epoch(2020, 1, 1), .not_after_time = epoch(2022, 1, 1)},
      "P-256", nullptr);
  test::TestCert old_inter = old_pki.make(
      {.cn = "old-inter", .ca = true, .not_before_time = epoch(2020, 1, 1), .not_after_time = epoch(2022, 1, 1)},
      "P-256", &old_root);
};

TEST_F(ChainTime, LeafValidAtSigningButExpiredAtVerificationTimeFails) {
  auto leaf = old_pki.make({.cn = "signer", .not_before_time = epoch(2021, 1, 1), .not_after_time = epoch(2021, 6, 1)},
                           "P-256", &old_inter);
  auto ok = sign_and_verify(leaf, {old_root.der()}, {old_inter.der()}, utc(2021, 2, 1), utc(2021, 3, 1));
  EXPECT_TRUE(ok.has_value()) << ok.error().describe();
  expect_error(verify_bundle(last_bundle, {old_root.der()}, utc(2021, 7, 1)), ErrorCode::kVerification,
               "has expired");
}

TEST_F(ChainTime, LeafNotYetValidAtVerificationTimeFails) {
  auto leaf = old_pki.make({.cn = "signer", .not_before_time = epoch(2021, 1, 1), .not_after_time = epoch(2021, 6, 1)},
                           "P-256", &old_inter);
  sign_and_verify(leaf, {old_root.der()}, {old_inter.der()}, utc(2021, 2, 1), utc(2021, 3, 1));
  expect_error(verify_bundle(last_bundle, {old_root.der()}, utc(2020, 12, 1)), ErrorCode::kVerification,
               "not valid yet");
}

// Mutation: deleting X509_VERIFY_PARAM_set_time in certificate_chain.cpp evaluates the
// chain now, when this CA has long expired: this test then fails.
TEST_F(ChainTime, CaExpiredAfterSigningStillVerifiesBecauseTheChainIsCheckedAtIssuance) {
  auto leaf = old_pki.make({.cn = "signer", .not_before_time = epoch(2021, 1, 1), .not_after_time = epoch(2040, 1, 1)},
                           "P-256", &old_inter);
  auto r = sign_and_verify(leaf, {old_root.der()}, {old_inter.der()}, utc(2021, 2, 1), utc(2030, 1, 1));
  EXPECT_TRUE(r.has_value()) << r.error().describe();
}

TEST_F(ChainTime, CaExpiredBeforeTheLeafWasIssuedFails) {
  auto leaf = old_pki.make({.cn = "signer", .not_before_time = epoch(2023, 1, 1), .not_after_time = epoch(2040, 1, 1)},
                           "P-256", &old_inter);
  auto r = sign_and_verify(leaf, {old_root.der()}, {old_inter.der()}, utc(2023, 2, 1), utc(2023, 3, 1));
  expect_error(r, ErrorCode::kVerification, "certificate has expired");
}

// ---------------------------------------------------------------- what verification lets through

namespace fs = std::filesystem;

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Mutation guarded: `if (ignore_unsigned) extra.clear();` -> `return {};` in verify.cpp
// (the flag switching off every content check).
TEST(IgnoreUnsignedFiles, AChangedSignedFileStillFails) {
  Signed s;
  write_file(s.m.tmp / "model/config.json", "{\"layers\": 3}");
  write_file(s.m.tmp / "model/extra.txt", "new");
  expect_error(s.verify(s.bundle, true), ErrorCode::kMismatch, "Hash mismatch for 'config.json'");
}

// Same mutation as above.
TEST(IgnoreUnsignedFiles, AMissingSignedFileStillFails) {
  Signed s;
  fs::remove(s.m.tmp / "model/sub/tokenizer.json");
  expect_error(s.verify(s.bundle, true), ErrorCode::kMismatch,
               "Missing files in model 'model': sub/tokenizer.json");
}

TEST(IgnoreUnsignedFiles, ToleratedFilesAreListedAndWarned) {
  Signed s;
  write_file(s.m.tmp / "model/extra.txt", "new");
  write_file(s.m.tmp / "model/sub/more/evil.py", "import os");
  write_file(s.m.tmp / "model/.git/config", "[core]");  // ignored, not "unsigned"
  auto r = s.verify(s.bundle, true);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->tolerated_unsigned, (std::vector<std::string>{"extra.txt", "sub/more/evil.py"}));
  bool warned = std::any_of(r->warnings.begin(), r->warnings.end(), [](const std::string& w) {
    return w.find("--ignore-unsigned-files") != std::string::npos &&
           w.find("extra.txt") != std::string::npos && w.find("sub/more/evil.py") != std::string::npos;
  });
  EXPECT_TRUE(warned) << fmt::format("{}", fmt::join(r->warnings, "\n"));
}

// Mutation guarded: enumerate_listed following symlinks whatever the policy.
TEST(IgnoreUnsignedFiles, ASignedFileReplacedBySymlinkFailsWithoutAllowSymlinks) {
  Signed s;
  write_file(s.m.tmp / "elsewhere/config.json", "{\"layers\": 2}");  // identical bytes
  fs::remove(s.m.tmp / "model/config.json");
  fs::create_symlink(s.m.tmp / "elsewhere/config.json", s.m.tmp / "model/config.json");
  expect_error(s.verify(s.bundle, true), ErrorCode::kUnsupported,
               "because it is a symlink");
  expect_error(s.verify(s.bundle, false), ErrorCode::kUnsupported, "because it is a symlink");
}

// Issue: only the last component was opened with O_NOFOLLOW, so a signed file reached
// through a symlinked directory verified.
TEST(IgnoreUnsignedFiles, ASymlinkedDirectoryOnASignedPathFails) {
  Signed s;
  fs::create_directories(s.m.tmp / "outside");
  fs::copy(s.m.tmp / "model/sub", s.m.tmp / "outside/sub", fs::copy_options::recursive);
  fs::remove_all(s.m.tmp / "model/sub");
  fs::create_directory_symlink(s.m.tmp / "outside/sub", s.m.tmp / "model/sub");
  for (auto policy : {SymlinkPolicy::kReject, SymlinkPolicy::kFollowAnywhere}) {
    auto o = options_for(s.m.dir, s.m.sig());
    o.public_key = s.signer->public_key();
    o.ignore_unsigned_files = true;
    o.serialization.symlinks = policy;
    expect_error(verify_model(s.m.dir, s.bundle, o), ErrorCode::kUnsupported,
                 "a directory on its path is a symlink");
  }
}

// Issue: a directory symlink under --allow-symlinks was skipped with a warning, so files
// behind it (here inside the ignored .git) were neither hashed nor reported.
TEST(DirectorySymlinks, ALinkedDirectoryFailsVerificationUnderEveryFollowPolicy) {
  Signed s;
  write_file(s.m.tmp / "model/.git/payload/modeling_evil.py", "import os");
  fs::create_directory_symlink(".git/payload", s.m.tmp / "model/custom_code");
  for (auto policy : {SymlinkPolicy::kFollowInRoot, SymlinkPolicy::kFollowAnywhere}) {
    auto o = options_for(s.m.dir, s.m.sig());
    o.public_key = s.signer->public_key();
    o.serialization.symlinks = policy;
    expect_error(verify_model(s.m.dir, s.bundle, o), ErrorCode::kUnsupported,
                 "is a symlink to a directory");
  }
}

TEST(DirectorySymlinks, SigningAModelWithALinkedDirectoryIsRefused) {
  Model m;
  fs::create_directory_symlink("sub", m.tmp / "model/linked");
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto so = sign_options(m.dir, m.sig());
  so.serialization.symlinks = SymlinkPolicy::kFollowInRoot;
  auto r = sign_model(m.dir, *signer, so);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("is a symlink to a directory"), std::string::npos) << r.error().message;
}

// Issue: recorded ignore paths were applied and never shown; a file dropped in under
// one verified silently.
TEST(IgnoredPaths, FilesUnderRecordedAndGitPathsAreReportedAndWarned) {
  Model m;
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto so = sign_options(m.dir, m.sig());
  so.serialization.ignore_paths.push_back("cache");
  ASSERT_TRUE(sign_to(m, *signer, so).has_value());
  write_file(m.tmp / "model/cache/config.json", "{\"evil\": true}");
  write_file(m.tmp / "model/.git/hooks/post-checkout", "#!/bin/sh");
  write_file(m.tmp / "model/.gitattributes", "* text");
  auto o = options_for(m.dir, m.sig());
  o.public_key = signer->public_key();
  auto r = verify_model(m.dir, test::read_file(m.sig()), o);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_TRUE(contains(r->recorded_ignore_paths, "cache"));
  EXPECT_TRUE(contains(r->recorded_ignore_paths, ".git"));
  EXPECT_EQ(r->ignored_files, (std::vector<std::string>{".git/hooks/post-checkout", ".gitattributes",
                                                        "cache/config.json"}));
  std::string all = fmt::format("{}", fmt::join(r->warnings, "\n"));
  EXPECT_NE(all.find("cache/config.json"), std::string::npos) << all;
  EXPECT_NE(all.find(".git/hooks/post-checkout"), std::string::npos) << all;
  EXPECT_NE(all.find("records ignore paths, whose files are not verified: cache"), std::string::npos) << all;

  o.strict_ignored = true;
  expect_error(verify_model(m.dir, test::read_file(m.sig()), o), ErrorCode::kMismatch,
               "Files exist under ignored paths");
}

TEST(IgnoredPaths, StrictIgnoredPassesWhenOnlyTheSignatureIsThere) {
  Model m;
  std::string sig = m.dir + "/model.sig";
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto r = sign_model(m.dir, *signer, sign_options(m.dir, sig));
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(write_file_atomically(sig, r->bundle_json).has_value());
  auto o = options_for(m.dir, sig);
  o.public_key = signer->public_key();
  o.signature_in_model = "model.sig";
  o.strict_ignored = true;
  auto v = verify_model(m.dir, test::read_file(sig), o);
  ASSERT_TRUE(v.has_value()) << v.error().describe();
  EXPECT_TRUE(v->ignored_files.empty());
  EXPECT_TRUE(contains(v->recorded_ignore_paths, "model.sig"));
  // Files under the git paths the signer recorded count as well.
  write_file(m.tmp / "model/.github/workflows/x.yml", "on: push");
  auto w = verify_model(m.dir, test::read_file(sig), o);
  expect_error(w, ErrorCode::kMismatch, ".github/workflows/x.yml");
}

// Issue: --no-ignore-git-paths at signing was not honoured at verification, so a
// signed .gitattributes was reported missing by a default verification.
TEST(IgnoredPaths, NoIgnoreGitPathsAtSigningIsHonouredAtVerification) {
  Model m;
  write_file(m.tmp / "model/.gitattributes", "*.bin filter=lfs");
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto so = sign_options(m.dir, m.sig());
  so.serialization.ignore_git_paths = false;
  so.serialization.ignore_paths.push_back("cache");  // a recorded set without the git paths
  auto r = sign_to(m, *signer, so);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(contains(r->manifest.serialization.ignore_paths, ".gitattributes"));
  auto o = options_for(m.dir, m.sig());  // default: ignore_git_paths = true
  o.public_key = signer->public_key();
  auto v = verify_model(m.dir, test::read_file(m.sig()), o);
  ASSERT_TRUE(v.has_value()) << v.error().describe();
  EXPECT_TRUE(v->default_ignore_paths.empty());
  // The signer hashed the git paths: a new file there is an extra file, not ignored.
  write_file(m.tmp / "model/.git/hooks/pre-commit", "#!/bin/sh");
  expect_error(verify_model(m.dir, test::read_file(m.sig()), o), ErrorCode::kMismatch,
               "Extra files found in model 'model': .git/hooks/pre-commit");
}

TEST(IgnoredPaths, NoIgnoreGitPathsWithoutARecordedSetKeepsSignedGitFiles) {
  Model m;
  write_file(m.tmp / "model/.gitattributes", "*.bin filter=lfs");
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  auto so = sign_options(m.dir, m.sig());  // signature outside: nothing recorded
  so.serialization.ignore_git_paths = false;
  auto r = sign_to(m, *signer, so);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->manifest.serialization.ignore_paths.empty());
  auto o = options_for(m.dir, m.sig());
  o.public_key = signer->public_key();
  auto v = verify_model(m.dir, test::read_file(m.sig()), o);
  ASSERT_TRUE(v.has_value()) << v.error().describe();
  EXPECT_FALSE(contains(v->default_ignore_paths, ".gitattributes"));
  EXPECT_TRUE(contains(v->default_ignore_paths, ".git"));
  write_file(m.tmp / "model/.gitattributes", "* -text");
  expect_error(verify_model(m.dir, test::read_file(m.sig()), o), ErrorCode::kMismatch,
               "Hash mismatch for '.gitattributes'");
}

}  // namespace
}  // namespace modelsign
