// Secrets handling of the PEM provider and the CLI: no secret in a child's environment,
// no unencrypted key from an empty password file, key files checked on the open
// descriptor for mode and owner.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include "modelsign/key_provider.h"
#include "test_support.h"

namespace modelsign {
namespace {

using test::TempDir;
using test::write_file;
namespace fs = std::filesystem;

using Run = test::ShellRun;  // output: stdout and stderr
std::string q(const std::string& s) { return test::shell_quote(s); }

Run cli(const std::string& args, const std::string& env = "") {
  return test::run_shell(env + " " + q(MODELSIGN_CLI_PATH) + " " + args + " 2>&1");
}

// A sanitizer build's runtime insists on coming first in the library list; the probe
// (a plain library) preloaded ahead of it is harmless, so let it be.
#ifdef MODELSIGN_SANITIZED
constexpr const char* kPreloadNextToSanitizer = "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1 ";
#else
constexpr const char* kPreloadNextToSanitizer = "";
#endif

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

struct Model {
  TempDir tmp;
  std::string dir = (tmp / "model").string();
  Model() { write_file(tmp / "model/weights.bin", std::string(1000, 'w')); }
  std::string p(const std::string& name) const { return q((tmp / name).string()); }
};

// Before: `sign key --password` copied the password into MODELSIGN_KEY_PASSWORD with
// setenv, where every child process would inherit it.
TEST(Secrets, PasswordFlagNeverReachesTheEnvironmentOfAChild) {
  Model m;
  const std::string password = "Pw-in-env-8271";
  write_file(m.tmp / "pw", password + "\n", 0600);
  auto g = cli("keygen --private-key " + m.p("k.pem") + " --public-key " + m.p("k.pub") +
               " --password-file " + m.p("pw"));
  ASSERT_EQ(g.rc, 0) << g.output;
  ASSERT_TRUE(contains(test::read_file(m.tmp / "k.pem"), "ENCRYPTED PRIVATE KEY"));

  const std::string dump = (m.tmp / "environ").string();
  auto r = cli("sign key --private-key " + m.p("k.pem") + " --password " + q(password) + " --signature " +
                   m.p("m.sig") + " " + q(m.dir),
               std::string("env -u MODELSIGN_KEY_PASSWORD ") + kPreloadNextToSanitizer + "LD_PRELOAD=" + q(MODELSIGN_ENV_PROBE) +
                   " MODELSIGN_TEST_ENV_DUMP=" + q(dump));
  ASSERT_EQ(r.rc, 0) << r.output;
  std::string environ_of_child = test::read_file(dump);
  // The probe worked: the child's environment is there.
  ASSERT_TRUE(contains(environ_of_child, "MODELSIGN_TEST_ENV_DUMP=")) << environ_of_child;
  EXPECT_FALSE(contains(environ_of_child, password)) << "the password is in a child's environment";
  EXPECT_FALSE(contains(environ_of_child, "MODELSIGN_KEY_PASSWORD")) << environ_of_child;
  auto v = cli("verify key --public-key " + m.p("k.pub") + " --signature " + m.p("m.sig") + " " + q(m.dir));
  EXPECT_EQ(v.rc, 0) << v.output;
}

// Before: an empty (or newline-only) password file wrote an unencrypted key, silently.
TEST(Secrets, KeygenRefusesAnEmptyPasswordFile) {
  Model m;
  int i = 0;
  for (const char* content : {"", "\n", "\r\n", "\n\n"}) {
    const std::string n = std::to_string(i++);
    std::string pw("pw"), key("k");
    pw.append(n);
    key.append(n).append(".pem");
    write_file(m.tmp / pw, content, 0600);
    auto r = cli("keygen --private-key " + m.p(key) + " --password-file " + m.p(pw));
    EXPECT_EQ(r.rc, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "is empty: refusing to write the private key unencrypted")) << r.output;
    EXPECT_FALSE(fs::exists(m.tmp / key)) << "a key was written for password file content '" << content << "'";
  }
}

// Before: the mode was checked with stat() and the file opened afterwards, and the owner
// was not checked: a key owned by another user was used.
TEST(Secrets, KeyFileOwnedByAnotherUserIsRefused) {
  Model m;
  std::string key = test::write_ec_key(m.tmp / "key.pem", "P-256");
  ASSERT_TRUE(open_signer(key, {})) << "our own 0600 key must open";
  // What can be checked as any user: group/other access is refused (on the descriptor).
  ::chmod(key.c_str(), 0640);
  auto loose = open_signer(key, {});
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().code, ErrorCode::kPermission);
  EXPECT_TRUE(contains(loose.error().message, "accessible by group or others")) << loose.error().message;
  ::chmod(key.c_str(), 0600);
  if (::geteuid() == 0) {
    // Root (as in CI) can give the key to another user.
    ASSERT_EQ(::chown(key.c_str(), 4242, 4242), 0);
    auto other = open_signer(key, {});
    ASSERT_FALSE(other) << "a key owned by uid 4242 was used";
    EXPECT_EQ(other.error().code, ErrorCode::kPermission);
    EXPECT_TRUE(contains(other.error().message, "owned by another user (uid 4242")) << other.error().message;
    // Through the CLI too.
    Model mm;
    auto r = cli("sign key --private-key " + q(key) + " --signature " + mm.p("m.sig") + " " + q(mm.dir));
    EXPECT_EQ(r.rc, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "owned by another user")) << r.output;
  } else {
    // Not root: a file we cannot chown away; our own key is accepted (checked above) and
    // a root-owned one is allowed, as OpenSSH allows: /etc/hostname is root's and 0644,
    // so it is refused for its mode, never for its owner.
    auto root_owned = open_signer("/etc/hostname", {});
    ASSERT_FALSE(root_owned);
    EXPECT_FALSE(contains(root_owned.error().message, "owned by another user")) << root_owned.error().message;
  }
}

}  // namespace
}  // namespace modelsign
