// The TPM 2.0 provider against a real TPM simulator: every test starts its own swtpm
// (tests/tpm2/swtpm.sh) in a temp dir and stops it afterwards. Signatures are checked
// with modelsign's PublicKey and independently with the openssl command line; key
// attributes are read back with tpm2-tools.
#include "swtpm_fixture.h"

namespace fs = std::filesystem;
using namespace modelsign;

namespace {

using namespace modelsign::tpm2_test;

// ---------------------------------------------------------------- round trips

struct RoundTrip {
  KeyType type;
  bool persistent;
  SignatureScheme scheme;
  const char* name;
};

class Tpm2RoundTrip : public Tpm2Test, public ::testing::WithParamInterface<RoundTrip> {};

TEST_P(Tpm2RoundTrip, GeneratedKeySignsAndVerifiesWithItsExportedPublicKey) {
  const RoundTrip& p = GetParam();
  const std::string ref = p.persistent ? "handle:0x81000001" : "file:" + (work_ / "key.tss2.pem").string();
  GeneratedKey key = generate(ref, p.type, options());
  const std::string sign_ref = p.persistent ? "handle:0x81000001" : (work_ / "key.tss2.pem").string();
  EXPECT_EQ(key.reference, sign_ref);
  auto scheme = key.public_key.scheme();
  ASSERT_TRUE(scheme);
  EXPECT_EQ(*scheme, p.scheme);
  if (!p.persistent) {
    std::string pem = read_file(work_ / "key.tss2.pem");
    EXPECT_TRUE(pem.starts_with("-----BEGIN TSS2 PRIVATE KEY-----")) << pem;
  }
  expect_signs_and_verifies(sign_ref, key.public_key, options());

  // The public key read back (from the TPM, or from the key file) is the generated one.
  auto pub = provider().public_key(sign_ref, options());
  ASSERT_TRUE(pub) << pub.error().describe();
  EXPECT_TRUE(pub->equals(key.public_key));
}

INSTANTIATE_TEST_SUITE_P(
    KeyTypes, Tpm2RoundTrip,
    ::testing::Values(RoundTrip{KeyType::kEcP256, true, SignatureScheme::kEcdsaP256Sha256, "EcP256Persistent"},
                      RoundTrip{KeyType::kEcP384, true, SignatureScheme::kEcdsaP384Sha384, "EcP384Persistent"},
                      RoundTrip{KeyType::kRsa3072, true, SignatureScheme::kRsaPssSha256, "Rsa3072Persistent"},
                      RoundTrip{KeyType::kEcP256, false, SignatureScheme::kEcdsaP256Sha256, "EcP256KeyFile"},
                      RoundTrip{KeyType::kEcP384, false, SignatureScheme::kEcdsaP384Sha384, "EcP384KeyFile"},
                      RoundTrip{KeyType::kRsa3072, false, SignatureScheme::kRsaPssSha256, "Rsa3072KeyFile"},
                      RoundTrip{KeyType::kEcP521, true, SignatureScheme::kEcdsaP521Sha512, "EcP521Persistent"},
                      RoundTrip{KeyType::kRsa2048, false, SignatureScheme::kRsaPssSha256, "Rsa2048KeyFile"}),
    [](const ::testing::TestParamInfo<RoundTrip>& i) { return std::string(i.param.name); });

TEST_F(Tpm2Test, TpmToolsReadBackFixedTpmFixedParentSignAndNoDecryptOnCreatedKeys) {
  // Keys without an authorisation value are noDA (nothing to guess); see the next test.
  generate("handle:0x81000001", KeyType::kEcP256, options());
  auto r = sh("tpm2_readpublic -c 0x81000001");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign\n"),
            std::string::npos)
      << r.output;

  fs::path file = work_ / "k.tss2.pem";
  generate("file:" + file.string(), KeyType::kEcP384, options());
  r = sh("tpm2_print -t TSSPRIVKEY_OBJ " + q(file.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign\n"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("decrypt"), std::string::npos) << r.output;
}

TEST_F(Tpm2Test, KeysWithoutAuthAreNoDaAndKeysWithAuthKeepDictionaryAttackProtection) {
  generate("handle:0x81000001", KeyType::kEcP256, options());
  generate("handle:0x81000002", KeyType::kEcP256, options_with_auth("secret"));
  fs::path none = work_ / "none.tss2.pem", with = work_ / "with.tss2.pem";
  generate(none.string(), KeyType::kEcP256, options());
  generate(with.string(), KeyType::kEcP256, options_with_auth("secret"));
  auto attrs = [](const std::string& cmd) {
    auto r = sh(cmd);
    EXPECT_EQ(r.status, 0) << r.output;
    auto at = r.output.find("attributes:\n  value: ");
    return at == std::string::npos ? std::string() : r.output.substr(at + 21, r.output.find('\n', at + 21) - at - 21);
  };
  auto has_noda = [](const std::string& a) { return ("|" + a + "|").find("|noda|") != std::string::npos; };
  std::string a = attrs("tpm2_readpublic -c 0x81000001");
  EXPECT_TRUE(has_noda(a)) << a;
  a = attrs("tpm2_readpublic -c 0x81000002");
  EXPECT_FALSE(has_noda(a)) << a;
  a = attrs("tpm2_print -t TSSPRIVKEY_OBJ " + q(none.string()));
  EXPECT_TRUE(has_noda(a)) << a;
  a = attrs("tpm2_print -t TSSPRIVKEY_OBJ " + q(with.string()));
  EXPECT_FALSE(has_noda(a)) << a;
}

TEST_F(Tpm2Test, KeyWithAuthValueFromFileOrEnvironmentSigns) {
  GeneratedKey key = generate("handle:0x81000001", KeyType::kEcP256, options_with_auth("s3cret-auth"));
  expect_signs_and_verifies("handle:0x81000001", key.public_key, options_with_auth("s3cret-auth"));
  setenv("MODELSIGN_TPM_AUTH", "s3cret-auth", 1);
  expect_signs_and_verifies("handle:0x81000001", key.public_key, options());

  fs::path file = work_ / "auth.tss2.pem";
  unsetenv("MODELSIGN_TPM_AUTH");
  GeneratedKey fkey = generate(file.string(), KeyType::kEcP256, options_with_auth("file-key-auth"));
  expect_signs_and_verifies(file.string(), fkey.public_key, options_with_auth("file-key-auth"));

  // Longer than the key's name hash (SHA-256): refused before the TPM sees it.
  const std::string too_long(33, 'x');
  auto g = provider().generate("handle:0x81000002", KeyType::kEcP256, options_with_auth(too_long));
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(g.error().message.find("at most 32 bytes"), std::string::npos) << g.error().describe();
  EXPECT_EQ(g.error().describe().find(too_long), std::string::npos);
}

// ---------------------------------------------------------------- errors

TEST_F(Tpm2Test, NoTpmAtTheTctiIsNotFoundAndNamesTheTcti) {
  ProviderOptions o;
  const std::string dead = "swtpm:path=" + (work_ / "nothing-listens.sock").string();
  o.params["tcti"] = dead;
  auto s = provider().open_signer("handle:0x81000001", o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("no TPM answered at TCTI '" + dead + "' (from --tcti)"),
            std::string::npos)
      << s.error().describe();
  EXPECT_NE(s.error().backend_code, 0u);

  // The same TCTI from the environment: the message says where it came from.
  setenv("TPM2TOOLS_TCTI", dead.c_str(), 1);
  auto l = provider().list("", ProviderOptions{});
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kNotFound);
  EXPECT_NE(l.error().message.find("(from TPM2TOOLS_TCTI)"), std::string::npos) << l.error().describe();
}

TEST_F(Tpm2Test, StoppedTpmIsReportedAsNoTpmNotAsAMissingKey) {
  generate("handle:0x81000001", KeyType::kEcP256, options());
  auto r = sh(std::string(MODELSIGN_SWTPM_SCRIPT) + " stop " + q((work_ / "tpm").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  auto s = provider().open_signer("handle:0x81000001", options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("no TPM answered at TCTI '" + tcti_ + "'"), std::string::npos)
      << s.error().describe();
}

TEST_F(Tpm2Test, TctiOptionTakesPrecedenceOverTheEnvironment) {
  GeneratedKey key = generate("handle:0x81000001", KeyType::kEcP256, options());
  setenv("TPM2TOOLS_TCTI", ("swtpm:path=" + (work_ / "dead.sock").string()).c_str(), 1);
  expect_signs_and_verifies("handle:0x81000001", key.public_key, options());
  // Without the option the (dead) environment TCTI is used, and the error says so (any
  // other failure would not prove the variable was read).
  const std::string dead = "swtpm:path=" + (work_ / "dead.sock").string();
  auto env_used = provider().open_signer("handle:0x81000001", ProviderOptions{});
  ASSERT_FALSE(env_used);
  EXPECT_NE(env_used.error().message.find("no TPM answered at TCTI '" + dead + "' (from TPM2TOOLS_TCTI)"),
            std::string::npos)
      << env_used.error().describe();
  // TSS2_TCTI is read when TPM2TOOLS_TCTI is unset: named likewise.
  unsetenv("TPM2TOOLS_TCTI");
  setenv("TSS2_TCTI", dead.c_str(), 1);
  auto tss2_used = provider().open_signer("handle:0x81000001", ProviderOptions{});
  ASSERT_FALSE(tss2_used);
  EXPECT_NE(tss2_used.error().message.find("no TPM answered at TCTI '" + dead + "' (from TSS2_TCTI)"),
            std::string::npos)
      << tss2_used.error().describe();
  // TSS2_TCTI is the fallback when TPM2TOOLS_TCTI is unset.
  setenv("TSS2_TCTI", tcti_.c_str(), 1);
  expect_signs_and_verifies("handle:0x81000001", key.public_key, ProviderOptions{});
}

TEST_F(Tpm2Test, UnknownHandleIsNotFoundWithAdvice) {
  auto s = provider().open_signer("handle:0x81000099", options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("there is no handle:0x81000099 in the TPM"), std::string::npos)
      << s.error().describe();
  EXPECT_NE(s.error().message.find("modelsign tpm2 list"), std::string::npos);
  EXPECT_NE(s.error().backend.find("handle"), std::string::npos) << s.error().backend;
  auto pub = provider().public_key("tpm2:handle=0x81000099", options());
  ASSERT_FALSE(pub);
  EXPECT_EQ(pub.error().code, ErrorCode::kNotFound);
}

TEST_F(Tpm2Test, WrongAuthIsAnAuthErrorThatNeverShowsTheSecret) {
  generate("handle:0x81000001", KeyType::kEcP256, options_with_auth("right-auth-value"));
  // Checked when the signer opens (a probe signature), before any hashing.
  auto sig = provider().open_signer("handle:0x81000001", options_with_auth("wrong-auth-value"));
  ASSERT_FALSE(sig);
  EXPECT_EQ(sig.error().code, ErrorCode::kAuth);
  EXPECT_NE(sig.error().message.find("wrong authorisation value for handle:0x81000001"),
            std::string::npos)
      << sig.error().describe();
  EXPECT_EQ(sig.error().describe().find("wrong-auth-value"), std::string::npos);
  EXPECT_EQ(sig.error().describe().find("right-auth-value"), std::string::npos);
  EXPECT_EQ(tpm2::tpm_base_rc(static_cast<TSS2_RC>(sig.error().backend_code)), TPM2_RC_AUTH_FAIL);

  // A key file key with an authorisation value and no value given.
  fs::path file = work_ / "k.tss2.pem";
  generate(file.string(), KeyType::kEcP256, options_with_auth("file-auth"));
  auto fsig = provider().open_signer(file.string(), options());
  ASSERT_FALSE(fsig);
  EXPECT_EQ(fsig.error().code, ErrorCode::kAuth) << fsig.error().describe();
}

TEST_F(Tpm2Test, DictionaryLockoutIsReportedAsLockedWithTheWayOut) {
  generate("handle:0x81000001", KeyType::kEcP256, options_with_auth("right"));
  auto r = sh("tpm2_dictionarylockout -s -n 2 -t 3600 -l 3600 -Q");
  ASSERT_EQ(r.status, 0) << r.output;

  std::vector<ErrorCode> codes;
  for (int i = 0; i < 4; ++i) {
    auto sig = provider().open_signer("handle:0x81000001", options_with_auth("wrong"));
    ASSERT_FALSE(sig);
    codes.push_back(sig.error().code);
    if (sig.error().code == ErrorCode::kLocked) {
      EXPECT_NE(sig.error().message.find("dictionary-attack lockout"), std::string::npos);
      EXPECT_NE(sig.error().message.find("tpm2_dictionarylockout --clear-lockout"), std::string::npos);
      EXPECT_EQ(tpm2::tpm_base_rc(static_cast<TSS2_RC>(sig.error().backend_code)), TPM2_RC_LOCKOUT);
      break;
    }
  }
  ASSERT_EQ(codes.front(), ErrorCode::kAuth);
  ASSERT_EQ(codes.back(), ErrorCode::kLocked) << "no lockout after " << codes.size() << " failures";

  // Locked out: even the right value is refused ...
  auto locked = provider().open_signer("handle:0x81000001", options_with_auth("right"));
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, ErrorCode::kLocked);
  // ... until the owner follows the advice.
  r = sh("tpm2_dictionarylockout -c -Q");
  ASSERT_EQ(r.status, 0) << r.output;
  auto right = provider().open_signer("handle:0x81000001", options_with_auth("right"));
  ASSERT_TRUE(right) << right.error().describe();
  EXPECT_TRUE(sign_message(**right, kMessage));
}

TEST_F(Tpm2Test, UnsupportedCurvesSchemesAndKeySizesAreUnsupported) {
  // A curve modelsign does not sign with (SM2), made by tpm2-tools.
  fs::path t = work_ / "tools";
  fs::create_directories(t);
  const std::string d = q(t.string());
  auto r = sh("tpm2_createprimary -C o -g sha256 -G ecc256 -c " + d + "/p.ctx -Q && "
              "tpm2_create -C " + d + "/p.ctx -G ecc_sm2_p256 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' "
              "-u " + d + "/sm2.pub -r " + d + "/sm2.priv -Q && tpm2_flushcontext -t && "
              "tpm2_create -C " + d + "/p.ctx -G ecc384:ecdsa-sha256 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' "
              "-u " + d + "/fx.pub -r " + d + "/fx.priv -Q && tpm2_flushcontext -t && "
              "tpm2_load -C " + d + "/p.ctx -u " + d + "/sm2.pub -r " + d + "/sm2.priv -c " + d + "/sm2.ctx -Q && "
              "tpm2_evictcontrol -C o -c " + d + "/sm2.ctx 0x81000010 -Q && tpm2_flushcontext -t && "
              "tpm2_load -C " + d + "/p.ctx -u " + d + "/fx.pub -r " + d + "/fx.priv -c " + d + "/fx.ctx -Q && "
              "tpm2_evictcontrol -C o -c " + d + "/fx.ctx 0x81000011 -Q && tpm2_flushcontext -t");
  ASSERT_EQ(r.status, 0) << r.output;

  auto sm2 = provider().open_signer("handle:0x81000010", options());
  ASSERT_FALSE(sm2);
  EXPECT_EQ(sm2.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(sm2.error().message.find("unsupported elliptic curve"), std::string::npos)
      << sm2.error().describe();

  // A P-384 key pinned to ECDSA-SHA256 cannot make model_signing's ECDSA-SHA384.
  auto fixed = provider().open_signer("handle:0x81000011", options());
  ASSERT_FALSE(fixed);
  EXPECT_EQ(fixed.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(fixed.error().message.find("fixed to signature scheme"), std::string::npos)
      << fixed.error().describe();

  // RSA-4096 is a valid request that this TPM refuses: the TPM's code is decoded.
  auto big = provider().generate("handle:0x81000002", KeyType::kRsa4096, options());
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kUnsupported) << big.error().describe();
  EXPECT_NE(big.error().message.find("does not support"), std::string::npos) << big.error().describe();
  EXPECT_NE(big.error().backend_code, 0u);

  // Ed25519 does not exist in TPM 2.0.
  auto ed = provider().generate("handle:0x81000002", KeyType::kEd25519, options());
  ASSERT_FALSE(ed);
  EXPECT_EQ(ed.error().code, ErrorCode::kUnsupported);
}

TEST_F(Tpm2Test, OwnerHierarchyPasswordComesFromTheEnvironment) {
  fs::path file = work_ / "k.tss2.pem";
  GeneratedKey fkey = generate(file.string(), KeyType::kEcP256, options());
  auto r = sh("tpm2_changeauth -c owner owner-pw-77");
  ASSERT_EQ(r.status, 0) << r.output;

  // Key files and new keys need the owner storage primary, hence the owner password.
  auto s = provider().open_signer(file.string(), options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAuth);
  EXPECT_NE(s.error().message.find("owner hierarchy rejected the authorisation value"), std::string::npos)
      << s.error().describe();
  EXPECT_NE(s.error().message.find("MODELSIGN_TPM_OWNER_AUTH"), std::string::npos);
  auto g = provider().generate("handle:0x81000001", KeyType::kEcP256, options());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kAuth) << g.error().describe();

  setenv("MODELSIGN_TPM_OWNER_AUTH", "owner-pw-77", 1);
  expect_signs_and_verifies(file.string(), fkey.public_key, options());
  GeneratedKey hkey = generate("handle:0x81000001", KeyType::kEcP256, options());
  unsetenv("MODELSIGN_TPM_OWNER_AUTH");
  // A persistent key needs no owner password to sign.
  expect_signs_and_verifies("handle:0x81000001", hkey.public_key, options());
  EXPECT_TRUE(transient_handles().empty());
}

TEST_F(Tpm2Test, KeyFileFromAnotherTpmDoesNotLoad) {
  fs::path file = work_ / "other.tss2.pem";
  std::string other = start_tpm(work_ / "tpm-other");
  ASSERT_FALSE(other.empty());
  ProviderOptions o;
  o.params["tcti"] = other;
  generate(file.string(), KeyType::kEcP256, o);
  ASSERT_TRUE(provider().open_signer(file.string(), o));

  auto s = provider().open_signer(file.string(), options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("does not belong to this TPM"), std::string::npos)
      << s.error().describe();
  EXPECT_TRUE(transient_handles().empty());
}

TEST_F(Tpm2Test, GenerateRefusesAnOccupiedHandleAndAnExistingFile) {
  GeneratedKey first = generate("handle:0x81000001", KeyType::kEcP256, options());
  auto again = provider().generate("tpm2:handle=0x81000001", KeyType::kEcP384, options());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(again.error().message.find("0x81000001 is already in use"), std::string::npos)
      << again.error().describe();
  // The first key is untouched.
  expect_signs_and_verifies("handle:0x81000001", first.public_key, options());

  fs::path file = work_ / "exists.tss2.pem";
  write_file(file, "precious\n");
  auto f = provider().generate("file:" + file.string(), KeyType::kEcP256, options());
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("refusing to overwrite"), std::string::npos);
  EXPECT_EQ(read_file(file), "precious\n");
  EXPECT_TRUE(transient_handles().empty());
}

TEST_F(Tpm2Test, MalformedReferencesAndKeyFilesAreRejected) {
  for (const char* ref : {"handle:0x40000001", "handle:zz", "handle:", "tpm2:object=1"}) {
    auto s = provider().open_signer(ref, options());
    ASSERT_FALSE(s) << ref;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << ref << ": " << s.error().describe();
  }
  fs::path bad = work_ / "bad.tss2.pem";
  write_file(bad, "-----BEGIN TSS2 PRIVATE KEY-----\nMAMCAQA=\n-----END TSS2 PRIVATE KEY-----\n");
  auto s = provider().open_signer(bad.string(), options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kMalformed) << s.error().describe();
}

// ---------------------------------------------------------------- claims and listing

TEST_F(Tpm2Test, ClaimsHandlesAndTss2PemFilesButNotOtherFiles) {
  EXPECT_TRUE(provider().claims("handle:0x81000001"));
  EXPECT_TRUE(provider().claims("tpm2:handle=0x81000001"));
  EXPECT_FALSE(provider().claims("pkcs11:token=x;object=y"));
  EXPECT_FALSE(provider().claims((work_ / "missing.pem").string()));

  fs::path file = work_ / "k.tss2.pem";
  generate(file.string(), KeyType::kEcP256, options());
  EXPECT_TRUE(provider().claims(file.string()));
  fs::path spaced = work_ / "spaced.pem";
  write_file(spaced, "\n  " + read_file(file));
  EXPECT_TRUE(provider().claims(spaced.string()));

  fs::path plain = work_ / "plain.pem";
  auto r = sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + q(plain.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(provider().claims(plain.string()));
  // A pipe is never read: its content belongs to whoever the reference is meant for.
  fs::path fifo = work_ / "key.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(provider().claims(fifo.string()));
  // The registry routes TPM references here (this build has the TPM provider).
  auto routed = find_provider("handle:0x81000001");
  ASSERT_TRUE(routed) << routed.error().describe();
  EXPECT_EQ((*routed)->name(), "tpm2");
}

TEST_F(Tpm2Test, ListShowsPersistentSigningKeysWithTypesAndAttributes) {
  generate("handle:0x81000001", KeyType::kEcP256, options());
  generate("handle:0x81000002", KeyType::kRsa3072, options());
  // A persistent storage key (not a signing key) is not listed.
  fs::path t = work_ / "srk.ctx";
  auto r = sh("tpm2_createprimary -C o -g sha256 -G ecc256 -c " + q(t.string()) +
              " -Q && tpm2_evictcontrol -C o -c " + q(t.string()) + " 0x81000005 -Q && tpm2_flushcontext -t");
  ASSERT_EQ(r.status, 0) << r.output;

  auto l = provider().list("", options());
  ASSERT_TRUE(l) << l.error().describe();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0], "handle:0x81000001  ec-p256   fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|sign");
  EXPECT_EQ((*l)[1], "handle:0x81000002  rsa-3072  fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|sign");
}

// ---------------------------------------------------------------- transient objects

TEST_F(Tpm2Test, HundredSignaturesLeaveNoTransientObject) {
  fs::path file = work_ / "k.tss2.pem";
  GeneratedKey fkey = generate(file.string(), KeyType::kEcP256, options());
  GeneratedKey hkey = generate("handle:0x81000001", KeyType::kEcP256, options());
  EXPECT_TRUE(transient_handles().empty());

  // Each key-file signer loads the storage primary and the key: without flushing, the
  // TPM (3 object slots in swtpm) would run out on the second round.
  for (int i = 0; i < 100; ++i) {
    const bool use_file = i % 2 == 0;
    auto s = provider().open_signer(use_file ? file.string() : "handle:0x81000001", options());
    ASSERT_TRUE(s) << "round " << i << ": " << s.error().describe();
    auto sig = sign_message(**s, kMessage);
    ASSERT_TRUE(sig) << "round " << i << ": " << sig.error().describe();
    const PublicKey& pub = use_file ? fkey.public_key : hkey.public_key;
    ASSERT_TRUE(pub.verify((*s)->scheme(), kMessage, *sig)) << "round " << i;
  }
  EXPECT_TRUE(transient_handles().empty());
  auto r = sh("tpm2_getcap handles-transient");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "") << "tpm2-tools sees transient objects";

  // One signer, 100 signatures: its key is loaded for each signature only, so nothing
  // stays loaded while it lives (while the model is hashed).
  {
    auto s = provider().open_signer(file.string(), options());
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_TRUE(transient_handles().empty()) << "the key stays loaded after the signer opened";
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(sign_message(**s, kMessage)) << "signature " << i;
    EXPECT_TRUE(transient_handles().empty());
  }
  EXPECT_TRUE(transient_handles().empty());
}

TEST_F(Tpm2Test, FailedSignaturesAlsoLeaveNoTransientObject) {
  // Enough tries that the failures below stay wrong-auth errors, not a lockout.
  auto r = sh("tpm2_dictionarylockout -s -n 1000 -t 1 -l 1 -Q");
  ASSERT_EQ(r.status, 0) << r.output;
  fs::path file = work_ / "k.tss2.pem";
  generate(file.string(), KeyType::kEcP256, options_with_auth("right"));
  ProviderOptions wrong = options_with_auth("wrong");
  for (int i = 0; i < 20; ++i) {
    auto sig = provider().open_signer(file.string(), wrong);
    ASSERT_FALSE(sig);
    ASSERT_EQ(sig.error().code, ErrorCode::kAuth) << "round " << i << ": " << sig.error().describe();
  }
  // A digest of the wrong size is refused before it reaches the TPM.
  auto s = provider().open_signer(file.string(), options_with_auth("right"));
  ASSERT_TRUE(s);
  Bytes short_digest(20, 0);
  auto sig = (*s)->sign(SignRequest{kMessage, short_digest});
  ASSERT_FALSE(sig);
  EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument);
  s->reset();
  EXPECT_TRUE(transient_handles().empty());
}

// ---------------------------------------------------------------- interoperability

TEST_F(Tpm2Test, PersistentKeyMadeByTpm2ToolsSigns) {
  fs::path t = work_ / "tools";
  fs::create_directories(t);
  const std::string d = q(t.string());
  auto r = sh("tpm2_createprimary -C o -g sha256 -G ecc256 -c " + d + "/p.ctx -Q && "
              "tpm2_create -C " + d + "/p.ctx -G ecc256 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' "
              "-u " + d + "/k.pub -r " + d + "/k.priv -Q && tpm2_flushcontext -t && "
              "tpm2_load -C " + d + "/p.ctx -u " + d + "/k.pub -r " + d + "/k.priv -c " + d + "/k.ctx -Q && "
              "tpm2_evictcontrol -C o -c " + d + "/k.ctx 0x81000001 -Q && tpm2_flushcontext -t && "
              "tpm2_readpublic -c 0x81000001 -f pem -o " + d + "/k.pub.pem -Q");
  ASSERT_EQ(r.status, 0) << r.output;
  auto pub = PublicKey::from_pem_file((t / "k.pub.pem").string());
  ASSERT_TRUE(pub) << pub.error().describe();
  expect_signs_and_verifies("handle:0x81000001", *pub, options());
}

TEST_F(Tpm2Test, KeyFileMadeByOpensslTpm2ProviderSigns) {
  for (const char* curve : {"P-256", "P-384"}) {
    fs::path key = work_ / (std::string(curve) + ".tss2.pem");
    fs::path pem = work_ / (std::string(curve) + ".pub.pem");
    auto r = sh("openssl genpkey -provider tpm2 -provider base -algorithm EC -pkeyopt group:" +
                std::string(curve) + " -out " + q(key.string()) +
                " && openssl pkey -provider tpm2 -provider base -in " + q(key.string()) +
                " -pubout -out " + q(pem.string()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(provider().claims(key.string()));
    auto pub = PublicKey::from_pem_file(pem.string());
    ASSERT_TRUE(pub) << pub.error().describe();
    expect_signs_and_verifies(key.string(), *pub, options());
  }
  EXPECT_TRUE(transient_handles().empty());
}

TEST_F(Tpm2Test, OurKeyFileSignsThroughOpensslTpm2Provider) {
  fs::path key = work_ / "ours.tss2.pem";
  GeneratedKey k = generate(key.string(), KeyType::kEcP256, options());
  fs::path digest = work_ / "msg.sha256", sig = work_ / "msg.sig", msg = work_ / "msg", pem = work_ / "pub.pem";
  write_file(msg, std::string(kMessage.begin(), kMessage.end()));
  write_file(pem, k.public_key.to_pem());
  auto r = sh("openssl dgst -sha256 -binary -out " + q(digest.string()) + " " + q(msg.string()) +
              " && openssl pkeyutl -provider tpm2 -provider base -sign -inkey " + q(key.string()) +
              " -in " + q(digest.string()) + " -out " + q(sig.string()) +
              " && openssl dgst -sha256 -verify " + q(pem.string()) + " -signature " + q(sig.string()) +
              " " + q(msg.string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Verified OK"), std::string::npos) << r.output;
}

}  // namespace
