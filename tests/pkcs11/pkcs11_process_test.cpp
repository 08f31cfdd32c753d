// Fork safety and several processes signing with one token key at the same time.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "modelsign/key_provider.h"
#include "softhsm_fixture.h"

namespace modelsign {
namespace {

using testing::RawToken;
using testing::SoftHsmToken;

const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

int wait_exit_code(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Control for the tests below: with reset_on_fork = true SoftHSM behaves like a real HSM
// and refuses the parent's session in a child, so reusing it cannot pass by accident.
TEST(Pkcs11Fork, ResetOnForkTokenRefusesTheParentsSessionInAChild) {
  SoftHsmToken tok("--keys ec-p256 --reset-on-fork");
  RawToken raw(tok.label());
  auto keys = raw.find("ec-p256", CKO_PRIVATE_KEY);
  ASSERT_EQ(keys.size(), 1u);
  CK_MECHANISM m{CKM_ECDSA, nullptr, 0};
  ASSERT_EQ(raw.f()->C_SignInit(raw.session(), &m, keys[0]), CKR_OK);
  Bytes digest(32, 1), out(256);
  CK_ULONG len = out.size();
  ASSERT_EQ(raw.f()->C_Sign(raw.session(), digest.data(), digest.size(), out.data(), &len), CKR_OK);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    CK_RV rv = raw.f()->C_SignInit(raw.session(), &m, keys[0]);
    _exit(rv == CKR_OK ? 0 : 3);
  }
  EXPECT_EQ(wait_exit_code(pid), 3) << "the child could use the parent's session";
}

TEST(Pkcs11Fork, ChildReinitialisesTheModuleAndSignsWithTheInheritedSigner) {
  SoftHsmToken tok("--keys ec-p256 --reset-on-fork");
  auto signer = p11().open_signer(tok.uri("ec-p256"), {});
  ASSERT_TRUE(signer) << signer.error().describe();
  const Bytes msg = to_bytes("signed before and after fork");
  ASSERT_TRUE(sign_message(**signer, msg));
  std::string sig_file = tok.dir() + "/child.sig";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto sig = sign_message(**signer, msg);
    if (!sig) {
      std::fprintf(stderr, "child: %s\n", sig.error().describe().c_str());
      _exit(1);
    }
    testing::write_text(sig_file, std::string(sig->begin(), sig->end()));
    _exit(0);
  }
  ASSERT_EQ(wait_exit_code(pid), 0);
  std::string child_sig = testing::read_text(sig_file);
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEcdsaP256Sha256, msg,
                                             Bytes(child_sig.begin(), child_sig.end())));
  // The parent's session survives the child.
  auto again = sign_message(**signer, msg);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_TRUE((*signer)->public_key().verify(SignatureScheme::kEcdsaP256Sha256, msg, *again));
}

TEST(Pkcs11Fork, ChildOpensANewSignerWhileTheParentHoldsTheModule) {
  SoftHsmToken tok("--keys 'ec-p256 ec-p384' --reset-on-fork");
  auto parent = p11().open_signer(tok.uri("ec-p256"), {});
  ASSERT_TRUE(parent) << parent.error().describe();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = p11().open_signer(tok.uri("ec-p384"), {});
    if (!s) {
      std::fprintf(stderr, "child open: %s\n", s.error().describe().c_str());
      _exit(1);
    }
    auto sig = sign_message(**s, to_bytes("x"));
    if (!sig) {
      std::fprintf(stderr, "child sign: %s\n", sig.error().describe().c_str());
      _exit(2);
    }
    _exit((*s)->public_key().verify(SignatureScheme::kEcdsaP384Sha384, to_bytes("x"), *sig) ? 0 : 3);
  }
  EXPECT_EQ(wait_exit_code(pid), 0);
  EXPECT_TRUE(sign_message(**parent, to_bytes("y")));
}

TEST(Pkcs11Concurrency, FourProcessesSignWithTheSameTokenKeyAtOnce) {
  SoftHsmToken tok("--keys ec-p256");
  auto pub = PublicKey::from_pem_file(tok.pub_pem("ec-p256"));
  ASSERT_TRUE(pub);
  constexpr int kProcs = 4, kEach = 25;
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      char c;
      (void)!read(go[0], &c, 1);  // returns at EOF: every child starts at once
      auto s = p11().open_signer(tok.uri("ec-p256"), {});
      if (!s) {
        std::fprintf(stderr, "process %d: %s\n", i, s.error().describe().c_str());
        _exit(1);
      }
      for (int j = 0; j < kEach; ++j) {
        std::string msg = "model " + std::to_string(i) + "/" + std::to_string(j);
        auto sig = sign_message(**s, to_bytes(msg));
        if (!sig) {
          std::fprintf(stderr, "process %d: %s\n", i, sig.error().describe().c_str());
          _exit(2);
        }
        testing::write_text(tok.dir() + "/sig-" + std::to_string(i) + "-" + std::to_string(j),
                            std::string(sig->begin(), sig->end()));
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(go[0]);
  close(go[1]);
  for (pid_t pid : pids) EXPECT_EQ(wait_exit_code(pid), 0);
  int verified = 0;
  for (int i = 0; i < kProcs; ++i)
    for (int j = 0; j < kEach; ++j) {
      std::string sig = testing::read_text(tok.dir() + "/sig-" + std::to_string(i) + "-" + std::to_string(j));
      std::string msg = "model " + std::to_string(i) + "/" + std::to_string(j);
      if (pub->verify(SignatureScheme::kEcdsaP256Sha256, to_bytes(msg), Bytes(sig.begin(), sig.end())))
        ++verified;
    }
  EXPECT_EQ(verified, kProcs * kEach);
}

}  // namespace
}  // namespace modelsign
