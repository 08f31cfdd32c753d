// The man page and the bash completion the build generated list every command and every
// option of the App that `modelsign` runs.
#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "cli/app.h"

namespace modelsign::cli {
namespace {

std::string slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void walk(CLI::App* app, const std::string& path, const std::function<void(const std::string&, CLI::App*)>& f) {
  f(path, app);
  for (CLI::App* s : app->get_subcommands({})) walk(s, path.empty() ? s->get_name() : path + " " + s->get_name(), f);
}

TEST(GeneratedDocs, ManPageAndCompletionListEveryCommandAndOption) {
  const std::string man = slurp(MODELSIGN_MAN_PAGE), completion = slurp(MODELSIGN_BASH_COMPLETION);
  ASSERT_FALSE(man.empty());
  ASSERT_FALSE(completion.empty());
  CLI::App app{kAppDescription};
  GlobalOptions g;
  int rc = 0;
  build_app(app, g, &rc);
  size_t commands = 0;
  walk(&app, "", [&](const std::string& path, CLI::App* a) {
    if (path.empty()) return;
    ++commands;
    EXPECT_NE(man.find(".SS \"modelsign " + path + "\""), std::string::npos) << "man page lacks " << path;
    EXPECT_NE(completion.find("    \"" + path + "\") return 0 ;;"), std::string::npos) << "completion lacks " << path;
    // The completion line of this path names each of its options.
    auto at = completion.find("    \"" + path + "\") words=\"");
    ASSERT_NE(at, std::string::npos) << path;
    const size_t from = completion.find("words=\"", at) + 7;
    const std::string line = " " + completion.substr(from, completion.find('"', from) - from) + " ";
    for (const CLI::Option* o : a->get_options())
      for (const auto& l : o->get_lnames()) {
        if (l.find('_') != std::string::npos) continue;
        EXPECT_NE(line.find(" --" + l + " "), std::string::npos) << path << " --" << l << " not completed";
      }
  });
  EXPECT_GT(commands, 20u);
  for (const char* c : {"sign key", "sign pkcs11-key", "sign tpm2-key", "verify sigstore", "audit verify"})
    EXPECT_NE(man.find(std::string(".SS \"modelsign ") + c + "\""), std::string::npos) << c;
}

}  // namespace
}  // namespace modelsign::cli
