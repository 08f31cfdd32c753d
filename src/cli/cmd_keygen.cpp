#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>

#include "cli/commands.h"
#include "common/files.h"
#include "cli/output.h"
#include "modelsign/log.h"
#include "tpm2/tpm2_provider.h"

namespace modelsign::cli {

namespace {

struct KeygenArgs {
  std::string private_key;
  std::string public_key;
  std::string key_type = "ec-p256";
  std::string curve;
  std::string password_file;
  std::string pkcs11_uri;
  std::string public_key_from;  // derive --public-key from this existing private key
  // --tpm2: the key is created inside the TPM, persistent or wrapped in a TSS2 key file.
  bool tpm2 = false;
  std::string persistent;
  std::string key_file;
  Tpm2Options tpm;
};

// Creates the missing parent directories of `path` with mode 0700 (keys live there).
Result<void> make_parent_dirs(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) == 0) {
      log::info("created the directory '{}' (mode 0700)", dir);
      continue;
    }
    if (errno != EEXIST)
      return fail(ErrorCode::kIo, fmt::format("cannot create the directory '{}' for '{}': {}", dir,
                                              path, std::strerror(errno)));
  }
  return {};
}

// The success report: text lines, or the JSON object.
int keygen_success(std::string_view type, const std::string& reference, const std::string& where,
                   const KeygenArgs& a, const PublicKey& pub) {
  if (output().json) {
    auto j = json_header(true, kExitOk);
    j["key_type"] = type;
    j["key"] = reference;
    if (!a.public_key.empty()) j["public_key"] = a.public_key;
    j["public_key_hint"] = pub.hint();
    return emit_json(j);
  }
  return emit_text(fmt::format(
      "Generated {} key {}{}\n{}public key hint: {}\n"
      "  (the hint is the SHA-256 of the public key PEM: signatures made with this key carry it, and "
      "'verify key' checks that the public key it is given has the same hint)\n",
      type, log::printable(reference), where,
      a.public_key.empty() ? "" : fmt::format("Public key written to {}\n", log::printable(a.public_key)),
      pub.hint()));
}

// keygen --public-key-from PRIV --public-key OUT: the public half of an existing key.
int run_public_from(const KeygenArgs& a) {
  if (a.public_key.empty()) return usage_error("--public-key-from needs --public-key OUT for the public key file");
  if (::access(a.public_key.c_str(), F_OK) == 0)
    return report_failure("Key generation",
                          Error(ErrorCode::kInvalidArgument,
                                fmt::format("refusing to overwrite the existing file '{}'", a.public_key)));
  ProviderOptions opts;
  opts.secret.file = a.password_file;
  opts.secret.env_var = "MODELSIGN_KEY_PASSWORD";
  opts.secret.prompt = prompt_on_terminal;
  auto pub = load_public_key(a.public_key_from, opts);
  if (!pub) return report_failure("Key generation", pub.error());
  if (auto d = make_parent_dirs(a.public_key); !d) return report_failure("Key generation", d.error());
  if (auto w = write_new_file(a.public_key, pub->to_pem(), 0644); !w)
    return report_failure("Key generation", w.error());
  if (output().json) {
    auto j = json_header(true, kExitOk);
    j["key"] = a.public_key_from;
    j["public_key"] = a.public_key;
    j["public_key_hint"] = pub->hint();
    return emit_json(j);
  }
  return emit_text(fmt::format("Public key of {} written to {}\npublic key hint: {}\n",
                        log::printable(a.public_key_from), log::printable(a.public_key), pub->hint()));
}

// The key pair is made inside the token and never leaves it; only the public half is
// written out.
int run_pkcs11(const KeygenArgs& a, KeyType type) {
  if (!a.private_key.empty() || !a.password_file.empty())
    return report_failure(
        "Key generation",
        Error(ErrorCode::kInvalidArgument,
              "--private-key and --password-file are for PEM keys; a --pkcs11-uri key stays in "
              "the token and its PIN comes from the URI's pin-source, MODELSIGN_PKCS11_PIN or a "
              "prompt"));
  if (!a.public_key.empty() && ::access(a.public_key.c_str(), F_OK) == 0)
    return report_failure("Key generation",
                          Error(ErrorCode::kInvalidArgument,
                                fmt::format("refusing to overwrite the existing file '{}'", a.public_key)));
  auto provider = provider_by_name("pkcs11");
  if (!provider) return report_failure("Key generation", provider.error());
  auto key = (*provider)->generate(a.pkcs11_uri, type, pkcs11_provider_options());
  if (!key) return report_failure("Key generation", key.error());
  if (!a.public_key.empty()) {
    if (auto w = write_new_file(a.public_key, key->public_key.to_pem(), 0644); !w)
      return report_failure(
          "Key generation",
          w.error().with_context(fmt::format("the key {} was created in the token, but its public "
                                             "key could not be written",
                                             key->reference)));
  }
  return keygen_success(to_string(type), key->reference, "", a, key->public_key);
}

int run_tpm2(const KeygenArgs& a, KeyType type) {
  if (a.persistent.empty() == a.key_file.empty())
    return usage_error("with --tpm2, pass either --persistent HANDLE or --key-file PATH");
  if (!a.public_key.empty() && ::access(a.public_key.c_str(), F_OK) == 0)
    return report_failure("Key generation",
                          Error(ErrorCode::kInvalidArgument,
                                fmt::format("refusing to overwrite the existing file '{}'", a.public_key)));
  auto provider = provider_by_name("tpm2");
  if (!provider) return report_failure("Key generation", provider.error());
  std::string ref =
      a.persistent.empty() ? "file:" + a.key_file : tpm2_persistent_reference(a.persistent);
  auto key = (*provider)->generate(ref, type, tpm2_provider_options(a.tpm));
  if (!key) return report_failure("Key generation", key.error());
  if (!a.public_key.empty()) {
    if (auto w = write_new_file(a.public_key, key->public_key.to_pem(), 0644); !w) {
      // A key file is useless without its public key; a persistent key can be read back.
      if (!a.key_file.empty()) ::unlink(a.key_file.c_str());
      Error e = w.error();
      if (a.key_file.empty())
        e.message += fmt::format("; the key exists at {}: export its public key with "
                                 "'tpm2_readpublic -c {} -f pem -o FILE'",
                                 key->reference, key->reference.substr(key->reference.find(':') + 1));
      return report_failure("Key generation", e);
    }
  }
  return keygen_success(to_string(type), key->reference,
                        a.key_file.empty() ? " in the TPM" : " (wrapped by this TPM)", a, key->public_key);
}

int run(const KeygenArgs& a) {
  auto type = parse_key_type(a.curve.empty() ? a.key_type : a.curve);
  if (!type) return report_failure("Key generation", type.error());
  if (!a.public_key_from.empty()) return run_public_from(a);
  if (!a.pkcs11_uri.empty()) return run_pkcs11(a, *type);
  if (a.tpm2) return run_tpm2(a, *type);
  if (a.private_key.empty())
    return usage_error("pass --private-key PATH for the new key (and --public-key PATH for its public half)");
  for (const auto* p : {&a.private_key, &a.public_key})
    if (!p->empty())
      if (auto d = make_parent_dirs(*p); !d) return report_failure("Key generation", d.error());
  // Check before generating: a key whose public half cannot be written is useless.
  if (!a.public_key.empty() && ::access(a.public_key.c_str(), F_OK) == 0)
    return report_failure("Key generation",
                          Error(ErrorCode::kInvalidArgument,
                                fmt::format("refusing to overwrite the existing file '{}'", a.public_key)));
  ProviderOptions opts;
  opts.secret.file = a.password_file;
  auto provider = provider_by_name("pem");
  if (!provider) return report_failure("Key generation", provider.error());
  auto key = (*provider)->generate(a.private_key, *type, opts);
  if (!key) return report_failure("Key generation", key.error());
  if (!a.public_key.empty()) {
    if (auto w = write_new_file(a.public_key, key->public_key.to_pem(), 0644); !w) {
      ::unlink(a.private_key.c_str());  // don't leave half a key pair behind
      return report_failure("Key generation", w.error());
    }
  }
  return keygen_success(to_string(*type), key->reference, "", a, key->public_key);
}

}  // namespace

void register_keygen(CLI::App& app, GlobalOptions&, int* rc) {
  auto* a = make_args<KeygenArgs>();
  CLI::App* cmd = app.add_subcommand("keygen", "Create a signing key pair");
  cmd->add_option(flag("private-key"), a->private_key,
                  "Private key file to create (mode 0600; missing directories are made 0700)")
      ->option_text("PATH")
      ->group(kGroupKey);
  cmd->add_option(flag("public-key"), a->public_key, "Public key PEM file to create")
      ->option_text("PATH")
      ->group(kGroupKey);
  cmd->add_option(flag("public-key-from"), a->public_key_from,
                  "Instead of a new key: write the public half of this existing private key to "
                  "--public-key")
      ->option_text("PATH")
      ->group(kGroupKey);
  cmd->add_option(flag("key-type"), a->key_type,
                  "ec-p256 (default), ec-p384 or ec-p521; with --tpm2 also rsa-2048, rsa-3072");
  cmd->add_option(flag("curve"), a->curve, "Alias: P-256, P-384 or P-521");
  CLI::Option* password = cmd->add_option(flag("password-file"), a->password_file,
                                          "Encrypt the private key with the password in this file");
  CLI::Option* tpm2 = cmd->add_flag(flag("tpm2"), a->tpm2,
                                    "Create the key inside the TPM 2.0 (ec-p256, ec-p384, rsa-3072)");
  tpm2->excludes(password)->excludes(cmd->get_option("--private-key"));
  CLI::Option* persistent =
      cmd->add_option(flag("persistent"), a->persistent,
                      "--tpm2: make the key persistent at this owner handle, e.g. 0x81000001")
          ->needs(tpm2);
  cmd->add_option(flag("key-file"), a->key_file,
                  "--tpm2: write the TPM-wrapped key to this new TSS2 PRIVATE KEY file")
      ->needs(tpm2)
      ->excludes(persistent);
  cmd->add_option(flag("tcti"), a->tpm.tcti, "--tpm2: TPM connection (default: $TPM2TOOLS_TCTI, "
                                             "$TSS2_TCTI, then the tss default search)")
      ->needs(tpm2);
  cmd->add_option(flag("tpm2-auth-file"), a->tpm.auth_file,
                  "--tpm2: file holding the new key's authorisation value (or set "
                  "MODELSIGN_TPM_AUTH; default: none)")
      ->needs(tpm2);
  cmd->add_option(flag("pkcs11-uri"), a->pkcs11_uri,
                  "Generate the key pair inside a PKCS#11 token instead: "
                  "\"pkcs11:token=LABEL;object=KEY-LABEL\" (key types also rsa-2048/3072/4096, "
                  "ed25519)")
      ->excludes(tpm2);
  set_footer(cmd, "Examples:\n"
              "  modelsign keygen --private-key keys/signer.pem --public-key keys/signer.pub\n"
              "  modelsign keygen --public-key-from keys/signer.pem --public-key signer.pub\n"
              "  modelsign keygen --pkcs11-uri \"pkcs11:token=prod;object=model-key\" --public-key signer.pub");
  cmd->callback([a, rc] { *rc = run(*a); });
}

}  // namespace modelsign::cli
