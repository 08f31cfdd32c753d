// Every spelling of every option of every subcommand, parsed by the real CLI11 App that
// `modelsign` runs, checked against a table of what it must mean.
//
// Why: an alias once meant the opposite of its name (--no_ignore_unsigned_files turned
// tolerance ON, because CLI11's '!' negates only the spelling it prefixes). The table
// lists each option by its dash spelling with the value it must produce; the test
// derives the underscore spelling, parses both, and also fails when the App has a name
// the table does not list, so a new alias cannot slip in unchecked.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/output.h"

namespace modelsign::cli {
namespace {

enum class Kind { kValue, kTrue, kFalse };

struct Row {
  std::string path;  // "verify key"; "" for the top level
  std::string name;  // dash spelling without "--"
  Kind kind;
  std::string value = "v";  // for kValue: a valid value
};

std::vector<Row> table() {
  std::vector<Row> rows;
  auto add = [&](const std::string& path, std::vector<Row> r) {
    for (auto& x : r) {
      x.path = path;
      rows.push_back(x);
    }
  };
  const std::vector<Row> model = {{"", "ignore-paths", Kind::kValue},
                                  {"", "ignore-git-paths", Kind::kTrue},
                                  {"", "no-ignore-git-paths", Kind::kFalse},
                                  {"", "allow-symlinks", Kind::kTrue},
                                  {"", "allow-external-symlinks", Kind::kTrue}};
  const std::vector<Row> signature = {{"", "signature", Kind::kValue}};
  const std::vector<Row> sign_common = {{"", "json", Kind::kTrue},
                                        {"", "threads", Kind::kValue, "3"},
                                        {"", "io-depth", Kind::kValue, "8"},
                                        {"", "hash", Kind::kValue, "blake2b"},
                                        {"", "serialization", Kind::kValue, "shards"},
                                        {"", "shard-size", Kind::kValue, "5"},
                                        {"", "audit-log", Kind::kValue},
                                        {"", "ci-dotenv", Kind::kValue}};
  const std::vector<Row> cert = {{"", "signing-certificate", Kind::kValue},
                                 {"", "certificate-chain", Kind::kValue}};
  const std::vector<Row> pem_key = {{"", "private-key", Kind::kValue},
                                    {"", "password-file", Kind::kValue},
                                    {"", "password", Kind::kValue},
                                    {"", "allow-insecure-key-permissions", Kind::kTrue}};
  const std::vector<Row> p11 = {{"", "pkcs11-uri", Kind::kValue}};
  const std::vector<Row> tpm = {{"", "tpm2-key", Kind::kValue},
                                {"", "tcti", Kind::kValue},
                                {"", "tpm2-timeout", Kind::kValue, "5"},
                                {"", "tpm2-auth-file", Kind::kValue}};
  const std::vector<Row> verify_common = {{"", "ignore-unsigned-files", Kind::kTrue},
                                          {"", "no-ignore-unsigned-files", Kind::kFalse},
                                          {"", "strict-ignored", Kind::kTrue},
                                          {"", "json", Kind::kTrue},
                                          {"", "threads", Kind::kValue, "3"},
                                          {"", "audit-log", Kind::kValue},
                                          {"", "ci-dotenv", Kind::kValue},
                                          {"", "io-depth", Kind::kValue, "8"}};
  auto cat = [](std::initializer_list<std::vector<Row>> parts) {
    std::vector<Row> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };

  add("", {{"", "log-level", Kind::kValue, "debug"}, {"", "json", Kind::kTrue}});
  // `sign MODEL_PATH` / `verify MODEL_PATH`: the method is chosen, so every key flag is there.
  add("sign", cat({model, signature, sign_common, cert,
                   {{"", "private-key", Kind::kValue},
                    {"", "password-file", Kind::kValue},
                    {"", "allow-insecure-key-permissions", Kind::kTrue},
                    {"", "use-staging", Kind::kTrue},
                    {"", "trust-config", Kind::kValue},
                    {"", "tuf-url", Kind::kValue},
                    {"", "tuf-root", Kind::kValue},
                    {"", "offline", Kind::kTrue},
                    {"", "ca-file", Kind::kValue}},
                   p11, tpm}));
  const std::vector<Row> sigstore_identity = {{"", "identity", Kind::kValue},
                                              {"", "identity-provider", Kind::kValue},
                                              {"", "identity-regex", Kind::kTrue},
                                              {"", "trust-config", Kind::kValue},
                                              {"", "trusted-root", Kind::kValue},
                                              {"", "use-staging", Kind::kTrue},
                                              {"", "tuf-url", Kind::kValue},
                                              {"", "tuf-root", Kind::kValue},
                                              {"", "offline", Kind::kTrue}};
  add("verify", cat({model, signature, verify_common,
                     {{"", "public-key", Kind::kValue},
                      {"", "pkcs11-uri", Kind::kValue},
                      {"", "tpm2-key", Kind::kValue},
                      {"", "tcti", Kind::kValue},
                      {"", "tpm2-timeout", Kind::kValue, "5"},
                      {"", "certificate-chain", Kind::kValue},
                      {"", "use-system-trust-store", Kind::kTrue}},
                     sigstore_identity}));
  add("audit verify", {{"", "json", Kind::kTrue}});
  add("sign key", cat({model, signature, sign_common, pem_key}));
  add("sign certificate", cat({model, signature, sign_common, cert, pem_key}));
  add("sign pkcs11-key", cat({model, signature, sign_common, p11}));
  add("sign pkcs11-certificate", cat({model, signature, sign_common, cert, p11}));
  add("sign tpm2-key", cat({model, signature, sign_common, tpm}));
  add("sign tpm2-certificate", cat({model, signature, sign_common, cert, tpm}));
  add("sign sigstore", cat({model, signature, sign_common, tpm,
                            {{"", "identity-token", Kind::kValue},
                             {"", "use-ambient-credentials", Kind::kTrue},
                             {"", "use-staging", Kind::kTrue},
                             {"", "trust-config", Kind::kValue},
                             {"", "oauth-force-oob", Kind::kTrue},
                             {"", "client-id", Kind::kValue},
                             {"", "client-secret", Kind::kValue},
                             {"", "private-key", Kind::kValue},
                             {"", "password-file", Kind::kValue},
                             {"", "pkcs11-uri", Kind::kValue},
                             {"", "ca-file", Kind::kValue},
                             {"", "tuf-url", Kind::kValue},
                             {"", "tuf-root", Kind::kValue},
                             {"", "offline", Kind::kTrue}}}));
  add("verify key", cat({model, signature, verify_common,
                         {{"", "public-key", Kind::kValue},
                          {"", "pkcs11-uri", Kind::kValue},
                          {"", "tpm2-key", Kind::kValue},
                          {"", "tcti", Kind::kValue},
                          {"", "tpm2-timeout", Kind::kValue, "5"}}}));
  add("verify certificate", cat({model, signature, verify_common,
                                 {{"", "certificate-chain", Kind::kValue},
                                  {"", "use-system-trust-store", Kind::kTrue},
                                  {"", "log-fingerprints", Kind::kTrue}}}));
  add("verify sigstore", cat({model, signature, verify_common,
                              {{"", "identity", Kind::kValue},
                               {"", "identity-provider", Kind::kValue},
                               {"", "identity-regex", Kind::kTrue},
                               {"", "trust-config", Kind::kValue},
                               {"", "trusted-root", Kind::kValue},
                               {"", "use-staging", Kind::kTrue},
                               {"", "tuf-url", Kind::kValue},
                               {"", "tuf-root", Kind::kValue},
                               {"", "offline", Kind::kTrue}}}));
  add("digest", cat({model,
                     {{"", "hash", Kind::kValue, "blake2b"},
                      {"", "serialization", Kind::kValue, "shards"},
                      {"", "shard-size", Kind::kValue, "5"},
                      {"", "threads", Kind::kValue, "3"},
                      {"", "io-depth", Kind::kValue, "8"},
                      {"", "json", Kind::kTrue}}}));
  add("keygen", {{"", "private-key", Kind::kValue},
                 {"", "public-key", Kind::kValue},
                 {"", "public-key-from", Kind::kValue},
                 {"", "key-type", Kind::kValue, "ec-p384"},
                 {"", "curve", Kind::kValue, "P-384"},
                 {"", "password-file", Kind::kValue},
                 {"", "tpm2", Kind::kTrue},
                 {"", "persistent", Kind::kValue, "0x81000001"},
                 {"", "key-file", Kind::kValue},
                 {"", "tcti", Kind::kValue},
                 {"", "tpm2-auth-file", Kind::kValue},
                 {"", "pkcs11-uri", Kind::kValue}});
  add("pkcs11 list", {{"", "module", Kind::kValue}, {"", "pkcs11-uri", Kind::kValue}});
  add("tpm2 list", {{"", "tcti", Kind::kValue}});
  const std::vector<Row> tuf_repo = {{"", "use-staging", Kind::kTrue},
                                     {"", "tuf-url", Kind::kValue},
                                     {"", "tuf-root", Kind::kValue}};
  add("trust update", tuf_repo);
  add("trust show", cat({tuf_repo, {{"", "offline", Kind::kTrue}, {"", "trusted-root", Kind::kValue}}}));
  return rows;
}

std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// A fresh App whose commands do nothing: only parsing is under test.
struct ParsedApp {
  CLI::App app{"test"};
  GlobalOptions g;
  int rc = 0;
  ParsedApp() {
    build_app(app, g, &rc);
    silence(&app);
  }
  static void silence(CLI::App* a) {
    for (CLI::App* s : a->get_subcommands({})) {
      s->callback(std::function<void()>());
      silence(s);
    }
  }
  CLI::App* at(const std::string& path) {
    CLI::App* cur = &app;
    std::string rest = path;
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      cur = cur->get_subcommand(rest.substr(0, sp));
      rest = sp == std::string::npos ? "" : rest.substr(sp + 1);
    }
    return cur;
  }
};

std::vector<std::string> words(const std::string& path) {
  std::vector<std::string> out;
  std::string rest = path;
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    out.push_back(rest.substr(0, sp));
    rest = sp == std::string::npos ? "" : rest.substr(sp + 1);
  }
  return out;
}

// CLI11's vector overload takes the arguments in reverse order.
void parse_forward(CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> rev(args.rbegin(), args.rend());
  app.parse(rev);
}

// Parses `modelsign PATH... ARGS... [filler]` and returns the option named `name` of PATH.
const CLI::Option* parse(ParsedApp& p, const Row& row, const std::string& spelling) {
  CLI::App* cmd = p.at(row.path);
  const CLI::Option* opt = cmd->get_option_no_throw("--" + spelling);
  if (opt == nullptr) return nullptr;
  std::vector<std::string> args = words(row.path);
  args.push_back("--" + spelling);
  if (row.kind == Kind::kValue) args.push_back(row.value);
  for (const CLI::Option* need : opt->get_needs()) args.push_back("--" + need->get_lnames().front());
  for (const CLI::Option* o : cmd->get_options())
    if (o->get_required() && o != opt && !o->get_lnames().empty()) {
      args.push_back("--" + o->get_lnames().front());
      args.push_back("filler");
    }
  if (cmd->get_option_no_throw("MODEL_PATH") != nullptr) args.push_back("model");
  if (cmd->get_option_no_throw("FILE") != nullptr) args.push_back("file");
  if (row.path.empty()) args.insert(args.end(), {"digest", "model"});  // a global option
  parse_forward(p.app, args);
  return opt;
}

TEST(CliFlagTable, EveryAliasOfEveryFlagOfEverySubcommandParsesToItsTableValue) {
  for (const Row& row : table()) {
    std::set<std::string> spellings = {row.name, underscored(row.name)};
    for (const std::string& spelling : spellings) {
      SCOPED_TRACE("modelsign " + row.path + " --" + spelling);
      ParsedApp p;
      const CLI::Option* opt = nullptr;
      ASSERT_NO_THROW(opt = parse(p, row, spelling));
      ASSERT_NE(opt, nullptr) << "the App has no option --" << spelling;
      ASSERT_EQ(opt->count(), 1u);
      switch (row.kind) {
        case Kind::kTrue: EXPECT_TRUE(opt->as<bool>()); break;
        case Kind::kFalse: EXPECT_FALSE(opt->as<bool>()); break;
        case Kind::kValue: EXPECT_EQ(opt->as<std::string>(), row.value); break;
      }
    }
  }
}

// The negative and positive spellings bind the same variable: the last one given wins,
// whichever spelling it is.
TEST(CliFlagTable, NegatedUnderscoreSpellingAfterPositiveTurnsTheFlagOff) {
  for (const char* neg : {"--no-ignore-unsigned-files", "--no_ignore_unsigned_files"}) {
    ParsedApp p;
    parse_forward(p.app, {"verify", "key", "--ignore_unsigned_files", neg, "--public-key", "k", "model"});
    EXPECT_FALSE(p.at("verify key")->get_option("--ignore-unsigned-files")->as<bool>()) << neg;
  }
}

// Every long name the App knows is in the table, so a new alias is checked too.
TEST(CliFlagTable, TableCoversEveryNameOfEveryOption) {
  std::set<std::pair<std::string, std::string>> listed;
  for (const Row& r : table()) listed.insert({r.path, r.name});
  ParsedApp p;
  std::vector<std::pair<std::string, CLI::App*>> todo = {{"", &p.app}};
  size_t names = 0;
  while (!todo.empty()) {
    auto [path, app] = todo.back();
    todo.pop_back();
    for (CLI::App* s : app->get_subcommands({}))
      todo.push_back({path.empty() ? s->get_name() : path + " " + s->get_name(), s});
    for (const CLI::Option* o : app->get_options()) {
      for (const std::string& l : o->get_lnames()) {
        if (l == "help" || l == "version") continue;
        std::string dash = l;
        std::replace(dash.begin(), dash.end(), '_', '-');
        EXPECT_TRUE(listed.contains({path, dash})) << "modelsign " << path << " --" << l
                                                   << " is not in the table";
        ++names;
      }
    }
  }
  EXPECT_GT(names, 200u);
}

// Global options may follow the subcommand (CLI11 fallthrough).
TEST(CliFlagTable, GlobalOptionsAfterTheSubcommandAreAccepted) {
  ParsedApp p;
  parse_forward(p.app, {"verify", "key", "--log_level", "debug", "--public-key", "k", "model"});
  EXPECT_EQ(p.app.get_option("--log-level")->as<std::string>(), "debug");
  EXPECT_EQ(p.g.log_level, "debug");
  ParsedApp q;
  parse_forward(q.app, {"--json", "verify", "key", "--public-key", "k", "model"});
  EXPECT_TRUE(q.g.json);
  EXPECT_TRUE(output().json);
}

// `sign` and `verify` have options for running without a method; with a method
// subcommand, an option only the outer command has must not be accepted and ignored.
TEST(CliFlagTable, AnOptionOfSignGivenToAMethodThatLacksItIsAUsageError) {
  ParsedApp p;
  try {
    parse_forward(p.app, {"sign", "key", "--private-key", "k", "--pkcs11-uri", "pkcs11:token=t", "model"});
    FAIL() << "accepted --pkcs11-uri for sign key";
  } catch (const CLI::ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("--pkcs11-uri is not an option of 'modelsign sign key'"), std::string::npos)
        << e.what();
  }
  ParsedApp q;
  EXPECT_THROW(parse_forward(q.app, {"verify", "certificate", "--public-key", "k", "model"}), CLI::ParseError);
  ParsedApp r;
  EXPECT_THROW(parse_forward(r.app, {"sign", "key", "--private-key", "k", "model", "extra"}), CLI::ParseError);
  ParsedApp ok;
  EXPECT_NO_THROW(parse_forward(ok.app, {"sign", "--private-key", "k", "model"}));
  EXPECT_EQ(ok.at("sign")->get_option("MODEL_PATH")->as<std::string>(), "model");
}

TEST(CliTypos, SuggestionsUseEditDistance) {
  EXPECT_EQ(closest_name("verfy", {"sign", "verify", "digest", "keygen"}), "verify");
  EXPECT_EQ(closest_name("--public-kye", {"--public-key", "--pkcs11-uri"}), "--public-key");
  EXPECT_EQ(closest_name("xyzzy", {"sign", "verify"}), "");
  ParsedApp p;
  std::string m = diagnose_usage(p.app, {"verfy", "key", "model"});
  EXPECT_NE(m.find("did you mean 'verify'"), std::string::npos) << m;
  m = diagnose_usage(p.app, {"verify", "key", "--public-kye", "k.pub", "model"});
  EXPECT_NE(m.find("did you mean '--public-key'"), std::string::npos) << m;
  EXPECT_EQ(m.find("model"), m.find("modelsign")) << "the model path is not an unexpected argument: " << m;
}

}  // namespace
}  // namespace modelsign::cli
