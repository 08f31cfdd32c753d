#include "test_support.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace modelsign::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelsign-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Restore permissions that tests may have removed, then delete.
  for (auto it = fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& p, std::string_view content, unsigned mode) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path testdata() { return fs::path(MODELSIGN_TESTDATA_DIR); }
fs::path upstream_fixtures() { return testdata() / "model-transparency" / "scripts" / "tests"; }

std::string private_key_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<size_t>(len));
  BIO_free(bio);
  return s;
}

std::string write_ec_key(const fs::path& p, const char* curve, EVP_PKEY** out_key) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  std::string pem = private_key_pem(k);
  write_file(p, pem, 0600);
  if (out_key != nullptr) *out_key = k;
  else EVP_PKEY_free(k);
  return p.string();
}

std::string TestCert::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<size_t>(len));
  BIO_free(bio);
  return s;
}

Bytes TestCert::der() const {
  unsigned char* d = nullptr;
  int len = i2d_X509(cert, &d);
  Bytes b(d, d + len);
  OPENSSL_free(d);
  return b;
}

Pki::~Pki() {
  for (auto* c : certs_) X509_free(c);
  for (auto* k : keys_) EVP_PKEY_free(k);
}

static void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

TestCert Pki::make(const CertSpec& spec, const char* curve, const TestCert* issuer) {
  EVP_PKEY* key = EVP_EC_gen(curve);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  static std::mt19937_64 rng(42);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), rng() >> 2);
  if (spec.not_before_time) ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(*spec.not_before_time));
  else X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_offset);
  if (spec.not_after_time) ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(*spec.not_after_time));
  else X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_offset);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn.c_str()),
                             -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert : cert;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key : key;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509_set_pubkey(cert, key);
  if (spec.ca) {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    if (!spec.key_usage.empty()) add_ext(cert, issuer_cert, NID_key_usage, spec.key_usage.c_str());
    else if (spec.key_usage_digital_signature) add_ext(cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
    if (!spec.extended_key_usage.empty())
      add_ext(cert, issuer_cert, NID_ext_key_usage, spec.extended_key_usage.c_str());
    else if (spec.eku_code_signing) add_ext(cert, issuer_cert, NID_ext_key_usage, "codeSigning");
  }
  add_ext(cert, issuer_cert, NID_subject_key_identifier, "hash");
  X509_sign(cert, issuer_key, EVP_sha256());
  keys_.push_back(key);
  certs_.push_back(cert);
  return TestCert{key, cert};
}

}  // namespace modelsign::test
