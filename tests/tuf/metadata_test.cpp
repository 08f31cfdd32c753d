// Canonical JSON, keys, times and metadata parsing on their own.
#include <gtest/gtest.h>

#include "bundle/json.h"
#include "bundle/limits.h"
#include "support/test_support.h"
#include "tuf/canonical_json.h"
#include "tuf/errors.h"
#include "tuf/keys.h"
#include "tuf/metadata.h"
#include "tuf_test_util.h"

namespace modelsign::tuf {
namespace {

using bundle::Json;

Json parse(std::string_view s) {
  return *bundle::parse_strict(s, "test", limits::kMaxTufJsonValues, limits::kMaxTufTargetsBytes);
}

TEST(TufCanonicalJson, SortsKeysAndEscapesOnlyQuoteAndBackslash) {
  auto c = canonical_json(parse(R"({"b": 1, "a": "x\"\\y\n\u00e9", "c": [true, null, -3], "A": {}})"));
  ASSERT_TRUE(c) << c.error().message;
  // A raw newline and raw UTF-8 stay as they are, as securesystemslib writes them.
  EXPECT_EQ(*c, "{\"A\":{},\"a\":\"x\\\"\\\\y\n\xc3\xa9\",\"b\":1,\"c\":[true,null,-3]}");
}

TEST(TufCanonicalJson, RefusesFloats) {
  auto c = canonical_json(parse(R"({"version": 1.5})"));
  ASSERT_FALSE(c);
  EXPECT_TRUE(is_failure(c.error(), Failure::kMalformed));
}

TEST(TufTime, ParsesZuluFractionsAndOffsets) {
  EXPECT_EQ(*parse_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_time("2026-08-28T19:25:56Z"), 1787945156);
  // Sigstore's first root: fractional seconds and a -06:00 offset.
  EXPECT_EQ(*parse_time("2021-12-18T13:28:12.99008-06:00"), *parse_time("2021-12-18T19:28:12Z"));
  EXPECT_EQ(format_time(1787945156), "2026-08-28T19:25:56Z");
  for (const char* bad : {"", "2026-08-28", "2026-08-28T19:25:56", "2026-13-01T00:00:00Z",
                          "2026-08-28T19:25:56+0100", "2026-08-28T19:25:56ZZ", "x026-08-28T19:25:56Z"})
    EXPECT_FALSE(parse_time(bad)) << bad;
}

TEST(TufKeys, ParsesPemHexAndEd25519KeysAndVerifies) {
  auto ec = test::make_key(false);
  auto ed = test::make_key(true);
  for (const auto* k : {&ec, &ed}) {
    auto parsed = parse_key(k->keyid, k->public_json);
    ASSERT_TRUE(parsed) << parsed.error().message;
    const std::string sig = test::sign_hex(*k, "message");
    EXPECT_TRUE(verify_signature(*parsed, sig, "message"));
    EXPECT_FALSE(verify_signature(*parsed, sig, "messagE"));
    EXPECT_FALSE(verify_signature(*parsed, "zz", "message"));
    EXPECT_FALSE(verify_signature(*parsed, "", "message"));
  }
  // Root 1 of Sigstore writes P-256 keys as hex points.
  auto hex = parse_key("k", parse(R"({"keytype": "ecdsa-sha2-nistp256", "scheme": "ecdsa-sha2-nistp256",
      "keyval": {"public": "04cbc5cab2684160323c25cd06c3307178a6b1d1c9b949328453ae473c5ba7527e35b13f298b41633382241f3fd8526c262d43b45adee5c618fa0642c82b8a9803"}})"));
  ASSERT_TRUE(hex) << hex.error().message;
  EXPECT_EQ(hex->kind, KeyKind::kEcdsaP256);
  // A point not on the curve is refused.
  auto off = parse_key("k", parse(R"({"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
      "keyval": {"public": "04cbc5cab2684160323c25cd06c3307178a6b1d1c9b949328453ae473c5ba7527e35b13f298b41633382241f3fd8526c262d43b45adee5c618fa0642c82b8a9804"}})"));
  EXPECT_FALSE(off);
  // An RSA key parses but never counts.
  auto rsa = parse_key("k", parse(R"({"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "x"}})"));
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->kind, KeyKind::kUnsupported);
  EXPECT_FALSE(verify_signature(*rsa, "00", "m"));
}

TEST(TufMetadata, RefusesWrongTypeOversizeAndBadFields) {
  const std::string ts = R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "1.0",
      "version": 1, "expires": "2030-01-01T00:00:00Z", "meta": {"snapshot.json": {"version": 1}}}})";
  ASSERT_TRUE(parse_envelope(ts, "timestamp", 1 << 14));
  auto wrong = parse_envelope(ts, "snapshot", 1 << 14);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("expected _type 'snapshot'"), std::string::npos);
  auto big = parse_envelope(ts, "timestamp", 100);
  ASSERT_FALSE(big);
  EXPECT_TRUE(is_failure(big.error(), Failure::kTooLarge));
  for (const char* bad : {
           R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "2.0", "version": 1, "expires": "2030-01-01T00:00:00Z", "meta": {}}})",
           R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "1.0", "version": 0, "expires": "2030-01-01T00:00:00Z", "meta": {}}})",
           R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "1.0", "version": -1, "expires": "2030-01-01T00:00:00Z", "meta": {}}})",
           R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "1.0", "version": 1.0, "expires": "2030-01-01T00:00:00Z", "meta": {}}})",
           R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "1.0", "version": 1, "expires": "soon", "meta": {}}})",
           R"({"signatures": {}, "signed": {}})", R"([])", R"({"signatures": [], "signed": {}, "x": 1})"}) {
    EXPECT_FALSE(parse_envelope(bad, "timestamp", 1 << 14)) << bad;
  }
  auto env = parse_envelope(
      R"({"signatures": [], "signed": {"_type": "timestamp", "spec_version": "1.0", "version": 1,
          "expires": "2030-01-01T00:00:00Z", "meta": {"snapshot.json": {"version": 1, "length": -4}}}})",
      "timestamp", 1 << 14);
  ASSERT_TRUE(env);
  EXPECT_FALSE(parse_timestamp(*env));
}

TEST(TufMetadata, ThresholdCountsDistinctKeysOnce) {
  modelsign::test::TempDir tmp;
  test::RepoGen gen(tmp.path());
  const test::TestKey* a = gen.roles["timestamp"].keys[0];
  const test::TestKey* b = gen.new_key(true);
  gen.roles["timestamp"] = {{a, b}, 2};
  auto root_env = parse_envelope(gen.root_text(), "root", 1 << 20);
  ASSERT_TRUE(root_env);
  auto root = parse_root(*root_env);
  ASSERT_TRUE(root) << root.error().message;
  auto ts_env = [&](std::vector<const test::TestKey*> signers) {
    return *parse_envelope(gen.timestamp_text("x", 1, signers), "timestamp", 1 << 14);
  };
  EXPECT_TRUE(verify_role(*root, "timestamp", ts_env({a, b}), "ts"));
  auto twice = verify_role(*root, "timestamp", ts_env({a, a}), "ts");
  ASSERT_FALSE(twice);
  EXPECT_TRUE(is_failure(twice.error(), Failure::kThresholdNotMet));
  EXPECT_NE(twice.error().message.find("1 valid signature(s)"), std::string::npos) << twice.error().message;
}

}  // namespace
}  // namespace modelsign::tuf

namespace modelsign::tuf {
namespace {

// Untrusted metadata never crashes the parser or the verifier: every real Sigstore file,
// truncated and with bytes flipped, either parses and verifies or fails with an Error.
TEST(TufMetadata, MutatedRealMetadataNeverCrashes) {
  const auto dir = std::filesystem::path(MODELSIGN_TESTDATA_DIR) / "sigstore-tuf/metadata";
  auto root_env = parse_envelope(test::slurp(dir / "root.json"), "root", 1 << 20);
  ASSERT_TRUE(root_env);
  auto root = parse_root(*root_env);
  ASSERT_TRUE(root);
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  int parsed = 0, refused = 0;
  for (const char* file : {"root.json", "timestamp.json", "snapshot.json", "targets.json"}) {
    const std::string original = test::slurp(dir / file);
    const std::string type = std::string(file).substr(0, std::string(file).find('.'));
    for (int i = 0; i < 400; ++i) {
      std::string m = original;
      if (i % 4 == 0) {
        m.resize(next() % m.size());
      } else {
        for (int k = 0; k < 1 + i % 3; ++k) m[next() % m.size()] = static_cast<char>(next() & 0xff);
      }
      auto env = parse_envelope(m, type, 1 << 20);
      if (!env) {
        ++refused;
        EXPECT_FALSE(env.error().message.empty());
        continue;
      }
      ++parsed;
      (void)verify_role(*root, type, *env, file);
      if (type == "root") (void)parse_root(*env);
      if (type == "timestamp") (void)parse_timestamp(*env);
      if (type == "snapshot") (void)parse_snapshot(*env);
      if (type == "targets") (void)parse_targets(*env);
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace modelsign::tuf
