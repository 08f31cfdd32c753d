// The statement parser's checks, their messages and their order, on forged statements:
// which error wins when a statement has several faults, whatever the order of its keys
// in the document, and that a JSON fault anywhere outranks every semantic one.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "bundle/limits.h"
#include "bundle/statement.h"
#include "crypto/encoding.h"

namespace modelsign::bundle {
namespace {

using OJ = nlohmann::ordered_json;

const std::string kDigestA(64, 'a');
const std::string kDigestB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

OJ resource(const std::string& name, const std::string& digest = kDigestA) {
  return OJ{{"name", name}, {"algorithm", "sha256"}, {"digest", digest}};
}

OJ base_statement() {
  return OJ{{"_type", kStatementType},
            {"subject", OJ::array({OJ{{"name", "model"}, {"digest", {{"sha256", ""}}}}})},
            {"predicateType", kPredicateType},
            {"predicate",
             {{"serialization", {{"method", "files"}, {"hash_type", "sha256"}, {"allow_symlinks", false}}},
              {"resources", OJ::array({resource("a"), resource("b/c", kDigestB)})}}}};
}

// The root digest over the resources' digests, where every one is hex.
std::string root_of(const OJ& st) {
  const OJ* res = &st;
  for (const char* k : {"predicate", "resources"}) {
    if (!res->is_object() || !res->contains(k)) return std::string(64, '0');
    res = &(*res)[k];
  }
  Manifest m;
  if (!res->is_array()) return std::string(64, '0');
  for (const auto& r : *res) {
    Resource x;
    if (!r.is_object() || !r.contains("digest") || !r["digest"].is_string()) continue;
    auto b = from_hex(r["digest"].get<std::string>());
    if (!b) continue;
    x.digest = *b;
    m.resources.push_back(x);
  }
  return to_hex(m.root_digest());
}

// The statement text with the subject's root digest made consistent, unless told not to.
std::string text_of(OJ st, bool fix_root = true) {
  if (fix_root && st.contains("subject") && st["subject"].is_array() && !st["subject"].empty() &&
      st["subject"][0].is_object() && st["subject"][0].contains("digest") &&
      st["subject"][0]["digest"].is_object())
    st["subject"][0]["digest"]["sha256"] = root_of(st);
  return st.dump(2);
}

OJ& ser(OJ& st) { return st["predicate"]["serialization"]; }
OJ& res(OJ& st) { return st["predicate"]["resources"]; }

OJ legacy_statement() {
  return OJ{{"_type", kStatementType},
            {"subject", OJ::array({OJ{{"name", "a"}, {"digest", {{"sha256", kDigestA}}}},
                                   OJ{{"name", "b/c"}, {"digest", {{"sha256", kDigestB}}}}})},
            {"predicateType", kLegacyPredicateType},
            {"predicate", OJ::object()}};
}

struct Case {
  std::string name;
  std::function<std::string()> text;
  ErrorCode code;
  std::string message;  // exact
};

std::string edit(const std::function<void(OJ&)>& f, bool fix_root = true) {
  OJ st = base_statement();
  f(st);
  return text_of(std::move(st), fix_root);
}

std::string edit_legacy(const std::function<void(OJ&)>& f) {
  OJ st = legacy_statement();
  f(st);
  return st.dump(2);
}

const std::string kLong(limits::kMaxJsonStringBytes + 1, 'x');

std::vector<Case> cases() {
  const auto M = ErrorCode::kMalformed;
  const auto V = ErrorCode::kVerification;
  const auto U = ErrorCode::kUnsupported;
  return {
      {"not an object", [] { return std::string("[1]"); }, M, "the signed statement is not a JSON object"},
      {"syntax error after a wrong type",
       [] { return std::string(R"({"_type": "x", "subject": [)"); }, M,
       "the signed statement is not valid JSON at byte 26 (counting from 0): [json.exception.parse_error.101] "
       "parse error at line 1, column 28: syntax error while parsing value - unexpected end of input; "
       "expected '[', '{', or a literal"},
      {"duplicate key in a resource",
       [] {
         std::string t = edit([](OJ&) {});
         auto at = t.find("\"algorithm\"");
         return t.insert(at, "\"algorithm\": \"x\", ");
       },
       M,
       "the signed statement has the key 'algorithm' twice in one object; readers disagree on which one "
       "counts, so the document is refused"},
      {"duplicate key in an unknown object",
       [] { return std::string(R"({"_type": "x", "z": {"q": {"k": 1, "k": 2}}})"); }, M,
       "the signed statement has the key 'k' twice in one object; readers disagree on which one counts, so "
       "the document is refused"},
      {"too deep in an unknown field",
       [] { return std::string(R"({"z": )") + std::string(40, '[') + std::string(40, ']') + "}"; }, M,
       "the signed statement nests JSON deeper than 32 levels; no valid document nests that deep"},
      {"long key", [] { return "{\"" + kLong + "\": 1}"; }, M,
       "the signed statement has a key of 65537 bytes; no valid document has one"},
      {"missing _type", [] { return edit([](OJ& s) { s.erase("_type"); }); }, M, "statement: missing field '_type'"},
      {"_type a number", [] { return edit([](OJ& s) { s["_type"] = 1; }); }, M,
       "statement: field '_type' must be a string, found number"},
      {"_type a long string", [] { return edit([](OJ& s) { s["_type"] = kLong; }); }, M,
       "statement: field '_type' holds a string of more than 65536 bytes, far longer than it can validly be"},
      {"_type wrong, predicate type wrong too",
       [] { return edit([](OJ& s) { s["_type"] = "t"; s["predicateType"] = "p"; }); }, V,
       "Expected in-toto https://in-toto.io/Statement/v1 payload, but got t"},
      {"missing predicateType", [] { return edit([](OJ& s) { s.erase("predicateType"); }); }, M,
       "statement: missing field 'predicateType'"},
      {"both predicate type spellings",
       [] { return edit([](OJ& s) { s["predicate_type"] = s["predicateType"]; }); }, M,
       "statement: both 'predicateType' and 'predicate_type' are present; they are two spellings of one "
       "field and only one may appear (re-create the signature)"},
      {"snake predicate_type of the wrong type",
       [] { return edit([](OJ& s) { s.erase("predicateType"); s["predicate_type"] = OJ::array(); }); }, M,
       "statement: field 'predicateType' must be a string, found array"},
      {"missing subject, wrong predicate type",
       [] { return edit([](OJ& s) { s.erase("subject"); s["predicateType"] = "p"; }); }, M,
       "statement: missing field 'subject'"},
      {"subject an object", [] { return edit([](OJ& s) { s["subject"] = OJ::object(); }); }, M,
       "statement: field 'subject' must be an array, found object"},
      {"wrong predicate type", [] { return edit([](OJ& s) { s["predicateType"] = "p"; }); }, V,
       "Predicate type mismatch, expected https://model_signing/signature/v1.0, got p"},
      {"two subjects, bad predicate",
       [] { return edit([](OJ& s) { s["subject"].push_back(1); s.erase("predicate"); }); }, V,
       "Expected only one subject, got 2"},
      {"no subject", [] { return edit([](OJ& s) { s["subject"] = OJ::array(); }); }, V,
       "Expected only one subject, got 0"},
      {"subject not an object", [] { return edit([](OJ& s) { s["subject"][0] = "x"; }); }, M,
       "subject: missing field 'name'"},
      {"subject name a bool", [] { return edit([](OJ& s) { s["subject"][0]["name"] = true; }); }, M,
       "subject: field 'name' must be a string, found boolean"},
      {"subject digest a string",
       [] { return edit([](OJ& s) { s["subject"][0]["digest"] = "x"; }, false); }, M,
       "subject: field 'digest' must be an object, found string"},
      {"subject digest without sha256",
       [] { return edit([](OJ& s) { s["subject"][0]["digest"] = {{"sha512", "x"}}; }, false); }, M,
       "subject digest: missing field 'sha256'"},
      {"subject sha256 null",
       [] { return edit([](OJ& s) { s["subject"][0]["digest"]["sha256"] = nullptr; }, false); }, M,
       "subject digest: field 'sha256' must be a string, found null"},
      {"missing predicate", [] { return edit([](OJ& s) { s.erase("predicate"); }); }, M,
       "statement: missing field 'predicate'"},
      {"predicate an array", [] { return edit([](OJ& s) { s["predicate"] = OJ::array(); }); }, M,
       "statement: field 'predicate' must be an object, found array"},
      {"missing serialization", [] { return edit([](OJ& s) { s["predicate"].erase("serialization"); }); }, M,
       "predicate: missing field 'serialization'"},
      {"serialization a number", [] { return edit([](OJ& s) { ser(s) = 3.5; }); }, M,
       "predicate: field 'serialization' must be an object, found number"},
      {"missing method", [] { return edit([](OJ& s) { ser(s).erase("method"); }); }, M,
       "serialization: missing field 'method'"},
      {"unknown method, bad resources",
       [] { return edit([](OJ& s) { ser(s)["method"] = "bits"; res(s) = 1; }); }, U,
       "Unknown serialization type bits"},
      {"missing hash_type", [] { return edit([](OJ& s) { ser(s).erase("hash_type"); }); }, M,
       "serialization: missing field 'hash_type'"},
      {"unknown hash", [] { return edit([](OJ& s) { ser(s)["hash_type"] = "md5"; }); }, U,
       "the signature uses hash 'md5'; modelsign supports sha256 and blake2b"},
      {"allow_symlinks a string", [] { return edit([](OJ& s) { ser(s)["allow_symlinks"] = "yes"; }); }, M,
       "serialization: allow_symlinks must be a boolean"},
      {"allow_symlinks a long string", [] { return edit([](OJ& s) { ser(s)["allow_symlinks"] = kLong; }); }, M,
       "serialization: allow_symlinks must be a boolean"},
      {"shards without shard_size", [] { return edit([](OJ& s) { ser(s)["method"] = "shards"; }); }, M,
       "serialization: shards need a numeric shard_size"},
      {"shard_size a string",
       [] { return edit([](OJ& s) { ser(s)["method"] = "shards"; ser(s)["shard_size"] = "8"; }); }, M,
       "serialization: shards need a numeric shard_size"},
      {"shard_size zero",
       [] { return edit([](OJ& s) { ser(s)["method"] = "shards"; ser(s)["shard_size"] = 0; }); }, M,
       "serialization: shard_size must be a positive integer"},
      {"shard_size negative",
       [] { return edit([](OJ& s) { ser(s)["method"] = "shards"; ser(s)["shard_size"] = -8; }); }, M,
       "serialization: shard_size must be a positive integer"},
      {"shard_size fractional",
       [] { return edit([](OJ& s) { ser(s)["method"] = "shards"; ser(s)["shard_size"] = 1.5; }); }, M,
       "serialization: shard_size must be a positive integer"},
      {"shard_size too large",
       [] { return edit([](OJ& s) { ser(s)["method"] = "shards"; ser(s)["shard_size"] = 1e16; }); }, M,
       "serialization: shard_size must be a positive integer"},
      {"files with a bad shard_size is fine, bad ignore_paths is not",
       [] { return edit([](OJ& s) { ser(s)["shard_size"] = "x"; ser(s)["ignore_paths"] = "x"; }); }, M,
       "serialization: ignore_paths must be an array of strings"},
      {"ignore_paths holding a number",
       [] { return edit([](OJ& s) { ser(s)["ignore_paths"] = OJ::array({"a", 1}); }); }, M,
       "serialization: ignore_paths must be an array of strings"},
      {"ignore_paths holding a long string",
       [] { return edit([](OJ& s) { ser(s)["ignore_paths"] = OJ::array({kLong}); }); }, M,
       "serialization: ignore_paths must be an array of strings"},
      {"too many ignore_paths, one a number",
       [] {
         return edit([](OJ& s) {
           OJ a = OJ::array();
           for (std::size_t i = 0; i <= limits::kMaxIgnorePaths; ++i) a.push_back("p");
           a[0] = 1;
           ser(s)["ignore_paths"] = a;
         });
       },
       M, "serialization: ignore_paths must be an array of strings"},
      {"an ignore path too long",
       [] {
         return edit([](OJ& s) {
           ser(s)["ignore_paths"] = OJ::array({"a", std::string(limits::kMaxNameBytes + 1, 'p')});
         });
       },
       M, "serialization: an ignore_paths entry of 4097 bytes exceeds the limit of 4096"},
      {"missing resources", [] { return edit([](OJ& s) { s["predicate"].erase("resources"); }); }, M,
       "predicate: missing field 'resources'"},
      {"resources an object", [] { return edit([](OJ& s) { res(s) = OJ::object(); }); }, M,
       "predicate: field 'resources' must be an array, found object"},
      {"resources empty", [] { return edit([](OJ& s) { res(s) = OJ::array(); }); }, V,
       "the signature lists no files (empty resources)"},
      {"a resource not an object", [] { return edit([](OJ& s) { res(s)[1] = 7; }); }, M,
       "resource: missing field 'name'"},
      {"a resource name a number", [] { return edit([](OJ& s) { res(s)[0]["name"] = 7; }); }, M,
       "resource: field 'name' must be a string, found number"},
      {"a resource name a long string", [] { return edit([](OJ& s) { res(s)[1]["name"] = kLong; }); }, M,
       "resource: field 'name' holds a string of more than 65536 bytes, far longer than it can validly be"},
      {"missing algorithm", [] { return edit([](OJ& s) { res(s)[1].erase("algorithm"); }); }, M,
       "resource 'b/c': missing field 'algorithm'"},
      {"missing digest", [] { return edit([](OJ& s) { res(s)[1].erase("digest"); }); }, M,
       "resource 'b/c': missing field 'digest'"},
      {"digest an object", [] { return edit([](OJ& s) { res(s)[1]["digest"] = OJ::object(); }); }, M,
       "resource 'b/c': field 'digest' must be a string, found object"},
      {"empty digest", [] { return edit([](OJ& s) { res(s)[0]["digest"] = ""; }); }, M,
       "resource 'a': digest of unexpected length 0"},
      {"digest too long", [] { return edit([](OJ& s) { res(s)[0]["digest"] = std::string(130, 'a'); }); }, M,
       "resource 'a': digest of unexpected length 130"},
      {"digest not hex", [] { return edit([](OJ& s) { res(s)[0]["digest"] = "zz"; }); }, M,
       "resource 'a': digest is not hex"},
      {"the first faulty resource wins",
       [] { return edit([](OJ& s) { res(s)[0]["digest"] = "zz"; res(s)[1].erase("name"); }); }, M,
       "resource 'a': digest is not hex"},
      {"a shard name fault before a later structural fault",
       [] {
         return edit([](OJ& s) {
           ser(s)["method"] = "shards";
           ser(s)["shard_size"] = 8;
           res(s)[0]["name"] = "a:0:8";
           res(s)[1]["name"] = "b";
           res(s).push_back(OJ{{"name", 1}});
         });
       },
       M, "Invalid resource name: expected 3 components separated by `:`, got b"},
      {"a structural fault before a later shard name fault",
       [] {
         return edit([](OJ& s) {
           ser(s)["method"] = "shards";
           ser(s)["shard_size"] = 8;
           res(s)[0]["digest"] = "x";
           res(s)[1]["name"] = "b";
         });
       },
       M, "resource 'a': digest is not hex"},
      {"resources before serialization: shard names parsed after all",
       [] {
         OJ st = base_statement();
         OJ pred = {{"resources", OJ::array({resource("a:0:8"), resource("b:8:4")})},
                    {"serialization", {{"method", "shards"}, {"hash_type", "sha256"}, {"shard_size", 8}}}};
         st["predicate"] = pred;
         return text_of(st);
       },
       M, "Invalid shard range in resource name b:8:4"},
      {"bad shard numbers",
       [] {
         return edit([](OJ& s) {
           ser(s)["method"] = "shards";
           ser(s)["shard_size"] = 8;
           res(s)[0]["name"] = "a:x:8";
         });
       },
       M, "Invalid shard range in resource name a:x:8"},
      {"shard name with a leading colon",
       [] {
         return edit([](OJ& s) {
           ser(s)["method"] = "shards";
           ser(s)["shard_size"] = 8;
           res(s)[0]["name"] = ":0";
         });
       },
       M, "Invalid resource name: expected 3 components separated by `:`, got :0"},
      {"inconsistent root digest before an unsafe name",
       [] { return edit([](OJ& s) { res(s)[0]["name"] = "../x"; s["subject"][0]["digest"]["sha256"] = "ab"; }, false); },
       V,
       "Manifest is inconsistent. Root digest is ab, but the included resources hash to "
       "c3b47a7280851daf71250e9b0ad266d27f6897a996c932be6d685ec5640be3c6"},
      {"unsafe name", [] { return edit([](OJ& s) { res(s)[1]["name"] = "b/../c"; }); }, M,
       "unsafe resource name 'b/../c' in the signature ('..' component); refusing to read anything outside "
       "the model"},
      {"duplicate name before a later unsafe one",
       [] {
         return edit([](OJ& s) {
           res(s)[1]["name"] = "a";
           res(s).push_back(resource("/x"));
         });
       },
       M, "the signature lists 'a' twice"},
      {"unsafe name before a later duplicate",
       [] {
         return edit([](OJ& s) {
           res(s)[0]["name"] = "/x";
           res(s).push_back(resource("b/c"));
         });
       },
       M, "unsafe resource name '/x' in the signature (absolute path); refusing to read anything outside the "
          "model"},
      {"the earliest of two duplicates is named",
       [] {
         return edit([](OJ& s) {
           res(s) = OJ::array({resource("z"), resource("y"), resource("y"), resource("z")});
         });
       },
       M, "the signature lists 'y' twice"},
      {"an unsafe name that is also a duplicate",
       [] { return edit([](OJ& s) { res(s) = OJ::array({resource("a"), resource("a/")}); }); }, M,
       "unsafe resource name 'a/' in the signature (empty path component); refusing to read anything outside "
       "the model"},
      {"legacy: name missing",
       [] { return edit_legacy([](OJ& s) { s["subject"][1].erase("name"); }); }, M,
       "subject: missing field 'name'"},
      {"legacy: short sha256",
       [] { return edit_legacy([](OJ& s) { s["subject"][1]["digest"]["sha256"] = "abcd"; }); }, M,
       "subject 'b/c': sha256 digest is not 64 hex digits"},
      {"legacy: unsafe name before a later structural fault",
       [] {
         return edit_legacy([](OJ& s) {
           s["subject"][0]["name"] = "..";
           s["subject"][1]["digest"] = 1;
         });
       },
       M, "unsafe resource name '..' in the signature ('..' component); refusing to read anything outside the "
          "model"},
      {"legacy: duplicate",
       [] { return edit_legacy([](OJ& s) { s["subject"][1]["name"] = "a"; }); }, M,
       "the signature lists 'a' twice"},
      {"legacy: no subjects", [] { return edit_legacy([](OJ& s) { s["subject"] = OJ::array(); }); }, M,
       "the signature lists no files (empty resources)"},
      {"legacy: predicate and _type unchecked beyond the type",
       [] { return edit_legacy([](OJ& s) { s["predicate"] = 1; s["_type"] = kStatementType; }); }, M, ""},
  };
}

TEST(StatementParser, EveryCheckKeepsItsMessageAndOrder) {
  for (const auto& c : cases()) {
    auto r = parse_statement(c.text());
    if (c.message.empty()) {
      EXPECT_TRUE(r.has_value()) << c.name << ": " << r.error().message;
      continue;
    }
    ASSERT_FALSE(r.has_value()) << c.name << ": accepted";
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_EQ(r.error().message, c.message) << c.name;
  }
}

TEST(StatementParser, ReadsEveryFieldWhateverTheKeyOrderAndUnknownFields) {
  // Keys in reverse order, the snake_case predicate type, unknown fields of every kind at
  // every level (nested objects and arrays, long strings), a float shard size.
  OJ st = {{"zz", {{"nested", OJ::array({OJ::object(), OJ::array({1, 2.5, nullptr, true})})}}},
           {"predicate",
            {{"extra", kLong},
             {"resources",
              OJ::array({OJ{{"x", OJ::array()}, {"digest", kDigestA}, {"algorithm", "sha256-sharded-8"},
                            {"name", "w/a:0:8"}},
                         OJ{{"digest", kDigestB}, {"algorithm", "sha256-sharded-8"}, {"name", "w/a:8:11"}}})},
             {"serialization",
              {{"ignore_paths", OJ::array({".git", "model.sig"})},
               {"shard_size", 8.0},
               {"allow_symlinks", true},
               {"hash_type", "blake2b"},
               {"method", "shards"},
               {"unknown", {{"k", "v"}}}}}}},
           {"predicate_type", kPredicateType},
           {"subject", OJ::array({OJ{{"extra", 1}, {"digest", {{"sha512", "x"}, {"sha256", ""}}}, {"name", "mé"}}})},
           {"_type", kStatementType}};
  Manifest m;
  for (const auto& d : {kDigestA, kDigestB}) {
    Resource r;
    r.digest = *from_hex(d);
    m.resources.push_back(r);
  }
  const std::string root = to_hex(m.root_digest());
  st["subject"][0]["digest"]["sha256"] = root;
  auto p = parse_statement(st.dump());
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_FALSE(p->legacy);
  EXPECT_EQ(p->subject_digest, root);
  const Manifest& got = p->manifest;
  EXPECT_EQ(got.model_name, "mé");
  EXPECT_EQ(got.serialization.method, Method::kShards);
  EXPECT_EQ(got.serialization.hash, HashAlgorithm::kBlake2b);
  EXPECT_TRUE(got.serialization.allow_symlinks);
  EXPECT_EQ(got.serialization.shard_size, std::optional<std::uint64_t>(8));
  EXPECT_EQ(got.serialization.ignore_paths, (std::vector<std::string>{".git", "model.sig"}));
  ASSERT_EQ(got.resources.size(), 2u);
  EXPECT_EQ(got.resources[0].name, "w/a:0:8");
  EXPECT_EQ(got.resources[0].path, "w/a");
  EXPECT_EQ(got.resources[0].start, 0u);
  EXPECT_EQ(got.resources[0].end, 8u);
  EXPECT_EQ(got.resources[1].start, 8u);
  EXPECT_EQ(got.resources[1].end, 11u);
  EXPECT_EQ(got.resources[1].algorithm, "sha256-sharded-8");
  EXPECT_EQ(to_hex(got.resources[1].digest), kDigestB);

  // Files: no shard parsing, names with colons kept whole, allow_symlinks defaults to false.
  OJ f = base_statement();
  ser(f).erase("allow_symlinks");
  res(f)[0]["name"] = "x:1:2";
  auto pf = parse_statement(text_of(f));
  ASSERT_TRUE(pf.has_value()) << pf.error().message;
  EXPECT_FALSE(pf->manifest.serialization.allow_symlinks);
  EXPECT_FALSE(pf->manifest.serialization.shard_size.has_value());
  EXPECT_EQ(pf->manifest.resources[0].path, "x:1:2");
  EXPECT_EQ(pf->manifest.resources[1].name, "b/c");
  EXPECT_EQ(pf->manifest.model_name, "model");

  // Legacy: subjects become the resources, in order.
  auto pl = parse_statement(legacy_statement().dump());
  ASSERT_TRUE(pl.has_value()) << pl.error().message;
  EXPECT_TRUE(pl->legacy);
  ASSERT_EQ(pl->manifest.resources.size(), 2u);
  EXPECT_EQ(pl->manifest.resources[1].path, "b/c");
  EXPECT_EQ(pl->manifest.resources[1].algorithm, "sha256");
  EXPECT_EQ(to_hex(pl->manifest.resources[1].digest), kDigestB);
}

}  // namespace
}  // namespace modelsign::bundle
