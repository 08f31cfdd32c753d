// Tokens, sessions, PINs and login.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "modelsign/key_provider.h"
#include "pkcs11/p11_module.h"

namespace modelsign::pkcs11 {

struct Token {
  CK_FUNCTION_LIST* f = nullptr;
  CK_SLOT_ID slot = 0;
  CK_TOKEN_INFO info{};
  std::string module_file;

  std::string label() const;
  std::string serial() const;
  std::string uri() const;
  // "'label' (serial S, slot N, module M)"
  std::string describe() const;
};

// Every initialised token present in the modules' slots.
Result<std::vector<Token>> enumerate_tokens(Modules& m);
// The one token the URI names; errors list the tokens seen, with their URIs.
Result<Token> select_token(Modules& m, const KeyUri& u);
// The same token again (after a fork or a reinsertion), found by serial and label.
Result<Token> find_token_again(Modules& m, const Token& t);

Result<std::unique_ptr<Session>> open_session(const Token& t, bool read_write);

// The PIN's source, resolved lazily and at most once: the URI's pin-source file (one
// trailing newline stripped), its pin-value, the provider options' file, the
// environment variable (MODELSIGN_PKCS11_PIN unless the options name another), or the
// interactive prompt when stdin is a terminal.
class PinSource {
 public:
  PinSource(const KeyUri& u, SecretSources s);
  // Whether any non-interactive source is configured.
  bool configured() const;
  // The PIN; "" when none was found and `required` is false.
  Result<const Secret*> get(const Token& t, bool required);
  // Where the PIN came from, for messages ("the pin-source file '/p'"); never the PIN.
  const std::string& origin() const { return origin_; }

 private:
  std::string pin_source_;
  Secret pin_value_;
  bool has_pin_value_ = false;
  SecretSources sources_;
  std::string env_var_;
  Secret pin_;
  bool resolved_ = false;
  std::string origin_;
};

// Logs the user in unless this process is already logged in to the token (login state
// is shared by all sessions of a process). CKR_USER_ALREADY_LOGGED_IN counts as success.
Result<void> ensure_login(const Session& s, const Token& t, PinSource& pin, bool pin_required);
// Context-specific login for keys with CKA_ALWAYS_AUTHENTICATE (after C_SignInit).
Result<void> context_login(const Session& s, const Token& t, PinSource& pin);

// The error for a failed C_Login, with the token's PIN-counter flags read afterwards.
Error login_error(CK_RV rv, const Token& t, CK_FLAGS flags_after, std::string_view origin);
// The error for an operation that found the token gone.
Error token_gone_error(CK_RV rv, const Token& t, std::string_view during);
// The one decision for a failed call on a token: the token-gone error when rv says it
// went away, else `message` with the ErrorCode classify(rv) gives.
Error call_error(CK_RV rv, const Token& t, std::string_view during, std::string message);

}  // namespace modelsign::pkcs11
