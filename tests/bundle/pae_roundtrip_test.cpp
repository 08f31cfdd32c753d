// What a fresh signature is made over, checked independently of the verifier's fallbacks:
// the standard DSSE PAE, never model_signing v0.2's compat encoding, which the verifier
// accepts only for legacy Digests/v0.1 bundles.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "modelsign/key_provider.h"
#include "modelsign/sign.h"
#include "modelsign/verify.h"
#include "test_support.h"

namespace modelsign {
namespace {

using test::TempDir;
using Json = nlohmann::json;

struct Model {
  TempDir tmp;
  std::string dir;
  Model() : dir((tmp / "model").string()) {
    test::write_file(tmp / "model/weights.bin", std::string(1000, 'w'));
    test::write_file(tmp / "model/sub/config.json", "{\"layers\": 2}");
  }
};

std::unique_ptr<Signer> pem_signer(const std::string& path) {
  auto s = open_signer(path, {});
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
  return s ? std::move(*s) : nullptr;
}

Result<VerifyResult> verify_with(const Model& m, const Signer& s, const std::string& bundle_json) {
  VerifyOptions o;
  o.public_key = s.public_key();
  o.hashing.threads = 1;
  return verify_model(m.dir, bundle_json, o);
}

class PaeRoundTrip : public ::testing::TestWithParam<const char*> {};

// Mutation this catches: src/sign/sign.cpp passing bundle::compat_pae(...) instead of
// bundle::pae(...) to the signer. Round trips through verify_model alone used to pass on
// that mutation, because the verifier fell back to the compat PAE for every bundle.
TEST_P(PaeRoundTrip, FreshSignatureVerifiesOverTheStandardPaeOnly) {
  Model m;
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", GetParam()));
  ASSERT_TRUE(signer);
  auto r = sign_model(m.dir, *signer, SignOptions{});
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  auto b = bundle::parse_bundle(r->bundle_json);
  ASSERT_TRUE(b.has_value()) << b.error().describe();
  const PublicKey& key = signer->public_key();
  auto scheme = key.scheme();
  ASSERT_TRUE(scheme.has_value());

  Bytes standard = bundle::pae(bundle::kInTotoPayloadType, b->payload);
  auto ok = key.verify(*scheme, standard, b->signature);
  EXPECT_TRUE(ok.has_value()) << "a fresh signature does not verify over the standard PAE";
  Bytes compat = bundle::compat_pae(bundle::kInTotoPayloadType, b->payload);
  EXPECT_FALSE(key.verify_with_hash(hash_name(*scheme), compat, b->signature).has_value())
      << "a fresh signature verifies over the legacy compat PAE";
  EXPECT_FALSE(bundle::may_use_compat_pae(*b)) << "a fresh bundle may fall back to the compat PAE";
  auto v = verify_with(m, *signer, r->bundle_json);
  EXPECT_TRUE(v.has_value()) << v.error().describe();
}

INSTANTIATE_TEST_SUITE_P(Curves, PaeRoundTrip, ::testing::Values("P-256", "P-384", "P-521"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           n.erase(n.find('-'), 1);
                           return n;
                         });

// A v1.1 bundle signed over the compat PAE: accepted before the compat fallback was
// limited to legacy bundles.
TEST(CompatPae, CurrentFormatBundleSignedOverTheCompatPaeIsRefused) {
  Model m;
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-384"));
  ASSERT_TRUE(signer);
  auto r = sign_model(m.dir, *signer, SignOptions{});
  ASSERT_TRUE(r.has_value());
  auto b = bundle::parse_bundle(r->bundle_json);
  ASSERT_TRUE(b.has_value());
  auto sig = sign_message(*signer, bundle::compat_pae(bundle::kInTotoPayloadType, b->payload));
  ASSERT_TRUE(sig.has_value());
  b->signature = *sig;
  auto v = verify_with(m, *signer, bundle::write_bundle(*b));
  ASSERT_FALSE(v.has_value()) << "a current bundle verified over the compat PAE";
  EXPECT_NE(v.error().message.find("Invalid signature"), std::string::npos) << v.error().describe();
}

// A bundle in the pre-1.1 form whose signature/v1.0 statement merely mentions the
// Digests/v0.1 predicate passes the cheap pre-check, and is then refused once the
// statement is known: v0.2 signed only Digests/v0.1 statements over the compat PAE.
TEST(CompatPae, LegacyFormBundleWithACurrentStatementOverTheCompatPaeIsRefused) {
  Model m;
  auto signer = pem_signer(test::write_ec_key(m.tmp / "key.pem", "P-256"));
  ASSERT_TRUE(signer);
  auto r = sign_model(m.dir, *signer, SignOptions{});
  ASSERT_TRUE(r.has_value());
  auto parsed = bundle::parse_bundle(r->bundle_json);
  ASSERT_TRUE(parsed.has_value());
  Json st = Json::parse(parsed->payload.begin(), parsed->payload.end());
  st["note"] = "https://model_signing/Digests/v0.1";
  std::string payload = st.dump(2);
  auto sig = sign_message(*signer, bundle::compat_pae(bundle::kInTotoPayloadType, to_bytes(payload)));
  ASSERT_TRUE(sig.has_value());
  Json b = Json::parse(r->bundle_json);
  b["verificationMaterial"] = {{"publicKey", Json::object()}};  // no hint, no tlogEntries
  b["dsseEnvelope"]["payload"] = base64_encode(to_bytes(payload));
  b["dsseEnvelope"]["signatures"][0] = {{"sig", base64_encode(*sig)}, {"keyid", nullptr}};
  auto v = verify_with(m, *signer, b.dump());
  ASSERT_FALSE(v.has_value()) << "a signature/v1.0 statement verified over the compat PAE";
  EXPECT_NE(v.error().message.find("which v0.2 used for Digests/v0.1 statements only"), std::string::npos)
      << v.error().describe();
}

}  // namespace
}  // namespace modelsign
