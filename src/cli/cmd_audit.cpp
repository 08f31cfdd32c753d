// `audit verify FILE`: checks the hash chain of an audit log (--audit-log).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "audit/audit_log.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "modelsign/log.h"

namespace modelsign::cli {

namespace {

struct AuditVerifyArgs {
  std::string file;
  bool json = false;
};

int run_audit_verify(const AuditVerifyArgs& a) {
  auto r = audit::verify(a.file);
  if (!r) return report_failure("Audit log verification", r.error());
  if (json_mode(a.json)) {
    auto j = json_header(r->intact, r->intact ? kExitOk : kExitFailure);
    j["result"] = r->intact ? "Audit log intact" : "Audit log tampered";
    j["file"] = a.file;
    j["lines"] = r->lines;
    if (r->intact) j["head"] = r->head;
    if (!r->intact) {
      j["bad_line"] = r->bad_line;
      j["error"] = {{"code", "verification"}, {"message", r->problem}};
    }
    int rc = emit_json(j);
    return r->intact ? rc : kExitFailure;
  }
  if (!r->intact) {
    return report_failure("Audit log verification",
                          Error(ErrorCode::kVerification, fmt::format("'{}': {}", a.file, r->problem)));
  }
  return emit_text(fmt::format("Audit log intact: {} line(s), head sha256 {}\n", r->lines, r->head));
}

}  // namespace

void register_audit(CLI::App& app, int* rc) {
  CLI::App* audit = app.add_subcommand("audit", "Audit logs written by --audit-log");
  audit->require_subcommand(1);
  auto* a = make_args<AuditVerifyArgs>();
  CLI::App* v = audit->add_subcommand(
      "verify", "Check an audit log's hash chain: report the first edited, removed, inserted or reordered line");
  v->add_option("FILE", a->file, "The audit log")->required();
  add_json_flag(v, a->json, "Print one JSON object for every outcome (schema: docs/cli.md)");
  set_footer(v, "The head hash printed on success identifies the whole log: keep it elsewhere (a CI artifact, a "
                "ticket) to detect later truncation or an edit of the last line.\n\n"
                "Examples:\n"
                "  modelsign sign key --private-key signer.pem --audit-log signing.log models/bert\n"
                "  modelsign audit verify signing.log");
  v->callback([a, rc] { *rc = run_audit_verify(*a); });
}

}  // namespace modelsign::cli
