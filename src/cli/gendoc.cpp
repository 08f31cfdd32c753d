#include <CLI/CLI.hpp>

#include "cli/gendoc.h"

#include <fmt/format.h>

#include <functional>
#include <set>
#include <vector>

namespace modelsign::cli {

namespace {

// Every command path, outermost first: {"sign", app}, {"sign key", app}, ...
void walk(const CLI::App* app, const std::string& path,
          const std::function<void(const std::string&, const CLI::App*)>& f) {
  f(path, app);
  for (const CLI::App* s : app->get_subcommands({}))
    walk(s, path.empty() ? s->get_name() : path + " " + s->get_name(), f);
}

// roff text: backslashes doubled, a leading '.' or '\'' escaped.
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

std::vector<std::string> long_options(const CLI::App* app) {
  std::set<std::string> names;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent())
    for (const CLI::Option* o : a->get_options())
      for (const auto& l : o->get_lnames())
        if (l.find('_') == std::string::npos) names.insert("--" + l);
  return {names.begin(), names.end()};
}

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version) {
  std::string out = fmt::format(
      ".\\\" Generated from modelsign's --help by the build; do not edit.\n"
      ".TH MODELSIGN 1 \"\" \"modelsign {}\" \"User Commands\"\n"
      ".SH NAME\nmodelsign \\- sign and verify ML models (OpenSSF Model Signing format)\n"
      ".SH SYNOPSIS\n.B modelsign\n.I COMMAND\n[\\fIOPTIONS\\fR] \\fIMODEL_PATH\\fR\n"
      ".SH DESCRIPTION\n",
      version);
  out += roff(app.get_description()) + "\n.SH COMMANDS\n";
  walk(&app, "", [&out](const std::string& path, const CLI::App* a) {
    out += fmt::format(".SS \"modelsign{}{}\"\n", path.empty() ? "" : " ", path);
    out += ".nf\n" + roff(a->help("modelsign" + (path.empty() ? std::string() : " " + path))) + "\n.fi\n";
  });
  out += ".SH SEE ALSO\nThe documentation in the source tree: README.md, docs/cli.md, docs/ci.md.\n";
  return out;
}

std::string bash_completion(const CLI::App& app) {
  std::string cases;
  walk(&app, "", [&cases](const std::string& path, const CLI::App* a) {
    std::vector<std::string> words;
    for (const CLI::App* s : a->get_subcommands({})) words.push_back(s->get_name());
    auto opts = long_options(a);
    words.insert(words.end(), opts.begin(), opts.end());
    cases += fmt::format("    \"{}\") words=\"{}\" ;;\n", path, fmt::join(words, " "));
  });
  return fmt::format(
      "# bash completion for modelsign. Generated from the command line's own definition by\n"
      "# the build; do not edit.\n"
      "_modelsign() {{\n"
      "  local cur=${{COMP_WORDS[COMP_CWORD]}} path=\"\" words i w\n"
      "  # The command path: the leading words that name subcommands.\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=${{COMP_WORDS[i]}}\n"
      "    [[ $w == -* ]] && continue\n"
      "    if _modelsign_has \"${{path:+$path }}$w\"; then path=\"${{path:+$path }}$w\"; else break; fi\n"
      "  done\n"
      "  _modelsign_words \"$path\"\n"
      "  if [[ $cur == -* || -n $words ]]; then\n"
      "    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
      "  fi\n"
      "  # Paths (models, keys, signatures) everywhere else.\n"
      "  if [[ ${{#COMPREPLY[@]}} -eq 0 ]]; then mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); fi\n"
      "}}\n"
      "_modelsign_words() {{\n"
      "  words=\"\"\n"
      "  case \"$1\" in\n"
      "{}"
      "  esac\n"
      "}}\n"
      "_modelsign_has() {{\n"
      "  case \"$1\" in\n"
      "{}"
      "    *) return 1 ;;\n"
      "  esac\n"
      "}}\n"
      "complete -o filenames -F _modelsign modelsign\n",
      cases, [&app] {
        std::string known;
        walk(&app, "", [&known](const std::string& path, const CLI::App*) {
          if (!path.empty()) known += fmt::format("    \"{}\") return 0 ;;\n", path);
        });
        return known;
      }());
}

}  // namespace modelsign::cli
