// softhsm-fixtures/softhsm-setup.sh for NSS's softoken: creates a private token (a new
// NSS database in a fresh temporary directory), generates signing keys inside it and
// prints the environment to use it as `export NAME='value'` lines, with the same names,
// key labels and ids as softhsm-setup.sh; softhsm-teardown.sh removes the directory.
// Softoken reads its database from its C_Initialize arguments, which pkcs11-tool and
// p11tool cannot pass (and p11-kit ignores a user's module configuration for root), so
// keys are made and public keys exported here through raw Cryptoki; modelsign gets the
// arguments from MODELSIGN_PKCS11_INIT_ARGS.
//
// usage: softoken_setup MODULE SOURCE_DIR [--keys "K1 K2"] [--pin PIN] [--label L] [--cert]
//        softoken_setup --add-p256 MODULE TOKEN PIN LABEL ID_HEX
//          (one more P-256 key on a token made before; the arguments from
//          $MODELSIGN_PKCS11_INIT_ARGS)
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "crypto/encoding.h"
#include "raw_token.h"

namespace {

using namespace modelsign;
using namespace modelsign::testing;

const std::map<std::string, std::uint8_t> kIds = {{"ec-p256", 1}, {"ec-p384", 2}, {"ec-p521", 3},
                                                  {"rsa-3072", 4}, {"ed25519", 5}, {"rsa-2048", 6},
                                                  {"rsa-4096", 7}};

std::string var_of(std::string key) {
  for (auto& c : key) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return key;
}

void print_export(const std::string& name, const std::string& value) {
  std::string q;
  for (char c : value) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  std::cout << "export " << name << "='" << q << "'\n";
}

int setup(int argc, char** argv, std::string& dir) {
  if (argc < 3) throw std::invalid_argument("usage: softoken_setup MODULE SOURCE_DIR [options]");
  const std::string module = argv[1], source = argv[2];
  std::string keys_arg, pin = "1234", label = "modelsign-test";
  bool cert = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cert") cert = true;
    else if (i + 1 < argc && a == "--keys") keys_arg = argv[++i];
    else if (i + 1 < argc && a == "--pin") pin = argv[++i];
    else if (i + 1 < argc && a == "--label") label = argv[++i];
    else throw std::invalid_argument("unknown option " + a);
  }
  std::vector<std::string> keys;
  std::istringstream in(keys_arg);
  for (std::string k; in >> k;) keys.push_back(k);

  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/modelsign-softoken.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir = tmpl;
  write_text(dir + "/.modelsign-softhsm", "");  // the marker softhsm-teardown.sh checks
  std::filesystem::create_directory(dir + "/pub");
  std::filesystem::create_directory(dir + "/nssdb");
  write_text(dir + "/pin", pin + "\n");
  ::chmod((dir + "/pin").c_str(), 0600);
  // The database password is the token's user PIN (certutil reads it without the newline).
  auto r = run_command("certutil -N -d " + shell_quote("sql:" + dir + "/nssdb") + " -f " +
                       shell_quote(dir + "/pin") + " 2>&1");
  if (r.rc != 0) throw std::runtime_error("certutil -N failed: " + r.out);
  const std::string init_args = "configdir='sql:" + dir + "/nssdb' certPrefix='' keyPrefix='' "
                                "secmod='secmod.db' dbTokenDescription='" + label + "' flags=";
  {
    RawToken raw(module, init_args, label, true, pin);
    for (const auto& k : keys) {
      auto type = parse_key_type(k);
      if (!type || !kIds.contains(k)) throw std::invalid_argument("unknown key type " + k);
      Bytes id{kIds.at(k)};
      CK_RV rv = raw.generate(*type, k, id);
      if (rv != CKR_OK)
        throw std::runtime_error("softoken cannot make a " + k + " key: " + p11_kit_strerror(rv));
      auto pubs = raw.find_id(id, CKO_PUBLIC_KEY);
      if (pubs.size() != 1) throw std::runtime_error("no public key object for " + k);
      write_text(dir + "/pub/" + k + ".pem", raw.public_pem(pubs[0]));
    }
    if (cert) {
      auto c = run_command("bash " + shell_quote(source + "/softhsm-fixtures/make-test-cert.sh") + " " +
                           shell_quote(dir) + " 2>&1");
      if (c.rc != 0) throw std::runtime_error("make-test-cert.sh failed: " + c.out);
      std::string der = read_text(dir + "/ec-p256.cert.der");
      CK_RV rv = raw.add_certificate(Bytes(der.begin(), der.end()), "ec-p256", Bytes{1});
      if (rv != CKR_OK) throw std::runtime_error(std::string("cannot store the certificate: ") + p11_kit_strerror(rv));
    }
  }
  print_export("MODELSIGN_SOFTHSM_DIR", dir);
  print_export("MODELSIGN_PKCS11_MODULE", module);
  print_export("MODELSIGN_PKCS11_INIT_ARGS", init_args);
  print_export("MODELSIGN_PKCS11_TOKEN", label);
  print_export("MODELSIGN_PKCS11_PIN_FILE", dir + "/pin");
  for (const auto& k : keys) {
    print_export("MODELSIGN_PKCS11_URI_" + var_of(k), "pkcs11:token=" + label + ";object=" + k +
                                                          "?module-path=" + module +
                                                          "&pin-source=file:" + dir + "/pin");
    print_export("MODELSIGN_PKCS11_PUB_" + var_of(k), dir + "/pub/" + k + ".pem");
  }
  if (cert) {
    print_export("MODELSIGN_PKCS11_CERT_EC_P256", dir + "/ec-p256.cert.pem");
    print_export("MODELSIGN_PKCS11_CA", dir + "/ca.pem");
  }
  return 0;
}

int add_p256(int argc, char** argv) {
  if (argc != 7) throw std::invalid_argument("usage: softoken_setup --add-p256 MODULE TOKEN PIN LABEL ID_HEX");
  const char* args = std::getenv("MODELSIGN_PKCS11_INIT_ARGS");
  if (args == nullptr) throw std::invalid_argument("MODELSIGN_PKCS11_INIT_ARGS is not set");
  auto id = from_hex(argv[6]);
  if (!id) throw std::invalid_argument("ID_HEX is not hex");
  RawToken raw(argv[2], args, argv[3], true, argv[4]);
  CK_RV rv = raw.generate(KeyType::kEcP256, argv[5], *id);
  if (rv != CKR_OK) throw std::runtime_error(std::string("cannot make the key: ") + p11_kit_strerror(rv));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  try {
    if (argc > 1 && std::string(argv[1]) == "--add-p256") return add_p256(argc, argv);
    return setup(argc, argv, dir);
  } catch (const std::exception& e) {
    std::cerr << "softoken_setup: " << e.what() << "\n";
    if (!dir.empty()) std::filesystem::remove_all(dir);
    return 1;
  }
}
