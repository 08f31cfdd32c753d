#include "pkcs11/pkcs11_provider.h"

#include <openssl/rand.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <fmt/format.h>
#include <mutex>

#include "modelsign/log.h"
#include "pkcs11/p11_keys.h"
#include "pkcs11/p11_token.h"

namespace modelsign {
namespace pkcs11 {
namespace {

constexpr std::size_t kMaxListed = 20;

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

std::string selector(const KeyUri& u) {
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

CK_MECHANISM_TYPE mechanism_for(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kEcdsaP256Sha256:
    case SignatureScheme::kEcdsaP384Sha384:
    case SignatureScheme::kEcdsaP521Sha512: return CKM_ECDSA;
    case SignatureScheme::kRsaPssSha256: return CKM_RSA_PKCS_PSS;
    case SignatureScheme::kEd25519: return CKM_EDDSA;
  }
  return CKM_ECDSA;
}

// Whether the token offers `m` with `need` (CKF_SIGN, CKF_GENERATE_KEY_PAIR).
Result<void> check_mechanism(const Token& t, CK_MECHANISM_TYPE m, CK_FLAGS need,
                             std::string_view purpose) {
  // The mechanism list is authoritative: SoftHSM, for one, answers C_GetMechanismInfo
  // for mechanisms its policy (slots.mechanisms) has switched off.
  CK_ULONG n = 0;
  CK_RV rv = t.f->C_GetMechanismList(t.slot, nullptr, &n);
  std::vector<CK_MECHANISM_TYPE> all(n);
  if (rv == CKR_OK) rv = t.f->C_GetMechanismList(t.slot, all.data(), &n);
  if (rv != CKR_OK) {
    if (is_token_gone(rv)) return fail(token_gone_error(rv, t, "reading its mechanisms"));
    return fail(ck_error(classify(rv), "cannot read the token's mechanisms", rv));
  }
  all.resize(n);
  CK_MECHANISM_INFO info{};
  bool listed = std::find(all.begin(), all.end(), m) != all.end();
  if (listed) {
    rv = t.f->C_GetMechanismInfo(t.slot, m, &info);
    if (rv == CKR_OK && (info.flags & need) == need) return {};
  }
  // List what the token does offer for the same purpose.
  std::vector<std::string> offered;
  for (auto x : all) {
    CK_MECHANISM_INFO xi{};
    if (t.f->C_GetMechanismInfo(t.slot, x, &xi) == CKR_OK && (xi.flags & need) == need)
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

// Everything needed to talk to the one token a URI names.
struct Opened {
  KeyUri uri;
  std::shared_ptr<Modules> modules;
  Token token;
  std::unique_ptr<Session> session;
  std::unique_ptr<PinSource> pin;
  std::string module_query;
};

Result<Opened> open_token(std::string_view reference, const ProviderOptions& o, bool rw) {
  Opened op;
  auto u = parse_uri(reference);
  if (!u) return fail(u.error());
  op.uri = std::move(*u);
  auto it = o.params.find("module");
  auto path = resolve_module(op.uri, it == o.params.end() ? std::string_view() : it->second);
  if (!path) return fail(path.error());
  auto mods = Modules::open(*path);
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
    mods = Modules::open(*path);
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

Error key_not_found(Opened& op, CK_OBJECT_CLASS cls) {
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

Error ambiguous(Opened& op, CK_OBJECT_CLASS cls, const std::vector<CK_OBJECT_HANDLE>& objs) {
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

struct PublicHalf {
  PublicKey key;
  std::vector<Bytes> certs;  // DER certificates on the token that certify this key
};

// The public half of a private key, taken only from objects bound to it: public-key
// objects and certificates with the same (non-empty) CKA_ID, and the private key's own
// public attributes. A label binds nothing (anyone who may create public objects can
// plant one with the same label). All bound objects must hold the same key: a
// conflict is refused, naming the candidates.
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

// ---------------------------------------------------------------- Signer

class Pkcs11Signer final : public Signer {
 public:
  Pkcs11Signer(Opened op, CK_OBJECT_HANDLE key, PublicHalf half, SignatureScheme scheme,
               bool always_auth, std::string uri)
      : modules_(std::move(op.modules)),
        token_(op.token),
        pin_(std::move(op.pin)),
        session_(std::move(op.session)),
        key_(key),
        key_id_(get_attr(*session_, key, CKA_ID).value_or(Bytes{})),
        key_label_(get_string(*session_, key, CKA_LABEL).value_or("")),
        always_auth_(always_auth),
        mech_(mechanism_for(scheme)),
        scheme_(scheme),
        pub_(std::move(half.key)),
        certs_(std::move(half.certs)),
        uri_(std::move(uri)),
        pid_(getpid()) {}

  ~Pkcs11Signer() override {
    session_.reset();  // before the modules it belongs to
  }

  SignatureScheme scheme() const override { return scheme_; }
  const PublicKey& public_key() const override { return pub_; }
  std::vector<Bytes> certificate_chain() const override { return certs_; }
  std::string describe() const override {
    return fmt::format("PKCS#11 key {} on token {}", uri_, token_.describe());
  }

  Result<Bytes> sign(const SignRequest& request) override {
    std::lock_guard lock(mu_);
    if (pid_ != getpid()) {
      // A forked child: the parent's session and login are not ours.
      auto ok = reopen();
      if (!ok) return fail(ok.error().with_context("re-opening the PKCS#11 key in a child process"));
    }
    auto sig = sign_once(request);
    auto rv = static_cast<CK_RV>(sig ? CKR_OK : sig.error().backend_code);
    if (!sig && !sig.error().backend.empty() &&
        (is_token_gone(rv) || rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID)) {
      // The session or the key handle went away (token removed or reinserted, module
      // restarted): find the token and the key again, once.
      auto ok = reopen();
      if (!ok) return fail(ok.error());
      return sign_once(request);
    }
    return sig;
  }

 private:
  Result<void> reopen() {
    session_.reset();
    auto ok = modules_->ensure_initialized();
    if (!ok) return fail(ok.error());
    auto tok = find_token_again(*modules_, token_);
    if (!tok) return fail(tok.error());
    token_ = *tok;
    auto s = open_session(token_, false);
    if (!s) return fail(s.error());
    auto login = ensure_login(**s, token_, *pin_, true);
    if (!login) return fail(login.error());
    Template t;
    t.add_ulong(CKA_CLASS, CKO_PRIVATE_KEY);
    if (!key_id_.empty()) t.add_bytes(CKA_ID, key_id_);
    if (!key_label_.empty()) t.add_string(CKA_LABEL, key_label_);
    auto objs = find_objects(**s, t, 2);
    if (!objs) return fail(objs.error());
    if (objs->empty())
      return fail(ErrorCode::kNotFound,
                  fmt::format("the key {} is no longer on token {}: it was deleted, or the token "
                              "was replaced by another with the same label and serial",
                              uri_, token_.describe()));
    if (objs->size() > 1)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the key {} is no longer unique on token {} ({} keys match now)",
                              uri_, token_.describe(), objs->size()));
    session_ = std::move(*s);
    key_ = objs->front();
    pid_ = getpid();
    return {};
  }

  Error op_error(CK_RV rv, std::string_view op) const {
    if (is_token_gone(rv)) return token_gone_error(rv, token_, "signing");
    if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID)
      return ck_error(ErrorCode::kUnsupported,
                      fmt::format("token {} refused {} with the key {}: the token or the key "
                                  "does not support this signature mechanism",
                                  token_.describe(), mechanism_name(mech_), uri_),
                      rv);
    if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_KEY_TYPE_INCONSISTENT)
      return ck_error(classify(rv),
                      fmt::format("the key {} may not sign with {} (its CKA_SIGN or key type "
                                  "forbids it): use a signing key",
                                  uri_, mechanism_name(mech_)),
                      rv);
    if (rv == CKR_USER_NOT_LOGGED_IN)
      return ck_error(ErrorCode::kAuth,
                      fmt::format("token {} says the user is not logged in while signing with {}",
                                  token_.describe(), uri_),
                      rv);
    return ck_error(classify(rv),
                    fmt::format("{} with the key {} on token {} failed: {}", op, uri_,
                                token_.describe(), p11_kit_strerror(rv)),
                    rv);
  }

  Result<Bytes> sign_once(const SignRequest& request) {
    std::span<const std::uint8_t> data = scheme_ == SignatureScheme::kEd25519 ? request.message
                                                                                 : request.digest;
    if (data.empty())
      return fail(ErrorCode::kInvalidArgument, "nothing to sign: the request carries no data");
    CK_RSA_PKCS_PSS_PARAMS pss{CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM mech{mech_, nullptr, 0};
    if (mech_ == CKM_RSA_PKCS_PSS) {
      if (data.size() != 32)
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("RSA-PSS signs a 32-byte SHA-256 digest, got {} bytes", data.size()));
      mech.pParameter = &pss;
      mech.ulParameterLen = sizeof(pss);
    }
    CK_FUNCTION_LIST* f = session_->f();
    CK_SESSION_HANDLE h = session_->handle();
    CK_RV rv = f->C_SignInit(h, &mech, key_);
    if (rv != CKR_OK) return fail(op_error(rv, "starting to sign"));
    if (always_auth_) {
      // CKA_ALWAYS_AUTHENTICATE: the PIN again, for this one operation.
      auto ok = context_login(*session_, token_, *pin_);
      if (!ok) {
        Bytes scratch(1024);
        CK_ULONG n = scratch.size();
        f->C_Sign(h, const_cast<CK_BYTE*>(data.data()), data.size(), scratch.data(), &n);
        return fail(ok.error().with_context("context-specific login for a CKA_ALWAYS_AUTHENTICATE key"));
      }
    }
    Bytes out(1024);
    CK_ULONG len = out.size();
    rv = f->C_Sign(h, const_cast<CK_BYTE*>(data.data()), data.size(), out.data(), &len);
    if (rv == CKR_BUFFER_TOO_SMALL) {
      out.resize(len);
      rv = f->C_Sign(h, const_cast<CK_BYTE*>(data.data()), data.size(), out.data(), &len);
    }
    if (rv != CKR_OK) return fail(op_error(rv, "signing"));
    out.resize(len);
    if (mech_ == CKM_ECDSA) return ecdsa_raw_to_der(out);
    return out;
  }

  std::shared_ptr<Modules> modules_;
  Token token_;
  std::unique_ptr<PinSource> pin_;
  std::unique_ptr<Session> session_;
  CK_OBJECT_HANDLE key_;
  Bytes key_id_;
  std::string key_label_;
  bool always_auth_;
  CK_MECHANISM_TYPE mech_;
  SignatureScheme scheme_;
  PublicKey pub_;
  std::vector<Bytes> certs_;
  std::string uri_;
  pid_t pid_;
  std::mutex mu_;
};

// ---------------------------------------------------------------- keygen

struct KeySpec {
  CK_MECHANISM_TYPE gen;
  CK_MECHANISM_TYPE sign;
  CK_KEY_TYPE type;
  Bytes ec_params;
  CK_ULONG rsa_bits = 0;
};

KeySpec key_spec(KeyType t) {
  switch (t) {
    case KeyType::kEcP256: return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p256()};
    case KeyType::kEcP384: return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p384()};
    case KeyType::kEcP521: return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p521()};
    case KeyType::kRsa2048: return {CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_PSS, CKK_RSA, {}, 2048};
    case KeyType::kRsa3072: return {CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_PSS, CKK_RSA, {}, 3072};
    case KeyType::kRsa4096: return {CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_PSS, CKK_RSA, {}, 4096};
    case KeyType::kEd25519:
      return {CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKK_EC_EDWARDS, ec_params_ed25519()};
  }
  return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p256()};
}

Result<void> refuse_existing(Opened& op, Template& t, std::string_view what) {
  auto objs = find_objects(*op.session, t, kMaxListed + 1);
  if (!objs) return fail(objs.error());
  if (objs->empty()) return {};
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("token {} already holds {} object(s) with {}; keygen never replaces "
                          "keys: choose another object= label (or id=), or delete them first:{}",
                          op.token.describe(), objs->size(), what,
                          uri_list(*op.session, op.token, *objs, op.module_query)));
}

// ---------------------------------------------------------------- provider

class Pkcs11Provider final : public KeyProvider {
 public:
  std::string_view name() const override { return "pkcs11"; }

  bool claims(std::string_view reference) const override {
    return reference.size() >= 7 && strncasecmp(reference.data(), "pkcs11:", 7) == 0;
  }

  Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                              const ProviderOptions& options) const override {
    auto op = open_token(reference, options, false);
    if (!op) return fail(op.error());
    if (auto ok = require_key_selector(op->uri); !ok) return fail(ok.error());
    if (op->uri.object_class && *op->uri.object_class != CKO_PRIVATE_KEY)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("'{}' names a {} (type=); signing needs the private key: use "
                              "type=private or leave type= out",
                              op->uri.redacted, class_name(*op->uri.object_class)));
    if (auto ok = ensure_login(*op->session, op->token, *op->pin, true); !ok)
      return fail(ok.error());
    auto key = find_one(*op, CKO_PRIVATE_KEY, true);
    if (!key) return fail(key.error());
    std::string uri = uri_of(*op->session, op->token, *key, op->module_query);
    if (get_bool(*op->session, *key, CKA_SIGN) == std::optional<bool>(false))
      return fail(ErrorCode::kPermission,
                  fmt::format("the key {} has CKA_SIGN=false: the token does not allow it to "
                              "sign. Use a signing key (modelsign keygen makes one)",
                              uri));
    auto half = public_half(*op->session, op->token, *key, uri, op->module_query);
    if (!half) return fail(half.error());
    auto scheme = half->key.scheme();
    if (!scheme) return fail(scheme.error().with_context(fmt::format("key {}", uri)));
    if (auto ok = check_mechanism(op->token, mechanism_for(*scheme), CKF_SIGN,
                                  fmt::format("signing with the {} key {}", half->key.describe(), uri));
        !ok)
      return fail(ok.error());
    bool always_auth = get_bool(*op->session, *key, CKA_ALWAYS_AUTHENTICATE).value_or(false);
    log::debug("pkcs11: signing key {} ({}), mechanism {}", uri, half->key.describe(),
               mechanism_name(mechanism_for(*scheme)));
    CK_OBJECT_HANDLE h = *key;
    return std::unique_ptr<Signer>(new Pkcs11Signer(std::move(*op), h, std::move(*half), *scheme,
                                                    always_auth, std::move(uri)));
  }

  Result<PublicKey> public_key(std::string_view reference,
                               const ProviderOptions& options) const override {
    auto op = open_token(reference, options, false);
    if (!op) return fail(op.error());
    if (auto ok = require_key_selector(op->uri); !ok) return fail(ok.error());
    // The key is named by its private half: only objects bound to that (same CKA_ID,
    // or its own attributes) give the public key. Private keys are usually visible only
    // after login, so a token that requires login needs the PIN here too.
    if (auto ok = ensure_login(*op->session, op->token, *op->pin, true); !ok)
      return fail(ok.error());
    auto key = find_one(*op, CKO_PRIVATE_KEY, true);
    if (!key) return fail(key.error());
    std::string uri = uri_of(*op->session, op->token, *key, op->module_query);
    auto half = public_half(*op->session, op->token, *key, uri, op->module_query);
    if (!half) return fail(half.error());
    log::debug("pkcs11: public key of {}: {}", uri, half->key.hint());
    return std::move(half->key);
  }

  Result<GeneratedKey> generate(std::string_view reference, KeyType type,
                                const ProviderOptions& options) const override {
    auto op = open_token(reference, options, true);
    if (!op) return fail(op.error());
    if (!op->uri.label || op->uri.label->empty())
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("keygen needs the new key's label: add object=LABEL to '{}'",
                              op->uri.redacted));
    const std::string label = *op->uri.label;
    KeySpec spec = key_spec(type);
    if (auto ok = check_mechanism(op->token, spec.gen, CKF_GENERATE_KEY_PAIR,
                                  fmt::format("generating a {} key", to_string(type)));
        !ok)
      return fail(ok.error());
    if (auto ok = check_mechanism(op->token, spec.sign, CKF_SIGN,
                                  fmt::format("signing with a {} key", to_string(type)));
        !ok)
      return fail(ok.error());
    if (auto ok = ensure_login(*op->session, op->token, *op->pin, true); !ok)
      return fail(ok.error());

    Template by_label;
    by_label.add_string(CKA_LABEL, label);
    if (auto ok = refuse_existing(*op, by_label, fmt::format("label '{}'", label)); !ok)
      return fail(ok.error());
    Bytes id;
    if (op->uri.id && !op->uri.id->empty()) {
      id = *op->uri.id;
    } else {
      id.resize(16);
      if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
        return fail(openssl_error(ErrorCode::kInternal, "cannot draw a random key id"));
    }
    Template by_id;
    by_id.add_bytes(CKA_ID, id);
    if (auto ok = refuse_existing(*op, by_id, fmt::format("id {}", to_hex(id))); !ok)
      return fail(ok.error());

    Template pub, priv;
    pub.add_ulong(CKA_CLASS, CKO_PUBLIC_KEY)
        .add_ulong(CKA_KEY_TYPE, spec.type)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, false)
        .add_bool(CKA_VERIFY, true)
        .add_bool(CKA_ENCRYPT, false)
        .add_bool(CKA_WRAP, false)
        .add_bool(CKA_DERIVE, false)
        .add_string(CKA_LABEL, label)
        .add_bytes(CKA_ID, id);
    if (spec.rsa_bits != 0) {
      pub.add_ulong(CKA_MODULUS_BITS, spec.rsa_bits).add_bytes(CKA_PUBLIC_EXPONENT, Bytes{1, 0, 1});
    } else {
      pub.add_bytes(CKA_EC_PARAMS, spec.ec_params);
    }
    // Sign-only, never leaves the token.
    priv.add_ulong(CKA_CLASS, CKO_PRIVATE_KEY)
        .add_ulong(CKA_KEY_TYPE, spec.type)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_bool(CKA_SENSITIVE, true)
        .add_bool(CKA_EXTRACTABLE, false)
        .add_bool(CKA_SIGN, true)
        .add_bool(CKA_DECRYPT, false)
        .add_bool(CKA_UNWRAP, false)
        .add_bool(CKA_DERIVE, false)
        .add_string(CKA_LABEL, label)
        .add_bytes(CKA_ID, id);
    CK_MECHANISM mech{spec.gen, nullptr, 0};
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    const Session& s = *op->session;
    CK_RV rv = s.f()->C_GenerateKeyPair(s.handle(), &mech, pub.data(), pub.size(), priv.data(),
                                        priv.size(), &hpub, &hpriv);
    if (rv != CKR_OK) {
      if (is_token_gone(rv)) return fail(token_gone_error(rv, op->token, "generating a key"));
      // Say "read-only" where the code or the token's flags allow it: modules report a
      // storage they cannot write (SoftHSM's token directory) as a bare CKR_GENERAL_ERROR.
      std::string why;
      if (rv == CKR_TOKEN_WRITE_PROTECTED || rv == CKR_SESSION_READ_ONLY ||
          (op->token.info.flags & CKF_WRITE_PROTECTED) != 0)
        why = "; the token is read-only (write-protected) and cannot store new keys";
      else if (rv == CKR_GENERAL_ERROR || rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_MEMORY)
        why = "; the token may be unable to store the key: check that its storage is writable "
              "and not full (for SoftHSM, the token directory in softhsm2.conf)";
      return fail(ck_error(why.starts_with("; the token is read-only") ? ErrorCode::kPermission : classify(rv),
                           fmt::format("token {} could not generate a {} key pair: {}{}",
                                       op->token.describe(), to_string(type), p11_kit_strerror(rv), why),
                           rv));
    }
    // Trust but verify: a token that ignored the template must not hand out the key.
    bool sensitive = get_bool(s, hpriv, CKA_SENSITIVE).value_or(false);
    bool extractable = get_bool(s, hpriv, CKA_EXTRACTABLE).value_or(true);
    auto key = public_key_from_object(s, hpub);
    if (!sensitive || extractable || !key) {
      s.f()->C_DestroyObject(s.handle(), hpriv);
      s.f()->C_DestroyObject(s.handle(), hpub);
      if (!key) return fail(key.error().with_context("reading the new public key"));
      return fail(ErrorCode::kBackend,
                  fmt::format("token {} created the key with CKA_SENSITIVE={} and "
                              "CKA_EXTRACTABLE={} despite the template; the key was deleted",
                              op->token.describe(), sensitive, extractable));
    }
    std::string uri = object_uri(op->token.info, id, label, CKO_PRIVATE_KEY, op->module_query);
    log::info("pkcs11: generated {} key {}", to_string(type), uri);
    return GeneratedKey{std::move(uri), std::move(*key)};
  }

  Result<std::vector<std::string>> list(std::string_view reference,
                                        const ProviderOptions& options) const override {
    std::string ref = reference.empty() ? std::string("pkcs11:") : std::string(reference);
    auto u = parse_uri(ref);
    if (!u) return fail(u.error());
    auto it = options.params.find("module");
    auto path = resolve_module(*u, it == options.params.end() ? std::string_view() : it->second);
    if (!path) return fail(path.error());
    auto mods = Modules::open(*path);
    if (!mods) return fail(mods.error());
    if (!u->names_token && !u->id && !u->label) return list_tokens(**mods);
    return list_objects(ref, options);
  }

 private:
  static Result<std::vector<std::string>> list_tokens(Modules& m) {
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

  static Result<std::vector<std::string>> list_objects(const std::string& ref,
                                                       const ProviderOptions& options) {
    auto op = open_token(ref, options, false);
    if (!op) return fail(op.error());
    auto login = ensure_login(*op->session, op->token, *op->pin, false);
    if (!login) return fail(login.error());
    CK_SESSION_INFO si{};
    op->session->f()->C_GetSessionInfo(op->session->handle(), &si);
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
};

}  // namespace
}  // namespace pkcs11

std::unique_ptr<KeyProvider> make_pkcs11_provider() {
  return std::make_unique<pkcs11::Pkcs11Provider>();
}

}  // namespace modelsign
