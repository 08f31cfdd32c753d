// The TPM under faults, through the modelsign binary: signals while hashing, concurrent
// key-file signers, a hung TPM, and a public key that cannot be written.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "swtpm_fixture.h"

namespace {

using namespace modelsign;
using namespace modelsign::tpm2_test;

class Tpm2FaultsTest : public Tpm2Test {
 protected:
  std::string cli() const { return q(MODELSIGN_CLI); }
  std::string p(const std::string& name) const { return q((work_ / name).string()); }

  std::string tpm_pid() const {
    std::string pid = read_file(tpm_dirs_.front() / "pid");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return pid;
  }

  void make_key_file(const std::string& name) {
    auto r = sh(cli() + " keygen --tpm2 --key-file " + p(name));
    ASSERT_EQ(r.status, 0) << r.output;
  }
};

// The key file's key is loaded only for the signature: a signer killed while it hashes
// (here a 200 GB sparse file, far from done) holds nothing in the TPM, whatever the signal.
TEST_F(Tpm2FaultsTest, KillDuringHashingLeavesNoTransientObject) {
  make_key_file("k.tss2.pem");
  fs::create_directories(work_ / "big");
  ASSERT_EQ(sh("truncate -s 200G " + p("big/weights.bin")).status, 0);
  for (int sig : {SIGTERM, SIGINT, SIGKILL}) {
    fs::path log = work_ / ("log-" + std::to_string(sig));
    // Started directly, not by a shell: a shell's background job ignores SIGINT.
    pid_t child = ::fork();
    if (child == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 2);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      const std::string key = (work_ / "k.tss2.pem").string(), sigf = (work_ / "big.sig").string(),
                        model = (work_ / "big").string();
      ::execl(MODELSIGN_CLI, MODELSIGN_CLI, "--log-level", "debug", "sign", "tpm2-key", "--tpm2-key",
              key.c_str(), "--threads", "1", "--signature", sigf.c_str(), model.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_GT(child, 0);
    const std::string pid = std::to_string(child);
    // The key was opened (and checked with a probe signature) before hashing began.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read_file(log).find("key and authorisation checked") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_NE(read_file(log).find("key and authorisation checked"), std::string::npos) << read_file(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // well into hashing
    ASSERT_FALSE(process_gone(pid)) << "sign ended early: " << read_file(log);
    ::kill(child, sig);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    EXPECT_TRUE(transient_handles().empty()) << "signal " << sig << " left a transient object";
    auto caps = sh("tpm2_getcap handles-transient");
    EXPECT_EQ(caps.output, "") << "signal " << sig;
    EXPECT_FALSE(fs::exists(work_ / "big.sig"));
  }
}

TEST_F(Tpm2FaultsTest, EightConcurrentKeyFileSignersAllSucceed) {
  make_key_file("k.tss2.pem");
  std::string cmd;
  for (int i = 0; i < 8; ++i) {
    std::string m = "m";
    m += std::to_string(i);
    fs::create_directories(work_ / m);
    write_file(work_ / m / "w.bin", std::string(100000 + static_cast<std::size_t>(i), 'w'));
    std::string one = cli();
    one += " sign tpm2-key --tpm2-key " + p("k.tss2.pem") + " --signature " + p(m + ".sig") + " " + p(m);
    one += " >" + p(m + ".out") + " 2>&1; echo $? >" + p(m + ".rc");
    cmd += "(";
    cmd += one;
    cmd += ") & ";
  }
  auto r = sh(cmd + "wait");
  ASSERT_EQ(r.status, 0) << r.output;
  for (int i = 0; i < 8; ++i) {
    std::string m = "m";
    m += std::to_string(i);
    EXPECT_EQ(read_file(work_ / (m + ".rc")), "0\n") << m << ": " << read_file(work_ / (m + ".out"));
    auto v = sh(cli() + " verify key --tpm2-key " + p("k.tss2.pem") + " --signature " + p(m + ".sig") +
                " " + p(m));
    EXPECT_EQ(v.status, 0) << v.output;
  }
  EXPECT_TRUE(transient_handles().empty());
}

// A TPM that stops answering (swtpm stopped with SIGSTOP) fails the command after the
// timeout, naming the TCTI, instead of hanging.
TEST_F(Tpm2FaultsTest, HungTpmFailsAfterTheTimeoutNamingTheTcti) {
  make_key_file("k.tss2.pem");
  fs::create_directories(work_ / "m");
  write_file(work_ / "m" / "w.bin", "weights");
  const std::string pid = tpm_pid();
  ASSERT_EQ(::kill(std::stoi(pid), SIGSTOP), 0);
  auto start = std::chrono::steady_clock::now();
  auto r = sh("timeout 60 " + cli() + " sign tpm2-key --tpm2-key " + p("k.tss2.pem") +
              " --tpm2-timeout 2 --signature " + p("m.sig") + " " + p("m"));
  auto took = std::chrono::steady_clock::now() - start;
  ::kill(std::stoi(pid), SIGCONT);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("the TPM at TCTI '" + tcti_ + "' (from TPM2TOOLS_TCTI) did not answer within 2 s"),
            std::string::npos)
      << r.output;
  EXPECT_LT(took, std::chrono::seconds(20));
  EXPECT_FALSE(fs::exists(work_ / "m.sig"));

  r = sh(cli() + " sign tpm2-key --tpm2-key " + p("k.tss2.pem") + " --tpm2-timeout 0 --signature " +
         p("m.sig") + " " + p("m"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("expected a number of seconds above 0"), std::string::npos) << r.output;
}

// keygen's public key write error says why (here: RLIMIT_FSIZE 0, "File too large").
TEST_F(Tpm2FaultsTest, KeygenPublicKeyWriteErrorSaysWhy) {
  std::string cmd = "(ulimit -f 0; ";
  cmd += cli();
  cmd += " keygen --tpm2 --persistent 0x81000003 --public-key " + p("k.pub");
  cmd += ") 2>&1 | cat";
  auto r = sh(cmd);
  EXPECT_NE(r.output.find("cannot write '" + (work_ / "k.pub").string() + "': File too large"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
}

}  // namespace
