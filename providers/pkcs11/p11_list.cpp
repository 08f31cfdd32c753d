#include "pkcs11/p11_list.h"

#include <fmt/format.h>

#include "pkcs11/p11_call.h"
#include "pkcs11/p11_keys.h"
#include "pkcs11/p11_objects.h"
#include "pkcs11/pkcs11_provider.h"

namespace modelsign::pkcs11 {
namespace {

Result<std::vector<std::string>> list_tokens(Modules& m) {
  auto all = enumerate_tokens(m);
  if (!all) return fail(all.error());
  std::vector<std::string> out;
  out.push_back(fmt::format("Tokens in {}:", m.describe()));
  if (all->empty()) out.push_back("  (no initialised token present)");
  for (const auto& t : *all) {
    std::vector<std::string> flags;
    if (t.info.flags & CKF_LOGIN_REQUIRED) flags.emplace_back("login required");
    if (t.info.flags & CKF_WRITE_PROTECTED) flags.emplace_back("write-protected");
    if (t.info.flags & CKF_USER_PIN_LOCKED) flags.emplace_back("USER PIN LOCKED");
    else if (t.info.flags & CKF_USER_PIN_FINAL_TRY) flags.emplace_back("user PIN final try");
    else if (t.info.flags & CKF_USER_PIN_COUNT_LOW) flags.emplace_back("user PIN count low");
    out.push_back(fmt::format("  {}", t.uri()));
    out.push_back(fmt::format("      slot {}, module {}{}{}", t.slot, t.module_file,
                              flags.empty() ? "" : ", ", fmt::join(flags, ", ")));
  }
  return out;
}

Result<std::vector<std::string>> list_objects(const std::string& ref,
                                                     const ProviderOptions& options) {
  auto op = open_token(ref, options, false);
  if (!op) return fail(op.error());
  auto login = ensure_login(*op->session, op->token, *op->pin, false);
  if (!login) return fail(login.error());
  CK_SESSION_INFO si{};
  CK_CALL(op->session->f(), C_GetSessionInfo, op->session->handle(), &si);
  bool logged_in = si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS;

  std::vector<std::string> out;
  out.push_back(fmt::format("Keys on token {}:", op->token.describe()));
  out.push_back(fmt::format("  token URI: {}", op->token.uri()));
  const Session& s = *op->session;
  std::size_t count = 0;
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
    if (op->uri.object_class && *op->uri.object_class != cls) continue;
    Template t = uri_template(op->uri, cls);
    auto objs = find_objects(s, t);
    if (!objs) return fail(objs.error());
    for (auto h : *objs) {
      ++count;
      std::string detail = describe_object_key(s, h);
      if (cls == CKO_PRIVATE_KEY) {
        auto yn = [&](CK_ATTRIBUTE_TYPE a) {
          auto v = get_bool(s, h, a);
          return v ? (*v ? "yes" : "no") : "?";
        };
        detail += fmt::format(
            "  sensitive={} extractable={} always-sensitive={} never-extractable={} "
            "local={} sign={} always-authenticate={}",
            yn(CKA_SENSITIVE), yn(CKA_EXTRACTABLE), yn(CKA_ALWAYS_SENSITIVE),
            yn(CKA_NEVER_EXTRACTABLE), yn(CKA_LOCAL), yn(CKA_SIGN), yn(CKA_ALWAYS_AUTHENTICATE));
      }
      out.push_back(fmt::format("  {}", uri_of(s, op->token, h, op->module_query)));
      out.push_back(fmt::format("      {} {}", class_name(cls), detail));
    }
  }
  if (count == 0) out.push_back("  (no matching keys or certificates)");
  if (!logged_in && (op->token.info.flags & CKF_LOGIN_REQUIRED) != 0)
    out.push_back(
        "  Not logged in: private keys are hidden. Give the PIN (pin-source=file:... in the "
        "URI, or MODELSIGN_PKCS11_PIN) to list them");
  return out;
}

}  // namespace

Result<std::vector<std::string>> list(std::string_view reference, const ProviderOptions& options) {
  std::string ref = reference.empty() ? std::string("pkcs11:") : std::string(reference);
  auto u = parse_uri(ref);
  if (!u) return fail(u.error());
  auto it = options.params.find(kPkcs11ModuleOption);
  auto path = resolve_module(*u, it == options.params.end() ? std::string_view() : it->second);
  if (!path) return fail(path.error());
  auto mods = Modules::open(*path, init_args(options));
  if (!mods) return fail(mods.error());
  if (!u->names_token && !u->id && !u->label) return list_tokens(**mods);
  return list_objects(ref, options);
}

}  // namespace modelsign::pkcs11
