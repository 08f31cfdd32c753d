#include "pkcs11/p11_token.h"
#include "pkcs11/p11_call.h"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <fmt/format.h>

#include "modelsign/log.h"

namespace modelsign::pkcs11 {

std::string Token::label() const { return padded(info.label, sizeof(info.label)); }
std::string Token::serial() const { return padded(info.serialNumber, sizeof(info.serialNumber)); }
std::string Token::uri() const { return token_uri(info); }
std::string Token::describe() const {
  return fmt::format("'{}' (serial {}, slot {}, module {})", label(), serial(), slot, module_file);
}

Result<std::vector<Token>> enumerate_tokens(Modules& m) {
  auto lists = m.lists();
  if (!lists) return fail(lists.error());
  std::vector<Token> out;
  for (CK_FUNCTION_LIST* f : *lists) {
    CK_ULONG n = 0;
    CK_RV rv = CK_CALL(f, C_GetSlotList, CK_TRUE, nullptr, &n);
    if (rv != CKR_OK) {
      log::warning("pkcs11: cannot list the slots of {}: {}", m.filename(f), rv_name(rv));
      continue;
    }
    std::vector<CK_SLOT_ID> slots(n);
    rv = CK_CALL(f, C_GetSlotList, CK_TRUE, slots.data(), &n);
    if (rv != CKR_OK) continue;
    slots.resize(n);
    for (CK_SLOT_ID slot : slots) {
      Token t;
      t.f = f;
      t.slot = slot;
      t.module_file = m.filename(f);
      if (CK_CALL(f, C_GetTokenInfo, slot, &t.info) != CKR_OK) continue;
      // An uninitialised token (SoftHSM's spare slot, a blank card) holds no keys.
      if ((t.info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
      out.push_back(std::move(t));
    }
  }
  return out;
}

static std::string list_tokens(const std::vector<Token>& all, std::string_view header) {
  if (all.empty()) return "no initialised token is present";
  std::string s(header);
  for (const auto& t : all) s += fmt::format("\n  {}  (slot {}, module {})", t.uri(), t.slot, t.module_file);
  return s;
}

Result<Token> select_token(Modules& m, const KeyUri& u) {
  auto all = enumerate_tokens(m);
  if (!all) return fail(all.error());
  std::vector<Token> matches;
  for (const auto& t : *all) {
    CK_INFO info{};
    if (CK_CALL(t.f, C_GetInfo, &info) == CKR_OK && p11_kit_uri_match_module_info(u.uri.get(), &info) == 0)
      continue;
    if (u.slot_id && *u.slot_id != t.slot) continue;
    CK_SLOT_INFO si{};
    if (CK_CALL(t.f, C_GetSlotInfo, t.slot, &si) == CKR_OK &&
        p11_kit_uri_match_slot_info(u.uri.get(), &si) == 0)
      continue;
    CK_TOKEN_INFO ti = t.info;
    if (p11_kit_uri_match_token_info(u.uri.get(), &ti) == 0) continue;
    matches.push_back(t);
  }
  if (matches.empty())
    return fail(ErrorCode::kNotFound,
                fmt::format("no PKCS#11 token matches '{}' in {}: put the label of one of the "
                            "tokens seen in token= (or its serial in serial=); {}",
                            u.redacted, m.describe(), list_tokens(*all, "tokens seen:")));
  if (matches.size() > 1)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' matches {} PKCS#11 tokens: name one with token= or serial=; {}",
                            u.redacted, matches.size(), list_tokens(matches, "matching tokens:")));
  return matches.front();
}

Result<Token> find_token_again(Modules& m, const Token& t) {
  auto all = enumerate_tokens(m);
  if (!all) return fail(all.error());
  for (const auto& c : *all)
    if (c.f == t.f && c.serial() == t.serial() && c.label() == t.label()) return c;
  return fail(token_gone_error(CKR_TOKEN_NOT_PRESENT, t, "looking for the token again"));
}

Result<std::unique_ptr<Session>> open_session(const Token& t, bool read_write) {
  CK_SESSION_HANDLE h = 0;
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_RV rv = CK_CALL(t.f, C_OpenSession, t.slot, flags, nullptr, nullptr, &h);
  if (rv == CKR_OK) return std::make_unique<Session>(t.f, h);
  if (rv == CKR_SLOT_ID_INVALID || rv == CKR_DEVICE_ERROR)
    return fail(token_gone_error(rv, t, "opening a session"));
  if (rv == CKR_TOKEN_WRITE_PROTECTED)
    return fail(ck_error(ErrorCode::kPermission,
                         fmt::format("token {} is write-protected: it cannot store new keys",
                                     t.describe()),
                         rv));
  return fail(call_error(rv, t, "opening a session",
                         fmt::format("cannot open a session on token {}: {}", t.describe(),
                                     p11_kit_strerror(rv))));
}

Error token_gone_error(CK_RV rv, const Token& t, std::string_view during) {
  return ck_error(ErrorCode::kBackend,
                  fmt::format("token {} was removed or stopped answering while {}: reinsert or "
                              "reconnect it and run the command again",
                              t.describe(), during),
                  rv);
}

Error call_error(CK_RV rv, const Token& t, std::string_view during, std::string message) {
  if (is_token_gone(rv)) return token_gone_error(rv, t, during);
  return ck_error(classify(rv), std::move(message), rv);
}

// ---------------------------------------------------------------- PIN

PinSource::PinSource(const KeyUri& u, SecretSources s)
    : pin_source_(u.pin_source), sources_(std::move(s)) {
  if (u.has_pin_value) {
    pin_value_ = Secret(u.pin_value.view());
    has_pin_value_ = true;
  }
  env_var_ = sources_.env_var.empty() ? "MODELSIGN_PKCS11_PIN" : sources_.env_var;
}

bool PinSource::configured() const {
  if (!pin_source_.empty() || has_pin_value_ || !sources_.file.empty()) return true;
  const char* v = std::getenv(env_var_.c_str());
  return v != nullptr && *v != '\0';
}

static Result<std::string> pin_file_path(const std::string& source) {
  // RFC 7512 pin-source is a URI; model_signing also takes a plain absolute path.
  std::string path;
  if (source.starts_with("file://")) {
    path = source.substr(7);
  } else if (source.starts_with("file:")) {
    path = source.substr(5);
  } else if (source.find(':') != std::string::npos && !source.starts_with("/")) {
    return fail(ErrorCode::kUnsupported,
                fmt::format("PIN URI scheme in pin-source '{}' is not supported: use "
                            "pin-source=file:/absolute/path",
                            source));
  } else {
    path = source;
  }
  if (!path.starts_with("/"))
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("pin-source '{}' must name an absolute path, e.g. "
                            "pin-source=file:/run/secrets/pin",
                            source));
  return path;
}

Result<const Secret*> PinSource::get(const Token& t, bool required) {
  if (resolved_) return &pin_;
  if (!pin_source_.empty()) {
    auto path = pin_file_path(pin_source_);
    if (!path) return fail(path.error());
    SecretSources file_only;
    file_only.file = *path;
    auto v = read_secret(file_only, "PIN", true);
    if (!v) return fail(v.error());
    pin_ = Secret(std::move(*v));
    origin_ = fmt::format("the pin-source file '{}'", *path);
  } else if (has_pin_value_) {
    pin_ = Secret(pin_value_.view());
    origin_ = "the URI's pin-value";
  } else {
    SecretSources s = sources_;
    s.env_var = env_var_;
    const char* env = std::getenv(env_var_.c_str());
    bool from_env = s.file.empty() && env != nullptr && *env != '\0';
    std::string what = fmt::format("PIN for PKCS#11 token '{}'", t.label());
    auto v = read_secret(s, what, false);
    if (!v) return fail(v.error());
    if (!s.file.empty())
      origin_ = fmt::format("the PIN file '{}'", s.file);
    else if (from_env)
      origin_ = fmt::format("the environment variable {}", env_var_);
    else if (!v->empty())
      origin_ = "the prompt";
    pin_ = Secret(std::move(*v));
    if (pin_.empty() && required)
      return fail(ErrorCode::kAuth,
                  fmt::format("token {} requires a PIN and none was given: add "
                              "?pin-source=file:/path/to/pin-file to the URI, set {}, or run "
                              "from a terminal to be prompted",
                              t.describe(), env_var_));
  }
  resolved_ = true;
  return &pin_;
}

// ---------------------------------------------------------------- login

Error login_error(CK_RV rv, const Token& t, CK_FLAGS flags, std::string_view origin) {
  std::string from = origin.empty() ? "" : fmt::format(" (PIN from {})", origin);
  if (rv == CKR_PIN_INCORRECT) {
    std::string tries;
    if ((flags & CKF_USER_PIN_LOCKED) != 0)
      tries = "; the token has now locked the PIN: the security officer must unlock it";
    else if ((flags & CKF_USER_PIN_FINAL_TRY) != 0)
      tries = "; the token reports ONE try left: one more wrong PIN locks it";
    else if ((flags & CKF_USER_PIN_COUNT_LOW) != 0)
      tries = "; the token reports that few tries remain before it locks the PIN";
    return ck_error(ErrorCode::kAuth,
                    fmt::format("wrong PIN for token {}{}{}. Check the PIN and try again", t.describe(),
                                from, tries),
                    rv);
  }
  if (rv == CKR_PIN_LOCKED)
    return ck_error(ErrorCode::kLocked,
                    fmt::format("the user PIN of token {} is locked after too many wrong PINs: "
                                "the security officer must unlock it (e.g. pkcs11-tool "
                                "--init-pin --login --login-type so) before it can sign",
                                t.describe()),
                    rv);
  if (rv == CKR_PIN_EXPIRED)
    return ck_error(ErrorCode::kAuth,
                    fmt::format("the user PIN of token {} has expired: change it with the "
                                "token's tools (e.g. pkcs11-tool --change-pin)",
                                t.describe()),
                    rv);
  if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
    return ck_error(ErrorCode::kAuth,
                    fmt::format("token {} rejects the PIN{} as malformed (it accepts {} to {} "
                                "characters); check for stray characters such as a newline",
                                t.describe(), from, t.info.ulMinPinLen, t.info.ulMaxPinLen),
                    rv);
  if (rv == CKR_USER_PIN_NOT_INITIALIZED)
    return ck_error(ErrorCode::kAuth,
                    fmt::format("token {} has no user PIN yet: initialise it (e.g. pkcs11-tool "
                                "--init-pin --login --login-type so)",
                                t.describe()),
                    rv);
  return call_error(rv, t, "logging in",
                    fmt::format("login to token {} failed: {}", t.describe(), p11_kit_strerror(rv)));
}

static Result<void> do_login(const Session& s, const Token& t, PinSource& pin, CK_USER_TYPE user,
                             bool pin_required) {
  CK_RV rv;
  bool pad = (t.info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0 && !pin.configured();
  if (pad) {
    // PIN pad or biometric reader: the token asks the user itself.
    rv = CK_CALL(s.f(), C_Login, s.handle(), user, nullptr, 0);
  } else {
    auto p = pin.get(t, pin_required);
    if (!p) return fail(p.error());
    if ((*p)->empty()) return {};  // no PIN and none required: stay logged out
    const std::string& v = (*p)->value();
    auto* pin_bytes = reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(v.data()));
    rv = CK_CALL(s.f(), C_Login, s.handle(), user, pin_bytes, v.size());
    // SoftHSM fails a login with CKR_GENERAL_ERROR while another process rewrites the
    // token file (which every login does); a wrong PIN is never retried.
    for (int attempt = 1; rv == CKR_GENERAL_ERROR && attempt <= 3; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(15 * attempt));
      log::debug("pkcs11: login answered CKR_GENERAL_ERROR; trying again ({})", attempt + 1);
      rv = CK_CALL(s.f(), C_Login, s.handle(), user, pin_bytes, v.size());
    }
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return {};
  CK_TOKEN_INFO now{};
  CK_FLAGS flags = CK_CALL(t.f, C_GetTokenInfo, t.slot, &now) == CKR_OK ? now.flags : 0;
  return fail(login_error(rv, t, flags, pin.origin()));
}

Result<void> ensure_login(const Session& s, const Token& t, PinSource& pin, bool pin_required) {
  CK_SESSION_INFO si{};
  CK_RV rv = CK_CALL(s.f(), C_GetSessionInfo, s.handle(), &si);
  if (rv != CKR_OK)
    return fail(call_error(rv, t, "checking the session", "cannot read the session state"));
  if (si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS) return {};
  bool needs = (t.info.flags & CKF_LOGIN_REQUIRED) != 0;
  if (!needs && !pin.configured()) return {};
  return do_login(s, t, pin, CKU_USER, pin_required && needs);
}

Result<void> context_login(const Session& s, const Token& t, PinSource& pin) {
  return do_login(s, t, pin, CKU_CONTEXT_SPECIFIC, true);
}

}  // namespace modelsign::pkcs11
