// `verify certificate` through the CLI: a trust anchor is required; the system store is
// an explicit opt-in (both spellings of the flag) that names the store it trusts.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "test_support.h"

namespace modelsign {
namespace {

using test::TempDir;
using test::write_file;

using Run = test::ShellRun;  // output: stdout and stderr
std::string q(const std::string& s) { return test::shell_quote(s); }

Run cli(const std::string& env, const std::string& args) {
  return test::run_shell(env + " " + q(MODELSIGN_CLI_PATH) + " " + args + " 2>&1");
}

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// Before: with no --certificate-chain the system store was trusted, and SSL_CERT_FILE
// redirects it: a root planted there made the signature verify.
TEST(CliTrust, VerifyCertificateNeedsATrustAnchorAndTheSystemStoreIsAnOptIn) {
  TempDir tmp;
  const std::string model = (tmp / "model").string();
  write_file(tmp / "model/weights.bin", std::string(1000, 'w'));
  test::Pki pki;
  auto root = pki.make({.cn = "planted root", .ca = true, .not_before_offset = -86400}, "P-256", nullptr);
  auto leaf = pki.make({.cn = "signer"}, "P-256", &root);
  write_file(tmp / "leaf.key", test::private_key_pem(leaf.key), 0600);
  write_file(tmp / "leaf.pem", leaf.pem());
  write_file(tmp / "store.pem", root.pem());
  const std::string sig = (tmp / "m.sig").string();
  auto s = cli("", "sign certificate --private-key " + q((tmp / "leaf.key").string()) + " --signing-certificate " +
                       q((tmp / "leaf.pem").string()) + " --signature " + q(sig) + " " + q(model));
  ASSERT_EQ(s.rc, 0) << s.output;

  const std::string env = "SSL_CERT_FILE=" + q((tmp / "store.pem").string()) + " SSL_CERT_DIR=" + q(tmp.str());
  auto r = cli(env, "verify certificate --signature " + q(sig) + " " + q(model));
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no trust anchor given")) << r.output;
  EXPECT_FALSE(contains(r.output, "Verification succeeded")) << r.output;

  for (const char* flag : {"--use-system-trust-store", "--use_system_trust_store"}) {
    auto ok = cli(env, std::string("verify certificate ") + flag + " --signature " + q(sig) + " " + q(model));
    EXPECT_EQ(ok.rc, 0) << flag << ": " << ok.output;
    EXPECT_TRUE(contains(ok.output, "Verification succeeded")) << ok.output;
    EXPECT_TRUE(contains(ok.output, "trusting the system CA store")) << ok.output;
    EXPECT_TRUE(contains(ok.output, (tmp / "store.pem").string() + "' (from $SSL_CERT_FILE)")) << ok.output;
  }
  // An explicit anchor needs no opt-in.
  auto anchored = cli("", "verify certificate --certificate-chain " + q((tmp / "store.pem").string()) +
                              " --signature " + q(sig) + " " + q(model));
  EXPECT_EQ(anchored.rc, 0) << anchored.output;
}

}  // namespace
}  // namespace modelsign
