// The staged signing flow: a certificate source supplies the material after hashing,
// witnesses add tlog entries and timestamps after the signature exists, and the bundle
// carries them in the keyless v0.3 shape (certificate, tlogEntries,
// timestampVerificationData, no keyid) that the parser reads back unchanged.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "modelsign/key_provider.h"
#include "sign/staged.h"
#include "test_support.h"

namespace modelsign {
namespace {

struct Model {
  test::TempDir tmp;
  std::string dir = (tmp / "model").string();
  Model() {
    test::write_file(tmp / "model/weights.bin", std::string(1000, 'w'));
    test::write_file(tmp / "model/config.json", "{}");
  }
};

// Hands out the leaf certificate of the signing key, counting when it was asked.
class RecordingSource final : public sign::CertificateSource {
 public:
  explicit RecordingSource(Bytes leaf) : leaf_(std::move(leaf)) {}
  Result<void> prepare(Signer&) override {
    ++prepared;
    return {};
  }
  Result<std::vector<Bytes>> certificates(Signer&) override {
    ++fetched;
    return std::vector<Bytes>{leaf_};
  }
  bundle::Material material() const override { return bundle::Material::kSigstore; }
  std::string describe(const std::vector<Bytes>&) const override { return "alice@example.com"; }
  int prepared = 0, fetched = 0;

 private:
  Bytes leaf_;
};

class FakeLog final : public sign::Witness {
 public:
  std::string name() const override { return "fake log"; }
  Result<void> witness(const sign::SignedEnvelope& e, bundle::Bundle& b) override {
    seen_signature.assign(e.signature.begin(), e.signature.end());
    seen_payload.assign(e.payload.begin(), e.payload.end());
    seen_certificates = e.certificates.size();
    if (fail_with) return fail(ErrorCode::kIo, *fail_with);
    bundle::TlogEntry t;
    t.log_index = 42;
    t.log_id = Bytes(32, 7);
    t.kind = "dsse";
    t.version = "0.0.1";
    t.integrated_time = 1'760'000'000;
    t.signed_entry_timestamp = Bytes{1, 2, 3};
    bundle::InclusionProof p;
    p.log_index = 3;
    p.tree_size = 9;
    p.root_hash = Bytes(32, 1);
    p.hashes = {Bytes(32, 2), Bytes(32, 3)};
    p.checkpoint = "log - 1\n9\nAQEB\n\n\xe2\x80\x94 log abc=\n";
    t.inclusion_proof = p;
    t.canonicalized_body = to_bytes("{\"kind\":\"dsse\"}");
    b.tlog.push_back(t);
    b.rfc3161_timestamps.push_back(Bytes{0x30, 0x03, 0x02, 0x01, 0x00});
    return {};
  }
  std::optional<std::string> fail_with;
  Bytes seen_signature, seen_payload;
  std::size_t seen_certificates = 0;
};

struct Fixture {
  Model m;
  test::Pki pki;
  test::TempDir keys;
  std::unique_ptr<Signer> signer;
  Bytes leaf;
  Fixture() {
    auto path = test::write_ec_key(keys / "k.pem", "P-256");
    auto s = open_signer(path, {});
    EXPECT_TRUE(s.has_value());
    signer = std::move(*s);
    auto ca = pki.make({.cn = "ca", .ca = true}, "P-256", nullptr);
    leaf = pki.make({.cn = "leaf"}, "P-256", &ca).der();
  }
};

TEST(StagedSigning, WitnessesAddEntriesAfterTheSignatureInTheKeylessShape) {
  Fixture f;
  RecordingSource source(f.leaf);
  FakeLog log;
  sign::Stages stages;
  stages.certificate_source = &source;
  stages.witnesses = {&log};
  int checked = 0;
  stages.final_check = [&](const bundle::Bundle& b) -> Result<void> {
    ++checked;
    EXPECT_FALSE(b.payload.empty());
    EXPECT_EQ(b.tlog.size(), 1u);
    return {};
  };
  SignOptions o;
  auto r = sign::sign_model_staged(f.m.dir, *f.signer, o, stages);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(source.prepared, 1);
  EXPECT_EQ(source.fetched, 1);
  EXPECT_EQ(checked, 1);
  EXPECT_EQ(r->signer, "alice@example.com");

  auto b = bundle::parse_bundle(r->bundle_json);
  ASSERT_TRUE(b.has_value()) << b.error().describe();
  EXPECT_EQ(b->material, bundle::Material::kSigstore);
  ASSERT_EQ(b->certificates.size(), 1u);
  EXPECT_EQ(b->certificates[0], f.leaf);
  EXPECT_EQ(b->signature, log.seen_signature);  // the witness saw the final signature
  EXPECT_EQ(b->payload, log.seen_payload);
  EXPECT_EQ(log.seen_certificates, 1u);
  ASSERT_EQ(b->tlog.size(), 1u);
  const auto& t = b->tlog[0];
  EXPECT_EQ(t.log_index, 42);
  EXPECT_EQ(t.log_id, Bytes(32, 7));
  EXPECT_EQ(t.integrated_time, 1'760'000'000);
  EXPECT_EQ(t.signed_entry_timestamp, (Bytes{1, 2, 3}));
  ASSERT_TRUE(t.inclusion_proof.has_value());
  EXPECT_EQ(t.inclusion_proof->tree_size, 9);
  EXPECT_EQ(t.inclusion_proof->hashes.size(), 2u);
  EXPECT_EQ(t.inclusion_proof->checkpoint, "log - 1\n9\nAQEB\n\n\xe2\x80\x94 log abc=\n");
  EXPECT_EQ(t.canonicalized_body, to_bytes("{\"kind\":\"dsse\"}"));
  ASSERT_EQ(b->rfc3161_timestamps.size(), 1u);
  EXPECT_TRUE(b->keyid_null_or_absent);  // as upstream's keyless fixtures: no keyid

  // The v0.3 keyless shape of upstream's fixtures, member for member.
  auto j = nlohmann::json::parse(r->bundle_json);
  const auto& vm = j["verificationMaterial"];
  EXPECT_TRUE(vm.contains("certificate"));
  EXPECT_FALSE(vm.contains("x509CertificateChain"));
  EXPECT_EQ(vm["tlogEntries"][0]["logIndex"], "42");  // int64 as proto3 JSON strings
  EXPECT_EQ(vm["tlogEntries"][0]["integratedTime"], "1760000000");
  EXPECT_EQ(vm["tlogEntries"][0]["inclusionProof"]["treeSize"], "9");
  EXPECT_TRUE(vm["timestampVerificationData"]["rfc3161Timestamps"][0].contains("signedTimestamp"));
}

TEST(StagedSigning, AFailingWitnessFailsTheSigning) {
  Fixture f;
  RecordingSource source(f.leaf);
  FakeLog log;
  log.fail_with = "Rekor at https://log.example answered HTTP 500";
  sign::Stages stages;
  stages.certificate_source = &source;
  stages.witnesses = {&log};
  auto r = sign::sign_model_staged(f.m.dir, *f.signer, SignOptions{}, stages);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("answered HTTP 500"), std::string::npos);
}

TEST(StagedSigning, AFailingFinalCheckFailsTheSigning) {
  Fixture f;
  RecordingSource source(f.leaf);
  sign::Stages stages;
  stages.certificate_source = &source;
  stages.final_check = [](const bundle::Bundle&) -> Result<void> {
    return fail(ErrorCode::kVerification, "the finished bundle does not verify");
  };
  auto r = sign::sign_model_staged(f.m.dir, *f.signer, SignOptions{}, stages);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("does not verify"), std::string::npos);
}

TEST(StagedSigning, KeyBundlesStayAsBefore) {
  Fixture f;
  auto r = sign_model(f.m.dir, *f.signer, SignOptions{});
  ASSERT_TRUE(r.has_value());
  auto j = nlohmann::json::parse(r->bundle_json);
  EXPECT_EQ(j["verificationMaterial"]["tlogEntries"], nlohmann::json::array());
  EXPECT_FALSE(j["verificationMaterial"].contains("timestampVerificationData"));
  EXPECT_EQ(j["dsseEnvelope"]["signatures"][0]["keyid"], "");
}

}  // namespace
}  // namespace modelsign
