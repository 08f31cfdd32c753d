// End to end through the modelsign binary against a private swtpm: keygen --tpm2,
// sign tpm2-key / tpm2-certificate, verify key --public-key / --tpm2-key, verify
// certificate, tpm2 list, and the errors a user sees.
#include <nlohmann/json.hpp>

#include "swtpm_fixture.h"

namespace {

using namespace modelsign;
using namespace modelsign::tpm2_test;

class Tpm2CliTest : public Tpm2Test {
 protected:
  void SetUp() override {
    Tpm2Test::SetUp();
    model_ = work_ / "model";
    fs::create_directories(model_ / "sub");
    write_file(model_ / "weights.bin", std::string(4096, 'w'));
    write_file(model_ / "config.json", "{\"layers\": 2}\n");
    write_file(model_ / "sub" / "tokenizer.txt", "a b c\n");
  }

  CmdResult cli(const std::string& args) {
    return sh(q(MODELSIGN_CLI) + " " + args);
  }
  // The independent model_signing-style verifier (tests/interop), sharing no code with us.
  CmdResult interop_verify(const std::string& args) {
    return sh("/usr/bin/python3 " + q(MODELSIGN_INTEROP_VERIFIER) + " " + args);
  }
  std::string p(const std::string& name) const { return q((work_ / name).string()); }
  std::string model() const { return q(model_.string()); }

  fs::path model_;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// TPM2TOOLS_TCTI / TSS2_TCTI are as trusted as LD_PRELOAD (a "cmd:" TCTI runs a
// command): they must only be read when a TPM key is named. Every command below uses a
// PEM key; the control at the end shows the same TCTI does run once a TPM key is named.
TEST_F(Tpm2CliTest, NoTpmIsOpenedUnlessATpmKeyIsNamed) {
  const fs::path marker = work_ / "tcti-ran";
  const std::string tcti = "cmd:touch " + marker.string();
  setenv("TPM2TOOLS_TCTI", tcti.c_str(), 1);
  setenv("TSS2_TCTI", tcti.c_str(), 1);
  auto r = cli("keygen --private-key " + p("k.pem") + " --public-key " + p("k.pub"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = cli("sign key --private-key " + p("k.pem") + " --signature " + p("m.sig") + " " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  r = cli("verify key --public-key " + p("k.pub") + " --signature " + p("m.sig") + " " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  r = cli("digest " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(fs::exists(marker)) << "a command without a TPM key ran the TCTI command";

  // Control: naming a TPM key does use the TCTI (so the check above can fail).
  r = cli("sign tpm2-key --tpm2-key handle:0x81000001 --signature " + p("t.sig") + " " + model());
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(marker)) << "the cmd: TCTI did not run even for a TPM key: " << r.output;
  unsetenv("TSS2_TCTI");
}

TEST_F(Tpm2CliTest, PersistentKeySignsAndVerifiesWithExportedPemAndFromTheTpm) {
  auto r = cli("keygen --tpm2 --persistent 0x81000001 --public-key " + p("pub.pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Generated ec-p256 key handle:0x81000001")) << r.output;
  auto pub = PublicKey::from_pem_file((work_ / "pub.pem").string());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(contains(r.output, "public key hint: " + pub->hint())) << r.output;

  r = cli("sign tpm2-key --tpm2-key handle:0x81000001 --signature " + p("model.sig") + " " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Signing succeeded")) << r.output;
  auto bundle = nlohmann::json::parse(read_file(work_ / "model.sig"));
  EXPECT_EQ(bundle["verificationMaterial"]["publicKey"]["hint"], pub->hint());

  r = cli("verify key --public-key " + p("pub.pem") + " --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;
  r = cli("verify key --tpm2-key handle:0x81000001 --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;
  r = interop_verify("key --public-key " + p("pub.pem") + " --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;

  // A changed model no longer verifies.
  write_file(model_ / "config.json", "{\"layers\": 3}\n");
  r = cli("verify key --tpm2-key handle:0x81000001 --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification failed with error:")) << r.output;

  r = sh("tpm2_getcap handles-transient");
  EXPECT_EQ(r.output, "") << "transient objects left in the TPM";
}

TEST_F(Tpm2CliTest, KeyFileWithExplicitTctiSignsAndVerifiesWithoutTheTpm) {
  // Only --tcti reaches the TPM: the environment points nowhere.
  const std::string dead = "swtpm:path=" + (work_ / "none.sock").string();
  setenv("TPM2TOOLS_TCTI", dead.c_str(), 1);
  auto r = cli("keygen --tpm2 --key-file " + p("k.tss2.pem") + " --key-type ec-p384 --tcti " +
               q(tcti_) + " --public-key " + p("pub.pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Generated ec-p384 key " + (work_ / "k.tss2.pem").string())) << r.output;
  EXPECT_TRUE(read_file(work_ / "k.tss2.pem").starts_with("-----BEGIN TSS2 PRIVATE KEY-----"));

  r = cli("sign tpm2-key --tpm2-key " + p("k.tss2.pem") + " --tcti " + q(tcti_) + " --signature " +
          p("model.sig") + " " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  // Without --tcti, TPM2TOOLS_TCTI is used, and the error says so.
  r = cli("sign tpm2-key --tpm2-key " + p("k.tss2.pem") + " --signature " + p("other.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no TPM answered at TCTI '" + dead + "' (from TPM2TOOLS_TCTI)")) << r.output;

  // The key file carries its public part: verification needs no TPM.
  r = cli("verify key --tpm2-key " + p("k.tss2.pem") + " --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  r = cli("verify key --public-key " + p("pub.pem") + " --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;
  r = interop_verify("key --public-key " + p("pub.pem") + " --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;
}

TEST_F(Tpm2CliTest, Rsa3072KeySignsWithTheExtendedProfileWarning) {
  auto r = cli("keygen --tpm2 --key-file " + p("rsa.tss2.pem") + " --key-type rsa-3072 --public-key " + p("rsa.pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = cli("sign tpm2-key --tpm2-key " + p("rsa.tss2.pem") + " --signature " + p("model.sig") + " " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "model_signing cannot")) << r.output;
  r = cli("verify key --public-key " + p("rsa.pem") + " --signature " + p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(Tpm2CliTest, CertificateBundleFromATpmKeyVerifiesAgainstTheCa) {
  auto r = cli("keygen --tpm2 --persistent 0x81000001 --public-key " + p("pub.pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  // A throwaway CA certifies the TPM key's public key (the CSR key is replaced).
  write_file(work_ / "leaf.ext",
             "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=codeSigning\n");
  r = sh("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
         p("ca.key") + " -out " + p("ca.pem") + " -subj '/CN=modelsign test CA' -days 2" +
         " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign" +
         " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
         p("throwaway.key") + " -subj '/CN=tpm signer' -out " + p("leaf.csr") +
         " && openssl x509 -req -in " + p("leaf.csr") + " -force_pubkey " + p("pub.pem") +
         " -CA " + p("ca.pem") + " -CAkey " + p("ca.key") + " -set_serial 2 -days 1 -extfile " +
         p("leaf.ext") + " -out " + p("leaf.pem"));
  ASSERT_EQ(r.status, 0) << r.output;

  r = cli("sign tpm2-certificate --tpm2-key handle:0x81000001 --signing-certificate " + p("leaf.pem") +
          " --certificate-chain " + p("ca.pem") + " --signature " + p("model.sig") + " " + model());
  ASSERT_EQ(r.status, 0) << r.output;
  auto bundle = nlohmann::json::parse(read_file(work_ / "model.sig"));
  ASSERT_TRUE(bundle["verificationMaterial"].contains("x509CertificateChain"))
      << bundle["verificationMaterial"].dump();
  EXPECT_EQ(bundle["verificationMaterial"]["x509CertificateChain"]["certificates"].size(), 2u);
  r = cli("verify certificate --certificate-chain " + p("ca.pem") + " --signature " + p("model.sig") +
          " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;
  r = interop_verify("certificate --certificate-chain " + p("ca.pem") + " --signature " +
                     p("model.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Verification succeeded")) << r.output;

  // A certificate for another key is refused before anything is signed.
  r = cli("sign tpm2-certificate --tpm2-key handle:0x81000001 --signing-certificate " + p("ca.pem") +
          " --signature " + p("wrong.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_FALSE(fs::exists(work_ / "wrong.sig"));
}

TEST_F(Tpm2CliTest, Tpm2ListShowsPersistentSigningKeys) {
  auto r = cli("tpm2 list");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "No persistent signing keys")) << r.output;
  ASSERT_EQ(cli("keygen --tpm2 --persistent 0x81000001").status, 0);
  ASSERT_EQ(cli("keygen --tpm2 --persistent 0x81000002 --key-type ec-p384").status, 0);
  r = cli("tpm2 list --tcti " + q(tcti_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output,
            "handle:0x81000001  ec-p256   fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|sign\n"
            "handle:0x81000002  ec-p384   fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|sign\n");
}

TEST_F(Tpm2CliTest, ErrorsAreReportedWithExitCodeOneAndAdvice) {
  auto r = cli("sign tpm2-key --tpm2-key handle:0x81000099 --signature " + p("m.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "Signing failed with error: opening TPM key handle:0x81000099: "
                                 "there is no handle:0x81000099 in the TPM"))
      << r.output;

  r = cli("sign tpm2-key --tpm2-key handle:0x81000001 --tcti " +
          q("swtpm:path=" + (work_ / "none.sock").string()) + " --signature " + p("m.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no TPM answered at TCTI 'swtpm:path=")) << r.output;

  write_file(work_ / "plain.pem", "-----BEGIN PRIVATE KEY-----\n");
  r = cli("sign tpm2-key --tpm2-key " + p("plain.pem") + " --signature " + p("m.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "is not a TPM key file")) << r.output;

  ASSERT_EQ(cli("keygen --tpm2 --persistent 0x81000001").status, 0);
  r = cli("keygen --tpm2 --persistent 0x81000001");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "0x81000001 is already in use")) << r.output;

  r = cli("keygen --tpm2");  // a missing required input: usage error
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "either --persistent HANDLE or --key-file PATH")) << r.output;
  r = cli("keygen --persistent 0x81000003");  // a TPM option without --tpm2: usage error
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_FALSE(fs::exists(work_ / "m.sig"));
}

TEST_F(Tpm2CliTest, AuthValueComesFromFileOrEnvironmentAndIsNeverPrinted) {
  const std::string secret = "tpm-auth-Zq81";
  write_file(work_ / "auth", secret + "\n");
  write_file(work_ / "wrong", "not-the-value\n");
  auto r = cli("keygen --tpm2 --persistent 0x81000001 --tpm2-auth-file " + p("auth"));
  ASSERT_EQ(r.status, 0) << r.output;

  r = cli("--log-level debug sign tpm2-key --tpm2-key handle:0x81000001 --tpm2-auth-file " + p("auth") +
          " --signature " + p("a.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(contains(r.output, secret)) << r.output;

  setenv("MODELSIGN_TPM_AUTH", secret.c_str(), 1);
  r = cli("sign tpm2-key --tpm2-key handle:0x81000001 --signature " + p("b.sig") + " " + model());
  EXPECT_EQ(r.status, 0) << r.output;
  unsetenv("MODELSIGN_TPM_AUTH");

  r = cli("--log-level debug sign tpm2-key --tpm2-key handle:0x81000001 --tpm2-auth-file " + p("wrong") +
          " --signature " + p("c.sig") + " " + model());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "wrong authorisation value for handle:0x81000001")) << r.output;
  EXPECT_FALSE(contains(r.output, "not-the-value")) << r.output;
  EXPECT_FALSE(contains(r.output, secret)) << r.output;
  EXPECT_FALSE(fs::exists(work_ / "c.sig"));
}

}  // namespace
