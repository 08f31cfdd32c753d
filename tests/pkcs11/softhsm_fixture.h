// Test support: a private SoftHSM token made by softhsm-fixtures/softhsm-setup.sh, and
// a small raw PKCS#11 client used to check the token independently of the provider.
#pragma once

#include <p11-kit/p11-kit.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::testing {

struct CommandResult {
  int rc = -1;
  std::string out;
};

inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

// A SoftHSM token in its own temporary directory; SOFTHSM2_CONF points at it while the
// object lives. `args` go to softhsm-setup.sh (e.g. "--keys 'ec-p256 ed25519'").
class SoftHsmToken {
 public:
  explicit SoftHsmToken(const std::string& args) {
    std::string script = std::string(MODELSIGN_SOURCE_DIR) + "/softhsm-fixtures/softhsm-setup.sh";
    auto r = run_command("bash " + shell_quote(script) + " " + args);
    if (r.rc != 0) throw std::runtime_error("softhsm-setup.sh failed: " + r.out);
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      // export NAME='value'
      if (!line.starts_with("export ")) continue;
      auto eq = line.find('=');
      std::string name = line.substr(7, eq - 7);
      std::string value = line.substr(eq + 2, line.size() - eq - 3);
      env_[name] = value;
    }
    dir_ = env_.at("MODELSIGN_SOFTHSM_DIR");
    setenv("SOFTHSM2_CONF", env_.at("SOFTHSM2_CONF").c_str(), 1);
    unsetenv("MODELSIGN_PKCS11_PIN");
  }
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;
  ~SoftHsmToken() {
    std::string script =
        std::string(MODELSIGN_SOURCE_DIR) + "/softhsm-fixtures/softhsm-teardown.sh";
    run_command("bash " + shell_quote(script) + " " + shell_quote(dir_));
  }

  const std::string& dir() const { return dir_; }
  std::string get(const std::string& name) const { return env_.at(name); }
  std::string label() const { return env_.at("MODELSIGN_PKCS11_TOKEN"); }
  std::string pin_file() const { return env_.at("MODELSIGN_PKCS11_PIN_FILE"); }
  // "pkcs11:token=...;object=KEY?pin-source=file:..."
  std::string uri(const std::string& key) const {
    std::string var = key;
    for (auto& c : var) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return env_.at("MODELSIGN_PKCS11_URI_" + var);
  }
  std::string pub_pem(const std::string& key) const { return dir_ + "/pub/" + key + ".pem"; }
  // pkcs11-tool against this token, logged in.
  CommandResult tool(const std::string& args) const {
    return run_command(std::string("pkcs11-tool --module ") + kSoftHsmModule + " --token-label " +
                       shell_quote(label()) + " --login --pin 1234 " + args + " 2>&1");
  }

 private:
  std::map<std::string, std::string> env_;
  std::string dir_;
};

// Raw Cryptoki through p11-kit, independent of the provider under test.
class RawToken {
 public:
  explicit RawToken(const std::string& label, bool login = true) {
    f_ = p11_kit_module_load(kSoftHsmModule, 0);
    if (f_ == nullptr) throw std::runtime_error("cannot load SoftHSM");
    if (p11_kit_module_initialize(f_) != CKR_OK) throw std::runtime_error("cannot initialise SoftHSM");
    CK_ULONG n = 0;
    f_->C_GetSlotList(CK_TRUE, nullptr, &n);
    std::vector<CK_SLOT_ID> slots(n);
    f_->C_GetSlotList(CK_TRUE, slots.data(), &n);
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO ti{};
      f_->C_GetTokenInfo(slots[i], &ti);
      std::string l(reinterpret_cast<char*>(ti.label), p11_kit_space_strlen(ti.label, 32));
      if (l == label) slot_ = slots[i], found_ = true;
    }
    if (!found_) throw std::runtime_error("token not found: " + label);
    if (f_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s_) != CKR_OK)
      throw std::runtime_error("cannot open a session");
    if (login) {
      CK_RV rv = f_->C_Login(s_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>("1234")), 4);
      if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) throw std::runtime_error("login failed");
    }
  }
  RawToken(const RawToken&) = delete;
  RawToken& operator=(const RawToken&) = delete;
  ~RawToken() {
    f_->C_CloseSession(s_);
    p11_kit_module_finalize(f_);
    p11_kit_module_release(f_);
  }

  std::vector<CK_OBJECT_HANDLE> find(const std::string& label, CK_OBJECT_CLASS cls) {
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    f_->C_FindObjectsInit(s_, t, 2);
    CK_OBJECT_HANDLE h[16];
    CK_ULONG n = 0;
    f_->C_FindObjects(s_, h, 16, &n);
    f_->C_FindObjectsFinal(s_);
    return std::vector<CK_OBJECT_HANDLE>(h, h + n);
  }
  // (rv, value) of one attribute.
  std::pair<CK_RV, Bytes> attr(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = f_->C_GetAttributeValue(s_, o, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) return {rv, {}};
    Bytes v(a.ulValueLen);
    a.pValue = v.data();
    rv = f_->C_GetAttributeValue(s_, o, &a, 1);
    return {rv, v};
  }
  std::optional<bool> flag(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
    auto [rv, v] = attr(o, type);
    if (rv != CKR_OK || v.size() != 1) return std::nullopt;
    return v[0] == CK_TRUE;
  }
  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SESSION_HANDLE session() const { return s_; }
  CK_SLOT_ID slot() const { return slot_; }

 private:
  CK_FUNCTION_LIST* f_ = nullptr;
  CK_SLOT_ID slot_ = 0;
  bool found_ = false;
  CK_SESSION_HANDLE s_ = 0;
};

}  // namespace modelsign::testing
