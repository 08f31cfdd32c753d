// One interface over the PKCS#11 implementations every PKCS#11 test runs against:
// SoftHSM and NSS's softoken, each a fresh token in its own temporary directory with its
// keys generated inside it, independently of the provider under test: SoftHSM's by
// softhsm-fixtures/softhsm-setup.sh (pkcs11-tool, p11tool), softoken's by softoken_setup
// (raw Cryptoki), both printing the same variables. What differs between the
// implementations is declared here (lacks(), other_token(), ...) and the tests check
// the provider's behaviour for each, instead of skipping. RawToken (raw_token.h) reads
// and changes the token beside the provider.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "modelsign/crypto.h"
#include "modelsign/key_provider.h"
#include "pkcs11/pkcs11_provider.h"
#include "raw_token.h"

namespace modelsign::testing {

inline const char* kSoftokenModule = MODELSIGN_SOFTOKEN_MODULE;

// What a test needs on its fresh token (softhsm-setup.sh's options).
struct TokenSpec {
  // Keys by name (ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096 ed25519), each
  // labelled with its name; those the implementation lacks are not made (see has()).
  std::vector<std::string> keys;
  bool cert = false;           // a certificate for ec-p256, issued by a throw-away CA
  bool second_token = false;   // another initialised token of the same module
  bool reset_on_fork = false;  // a forked child must initialise the module again
  std::string mechanisms;      // SoftHSM's mechanism policy (SoftHSM-only tests)
  std::string pin;             // default 1234

  TokenSpec& with_cert() { return cert = true, *this; }
  TokenSpec& with_second_token(bool on) { return second_token = on, *this; }
  TokenSpec& with_reset_on_fork(bool on) { return reset_on_fork = on, *this; }
  TokenSpec& with_mechanisms(std::string m) { return mechanisms = std::move(m), *this; }
};
// A token holding these keys: make_token(with_keys({"ec-p256"}).with_cert()).
inline TokenSpec with_keys(std::vector<std::string> keys) {
  TokenSpec s;
  s.keys = std::move(keys);
  return s;
}

class TokenFixture {
 public:
  TokenFixture(const TokenFixture&) = delete;
  TokenFixture& operator=(const TokenFixture&) = delete;
  virtual ~TokenFixture() {
    std::string script =
        std::string(MODELSIGN_SOURCE_DIR) + "/softhsm-fixtures/softhsm-teardown.sh";
    if (!dir_.empty()) run_command("bash " + shell_quote(script) + " " + shell_quote(dir_));
  }

  // "SoftHSM" or "Softoken" (the test parameter).
  virtual std::string name() const = 0;
  // Why this implementation cannot make or use a key of type `t`; "" when it can.
  virtual std::string lacks(KeyType) const { return ""; }
  // The label of another initialised token of the module (TokenSpec::second_token).
  virtual std::string other_token() const = 0;
  // The token's manufacturerID as a URI shows it.
  virtual std::string manufacturer() const = 0;
  // Whether the token raises CKF_USER_PIN_COUNT_LOW after a failed login.
  virtual bool reports_pin_count_low() const = 0;
  // Whether creating an object whose class and CKA_ID exist overwrites that object.
  virtual bool replaces_objects_with_the_same_id() const { return false; }
  // Whether C_Sign with a CKA_ALWAYS_AUTHENTICATE key needs the context-specific login.
  virtual bool enforces_always_authenticate() const { return true; }
  // Whether a key made by C_GenerateKeyPair reports CKA_LOCAL = true.
  virtual bool marks_generated_keys_local() const { return true; }
  // Whether a forked child is refused the parent's sessions (TokenSpec::reset_on_fork).
  virtual bool refuses_parent_sessions_after_fork() const { return true; }
  // URI query parts that each load this token's module.
  virtual std::vector<std::string> module_queries() const = 0;
  // Options for the provider: softoken's initialisation arguments.
  ProviderOptions options() const {
    ProviderOptions o;
    if (!init_args().empty()) o.params[kPkcs11InitArgsOption] = init_args();
    return o;
  }

  bool has(const std::string& key) const {
    for (const auto& k : keys_)
      if (k == key) return true;
    return false;
  }
  const std::string& dir() const { return dir_; }
  std::string get(const std::string& name) const { return env_.at(name); }
  std::string label() const { return get("MODELSIGN_PKCS11_TOKEN"); }
  std::string module() const { return get("MODELSIGN_PKCS11_MODULE"); }
  std::string pin_file() const { return get("MODELSIGN_PKCS11_PIN_FILE"); }
  std::string init_args() const {
    auto it = env_.find("MODELSIGN_PKCS11_INIT_ARGS");
    return it == env_.end() ? std::string() : it->second;
  }
  std::string pub_pem(const std::string& key) const { return dir_ + "/pub/" + key + ".pem"; }

  // "pkcs11:token=LABEL;object=OBJECT" (no query).
  std::string object(const std::string& object) const {
    return "pkcs11:token=" + label() + ";object=" + object;
  }
  // "pkcs11:token=LABEL;object=OBJECT?module-path=M&pin-source=file:P"
  std::string uri(const std::string& object) const {
    return this->object(object) + "?module-path=" + module() + "&pin-source=file:" + pin_file();
  }
  std::string uri_with_pin(const std::string& object, const std::string& pin) const {
    return this->object(object) + "?module-path=" + module() + "&pin-value=" + pin;
  }
  // The token alone: "pkcs11:token=LABEL?module-path=M".
  std::string token_uri() const { return "pkcs11:token=" + label() + "?module-path=" + module(); }

  std::unique_ptr<RawToken> raw(bool login = true) const {
    return std::make_unique<RawToken>(module(), init_args(), label(), login);
  }

 protected:
  TokenFixture(const TokenSpec& spec, const std::string& extra_args) {
    args_ = "--pin " + shell_quote(spec.pin.empty() ? "1234" : spec.pin) + extra_args;
    if (spec.cert) args_ += " --cert";
    if (!spec.mechanisms.empty()) args_ += " --mechanisms " + shell_quote(spec.mechanisms);
  }
  // Runs the setup program (`command` plus the spec's options) and takes over the
  // environment it prints.
  void setup(const std::string& command, const TokenSpec& spec) {
    keys_.clear();
    std::string keys;
    for (const auto& k : spec.keys) {
      auto type = parse_key_type(k);
      if (!type) throw std::invalid_argument("unknown key " + k);
      if (!lacks(*type).empty()) continue;  // the test checks that the provider says so
      keys_.push_back(k);
      keys += (keys.empty() ? "" : " ") + k;
    }
    auto r = run_command(command + " --keys " + shell_quote(keys) + " " + args_ + " 2>&1");
    if (r.rc != 0) throw std::runtime_error(command + " failed: " + r.out);
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      // export NAME='value', a quote inside written '\''
      if (!line.starts_with("export ")) continue;
      auto eq = line.find('=');
      const std::string quoted = line.substr(eq + 2, line.size() - eq - 3);
      std::string value;
      for (std::size_t i = 0; i < quoted.size(); ++i) {
        value += quoted[i];
        if (quoted.compare(i, 4, "'\\''") == 0) i += 3;
      }
      env_[line.substr(7, eq - 7)] = value;
    }
    dir_ = env_.at("MODELSIGN_SOFTHSM_DIR");
    unsetenv("MODELSIGN_PKCS11_PIN");
  }

  std::string args_;

 private:
  std::vector<std::string> keys_;
  std::map<std::string, std::string> env_;
  std::string dir_;
};

class SoftHsmFixture final : public TokenFixture {
 public:
  explicit SoftHsmFixture(const TokenSpec& spec) : TokenFixture(spec, flags(spec)) {
    setup("bash " + shell_quote(std::string(MODELSIGN_SOURCE_DIR) + "/softhsm-fixtures/softhsm-setup.sh"),
          spec);
    setenv("SOFTHSM2_CONF", get("SOFTHSM2_CONF").c_str(), 1);
  }
  std::string name() const override { return "SoftHSM"; }
  std::string other_token() const override { return "second"; }
  std::string manufacturer() const override { return "SoftHSM%20project"; }
  // SoftHSM 2.6 sets CKF_USER_PIN_COUNT_LOW after any failed login.
  bool reports_pin_count_low() const override { return true; }
  std::vector<std::string> module_queries() const override {
    return {"module-path=" + module(), "module-name=softhsm2", "module-name=SoftHSM2"};
  }

 private:
  static std::string flags(const TokenSpec& spec) {
    std::string f;
    if (spec.second_token) f += " --second-token second";
    if (spec.reset_on_fork) f += " --reset-on-fork";
    return f;
  }
};

class SoftokenFixture final : public TokenFixture {
 public:
  explicit SoftokenFixture(const TokenSpec& spec) : TokenFixture(spec, "") {
    if (spec.second_token || spec.reset_on_fork || !spec.mechanisms.empty())
      throw std::invalid_argument("softoken: no second token, fork or mechanism settings to make");
    setup(shell_quote(MODELSIGN_SOFTOKEN_SETUP) + " " + shell_quote(kSoftokenModule) + " " +
              shell_quote(MODELSIGN_SOURCE_DIR),
          spec);
  }
  std::string name() const override { return "Softoken"; }
  std::string lacks(KeyType t) const override {
    if (t == KeyType::kEd25519)
      return "NSS softoken (3.87) offers no CKM_EC_EDWARDS_KEY_PAIR_GEN or CKM_EDDSA";
    return "";
  }
  // Softoken's second token is always there: its internal crypto token (no storage).
  std::string other_token() const override { return "NSS Generic Crypto Services"; }
  std::string manufacturer() const override { return "Mozilla%20Foundation"; }
  bool reports_pin_count_low() const override { return false; }
  // NSS keeps one object per class and CKA_ID in its database.
  bool replaces_objects_with_the_same_id() const override { return true; }
  bool enforces_always_authenticate() const override { return false; }
  bool marks_generated_keys_local() const override { return false; }
  // Debian's NSS 3.87 softoken serves the parent's session in a forked child.
  bool refuses_parent_sessions_after_fork() const override { return false; }
  // Debian installs softoken outside the module directories searched by name, so the
  // name is looked up in its directory ("softokn3.so": "softokn3" alone would also
  // match the libsoftokn3.chk beside it, which sorts first).
  std::vector<std::string> module_queries() const override {
    std::string m = module();
    return {"module-path=" + m, "module-path=" + m.substr(0, m.rfind('/')) + "&module-name=softokn3.so"};
  }
};

inline std::unique_ptr<TokenFixture> make_token_fixture(const std::string& kind,
                                                        const TokenSpec& spec = {}) {
  if (kind == "SoftHSM") return std::make_unique<SoftHsmFixture>(spec);
  if (kind == "Softoken") return std::make_unique<SoftokenFixture>(spec);
  throw std::invalid_argument("unknown token kind " + kind);
}

// A test run once per token implementation: TEST_P(Suite, ...) with
// INSTANTIATE_TEST_SUITE_P(Tokens, Suite, kTokenKinds, token_name).
class TokenTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<TokenFixture> make_token(const TokenSpec& spec = {}) const {
    return make_token_fixture(GetParam(), spec);
  }
};
// When the token lacks key type `type`, checks that the provider reports it when asked
// to generate such a key, prints the difference, and returns true.
inline bool lack_is_reported(const TokenFixture& tok, KeyType type) {
  const std::string why = tok.lacks(type);
  if (why.empty()) return false;
  const std::string key = "lacked-" + std::string(to_string(type));
  auto g = (*provider_by_name("pkcs11"))->generate(tok.uri(key), type, tok.options());
  EXPECT_FALSE(g) << tok.name() << " was declared to lack " << to_string(type);
  if (g) return true;
  EXPECT_EQ(g.error().code, ErrorCode::kUnsupported) << g.error().describe();
  EXPECT_NE(g.error().message.find("does not support"), std::string::npos) << g.error().message;
  std::printf("[ capability ] %s: no %s keys (%s); the provider reports: %s\n", tok.name().c_str(),
              std::string(to_string(type)).c_str(), why.c_str(), g.error().message.c_str());
  return true;
}

inline const auto kTokenKinds = ::testing::Values(std::string("SoftHSM"), std::string("Softoken"));
inline std::string token_name(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

}  // namespace modelsign::testing
