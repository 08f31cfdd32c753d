// The bundle and statement codecs on their own: every historical variant parses,
// malformed or oversized input is refused with a precise error, PAE vectors hold.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/json.h"
#include "bundle/limits.h"
#include "bundle/statement.h"
#include "crypto/encoding.h"
#include "test_support.h"

namespace modelsign::bundle {
namespace {

using J = nlohmann::json;

std::string fixture(const std::string& name) {
  return test::read_file(test::upstream_fixtures() / name / "model.sig");
}

J minimal_bundle() {
  return J{{"mediaType", kBundleMediaType},
           {"verificationMaterial", {{"publicKey", {{"hint", std::string(64, 'a')}}}, {"tlogEntries", J::array()}}},
           {"dsseEnvelope",
            {{"payload", base64_encode(to_bytes("{}"))},
             {"payloadType", kInTotoPayloadType},
             {"signatures", J::array({{{"sig", base64_encode(to_bytes("sig"))}, {"keyid", ""}}})}}}};
}

void expect_malformed(const std::string& text, std::string_view needle) {
  auto b = parse_bundle(text);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code == ErrorCode::kMalformed || b.error().code == ErrorCode::kUnsupported, true);
  EXPECT_NE(b.error().message.find(needle), std::string::npos) << b.error().message;
}

TEST(BundleParser, ReadsEveryUpstreamFixtureShape) {
  struct Case {
    const char* dir;
    Material material;
    bool hint;
    bool legacy;
    size_t certs;
  } cases[] = {
      {"v0.2.0-certificate", Material::kCertificateChain, false, false, 2},
      {"v0.3.1-elliptic-key", Material::kPublicKey, false, true, 0},
      {"v1.0.1-elliptic-key", Material::kPublicKey, false, true, 0},
      {"v1.1.0-elliptic-key", Material::kPublicKey, true, false, 0},
      {"v1.1.0-certificate", Material::kCertificateChain, false, false, 2},
      {"v1.1.0-sigstore", Material::kSigstore, false, false, 1},
      {"v0.3.1-sigstore", Material::kSigstore, false, false, 1},
  };
  for (const auto& c : cases) {
    auto b = parse_bundle(fixture(c.dir));
    ASSERT_TRUE(b.has_value()) << c.dir << ": " << b.error().message;
    EXPECT_EQ(b->material, c.material) << c.dir;
    EXPECT_EQ(b->key_hint.has_value(), c.hint) << c.dir;
    EXPECT_EQ(b->legacy_public_key, c.legacy) << c.dir;
    EXPECT_EQ(b->certificates.size(), c.certs) << c.dir;
    EXPECT_EQ(b->payload_type, kInTotoPayloadType);
    EXPECT_FALSE(b->payload.empty());
  }
}

// proto3 JSON leaves out fields at their default: sigstore-js writes entry 0 of a one-entry
// tree without the entry's and the proof's logIndex and without proof hashes.
TEST(BundleParser, TlogEntryWithoutDefaultValuedFields) {
  J b = J::parse(fixture("v1.1.0-sigstore"));
  b["verificationMaterial"]["tlogEntries"][0].erase("logIndex");
  J& proof = b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
  proof.erase("logIndex");
  proof.erase("hashes");
  auto parsed = parse_bundle(b.dump());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ASSERT_EQ(parsed->tlog.size(), 1u);
  EXPECT_EQ(parsed->tlog[0].log_index, 0);
  ASSERT_TRUE(parsed->tlog[0].inclusion_proof.has_value());
  EXPECT_EQ(parsed->tlog[0].inclusion_proof->log_index, 0);
  EXPECT_TRUE(parsed->tlog[0].inclusion_proof->hashes.empty());
  // A field that is present must still be well-formed.
  proof["hashes"] = "not an array";
  expect_malformed(b.dump(), "hashes");
}

TEST(BundleParser, AcceptsKeyidNullEmptyOrAbsent) {
  for (J kid : {J(nullptr), J("")}) {
    J b = minimal_bundle();
    b["dsseEnvelope"]["signatures"][0]["keyid"] = kid;
    EXPECT_TRUE(parse_bundle(b.dump()).has_value()) << b.dump();
  }
  J b = minimal_bundle();
  b["dsseEnvelope"]["signatures"][0].erase("keyid");
  EXPECT_TRUE(parse_bundle(b.dump()).has_value());
  b["dsseEnvelope"]["signatures"][0]["keyid"] = 7;
  expect_malformed(b.dump(), "keyid");
}

TEST(BundleParser, AcceptsSnakeCaseFieldNamesAndMissingTlogEntries) {
  J b = minimal_bundle();
  J snake = {{"media_type", b["mediaType"]},
             {"verification_material", {{"public_key", {{"hint", std::string(64, 'b')}}}}},
             {"dsse_envelope",
              {{"payload", b["dsseEnvelope"]["payload"]},
               {"payload_type", kInTotoPayloadType},
               {"signatures", b["dsseEnvelope"]["signatures"]}}}};
  auto p = parse_bundle(snake.dump(4));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(*p->key_hint, std::string(64, 'b'));
}

TEST(BundleParser, RefusesWrongMediaTypeWithBothValues) {
  J b = minimal_bundle();
  b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.2+json";
  expect_malformed(b.dump(), "got media type application/vnd.dev.sigstore.bundle.v0.2+json but expected");
}

TEST(BundleParser, RequiresExactlyOneVerificationMaterial) {
  J b = minimal_bundle();
  b["verificationMaterial"]["certificate"] = {{"rawBytes", "AAAA"}};
  expect_malformed(b.dump(), "exactly one of publicKey");
  b["verificationMaterial"].erase("certificate");
  b["verificationMaterial"].erase("publicKey");
  expect_malformed(b.dump(), "found 0");
}

TEST(BundleParser, RefusesMessageSignatureBundles) {
  J b = minimal_bundle();
  b["messageSignature"] = J::object();
  expect_malformed(b.dump(), "messageSignature");
}

TEST(BundleParser, RefusesBadBase64AndEmptySignatures) {
  J b = minimal_bundle();
  b["dsseEnvelope"]["payload"] = "%%%not base64%%%";
  expect_malformed(b.dump(), "not valid base64");
  b = minimal_bundle();
  b["dsseEnvelope"]["signatures"] = J::array();
  expect_malformed(b.dump(), "expected 1 signature, found 0");
  b = minimal_bundle();
  b["dsseEnvelope"]["signatures"][0]["sig"] = "";
  expect_malformed(b.dump(), "signature is empty");
}

TEST(BundleParser, RefusesDuplicateKeys) {
  std::string text = minimal_bundle().dump();
  text.insert(1, "\"mediaType\":\"x\",");
  expect_malformed(text, "twice");
}

TEST(BundleParser, EnforcesTheLimits) {
  J deep = J::array();
  for (size_t i = 0; i < limits::kMaxJsonDepth + 5; ++i) deep = J::array({deep});
  J b = minimal_bundle();
  b["extra"] = deep;
  expect_malformed(b.dump(), "deeper than");

  J chain = minimal_bundle();
  chain["verificationMaterial"].erase("publicKey");
  J certs = J::array();
  for (size_t i = 0; i <= limits::kMaxCertificates; ++i) certs.push_back({{"rawBytes", "AAAA"}});
  chain["verificationMaterial"]["x509CertificateChain"] = {{"certificates", certs}};
  expect_malformed(chain.dump(), "certificate chain has 11 certificates");

  std::string huge(limits::kMaxBundleBytes + 1, ' ');
  expect_malformed(huge, "the limit is");
}

TEST(BundleWriter, WritesOnlySchemaFieldsAndRoundTrips) {
  Bundle b;
  b.payload_type = std::string(kInTotoPayloadType);
  b.payload = to_bytes("{\"a\":1}");
  b.signature = to_bytes("signature");
  b.key_hint = std::string(64, 'c');
  std::string text = write_bundle(b);
  EXPECT_EQ(text,
            "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
            "{\"publicKey\":{\"hint\":\"" + std::string(64, 'c') +
            "\"},\"tlogEntries\":[]},\"dsseEnvelope\":{\"payload\":\"eyJhIjoxfQ==\",\"payloadType\":"
            "\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"c2lnbmF0dXJl\",\"keyid\":\"\"}]}}");
  auto p = parse_bundle(text);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->payload, b.payload);
  EXPECT_EQ(p->signature, b.signature);
}

TEST(Dsse, PaeMatchesTheSpecificationVector) {
  // DSSE spec example: PAE("http://example.com/HelloWorld", "hello world").
  Bytes p = pae("http://example.com/HelloWorld", to_bytes("hello world"));
  EXPECT_EQ(std::string(p.begin(), p.end()), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST(Dsse, CompatPaeRendersPythonBytesRepr) {
  auto s = [](const Bytes& b) { return std::string(b.begin(), b.end()); };
  EXPECT_EQ(s(compat_pae("t", to_bytes("a'b\n\\\x01\x80"))), "DSSEV1 1 t 7 b\"a'b\\n\\\\\\x01\\x80\"");
  EXPECT_EQ(s(compat_pae("t", to_bytes("say \"hi\" 'x'"))), "DSSEV1 1 t 12 b'say \"hi\" \\'x\\''");
}

// The expected bytes were written by Python's json.dumps(indent=2, ensure_ascii=True)
// from a hand-built statement, with the root digest from hashlib, not by our writer.
// Our key order follows the spec's statement layout; it differs from upstream's golden
// TestPayload files (protobuf MessageToJson) in the resource objects, which upstream
// orders `algorithm, digest, name` and we order `name, algorithm, digest`. Upstream
// compares parsed messages, so both orders verify.
TEST(Statement, WriterMatchesTheCheckedInStatementByteForByte) {
  Manifest m;
  m.model_name = "m\u00e9";
  m.serialization.ignore_paths = {".git", "model.sig"};
  Resource r;
  r.name = r.path = "f";
  r.algorithm = "sha256";
  r.digest = Bytes(32, 0xab);
  m.resources.push_back(r);
  Resource r2;
  r2.name = r2.path = "sub/\u00fcber \"q\".bin";
  r2.algorithm = "sha256";
  r2.digest = *from_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  m.resources.push_back(r2);
  std::string expected =
      test::read_file(std::filesystem::path(MODELSIGN_BUNDLE_TESTDATA_DIR) / "statement_expected.json");
  std::string text = write_statement(m);
  EXPECT_EQ(text, expected);
  EXPECT_EQ(text, write_statement(m));  // deterministic
  auto parsed = parse_statement(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->manifest.resources[0].digest, r.digest);
  EXPECT_EQ(parsed->manifest.serialization.ignore_paths, m.serialization.ignore_paths);
}

TEST(Statement, ShardSizeIsWrittenAsAnInteger) {
  Manifest m;
  m.model_name = "m";
  m.serialization.method = Method::kShards;
  m.serialization.shard_size = 8;
  Resource r;
  r.name = "f:0:8";
  r.path = "f";
  r.algorithm = "sha256-sharded-8";
  r.digest = Bytes(32, 1);
  m.resources.push_back(r);
  std::string text = write_statement(m);
  EXPECT_NE(text.find("\"shard_size\": 8\n"), std::string::npos) << text;
  auto p = parse_statement(text);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->manifest.resources[0].path, "f");
  EXPECT_EQ(p->manifest.resources[0].end, 8u);
}

TEST(Statement, ParsesTheLegacyDigestsV01Payload) {
  auto b = parse_bundle(fixture("v0.2.0-certificate"));
  ASSERT_TRUE(b.has_value());
  auto st = parse_statement(std::string_view(reinterpret_cast<const char*>(b->payload.data()), b->payload.size()));
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_TRUE(st->legacy);
  EXPECT_EQ(st->manifest.model_name, kLegacyModelName);
  ASSERT_EQ(st->manifest.resources.size(), 2u);
  EXPECT_EQ(to_hex(st->manifest.resources[0].digest),
            "f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1");
}

TEST(Statement, ResourcePathSafety) {
  for (const char* ok : {".", "a", "a/b", "dir/.hidden", "a b/é", "x:1:2"})
    EXPECT_TRUE(check_resource_path(ok).has_value()) << ok;
  for (const char* bad : {"", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a/./b"})
    EXPECT_FALSE(check_resource_path(bad).has_value()) << bad;
  EXPECT_FALSE(check_resource_path(std::string(limits::kMaxNameBytes + 1, 'a')).has_value());
}

}  // namespace
}  // namespace modelsign::bundle
