#include "ci/method_choice.h"

#include <fmt/format.h>

namespace modelsign::ci {

namespace {

enum class Var { kUnset, kEmpty, kSet };

Var state(const audit::EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v == nullptr ? Var::kUnset : *v == '\0' ? Var::kEmpty : Var::kSet;
}

const char* describe(Var v) {
  return v == Var::kUnset ? "not set" : v == Var::kEmpty ? "set but empty" : "set";
}

}  // namespace

Result<SignChoice> choose_sign_method(const SignFlags& f, const audit::EnvLookup& env) {
  const int given = int(f.private_key) + int(f.pkcs11_uri) + int(f.tpm2_key);
  if (given > 1)
    return fail(ErrorCode::kInvalidArgument,
                "more than one key given: pass only one of --private-key, --pkcs11-uri, --tpm2-key");
  const char* cert = f.signing_certificate ? "certificate" : "key";
  if (f.private_key)
    return SignChoice{f.signing_certificate ? "certificate" : "key",
                      fmt::format("--private-key was given{}", f.signing_certificate ? " with --signing-certificate" : ""),
                      {}};
  if (f.pkcs11_uri)
    return SignChoice{fmt::format("pkcs11-{}", cert), "--pkcs11-uri was given", {}};
  if (f.tpm2_key) return SignChoice{fmt::format("tpm2-{}", cert), "--tpm2-key was given", {}};

  const Var token = state(env, kSigstoreTokenEnv);
  const Var gh_url = state(env, kGithubTokenUrlEnv);
  const Var gh_token = state(env, kGithubTokenEnv);
  const Var key = state(env, kPrivateKeyEnv);
  const std::string key_note =
      key == Var::kSet ? fmt::format(" ({} is set too: pass --private-key env:{} to sign with the key instead)",
                                     kPrivateKeyEnv, kPrivateKeyEnv)
                       : "";
  if (f.signing_certificate && token != Var::kSet && key != Var::kSet)
    return fail(ErrorCode::kNotFound,
                "Private key not found: --signing-certificate was given without a key; pass --private-key "
                "PATH, --pkcs11-uri URI or --tpm2-key REF, or set SIGNING_PRIVATE_KEY");
  if (!f.signing_certificate) {
    if (token == Var::kSet)
      return SignChoice{"sigstore", fmt::format("an OIDC identity token is in {}{}", kSigstoreTokenEnv, key_note), {}};
    if (gh_url == Var::kSet && gh_token == Var::kSet)
      return SignChoice{"sigstore",
                        fmt::format("GitHub Actions ambient OIDC credentials are available ({} and {}){}",
                                    kGithubTokenUrlEnv, kGithubTokenEnv, key_note),
                        {}};
  }
  if (key == Var::kSet)
    return SignChoice{f.signing_certificate ? "certificate" : "key",
                      fmt::format("no OIDC identity is available, and {} holds a private key", kPrivateKeyEnv),
                      fmt::format("env:{}", kPrivateKeyEnv)};

  const bool on_github = state(env, "GITHUB_ACTIONS") == Var::kSet;
  const bool on_gitlab = state(env, "GITLAB_CI") == Var::kSet;
  std::string oidc_fix = on_github   ? "the job needs 'permissions: id-token: write'"
                         : on_gitlab ? "the job needs 'id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore'"
                                     : "on GitHub Actions set 'permissions: id-token: write'; on GitLab CI "
                                       "add 'id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore'; elsewhere export "
                                       "SIGSTORE_ID_TOKEN";
  return fail(ErrorCode::kNotFound,
              fmt::format("no signing method available. No OIDC token available: {} is {}, {} is {} and {} is {}; "
                          "{}, and check that the CI platform supports OIDC. Private key not found: "
                          "--private-key, --pkcs11-uri and --tpm2-key were not given and {} is {}; check that "
                          "the secret is named {}, that it holds the key in PEM format "
                          "(-----BEGIN ... PRIVATE KEY-----), and that a key file passed with --private-key "
                          "has permissions 600. Or name a method: modelsign sign key|certificate|pkcs11-key|"
                          "tpm2-key|sigstore ...",
                          kSigstoreTokenEnv, describe(token), kGithubTokenUrlEnv, describe(gh_url), kGithubTokenEnv,
                          describe(gh_token), oidc_fix, kPrivateKeyEnv, describe(key), kPrivateKeyEnv));
}

Result<VerifyChoice> choose_verify_method(bundle::Material material, const std::string& key_hint,
                                          const VerifyFlags& f) {
  const bool key_flag = f.public_key || f.pkcs11_uri || f.tpm2_key;
  const bool cert_flag = f.certificate_chain || f.use_system_trust_store;
  const bool id_flag = f.identity || f.identity_provider;
  switch (material) {
    case bundle::Material::kPublicKey: {
      std::string what = key_hint.empty() ? "a key" : fmt::format("a key (public key hint {})", key_hint);
      if (cert_flag || id_flag)
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("the signature was made with {}, not a certificate: --certificate-chain, "
                                "--use-system-trust-store, --identity and --identity-provider do not apply; pass "
                                "--public-key PEM, --pkcs11-uri URI or --tpm2-key REF",
                                what));
      if (!key_flag)
        return fail(ErrorCode::kNotFound,
                    fmt::format("the signature was made with {}: pass its public key with --public-key PEM, "
                                "--pkcs11-uri URI or --tpm2-key REF",
                                what));
      return VerifyChoice{"key", "the signature carries a public key hint and a public key was given"};
    }
    case bundle::Material::kCertificateChain:
      if (key_flag || id_flag)
        return fail(ErrorCode::kInvalidArgument,
                    "the signature carries an X.509 certificate chain (not a public key hint, not a keyless "
                    "transparency-log entry): pass --certificate-chain ROOT.pem or --use-system-trust-store");
      if (!cert_flag)
        return fail(ErrorCode::kNotFound,
                    "the signature carries an X.509 certificate chain: pass the trusted root with "
                    "--certificate-chain ROOT.pem (or --use-system-trust-store)");
      return VerifyChoice{"certificate", "the signature carries a certificate chain and trust anchors were given"};
    case bundle::Material::kSigstore:
      if (key_flag || cert_flag)
        return fail(ErrorCode::kInvalidArgument,
                    "the signature is keyless (Sigstore certificate and transparency-log entry): pass "
                    "--identity SAN and --identity-provider ISSUER, not a key or certificate chain");
      if (!f.identity || !f.identity_provider)
        return fail(ErrorCode::kNotFound,
                    "the signature is keyless (Sigstore): pass the expected signer with --identity SAN and "
                    "--identity-provider ISSUER");
      return VerifyChoice{"sigstore", "the signature is keyless and --identity/--identity-provider were given"};
  }
  return fail(ErrorCode::kInternal, "unknown verification material");
}

}  // namespace modelsign::ci
