// Keyless verification against an in-process Sigstore (VirtualSigstore): every negative
// case is minted by construction and must fail with its own message.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bundle/bundle.h"
#include "bundle/statement.h"
#include "crypto/encoding.h"
#include "modelsign/verify.h"
#include "root/trusted_root.h"
#include "test_support.h"
#include "timestamp/rfc3161.h"
#include "tlog/tlog.h"
#include "verify/sigstore_verifier.h"
#include "virtual_sigstore.h"

namespace modelsign {
namespace {

using Mint = test::VirtualSigstore::Mint;
using Root = test::VirtualSigstore::Root;

test::VirtualSigstore& vs() {
  static test::VirtualSigstore v;  // key generation once per process
  return v;
}

Result<verify::SigstoreVerified> run(const std::string& bundle_json, const std::string& root_json,
                                     std::string identity = "alice@example.com",
                                     std::string issuer = "https://issuer.example", bool regex = false) {
  auto b = bundle::parse_bundle(bundle_json);
  if (!b) return fail(b.error());
  auto r = root::parse_trusted_root(root_json, "virtual root");
  if (!r) return fail(r.error());
  SigstorePolicy p;
  p.identity = std::move(identity);
  p.issuer = std::move(issuer);
  p.identity_regex = regex;
  std::vector<std::string> warnings;
  return verify::verify_sigstore(*b, p, *r, &warnings);
}

void expect_fails(const Result<verify::SigstoreVerified>& r, std::string_view text) {
  ASSERT_FALSE(r.has_value()) << "expected a failure mentioning: " << text;
  EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
}

const std::string kPayload = R"({"_type":"https://in-toto.io/Statement/v1"})";

TEST(VirtualSigstore, ValidBundleVerifiesWithRekorTime) {
  auto r = run(vs().bundle(kPayload, Mint{}), vs().trusted_root());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->details.identity, "alice@example.com");
  EXPECT_EQ(r->details.issuer, "https://issuer.example");
  EXPECT_EQ(r->details.signing_time, 1'760'000'000);
  EXPECT_EQ(r->details.signing_time_source, "Rekor integrated time");
  EXPECT_EQ(r->details.rekor_log_index, 1005);
}

TEST(VirtualSigstore, TsaTimeAloneIsAVerifiedTime) {
  Mint m;
  m.set = false;
  m.tsa = true;
  auto r = run(vs().bundle(kPayload, m), vs().trusted_root());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->details.signing_time_source, "RFC 3161 timestamp from https://tsa.virtual.test");
}

TEST(VirtualSigstore, TsaChainIsCheckedAtGenTimeNotNow) {
  Mint m;
  m.set = false;
  m.tsa = true;
  m.tsa_expired_now = true;  // its certificate ended 2026-02-02; genTime is 2025-10-09
  auto r = run(vs().bundle(kPayload, m), vs().trusted_root());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  m.tsa_time = 1'780'000'000;  // after the TSA certificate expired: a forged genTime
  m.leaf_not_before = m.tsa_time - 1;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "certificate has expired");
}

TEST(VirtualSigstore, BothTimesAreCheckedAndOlderBundleVersionsVerify) {
  for (int v : {1, 2, 3}) {
    Mint m;
    m.tsa = true;
    m.bundle_minor_version = v;
    auto r = run(vs().bundle(kPayload, m), vs().trusted_root());
    ASSERT_TRUE(r.has_value()) << "v0." << v << ": " << r.error().message;
    EXPECT_EQ(r->times.size(), 2u);
  }
}

TEST(VirtualSigstore, RekorV2EntryWithEd25519CheckpointAndTsaTime) {
  Mint m;
  m.rekor_v2 = true;
  m.tsa = true;
  auto r = run(vs().bundle(kPayload, m), vs().trusted_root());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->details.signing_time_source, "RFC 3161 timestamp from https://tsa.virtual.test");
  m.tsa = false;  // Rekor v2 has no SET: without a TSA there is no verified time
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "no verified time");
  m.tsa = true;
  m.body_for_other_payload = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "the payload hash differs");
}

TEST(VirtualSigstore, UriSanAndIssuerFromTheV1ExtensionOnly) {
  Mint m;
  m.san = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main";
  m.san_is_uri = true;
  m.issuer_v2_extension = false;
  auto r = run(vs().bundle(kPayload, m), vs().trusted_root(), m.san);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->details.identity, m.san);
}

TEST(VirtualSigstore, ExpiredLeafAtTheVerifiedTimeFails) {
  Mint m;
  m.leaf_not_before = m.integrated_time - 1200;  // lived 600 s, ended 600 s before logging
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()),
               "certificate not valid at Rekor integrated time 2025-10-09T08:53:20Z");
}

TEST(VirtualSigstore, NotYetValidLeafAtTheVerifiedTimeFails) {
  Mint m;
  m.leaf_not_before = m.integrated_time + 60;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "certificate not valid at Rekor integrated time");
}

TEST(VirtualSigstore, LeafValidAtRekorTimeButNotAtTsaTimeFails) {
  Mint m;
  m.tsa = true;
  m.tsa_time = m.integrated_time + 3600;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()),
               "certificate not valid at RFC 3161 timestamp from https://tsa.virtual.test");
}

TEST(VirtualSigstore, CaOutsideItsValidForFails) {
  Root r;
  r.ca_end = 1'750'000'000;  // the CA stopped issuing before the signature
  expect_fails(run(vs().bundle(kPayload, Mint{}), vs().trusted_root(r)), "no Fulcio CA of the trusted root");
}

TEST(VirtualSigstore, SctFromAnUnknownCtLogFails) {
  Mint m;
  m.sct_by_unknown_log = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "which is not a CT log of the trusted root");
}

TEST(VirtualSigstore, MissingSctFails) {
  Mint m;
  m.sct = false;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "has no embedded SCT");
}

TEST(VirtualSigstore, BadSetFails) {
  Mint m;
  m.set_corrupt = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "signed entry timestamp of Rekor entry 1005 does not verify");
}

TEST(VirtualSigstore, SetByAnUnknownLogFails) {
  Mint m;
  m.entry_by_unknown_log = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "which is not a transparency log of the trusted root");
}

TEST(VirtualSigstore, InclusionProofOffByOneFails) {
  Mint m;
  m.proof_index_off_by_one = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "inclusion proof does not reach checkpoint root");
}

TEST(VirtualSigstore, CheckpointSignedByAnotherKeyFails) {
  Mint m;
  m.checkpoint_by_other_key = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()),
               "is not signed by the log https://rekor.virtual.test of the trusted root");
}

TEST(VirtualSigstore, BodyNotMatchingTheEnvelopeFails) {
  Mint m;
  m.body_for_other_payload = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()),
               "the Rekor entry does not match the bundle: the payload hash differs");
}

TEST(VirtualSigstore, TsaImprintOverOtherBytesFails) {
  Mint m;
  m.tsa = true;
  m.tsa_over_other_bytes = true;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "message imprint mismatch");
}

TEST(VirtualSigstore, TsaNotInTheRootGivesNoVerifiedTime) {
  Mint m;
  m.set = false;
  m.tsa = true;
  m.tsa_unknown = true;
  auto r = run(vs().bundle(kPayload, m), vs().trusted_root());
  expect_fails(r, "no verified time");
  expect_fails(r, "not from a TSA of the trusted root");
  Root no_tsa;
  no_tsa.with_tsa = false;
  m.tsa_unknown = false;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root(no_tsa)), "the trusted root lists no timestamping authority");
}

TEST(VirtualSigstore, TokenWithoutEmbeddedCertificateUsesTheRootsTsaCertificate) {
  Mint m;
  m.set = false;
  m.tsa = true;
  m.tsa_embeds_certificate = false;
  auto r = run(vs().bundle(kPayload, m), vs().trusted_root());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  m.tsa_unknown = true;  // and from an unknown TSA it is not counted, not an alteration
  auto u = run(vs().bundle(kPayload, m), vs().trusted_root());
  expect_fails(u, "no verified time");
  expect_fails(u, "not from a TSA of the trusted root");
}

TEST(VirtualSigstore, NoVerifiedTimeAtAllFails) {
  Mint m;
  m.set = false;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "no verified time");
}

TEST(VirtualSigstore, EntryWithoutProofInABundleV03Fails) {
  Mint m;
  m.proof = false;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()), "has no inclusion proof");
  m.bundle_minor_version = 1;  // v0.1 needs only the SET
  EXPECT_TRUE(run(vs().bundle(kPayload, m), vs().trusted_root()).has_value());
}

TEST(VirtualSigstore, WrongSanFails) {
  expect_fails(run(vs().bundle(kPayload, Mint{}), vs().trusted_root(), "bob@example.com"),
               "identity mismatch: wanted bob@example.com, certificate has alice@example.com");
}

TEST(VirtualSigstore, WrongIssuerFails) {
  expect_fails(run(vs().bundle(kPayload, Mint{}), vs().trusted_root(), "alice@example.com", "https://other.example"),
               "issuer mismatch: wanted https://other.example, certificate has https://issuer.example");
}

TEST(VirtualSigstore, CertificateWithoutIssuerExtensionFails) {
  Mint m;
  m.issuer_v1_extension = false;
  m.issuer_v2_extension = false;
  expect_fails(run(vs().bundle(kPayload, m), vs().trusted_root()),
               "issuer mismatch: wanted https://issuer.example, certificate has no OIDC issuer extension");
}

TEST(VirtualSigstore, HashedrekordEntryCannotRecordADsseEnvelope) {
  nlohmann::json j = nlohmann::json::parse(vs().bundle(kPayload, Mint{}));
  auto& e = j["verificationMaterial"]["tlogEntries"][0];
  e["kindVersion"] = {{"kind", "hashedrekord"}, {"version", "0.0.1"}};
  e["canonicalizedBody"] = base64_encode(to_bytes(
      R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}},"signature":{"content":"","publicKey":{"content":""}}}})"));
  expect_fails(run(j.dump(), vs().trusted_root()), "Rekor entries of kind hashedrekord 0.0.1 cannot record a DSSE envelope");
  e["kindVersion"] = {{"kind", "dsse"}, {"version", "0.0.1"}};  // kindVersion and body disagree
  expect_fails(run(j.dump(), vs().trusted_root()), "its body is hashedrekord 0.0.1 but kindVersion says dsse 0.0.1");
}

TEST(VirtualSigstore, RegexMatchingOnlyASubstringFails) {
  std::string b = vs().bundle(kPayload, Mint{});
  expect_fails(run(b, vs().trusted_root(), "alice", "https://issuer.example", true), "identity mismatch");
  expect_fails(run(b, vs().trusted_root(), "example\\.com", "https://issuer.example", true), "identity mismatch");
  EXPECT_TRUE(run(b, vs().trusted_root(), "[a-z]+@example\\.com", "https://issuer.example", true).has_value());
}

TEST(VirtualSigstore, AlteredPayloadNoLongerMatchesTheRekorBody) {
  nlohmann::json j = nlohmann::json::parse(vs().bundle(kPayload, Mint{}));
  // Re-point the payload and the Rekor body cannot match: the body check fails first.
  j["dsseEnvelope"]["payload"] = base64_encode(to_bytes(R"({"_type":"x"})"));
  expect_fails(run(j.dump(), vs().trusted_root()), "does not match the bundle");
}

TEST(VirtualSigstore, VerifyModelEndToEnd) {
  test::TempDir tmp;
  test::write_file(tmp / "model/weights.bin", std::string(1000, 'w'));
  SerializationOptions ser;
  HashingOptions h;
  auto m = compute_manifest((tmp / "model").string(), ser, h);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  std::string bundle = vs().bundle(bundle::write_statement(*m), Mint{});
  VerifyOptions o;
  o.method = VerifyMethod::kSigstore;
  o.sigstore.identity = "alice@example.com";
  o.sigstore.issuer = "https://issuer.example";
  o.sigstore.trust_material = vs().trusted_root();
  o.sigstore.trust_material_name = "virtual root";
  auto r = verify_model((tmp / "model").string(), bundle, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->sigstore.has_value());
  EXPECT_EQ(r->signer, "alice@example.com");
  test::write_file(tmp / "model/weights.bin", std::string(1000, 'x'));
  auto bad = verify_model((tmp / "model").string(), bundle, o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kMismatch);
}

// ---- bundle parsing of keyless evidence: limits and strictness -------------------------

void expect_bundle_rejected(const nlohmann::json& j, std::string_view text) {
  auto b = bundle::parse_bundle(j.dump());
  ASSERT_FALSE(b.has_value()) << "accepted: " << text;
  EXPECT_EQ(b.error().code, ErrorCode::kMalformed);
  EXPECT_NE(b.error().message.find(text), std::string::npos) << b.error().message;
}

TEST(KeylessBundle, LimitsAndIntegersAreEnforcedAtParseTime) {
  Mint m;
  m.tsa = true;
  const nlohmann::json orig = nlohmann::json::parse(vs().bundle(kPayload, m));
  auto e = [](nlohmann::json& j) -> nlohmann::json& { return j["verificationMaterial"]["tlogEntries"][0]; };
  nlohmann::json j = orig;
  auto& hashes = e(j)["inclusionProof"]["hashes"];
  while (hashes.size() <= 64) hashes.push_back(hashes[0]);
  expect_bundle_rejected(j, "inclusion proof of 65 hashes (limit 64)");
  j = orig;
  auto& ts = j["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
  while (ts.size() <= 16) ts.push_back(ts[0]);
  expect_bundle_rejected(j, "rfc3161Timestamps must be an array of at most 16");
  j = orig;
  e(j)["inclusionProof"]["checkpoint"]["envelope"] = std::string(17u << 10, 'a');
  expect_bundle_rejected(j, "checkpoint of 17408 bytes (limit 16384)");
  for (const char* bad : {"-1", "1e3", "99999999999999999999", "", " 5"}) {
    j = orig;
    e(j)["logIndex"] = bad;
    expect_bundle_rejected(j, "field 'logIndex' must be a non-negative 64-bit integer");
  }
  j = orig;
  e(j)["inclusionProof"]["hashes"][0] = base64_encode(Bytes(31, 0));
  expect_bundle_rejected(j, "is not base64 of 32 bytes");
  j = orig;
  e(j).erase("canonicalizedBody");
  expect_bundle_rejected(j, "missing field 'canonicalizedBody'");
}

TEST(KeylessBundle, CanonicalizedBodyLongerThanTheParsersStringCapIsReadFromTheText) {
  Mint m;
  nlohmann::json j = nlohmann::json::parse(vs().bundle(kPayload, m));
  // 96 KiB of body: its base64 (128 KiB) is a long string, kept out of the tree.
  const Bytes body(96u << 10, '{');
  j["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] = base64_encode(body);
  auto b = bundle::parse_bundle(j.dump());
  ASSERT_TRUE(b.has_value()) << b.error().message;
  ASSERT_EQ(b->tlog.size(), 1u);
  EXPECT_EQ(b->tlog[0].canonicalized_body, body);
}

TEST(KeylessBundle, TlogFieldUnderBothSpellingsIsRefused) {
  Mint m;
  nlohmann::json j = nlohmann::json::parse(vs().bundle(kPayload, m));
  auto& e = j["verificationMaterial"]["tlogEntries"][0];
  e["log_index"] = e["logIndex"];
  expect_bundle_rejected(j, "both 'logIndex' and 'log_index' are present");
}

TEST(KeylessBundle, OlderMediaTypesOnlyForKeylessMaterial) {
  Mint m;
  m.bundle_minor_version = 2;
  auto b = bundle::parse_bundle(vs().bundle(kPayload, m));
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ(b->material, bundle::Material::kSigstore);  // x509CertificateChain + a Rekor entry
  EXPECT_EQ(b->minor_version, 2);
  nlohmann::json j = nlohmann::json::parse(vs().bundle(kPayload, m));
  j["verificationMaterial"]["tlogEntries"] = nlohmann::json::array();
  expect_bundle_rejected(j, "Invalid sigstore bundle, got media type application/vnd.dev.sigstore.bundle+json;version=0.2");
}

// ---- units: Merkle proofs, times, trusted-root parsing ----------------------------------

Bytes mth(const std::vector<Bytes>& l, std::size_t lo, std::size_t hi) {
  if (hi - lo == 1) return l[lo];
  std::size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return tlog::node_hash(mth(l, lo, lo + k), mth(l, lo + k, hi));
}
void audit(const std::vector<Bytes>& l, std::size_t m, std::size_t lo, std::size_t hi, std::vector<Bytes>* out) {
  if (hi - lo == 1) return;
  std::size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  if (m < k) {
    audit(l, m, lo, lo + k, out);
    out->push_back(mth(l, lo + k, hi));
  } else {
    audit(l, m - k, lo + k, hi, out);
    out->push_back(mth(l, lo, lo + k));
  }
}

TEST(InclusionProof, EveryLeafOfTreesUpTo33ReachesTheRootAndNoOtherIndexDoes) {
  for (std::size_t n = 1; n <= 33; ++n) {
    std::vector<Bytes> leaves;
    for (std::size_t i = 0; i < n; ++i) leaves.push_back(tlog::leaf_hash(to_bytes(std::to_string(i))));
    Bytes root = mth(leaves, 0, n);
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<Bytes> p;
      audit(leaves, i, 0, n, &p);
      auto r = tlog::root_from_inclusion_proof(i, n, leaves[i], p);
      ASSERT_TRUE(r.has_value()) << n << "/" << i << ": " << r.error().message;
      EXPECT_EQ(*r, root) << n << "/" << i;
      if (i + 1 < n) {
        auto off = tlog::root_from_inclusion_proof(i + 1, n, leaves[i], p);
        EXPECT_TRUE(!off.has_value() || *off != root) << n << "/" << i;
      }
      if (!p.empty()) {
        auto shorter = p;
        shorter.pop_back();
        EXPECT_FALSE(tlog::root_from_inclusion_proof(i, n, leaves[i], shorter).has_value());
      }
    }
  }
  EXPECT_FALSE(tlog::root_from_inclusion_proof(5, 5, tlog::leaf_hash(to_bytes("x")), {}).has_value());
}

TEST(Times, GenTimeWithZeroToThreeFractionDigits) {
  EXPECT_EQ(*timestamp::parse_generalized_time("20251010021220Z"), 1760062340);
  EXPECT_EQ(*timestamp::parse_generalized_time("20251010021220.5Z"), 1760062340);
  EXPECT_EQ(*timestamp::parse_generalized_time("20251010021220.12Z"), 1760062340);
  EXPECT_EQ(*timestamp::parse_generalized_time("20251010021220.123Z"), 1760062340);
  EXPECT_FALSE(timestamp::parse_generalized_time("20251010021220.1234Z").has_value());
  EXPECT_FALSE(timestamp::parse_generalized_time("20251010021220.Z").has_value());
  EXPECT_FALSE(timestamp::parse_generalized_time("20251010021220").has_value());
  EXPECT_FALSE(timestamp::parse_generalized_time("2025101002122Z").has_value());
}

TEST(Times, Rfc3339) {
  EXPECT_EQ(*root::parse_rfc3339("2021-01-12T11:53:27Z"), 1610452407);
  EXPECT_EQ(*root::parse_rfc3339("2022-12-31T23:59:59.999Z"), 1672531199);
  EXPECT_EQ(*root::parse_rfc3339("2021-01-12T12:53:27+01:00"), 1610452407);
  EXPECT_FALSE(root::parse_rfc3339("2021-01-12 11:53:27Z").has_value());
  EXPECT_FALSE(root::parse_rfc3339("2021-01-12T11:53:27").has_value());
  EXPECT_FALSE(root::parse_rfc3339("2021-13-12T11:53:27Z").has_value());
  EXPECT_EQ(root::format_time(1760062340), "2025-10-10T02:12:20Z");
}

TEST(TrustedRoot, BuiltInRootsParseAndListTheirMembers) {
  auto prod = root::builtin_root(false);
  ASSERT_TRUE(prod.has_value()) << prod.error().message;
  EXPECT_EQ(prod->tlogs.size(), 2u);  // Rekor v1 (ECDSA) and v2 (Ed25519)
  EXPECT_EQ(prod->certificate_authorities.size(), 2u);
  EXPECT_EQ(prod->ctlogs.size(), 2u);
  EXPECT_EQ(prod->timestamp_authorities.size(), 1u);
  EXPECT_NE(prod->source.find("production root of 2025-09-22"), std::string::npos);
  auto staging = root::builtin_root(true);
  ASSERT_TRUE(staging.has_value()) << staging.error().message;
  EXPECT_EQ(staging->ctlogs.size(), 5u);  // one of them a bare PKCS#1 RSA key
}

TEST(TrustedRoot, StrictParsingNamesTheProblem) {
  auto bad = [](const std::string& json, std::string_view text) {
    auto r = root::parse_trusted_root(json, "t.json");
    ASSERT_FALSE(r.has_value()) << json;
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
  };
  bad("[]", "not a JSON object");
  bad(R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.2"})", "is not supported");
  bad(R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","mediaType":"x"})", "twice");
  bad(R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"})", "no Fulcio certificate authority");
  nlohmann::json j = nlohmann::json::parse(vs().trusted_root());
  j["tlogs"][0]["publicKey"]["validFor"]["start"] = "yesterday";
  bad(j.dump(), "is not an RFC 3339 time");
  j = nlohmann::json::parse(vs().trusted_root());
  j["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] = "AAAA";
  bad(j.dump(), "is not DER X.509");
  j = nlohmann::json::parse(vs().trusted_root());
  j["tlogs"][0].erase("logId");
  bad(j.dump(), "missing field 'logId'");
  bad(std::string(5u << 20, ' '), "the limit is");
  j = nlohmann::json::parse(vs().trusted_root());
  j["tlogs"][0]["publicKey"]["valid_for"] = j["tlogs"][0]["publicKey"]["validFor"];
  bad(j.dump(), "both 'validFor' and 'valid_for' are present");
  // A certificate whose base64 is longer than the parser keeps in its tree is read from
  // the text: judged as DER, not refused as "not a string".
  j = nlohmann::json::parse(vs().trusted_root());
  j["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] = base64_encode(Bytes(60u << 10, 0x30));
  bad(j.dump(), "is not DER X.509");
}

TEST(TrustedRoot, TrustConfigNeedsItsMediaType) {
  std::string inner = vs().trusted_root();
  std::string cfg = R"({"mediaType":"application/vnd.dev.sigstore.clienttrustconfig.v0.1+json","trustedRoot":)" + inner + "}";
  EXPECT_TRUE(root::parse_trust_config(cfg, "c.json").has_value());
  auto r = root::parse_trust_config(inner, "c.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("use --trusted-root"), std::string::npos);
}

}  // namespace
}  // namespace modelsign
