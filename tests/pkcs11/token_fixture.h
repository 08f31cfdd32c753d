// One interface over the PKCS#11 token implementations the token suite runs against:
// SoftHSM (softhsm-fixtures/softhsm-setup.sh) and NSS's softoken (a fresh NSS database
// made with certutil, the module initialised with its configdir arguments). Each
// starts empty; tests make their keys through the provider. What an implementation
// cannot do is declared here (lacks()), and the tests check that the provider reports
// it, instead of skipping.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "modelsign/key_provider.h"
#include "pkcs11/pkcs11_provider.h"
#include "softhsm_fixture.h"

namespace modelsign::testing {

class TokenFixture {
 public:
  virtual ~TokenFixture() = default;
  virtual std::string name() const = 0;
  virtual std::string label() const = 0;
  virtual std::string module() const = 0;
  virtual std::string pin_file() const = 0;
  // Options for the provider (softoken: its initialisation arguments).
  virtual ProviderOptions options() const { return {}; }
  // Why this token cannot make or use a key of type `t`; "" when it can.
  virtual std::string lacks(KeyType) const { return ""; }

  // "pkcs11:token=LABEL;object=OBJECT?module-path=M&pin-source=file:P"
  std::string uri(const std::string& object) const {
    return base(object) + "&pin-source=file:" + pin_file();
  }
  std::string uri_with_pin(const std::string& object, const std::string& pin) const {
    return base(object) + "&pin-value=" + pin;
  }
  std::string token_uri() const { return "pkcs11:token=" + label() + "?module-path=" + module(); }

 private:
  std::string base(const std::string& object) const {
    return "pkcs11:token=" + label() + ";object=" + object + "?module-path=" + module();
  }
};

class SoftHsmFixture final : public TokenFixture {
 public:
  SoftHsmFixture() : token_("--keys ''") {}
  std::string name() const override { return "softhsm"; }
  std::string label() const override { return token_.label(); }
  std::string module() const override { return kSoftHsmModule; }
  std::string pin_file() const override { return token_.pin_file(); }

 private:
  SoftHsmToken token_;
};

inline const char* kSoftokenModule = MODELSIGN_SOFTOKEN_MODULE;

class SoftokenFixture final : public TokenFixture {
 public:
  SoftokenFixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "modelsign-nss-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::filesystem::create_directory(dir_ + "/db");
    write_text(dir_ + "/pin", "1234\n");
    // The database's password is the token's user PIN.
    auto r = run_command("certutil -N -d " + shell_quote("sql:" + dir_ + "/db") + " -f " +
                         shell_quote(dir_ + "/pin") + " 2>&1");
    if (r.rc != 0) throw std::runtime_error("certutil -N failed: " + r.out);
  }
  ~SoftokenFixture() override { run_command("rm -rf " + shell_quote(dir_)); }
  std::string name() const override { return "softoken"; }
  std::string label() const override { return "modelsign-nss"; }
  std::string module() const override { return kSoftokenModule; }
  std::string pin_file() const override { return dir_ + "/pin"; }
  ProviderOptions options() const override {
    ProviderOptions o;
    o.params[kPkcs11InitArgsOption] = "configdir='sql:" + dir_ + "/db' certPrefix='' keyPrefix='' "
                                      "secmod='secmod.db' dbTokenDescription='" + label() +
                                      "' flags=";
    return o;
  }
  std::string lacks(KeyType t) const override {
    if (t == KeyType::kEd25519)
      return "NSS softoken (3.87) offers no CKM_EC_EDWARDS_KEY_PAIR_GEN or CKM_EDDSA";
    return "";
  }

 private:
  std::string dir_;
};

inline std::unique_ptr<TokenFixture> make_token_fixture(const std::string& kind) {
  if (kind == "softhsm") return std::make_unique<SoftHsmFixture>();
  if (kind == "softoken") return std::make_unique<SoftokenFixture>();
  throw std::invalid_argument("unknown token kind " + kind);
}

}  // namespace modelsign::testing
