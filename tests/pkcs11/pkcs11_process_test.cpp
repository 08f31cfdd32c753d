// Fork safety and several processes signing with one token key at the same time, on
// each token implementation.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "modelsign/key_provider.h"
#include "token_fixture.h"

namespace modelsign {
namespace {


const KeyProvider& p11() { return **provider_by_name("pkcs11"); }

class Pkcs11Fork : public testing::TokenTest {};
class Pkcs11Concurrency : public testing::TokenTest {};

int wait_exit_code(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Control for the tests below: with reset_on_fork = true SoftHSM behaves like a real HSM
// and refuses the parent's session in a child (softoken always does), so reusing it
// cannot pass by accident.
TEST_P(Pkcs11Fork, ResetOnForkTokenRefusesTheParentsSessionInAChild) {
  auto tok = make_token(testing::with_keys({"ec-p256"}).with_reset_on_fork(GetParam() == "SoftHSM"));
  auto rawp = tok->raw();
  auto& raw = *rawp;
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
  // Softoken serves the parent's session: the tests below then check that the provider
  // does not depend on that either way.
  EXPECT_EQ(wait_exit_code(pid), tok->refuses_parent_sessions_after_fork() ? 3 : 0)
      << "the child's use of the parent's session";
}

TEST_P(Pkcs11Fork, ChildReinitialisesTheModuleAndSignsWithTheInheritedSigner) {
  auto tok = make_token(testing::with_keys({"ec-p256"}).with_reset_on_fork(GetParam() == "SoftHSM"));
  auto signer = p11().open_signer(tok->uri("ec-p256"), tok->options());
  ASSERT_TRUE(signer) << signer.error().describe();
  const Bytes msg = to_bytes("signed before and after fork");
  ASSERT_TRUE(sign_message(**signer, msg));
  std::string sig_file = tok->dir() + "/child.sig";
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

TEST_P(Pkcs11Fork, ChildOpensANewSignerWhileTheParentHoldsTheModule) {
  auto tok = make_token(testing::with_keys({"ec-p256", "ec-p384"}).with_reset_on_fork(GetParam() == "SoftHSM"));
  auto parent = p11().open_signer(tok->uri("ec-p256"), tok->options());
  ASSERT_TRUE(parent) << parent.error().describe();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = p11().open_signer(tok->uri("ec-p384"), tok->options());
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

TEST_P(Pkcs11Concurrency, FourProcessesSignWithTheSameTokenKeyAtOnce) {
  auto tok = make_token(testing::with_keys({"ec-p256"}));
  auto pub = PublicKey::from_pem_file(tok->pub_pem("ec-p256"));
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
      auto s = p11().open_signer(tok->uri("ec-p256"), tok->options());
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
        testing::write_text(tok->dir() + "/sig-" + std::to_string(i) + "-" + std::to_string(j),
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
      std::string sig = testing::read_text(tok->dir() + "/sig-" + std::to_string(i) + "-" + std::to_string(j));
      std::string msg = "model " + std::to_string(i) + "/" + std::to_string(j);
      if (pub->verify(SignatureScheme::kEcdsaP256Sha256, to_bytes(msg), Bytes(sig.begin(), sig.end())))
        ++verified;
    }
  EXPECT_EQ(verified, kProcs * kEach);
}

INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Fork, testing::kTokenKinds, testing::token_name);
INSTANTIATE_TEST_SUITE_P(Tokens, Pkcs11Concurrency, testing::kTokenKinds, testing::token_name);

}  // namespace
}  // namespace modelsign
