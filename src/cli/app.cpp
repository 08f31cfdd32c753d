#include <CLI/CLI.hpp>

#include "cli/app.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "modelsign/log.h"

namespace modelsign::cli {

namespace {

constexpr const char* kLogLevelEnv = "MODELSIGN_LOG_LEVEL";

// --help without parser syntax: only the dash spellings (every --flag-name is also
// accepted as --flag_name, said once in the footer), no "{false}", "Excludes:", "Needs:".
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    if (is_positional) return opt->get_name(true, false);
    std::vector<std::string> names;
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
    for (const auto& l : opt->get_lnames())
      if (l.find('_') == std::string::npos) names.push_back("--" + l);
    return fmt::format("{}", fmt::join(names, ", "));
  }
  // The groups in the order a newcomer needs them, whatever order they were added in.
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string out = make_description(app) + make_usage(app, name) + make_positionals(app);
    std::vector<std::string> groups = {"Options", kGroupModel, kGroupKey, kGroupOutput, kGroupAdvanced};
    for (const auto& g : app->get_groups())
      if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    for (const auto& g : groups) {
      auto opts = app->get_options([&g](const CLI::Option* o) { return o->get_group() == g && o->nonpositional(); });
      if (!opts.empty()) out += make_group(g, false, opts) + "\n";
    }
    out += make_subcommands(app, mode);
    out += "\n" + make_footer(app);
    return out;
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string out;
    const bool takes_value = opt->get_expected_max() != 0;
    if (!opt->get_option_text().empty()) out += " " + opt->get_option_text();
    else if (takes_value && !opt->get_lnames().empty()) out += " VALUE";
    if (takes_value && opt->get_required()) out += " (required)";
    if (!opt->get_envname().empty()) out += " (env: " + opt->get_envname() + ")";
    return out;
  }
};

std::string what_for(const std::string& top) {
  if (top == "sign") return "Signing";
  if (top == "verify") return "Verification";
  if (top == "digest") return "Computing digest";
  if (top == "keygen") return "Key generation";
  if (top == "pkcs11" || top == "tpm2") return "Listing";
  return "modelsign";
}

// Names of the parsed subcommands, outermost first.
std::vector<const CLI::App*> parsed_path(const CLI::App& app) {
  std::vector<const CLI::App*> path;
  const CLI::App* cur = &app;
  for (;;) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.front();
    path.push_back(cur);
  }
  return path;
}

std::string join_path(const std::vector<const CLI::App*>& path) {
  std::string s;
  for (const auto* p : path) s += (s.empty() ? "" : " ") + p->get_name();
  return s;
}

// Before parsing (so that usage errors honour them): --json anywhere before "--", and
// the leading words that name subcommands.
void prescan(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* cur = &app;
  std::string command;
  bool words = true;
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--json") output().json = true;
    if (!words || a.starts_with('-')) continue;
    const CLI::App* sub = nullptr;
    try {
      sub = const_cast<CLI::App*>(cur)->get_subcommand(a);
    } catch (const CLI::OptionNotFound&) {
      sub = nullptr;
    }
    if (sub == nullptr) {
      words = false;
      continue;
    }
    cur = sub;
    command += (command.empty() ? "" : " ") + a;
  }
  output().command = command;
  output().what = what_for(command.substr(0, command.find(' ')));
}

const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent())
    for (const CLI::Option* o : a->get_options())
      if (o->check_name(name)) return o;
  return nullptr;
}

std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> out;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent())
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& l : o->get_lnames()) out.push_back("--" + l);
    }
  return out;
}

std::vector<std::string> subcommand_names(const CLI::App* app) {
  std::vector<std::string> out;
  for (const CLI::App* s : app->get_subcommands({})) out.push_back(s->get_name());
  return out;
}

// `sign` and `verify` have options of their own (for `sign MODEL_PATH`); with a method
// subcommand, an option that subcommand lacks would fall through to them and be ignored
// silently. Given on the command line (not from the environment), it is a usage error.
void reject_options_of_outer_commands(const std::vector<const CLI::App*>& path) {
  if (path.size() < 2) return;
  const std::string leaf = join_path(path);
  for (size_t i = 0; i + 1 < path.size(); ++i)
    for (const CLI::Option* o : path[i]->get_options()) {
      if (o->count() == 0) continue;
      const std::string& env = o->get_envname();
      if (!env.empty() && std::getenv(env.c_str()) != nullptr) continue;  // set by the environment
      if (o->get_lnames().empty())
        throw CLI::ValidationError(fmt::format("unexpected argument '{}' for 'modelsign {}'",
                                               log::printable(o->as<std::string>()), leaf));
      throw CLI::ValidationError(
          fmt::format("--{} is not an option of 'modelsign {}'", o->get_lnames().front(), leaf));
    }
}

}  // namespace

const char* const kAppDescription =
    "modelsign: sign and verify ML models (OpenSSF Model Signing format), with keys in files, PKCS#11 tokens "
    "or TPMs";

const char* const kExitCodesFooter =
    "Exit codes: 0 success, 1 signing or verification failed, 2 usage error (unknown or "
    "missing option, missing key or model).\n"
    "Every --flag-name is also accepted as --flag_name. Global options (--log-level, --json) "
    "go before or after the subcommand; MODELSIGN_LOG_LEVEL sets the log level too.";

namespace {
// Reports an exception; when even that fails (memory exhausted), a fixed line written
// without allocating.
int report_exception(std::string_view message) noexcept {
  try {
    return report_failure(output().what, Error(ErrorCode::kInternal, std::string(message)));
  } catch (...) {
    static constexpr char kLine[] = "modelsign failed with error: out of memory\n";
    (void)!::write(STDERR_FILENO, kLine, sizeof kLine - 1);
    return kExitFailure;
  }
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::string diagnose_usage(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* cur = &app;
  std::string path = "modelsign";
  bool sub_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.starts_with("--") || (a.size() > 1 && a[0] == '-')) {
      std::string name = a.substr(0, a.find('='));
      const CLI::Option* o = find_option(cur, name);
      if (o == nullptr) {
        std::string s = closest_name(name, option_names(cur));
        return fmt::format("unknown option '{}' for '{}'{}", name, path,
                           s.empty() ? "" : fmt::format("; did you mean '{}'?", s));
      }
      if (o->get_expected_max() != 0 && a.find('=') == std::string::npos) ++i;  // its value
      continue;
    }
    const CLI::App* sub = nullptr;
    for (const CLI::App* s : cur->get_subcommands({}))
      if (s->check_name(a)) sub = s;
    if (sub != nullptr) {
      cur = sub;
      path += " " + a;
      sub_given = true;
      continue;
    }
    // `sign kye m`: sign takes a MODEL_PATH too, but a word close to a method name that
    // names no file is a misspelt method.
    if (cur->get_require_subcommand_min() == 0 && !cur->get_subcommands({}).empty() &&
        ::access(a.c_str(), F_OK) != 0) {
      std::string s = closest_name(a, subcommand_names(cur));
      if (!s.empty())
        return fmt::format("unknown command '{}' for '{}' (did you mean '{}'?); the commands are: {}", a, path, s,
                           fmt::join(subcommand_names(cur), ", "));
    }
    if (cur->get_require_subcommand_min() > 0) {
      std::string s = closest_name(a, subcommand_names(cur));
      return fmt::format("unknown command '{}' for '{}'{}; the commands are: {}", a, path,
                         s.empty() ? "" : fmt::format(" (did you mean '{}'?)", s),
                         fmt::join(subcommand_names(cur), ", "));
    }
  }
  if (cur->get_require_subcommand_min() > 0)
    return fmt::format("'{}' needs a command: {}", path, fmt::join(subcommand_names(cur), ", "));
  (void)sub_given;
  return {};
}

void build_app(CLI::App& app, GlobalOptions& g, int* rc) {
  app.formatter(std::make_shared<HelpFormatter>());
  app.set_version_flag("--version", std::string("modelsign, version ") + MODELSIGN_VERSION);
  // Inherited by every subcommand added below: a global option may follow the subcommand.
  app.fallthrough();
  app.footer(kExitCodesFooter);
  app.add_option(flag("log-level"), g.log_level,
                 "debug, info, warning (default) or error; debug shows the key, files, threads "
                 "and time per stage")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error", "critical"}, CLI::ignore_case))
      ->envname(kLogLevelEnv)
      ->option_text("LEVEL")
      ->group(kGroupOutput);
  app.add_flag(flag("json"), g.json,
               "Print one JSON object on stdout for every outcome (schema: docs/cli.md)")
      ->group(kGroupOutput);
  app.require_subcommand(1);
  register_sign(app, g, rc);
  register_verify(app, g, rc);
  register_digest(app, g, rc);
  register_keygen(app, g, rc);
  register_pkcs11(app, g, rc);
  register_tpm2(app, g, rc);  // after sign: adds sign tpm2-key / tpm2-certificate
  register_trust(app, g, rc);
  register_audit(app, rc);
  // Every --help ends with the exit codes, also where no examples were written.
  std::vector<CLI::App*> todo = app.get_subcommands({});
  while (!todo.empty()) {
    CLI::App* sub = todo.back();
    todo.pop_back();
    if (sub->get_footer().empty()) sub->footer(kExitCodesFooter);
    for (CLI::App* s : sub->get_subcommands({})) todo.push_back(s);
  }
  app.parse_complete_callback([&app, &g] {
    log::Level l;
    if (log::parse_level(g.log_level, &l)) log::set_level(l);
    auto path = parsed_path(app);
    reject_options_of_outer_commands(path);
    output().command = join_path(path);
    output().what = path.empty() ? "modelsign" : what_for(path.front()->get_name());
    bool json = g.json;
    if (!path.empty())
      if (const CLI::Option* o = path.back()->get_option_no_throw("--json"); o != nullptr && o->count() > 0)
        json = json || o->as<bool>();
    output().json = json;
  });
}

int run_cli(int argc, char** argv) {
  // Exceeding RLIMIT_FSIZE must fail the write with EFBIG, so the atomic writer can remove
  // its temporary file, instead of killing the process and leaving the temp file behind.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{kAppDescription};
  GlobalOptions g;
  int rc = 0;
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    build_app(app, g, &rc);
    prescan(app, args);
    // An unknown MODELSIGN_LOG_LEVEL is a usage error like --log-level.
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string msg = diagnose_usage(app, args);
    if (msg.empty()) msg = e.what();
    return report_usage(msg);
  } catch (const nlohmann::json::exception& e) {
    // The signature format stores names as JSON (UTF-8) text.
    std::string detail = e.what();
    return report_exception(detail.find("UTF-8") != std::string::npos
                                ? fmt::format("a file or directory name in the model is not valid UTF-8, "
                                              "and signatures store names as UTF-8 text: rename it ({})",
                                              detail)
                                : detail);
  } catch (const std::exception& e) {
    // Nothing may abort the process: a failure that escaped as an exception (a thread
    // that cannot be created, memory exhausted) is reported like any other.
    return report_exception(e.what());
  }
  return rc;
}

}  // namespace modelsign::cli
