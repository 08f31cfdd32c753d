#include "pkcs11/p11_objects.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <thread>

#include "crypto/encoding.h"
#include "modelsign/log.h"
#include "pkcs11/p11_call.h"
#include "pkcs11/p11_keys.h"
#include "pkcs11/pkcs11_provider.h"

namespace modelsign::pkcs11 {

std::string id_hex(const Bytes& id) { return id.empty() ? "(none)" : to_hex(id); }

std::string class_name(CK_OBJECT_CLASS c) {
  switch (c) {
    case CKO_PRIVATE_KEY: return "private key";
    case CKO_PUBLIC_KEY: return "public key";
    case CKO_CERTIFICATE: return "certificate";
    case CKO_SECRET_KEY: return "secret key";
    case CKO_DATA: return "data object";
    default: return fmt::format("object of class 0x{:x}", c);
  }
}

std::string uri_of(const Session& s, const Token& t, CK_OBJECT_HANDLE o, std::string_view mq) {
  Bytes id = get_attr(s, o, CKA_ID).value_or(Bytes{});
  std::string label = get_string(s, o, CKA_LABEL).value_or("");
  auto cls = get_ulong(s, o, CKA_CLASS);
  return object_uri(t.info, id, label, cls ? std::optional<CK_OBJECT_CLASS>(*cls) : std::nullopt, mq);
}

std::string uri_list(const Session& s, const Token& t, const std::vector<CK_OBJECT_HANDLE>& objs,
                     std::string_view mq) {
  std::string out;
  for (std::size_t i = 0; i < objs.size() && i < kMaxListed; ++i)
    out += fmt::format("\n  {}", uri_of(s, t, objs[i], mq));
  if (objs.size() > kMaxListed) out += fmt::format("\n  ... and {} more", objs.size() - kMaxListed);
  return out;
}

Template uri_template(const KeyUri& u, CK_OBJECT_CLASS cls) {
  Template t;
  t.add_ulong(CKA_CLASS, cls);
  if (u.id) t.add_bytes(CKA_ID, *u.id);
  if (u.label) t.add_string(CKA_LABEL, *u.label);
  return t;
}

static std::string selector(const KeyUri& u) {
  std::vector<std::string> parts;
  if (u.label) parts.push_back(fmt::format("object={}", *u.label));
  if (u.id) parts.push_back(fmt::format("id={}", to_hex(*u.id)));
  return fmt::format("{}", fmt::join(parts, " and "));
}

Result<void> require_key_selector(const KeyUri& u) {
  if (u.id || u.label) return {};
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("Neither 'id' nor 'object' attributes were found in pkcs11 URI '{}': "
                          "add object=LABEL (or id=%xx) to name the key; `modelsign pkcs11 list "
                          "--pkcs11-uri \"pkcs11:token=...\"` shows the keys of a token",
                          u.redacted));
}

Result<void> check_mechanism(const Token& t, CK_MECHANISM_TYPE m, CK_FLAGS need,
                             std::string_view purpose) {
  // The mechanism list is authoritative: SoftHSM, for one, answers C_GetMechanismInfo
  // for mechanisms its policy (slots.mechanisms) has switched off.
  CK_ULONG n = 0;
  CK_RV rv = CK_CALL(t.f, C_GetMechanismList, t.slot, nullptr, &n);
  std::vector<CK_MECHANISM_TYPE> all(n);
  if (rv == CKR_OK) rv = CK_CALL(t.f, C_GetMechanismList, t.slot, all.data(), &n);
  if (rv != CKR_OK)
    return fail(call_error(rv, t, "reading its mechanisms", "cannot read the token's mechanisms"));
  all.resize(n);
  CK_MECHANISM_INFO info{};
  bool listed = std::find(all.begin(), all.end(), m) != all.end();
  if (listed) {
    rv = CK_CALL(t.f, C_GetMechanismInfo, t.slot, m, &info);
    if (rv == CKR_OK && (info.flags & need) == need) return {};
  }
  // List what the token does offer for the same purpose.
  std::vector<std::string> offered;
  for (auto x : all) {
    CK_MECHANISM_INFO xi{};
    if (CK_CALL(t.f, C_GetMechanismInfo, t.slot, x, &xi) == CKR_OK && (xi.flags & need) == need)
      offered.push_back(mechanism_name(x));
  }
  return fail(ck_error(
      ErrorCode::kUnsupported,
      fmt::format("token {} does not support {} for {}; it offers: {}. Use a key type the token "
                  "supports or another token",
                  t.describe(), mechanism_name(m), purpose,
                  offered.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(offered, ", "))),
      CKR_MECHANISM_INVALID));
}

std::string init_args(const ProviderOptions& o) {
  auto it = o.params.find(kPkcs11InitArgsOption);
  if (it != o.params.end()) return it->second;
  // The command line has no option for them; they are not secret.
  const char* env = std::getenv(kPkcs11InitArgsEnv);
  return env != nullptr ? std::string(env) : std::string();
}

Result<Opened> open_token(std::string_view reference, const ProviderOptions& o, bool rw) {
  Opened op;
  auto u = parse_uri(reference);
  if (!u) return fail(u.error());
  op.uri = std::move(*u);
  auto it = o.params.find(kPkcs11ModuleOption);
  auto path = resolve_module(op.uri, it == o.params.end() ? std::string_view() : it->second);
  if (!path) return fail(path.error());
  auto mods = Modules::open(*path, init_args(o));
  if (!mods) return fail(mods.error());
  op.modules = std::move(*mods);
  auto tok = select_token(*op.modules, op.uri);
  // SoftHSM's file store silently drops a token it reads while another process rewrites
  // it (every login does), for the life of the module: load the module afresh, after a
  // short pause, when nothing else in this process holds it. Tokens that are still
  // enumerating after a reconnect profit too.
  for (int attempt = 1; !tok && tok.error().code == ErrorCode::kNotFound && attempt <= 3 &&
                        op.modules.use_count() == 1;
       ++attempt) {
    op.modules.reset();
    unsigned jitter = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&jitter), sizeof(jitter));
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * static_cast<unsigned>(attempt) + jitter % 40));
    log::debug("pkcs11: no token matched; loading the module again (attempt {})", attempt + 1);
    mods = Modules::open(*path, init_args(o));
    if (!mods) return fail(mods.error());
    op.modules = std::move(*mods);
    tok = select_token(*op.modules, op.uri);
  }
  if (!tok) return fail(tok.error());
  op.token = *tok;
  auto s = open_session(op.token, rw);
  if (!s) return fail(s.error());
  op.session = std::move(*s);
  op.pin = std::make_unique<PinSource>(op.uri, o.secret);
  op.module_query = module_query_of(op.uri);
  if (op.module_query.empty() && !path->empty()) op.module_query = "module-path=" + *path;
  return op;
}

static Error key_not_found(Opened& op, CK_OBJECT_CLASS cls) {
  Template all;
  all.add_ulong(CKA_CLASS, cls);
  auto objs = find_objects(*op.session, all, kMaxListed + 1);
  std::string seen;
  if (objs && !objs->empty())
    seen = fmt::format(" {}s on this token:{}", class_name(cls),
                       uri_list(*op.session, op.token, *objs, op.module_query));
  else
    seen = fmt::format(" The token holds no {} visible to this session.", class_name(cls));
  return Error(ErrorCode::kNotFound,
               fmt::format("no {} with {} on token {}: correct object= or id= in '{}'.{}",
                           class_name(cls), selector(op.uri), op.token.describe(),
                           op.uri.redacted, seen));
}

static Error ambiguous(Opened& op, CK_OBJECT_CLASS cls, const std::vector<CK_OBJECT_HANDLE>& objs) {
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("'{}' matches {} {}s on token {}; add id= (or a unique object=) to "
                           "pick one:{}",
                           op.uri.redacted, objs.size(), class_name(cls), op.token.describe(),
                           uri_list(*op.session, op.token, objs, op.module_query)));
}

Result<CK_OBJECT_HANDLE> find_one(Opened& op, CK_OBJECT_CLASS cls, bool missing_is_error) {
  Template t = uri_template(op.uri, cls);
  auto objs = find_objects(*op.session, t);
  if (!objs) return fail(objs.error());
  if (objs->size() > 1) return fail(ambiguous(op, cls, *objs));
  if (objs->empty()) {
    if (missing_is_error) return fail(key_not_found(op, cls));
    return CK_INVALID_HANDLE;
  }
  return objs->front();
}

Result<PublicHalf> public_half(const Session& s, const Token& t, CK_OBJECT_HANDLE priv,
                               std::string_view key_uri, std::string_view mq) {
  Bytes id = get_attr(s, priv, CKA_ID).value_or(Bytes{});
  auto type = get_ulong(s, priv, CKA_KEY_TYPE);
  struct Candidate {
    PublicKey key;
    std::string where;
  };
  std::vector<Candidate> found;
  std::vector<Bytes> certs;
  std::vector<CK_OBJECT_HANDLE> cert_handles;
  if (!id.empty()) {
    Template tp;
    tp.add_ulong(CKA_CLASS, CKO_PUBLIC_KEY).add_bytes(CKA_ID, id);
    auto pubs = find_objects(s, tp, kMaxListed);
    if (!pubs) return fail(pubs.error());
    for (auto h : *pubs) {
      auto pt = get_ulong(s, h, CKA_KEY_TYPE);
      if (type && pt && *pt != *type) continue;  // e.g. a leftover key of another type
      if (auto k = public_key_from_object(s, h)) found.push_back({std::move(*k), uri_of(s, t, h, mq)});
    }
    Template tc;
    tc.add_ulong(CKA_CLASS, CKO_CERTIFICATE).add_bytes(CKA_ID, id);
    auto cs = find_objects(s, tc, kMaxListed);
    if (!cs) return fail(cs.error());
    for (auto h : *cs) {
      auto k = public_key_from_object(s, h);
      if (!k) continue;
      found.push_back({std::move(*k), uri_of(s, t, h, mq)});
      cert_handles.push_back(h);
    }
  }
  if (auto k = public_key_from_object(s, priv))
    found.push_back({std::move(*k), std::string(key_uri) + " (its own public attributes)"});
  if (found.empty())
    return fail(Error(
        ErrorCode::kNotFound,
        fmt::format("cannot find the public key of {} on token {}: there is no public-key object "
                    "or certificate with its CKA_ID {}, and the private key does not expose its "
                    "public attributes. Import the public key or a certificate onto the token "
                    "with the same id",
                    key_uri, t.describe(), id_hex(id))));
  for (const auto& c : found) {
    if (c.key.equals(found.front().key)) continue;
    std::string list;
    for (const auto& d : found) list += fmt::format("\n  {}: {}", d.where, d.key.hint());
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the objects bound to {} on token {} (CKA_ID {}) hold different public "
                            "keys, so which one belongs to the private key is ambiguous; delete "
                            "the ones that do not belong to it:{}",
                            key_uri, t.describe(), id_hex(id), list));
  }
  for (auto h : cert_handles)
    if (auto der = get_attr(s, h, CKA_VALUE)) certs.push_back(std::move(*der));
  return PublicHalf{std::move(found.front().key), std::move(certs)};
}

}  // namespace modelsign::pkcs11
