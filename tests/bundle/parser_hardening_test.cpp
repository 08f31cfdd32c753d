// The strict JSON parser and the bundle fields it feeds, on hostile input: every limit
// stops the parser at the first violation, a field may not appear under two spellings,
// and base64 is decoded exactly as the proto3 JSON mapping defines it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/json.h"
#include "bundle/limits.h"
#include "crypto/encoding.h"

namespace modelsign::bundle {
namespace {

using J = nlohmann::json;

J minimal_bundle() {
  return J{{"mediaType", kBundleMediaType},
           {"verificationMaterial", {{"publicKey", {{"hint", std::string(64, 'a')}}}, {"tlogEntries", J::array()}}},
           {"dsseEnvelope",
            {{"payload", base64_encode(to_bytes("{}"))},
             {"payloadType", kInTotoPayloadType},
             {"signatures", J::array({{{"sig", base64_encode(to_bytes("sig"))}, {"keyid", ""}}})}}}};
}

std::string error_of(const Result<Json>& r) { return r ? std::string("(parsed)") : r.error().message; }

std::string siblings(std::size_t n) {
  std::string s = "[";
  for (std::size_t i = 0; i < n; ++i) s += i ? ",{}" : "{}";
  return s + "]";
}

// ---------------------------------------------------------------- the SAX parser

TEST(JsonStrict, RefusesMoreValuesThanTheLimitCountingEveryKind) {
  // 1 array + 100 objects = 101 values.
  EXPECT_TRUE(parse_strict(siblings(100), "doc", 101, 1 << 20).has_value());
  auto r = parse_strict(siblings(100), "doc", 100, 1 << 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(error_of(r).find("more than 100 JSON values"), std::string::npos) << error_of(r);
  // Scalars and keys' values count too: {"a":1,"b":[true,null,"s",1.5]} = 7 values.
  std::string mixed = R"({"a":1,"b":[true,null,"s",1.5]})";
  EXPECT_TRUE(parse_strict(mixed, "doc", 7, 1 << 20).has_value());
  EXPECT_FALSE(parse_strict(mixed, "doc", 6, 1 << 20).has_value());
}

TEST(JsonStrict, DepthLimitIsExactAndStopsBeforeTheRestIsRead) {
  std::size_t d = limits::kMaxJsonDepth;
  std::string ok = std::string(d, '[') + std::string(d, ']');
  EXPECT_TRUE(parse_strict(ok, "doc", 1000, 1 << 20).has_value());
  std::string over = std::string(d + 1, '[') + std::string(d + 1, ']');
  EXPECT_NE(error_of(parse_strict(over, "doc", 1000, 1 << 20)).find("deeper than 32 levels"), std::string::npos);
  // 40 MB of '[' followed by garbage: the error is the depth, not the garbage at the end,
  // which proves parsing stopped at the limit (the memory test bounds its cost).
  std::string flood = std::string(40u << 20, '[') + "garbage";
  auto r = parse_strict(flood, "doc", limits::kMaxStatementJsonValues, limits::kMaxBundleBytes);
  EXPECT_NE(error_of(r).find("deeper than"), std::string::npos) << error_of(r);
}

TEST(JsonStrict, ValueLimitStopsManySiblingsAtTheFirstValueOver) {
  // Garbage after the (limit+1)-th value is never reached.
  std::string text = siblings(1000);
  text.insert(text.size() - 1, ",garbage");
  auto r = parse_strict(text, "doc", 500, 1 << 20);
  EXPECT_NE(error_of(r).find("more than 500 JSON values"), std::string::npos) << error_of(r);
}

TEST(JsonStrict, DuplicateKeyIsNamedAndNestedObjectsHaveTheirOwnKeys) {
  auto r = parse_strict(R"({"a":{"x":1},"b":{"x":2},"a":3})", "doc", 100, 1 << 20);
  EXPECT_NE(error_of(r).find("has the key 'a' twice"), std::string::npos) << error_of(r);
  EXPECT_TRUE(parse_strict(R"({"a":{"a":{"a":1}}})", "doc", 100, 1 << 20).has_value());
}

TEST(JsonStrict, SyntaxErrorNamesTheByteOffsetAndTrailingDataIsRefused) {
  auto r = parse_strict(R"({"a": tru})", "the signature bundle", 100, 1 << 20);
  EXPECT_NE(error_of(r).find("the signature bundle is not valid JSON at byte"), std::string::npos) << error_of(r);
  EXPECT_FALSE(parse_strict("{} {}", "doc", 100, 1 << 20).has_value());
  EXPECT_FALSE(parse_strict("", "doc", 100, 1 << 20).has_value());
}

TEST(JsonStrict, BuildsTheSameTreeAsNlohmann) {
  std::string text = R"({"k":[1,-2,3.5,"s\u00e9",true,false,null,{"n":{}},[]],"e":"","u":18446744073709551615})";
  auto r = parse_strict(text, "doc", 100, 1 << 20);
  ASSERT_TRUE(r.has_value()) << error_of(r);
  EXPECT_EQ(*r, J::parse(text));
  EXPECT_EQ(r->dump(), J::parse(text).dump());
}

TEST(JsonStrict, LongStringsAreReadInPlaceNotCopied) {
  std::string big(limits::kMaxJsonStringBytes + 1, 'A');
  std::string text = R"({"a":")" + big + R"(", "b":"short"})";
  auto r = parse_strict(text, "doc", 100, 1 << 20);
  ASSERT_TRUE(r.has_value()) << error_of(r);
  auto raw = long_string((*r)["a"], text);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, big);
  EXPECT_EQ((*r)["b"], "short");
  EXPECT_FALSE(long_string((*r)["b"], text).has_value());
  // Exactly at the limit: an ordinary string.
  std::string edge = R"([")" + std::string(limits::kMaxJsonStringBytes, 'B') + R"("])";
  auto e = parse_strict(edge, "doc", 100, 1 << 20);
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE((*e)[0].is_string());
}

TEST(JsonStrict, LongStringWithEscapesUnterminatedStringAndLongNumbersAreRefused) {
  std::string esc = R"([")" + std::string(limits::kMaxJsonStringBytes, 'A') + R"(\n"])";
  EXPECT_NE(error_of(parse_strict(esc, "doc", 100, 1 << 20)).find("with escape sequences"), std::string::npos);
  EXPECT_NE(error_of(parse_strict(R"(["abc)", "doc", 100, 1 << 20)).find("never ends"), std::string::npos);
  // A long string is checked as the lexer would check a short one.
  std::string ctl = R"([")" + std::string(limits::kMaxJsonStringBytes, 'A');
  ctl += "\x01\"]";
  EXPECT_NE(error_of(parse_strict(ctl, "doc", 100, 1 << 20)).find("control character"), std::string::npos);
  std::string utf = R"([")" + std::string(limits::kMaxJsonStringBytes, 'A');
  utf += "\xff\"]";
  EXPECT_NE(error_of(parse_strict(utf, "doc", 100, 1 << 20)).find("not valid UTF-8"), std::string::npos);
  std::string num(limits::kMaxJsonTokenBytes + 3, '1');
  num.front() = '[';
  num.back() = ']';
  EXPECT_NE(error_of(parse_strict(num, "doc", 100, 1 << 20)).find("number or literal of more than"),
            std::string::npos);
  std::string ok_num(302, '1');
  ok_num.front() = '[';
  ok_num.back() = ']';
  EXPECT_TRUE(parse_strict(ok_num, "doc", 100, 1 << 20).has_value());
}

TEST(JsonStrict, WhitespaceRunsDoNotChangeTheTreeOrTheErrorOffset) {
  std::string spaced = "{\"a\" :\n\n  " + std::string(100000, ' ') + "[1 ,\t2]\r\n}" + std::string(1000, '\n');
  auto r = parse_strict(spaced, "doc", 100, 1 << 20);
  ASSERT_TRUE(r.has_value()) << error_of(r);
  EXPECT_EQ(*r, J::parse(spaced));
  std::string bad = "{\"a\":" + std::string(1000, ' ') + "tru}";
  EXPECT_NE(error_of(parse_strict(bad, "doc", 100, 1 << 20)).find("at byte 1008"), std::string::npos)
      << error_of(parse_strict(bad, "doc", 100, 1 << 20));
}

TEST(BundleParser, LargePayloadIsDecodedStraightFromTheText) {
  Bundle b;
  b.payload_type = std::string(kInTotoPayloadType);
  b.payload.resize(3 * limits::kMaxJsonStringBytes);
  for (std::size_t i = 0; i < b.payload.size(); ++i) b.payload[i] = static_cast<std::uint8_t>(i * 7);
  b.signature = to_bytes("signature");
  b.key_hint = std::string(64, 'c');
  auto p = parse_bundle(write_bundle(b));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->payload, b.payload);
  // A long value where a short string belongs is named as such.
  J j = minimal_bundle();
  j["mediaType"] = std::string(limits::kMaxJsonStringBytes + 1, 'x');
  auto r = parse_bundle(j.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("holds a string of more than"), std::string::npos) << r.error().message;
}

TEST(JsonStrict, StatementValueLimitFitsTheMaximumNumberOfResources) {
  // Each resource is an object with three strings: 4 values.
  EXPECT_GE(limits::kMaxStatementJsonValues, 4 * limits::kMaxResources + limits::kMaxIgnorePaths + 20);
}

// ---------------------------------------------------------------- both spellings

TEST(BundleParser, RefusesBothSpellingsOfOneField) {
  struct Case {
    std::vector<std::string> path;  // parent object
    std::string camel, snake;
  };
  std::vector<Case> cases = {
      {{}, "dsseEnvelope", "dsse_envelope"},
      {{}, "mediaType", "media_type"},
      {{}, "verificationMaterial", "verification_material"},
      {{"verificationMaterial"}, "publicKey", "public_key"},
      {{"verificationMaterial"}, "tlogEntries", "tlog_entries"},
      {{"dsseEnvelope"}, "payloadType", "payload_type"},
  };
  for (const auto& c : cases) {
    J b = minimal_bundle();
    J* parent = &b;
    for (const auto& p : c.path) parent = &(*parent)[p];
    (*parent)[c.snake] = (*parent)[c.camel];
    auto r = parse_bundle(b.dump());
    ASSERT_FALSE(r.has_value()) << c.camel << " and " << c.snake << " were both accepted";
    EXPECT_NE(r.error().message.find("both '" + c.camel + "' and '" + c.snake + "' are present"),
              std::string::npos)
        << r.error().message;
  }
  // rawBytes in a certificate chain and in a legacy public key.
  J chain = minimal_bundle();
  chain["verificationMaterial"].erase("publicKey");
  chain["verificationMaterial"]["x509CertificateChain"] = {
      {"certificates", J::array({{{"rawBytes", "AAAA"}, {"raw_bytes", "AAAA"}}})}};
  auto r = parse_bundle(chain.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("both 'rawBytes' and 'raw_bytes'"), std::string::npos) << r.error().message;
  J legacy = minimal_bundle();
  legacy["verificationMaterial"]["publicKey"] = {{"rawBytes", "AAAA"}, {"raw_bytes", "AAAA"}};
  EXPECT_FALSE(parse_bundle(legacy.dump()).has_value());
}

// ---------------------------------------------------------------- base64

TEST(Base64, DecodesWhatTheProto3JsonMappingAllows) {
  auto dec = [](std::string_view s) {
    auto b = base64_decode(s);
    EXPECT_TRUE(b.has_value()) << s << ": " << (b ? "" : b.error().message);
    return b ? std::string(b->begin(), b->end()) : std::string("(error)");
  };
  EXPECT_EQ(dec(""), "");
  EXPECT_EQ(dec("YQ=="), "a");  // standard, padded
  EXPECT_EQ(dec("YQ"), "a");    // standard, unpadded
  EXPECT_EQ(dec("YWI="), "ab");
  EXPECT_EQ(dec("YWI"), "ab");
  EXPECT_EQ(dec("YWJj"), "abc");
  EXPECT_EQ(dec("+/8="), "\xfb\xff");  // standard alphabet
  EXPECT_EQ(dec("-_8="), "\xfb\xff");  // URL-safe alphabet, padded
  EXPECT_EQ(dec("-_8"), "\xfb\xff");   // URL-safe, unpadded
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  auto round = base64_decode(base64_encode(all));
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(*round, all);
}

TEST(Base64, RefusesEverythingElseSayingWhy) {
  struct Case {
    std::string text, why;
  };
  std::vector<Case> cases = {
      {"YQ==YQ==", "'=' at position 2"},             // padding in the middle
      {"Y=Q=", "'=' at position 1"},
      {"YQ=", "do not complete the last group"},     // partial padding
      {"YWI==", "do not complete the last group"},
      {"YWJj=", "do not complete the last group"},
      {"YQ===", "more than two '='"},
      {"=", "do not complete the last group"},
      {"Y", "single character"},
      {"YWJjZ", "single character"},
      {"YW Jj", "byte 0x20 at position 2"},           // whitespace
      {"YWJj\n", "byte 0x0a"},
      {"YWJj\r\nYWJj", "byte 0x0d"},
      {"+_8=", "mixes the standard"},                 // two alphabets
      {"YW*j", "byte 0x2a"},
      {"YW.j", "byte 0x2e"},
  };
  for (const auto& c : cases) {
    auto r = base64_decode(c.text);
    ASSERT_FALSE(r.has_value()) << "accepted: '" << c.text << "'";
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << c.text << ": " << r.error().message;
    EXPECT_NE(r.error().message.find("expected the standard"), std::string::npos) << r.error().message;
  }
}

TEST(BundleParser, BadBase64ErrorNamesTheFieldAndTheReason) {
  J b = minimal_bundle();
  b["dsseEnvelope"]["payload"] = "e30=e30=";
  auto r = parse_bundle(b.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("dsseEnvelope: field 'payload' is not valid base64"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("'=' at position 3"), std::string::npos) << r.error().message;
}

// ---------------------------------------------------------------- compat PAE gate

TEST(BundleParser, CompatPaeIsAllowedOnlyForLegacyDigestsBundles) {
  std::string legacy_statement =
      R"({"_type":"https://in-toto.io/Statement/v1","predicateType":"https://model_signing/Digests/v0.1"})";
  std::string v1_statement =
      R"({"_type":"https://in-toto.io/Statement/v1","predicateType":"https://model_signing/signature/v1.0"})";
  // v0.2 shape: certificate chain, keyid null, no tlogEntries.
  J v02 = minimal_bundle();
  v02["verificationMaterial"] = {{"x509CertificateChain", {{"certificates", J::array({{{"rawBytes", "AAAA"}}})}}}};
  v02["dsseEnvelope"]["signatures"][0]["keyid"] = nullptr;
  v02["dsseEnvelope"]["payload"] = base64_encode(to_bytes(legacy_statement));
  auto b = parse_bundle(v02.dump());
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_TRUE(may_use_compat_pae(*b));

  // The same with a v1.0 statement, or with any v1.1 marker: never.
  J v = v02;
  v["dsseEnvelope"]["payload"] = base64_encode(to_bytes(v1_statement));
  EXPECT_FALSE(may_use_compat_pae(*parse_bundle(v.dump())));
  v = v02;
  v["dsseEnvelope"]["signatures"][0]["keyid"] = "";
  EXPECT_FALSE(may_use_compat_pae(*parse_bundle(v.dump())));
  v = v02;
  v["verificationMaterial"]["tlogEntries"] = J::array();
  EXPECT_FALSE(may_use_compat_pae(*parse_bundle(v.dump())));
  v = minimal_bundle();  // v1.1 key bundle: hint, tlogEntries, keyid ""
  v["dsseEnvelope"]["payload"] = base64_encode(to_bytes(legacy_statement));
  EXPECT_FALSE(may_use_compat_pae(*parse_bundle(v.dump())));
  // A legacy statement larger than its own cap.
  v = v02;
  std::string big = legacy_statement + std::string(limits::kMaxLegacyPayloadBytes, ' ');
  v["dsseEnvelope"]["payload"] = base64_encode(to_bytes(big));
  EXPECT_FALSE(may_use_compat_pae(*parse_bundle(v.dump())));
}

}  // namespace
}  // namespace modelsign::bundle
