// Test fixture for the TPM tests: a private swtpm per test (tests/tpm2/swtpm.sh), started
// in SetUp and stopped in TearDown, checking that no process or state is left behind.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tss2/tss2_esys.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/key_provider.h"
#include "tpm2/esys.h"
#include "tpm2/tpm2_provider.h"

namespace modelsign::tpm2_test {

namespace fs = std::filesystem;

struct CmdResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

inline CmdResult sh(const std::string& cmd) {
  CmdResult r;
  std::string full = "(" + cmd + ") 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline bool process_gone(const std::string& pid) {
  fs::path proc = fs::path("/proc") / pid;
  if (!fs::exists(proc)) return true;
  // A daemonised swtpm is re-parented; a zombie is not running any more.
  return read_file(proc / "status").find("State:\tZ") != std::string::npos;
}

inline const KeyProvider& provider() {
  static const std::unique_ptr<KeyProvider> p = make_tpm2_provider();
  return *p;
}

inline const Bytes kMessage = to_bytes("modelsign: DSSE PAE of an in-toto statement, for the TPM tests");

inline std::string openssl_digest_flags(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kEcdsaP256Sha256: return "-sha256";
    case SignatureScheme::kEcdsaP384Sha384: return "-sha384";
    case SignatureScheme::kEcdsaP521Sha512: return "-sha512";
    case SignatureScheme::kRsaPssSha256:
      return "-sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto";
    default: return "";
  }
}

class Tpm2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "modelsign-tpm2-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    work_ = tmpl;
    tcti_ = start_tpm(work_ / "tpm");
    ASSERT_FALSE(tcti_.empty());
    // For tpm2-tools and the tpm2-openssl provider run by the tests; the provider under
    // test gets its TCTI from ProviderOptions unless a test says otherwise.
    setenv("TPM2TOOLS_TCTI", tcti_.c_str(), 1);
    setenv("TPM2OPENSSL_TCTI", tcti_.c_str(), 1);
    unsetenv("TSS2_TCTI");
    unsetenv("MODELSIGN_TPM_AUTH");
    unsetenv("MODELSIGN_TPM_OWNER_AUTH");
    setenv("TSS2_LOG", "all+none", 1);
  }

  void TearDown() override {
    for (const auto& dir : tpm_dirs_) {
      std::string pid = read_file(dir / "pid");
      auto r = sh(std::string(MODELSIGN_SWTPM_SCRIPT) + " stop " + q(dir.string()));
      EXPECT_EQ(r.status, 0) << r.output;
      if (!pid.empty()) {
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        EXPECT_TRUE(process_gone(pid)) << "swtpm " << pid << " still running";
      }
      EXPECT_FALSE(fs::exists(dir)) << "the TPM state dir was left behind";
    }
    std::error_code ec;
    fs::remove_all(work_, ec);
  }

  // Starts a private swtpm on `dir`; returns its TCTI string.
  std::string start_tpm(const fs::path& dir) {
    auto r = sh(std::string(MODELSIGN_SWTPM_SCRIPT) + " start " + q(dir.string()));
    if (r.status != 0) {
      ADD_FAILURE() << "cannot start swtpm: " << r.output;
      return "";
    }
    tpm_dirs_.push_back(dir);
    std::string tcti = r.output;
    while (!tcti.empty() && tcti.back() == '\n') tcti.pop_back();
    if (auto nl = tcti.rfind('\n'); nl != std::string::npos) tcti = tcti.substr(nl + 1);
    return tcti;
  }

  ProviderOptions options() const {
    ProviderOptions o;
    o.params["tcti"] = tcti_;
    return o;
  }
  ProviderOptions options_with_auth(std::string_view auth) {
    ProviderOptions o = options();
    fs::path f = work_ / ("auth-" + std::to_string(auth_files_++));
    write_file(f, std::string(auth) + "\n");  // one trailing newline, as editors write
    o.secret.file = f.string();
    return o;
  }

  // Throws on failure: gtest reports the exception and fails the test.
  GeneratedKey generate(const std::string& ref, KeyType type, const ProviderOptions& o) {
    auto k = provider().generate(ref, type, o);
    if (!k) throw std::runtime_error("generate " + ref + ": " + k.error().describe());
    return std::move(*k);
  }

  // Signs kMessage through the provider; checks the signature with `expected` both in
  // process and with `openssl dgst -verify` on the PEM export.
  void expect_signs_and_verifies(const std::string& ref, const PublicKey& expected,
                                 const ProviderOptions& o) {
    auto signer = provider().open_signer(ref, o);
    ASSERT_TRUE(signer) << signer.error().describe();
    EXPECT_TRUE((*signer)->public_key().equals(expected));
    auto sig = sign_message(**signer, kMessage);
    ASSERT_TRUE(sig) << sig.error().describe();
    SignatureScheme scheme = (*signer)->scheme();
    EXPECT_TRUE(expected.verify(scheme, kMessage, *sig)) << "in-process verification";
    Bytes other = kMessage;
    other.back() ^= 1;
    EXPECT_FALSE(expected.verify(scheme, other, *sig)) << "a changed message must not verify";

    fs::path pem = work_ / "verify.pub.pem", msg = work_ / "verify.msg", sigf = work_ / "verify.sig";
    write_file(pem, expected.to_pem());
    write_file(msg, std::string(kMessage.begin(), kMessage.end()));
    write_file(sigf, std::string(sig->begin(), sig->end()));
    auto r = sh("openssl dgst " + openssl_digest_flags(scheme) + " -verify " + q(pem.string()) +
                " -signature " + q(sigf.string()) + " " + q(msg.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("Verified OK"), std::string::npos) << r.output;
  }

  std::vector<TPM2_HANDLE> transient_handles() {
    auto c = tpm2::Connection::open(options());
    if (!c) {
      ADD_FAILURE() << c.error().describe();
      return {};
    }
    auto h = (*c)->handles(TPM2_TRANSIENT_FIRST);
    if (!h) {
      ADD_FAILURE() << h.error().describe();
      return {};
    }
    return *h;
  }

  fs::path work_;
  std::string tcti_;
  std::vector<fs::path> tpm_dirs_;
  int auth_files_ = 0;
};

}  // namespace modelsign::tpm2_test
