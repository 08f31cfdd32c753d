// `sign sigstore`: keyless signing. The job's OIDC identity gets a short-lived Fulcio
// certificate for the signing key (an ephemeral one by default, or a PEM / PKCS#11 / TPM
// key that stays where it is), the signature is timestamped and logged in Rekor, and
// the bundle is verified before it is written.
#include <CLI/CLI.hpp>
#include <openssl/crypto.h>
#include <unistd.h>

#include <ctime>
#include <optional>
#include <fmt/format.h>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/keyless_sign.h"
#include "cli/sigstore_trust.h"
#include "common/files.h"
#include "crypto/encoding.h"
#include "keyless.h"
#include "modelsign/log.h"

namespace modelsign::cli {

namespace {

struct SigstoreSignArgs {
  SignArgs sign;
  std::string identity_token;  // upstream's flag; visible in the process list
  bool use_ambient_credentials = true;
  SigstoreTrustOptions trust;
  bool oauth_force_oob = false;
  std::string client_id = "sigstore";
  std::string client_secret;
  std::string private_key;
  std::string password_file;
  std::string pkcs11_uri;
  Tpm2Options tpm;
  std::string ca_file;
};

void wipe(std::string& s) {
  if (s.capacity() != 0) OPENSSL_cleanse(s.data(), s.capacity());
  s.clear();
}

Result<std::unique_ptr<Signer>> open_keyless_signer(const SigstoreSignArgs& a) {
  int given = !a.private_key.empty() + !a.pkcs11_uri.empty() + !a.tpm.key.empty();
  if (given > 1)
    return fail(ErrorCode::kInvalidArgument, "pass at most one of --private-key, --pkcs11-uri, --tpm2-key");
  if (!a.pkcs11_uri.empty()) return open_signer(a.pkcs11_uri, pkcs11_provider_options());
  if (!a.tpm.key.empty()) {
    auto p = tpm2_provider_for(a.tpm.key);
    if (!p) return fail(p.error());
    return (*p)->open_signer(a.tpm.key, tpm2_provider_options(a.tpm));
  }
  if (!a.private_key.empty()) {
    ProviderOptions o;
    o.secret.file = a.password_file;
    o.secret.env_var = "MODELSIGN_KEY_PASSWORD";
    o.secret.prompt = prompt_on_terminal;
    return open_signer(a.private_key, o);
  }
  return sigstore::ephemeral_signer();
}

// The trusted root and signing config from the shared resolver (--trust-config, else TUF
// with its cache). A production or staging TUF repository without a signing config target
// falls back to the signing config built in for that instance.
Result<sigstore::Trust> load_signing_trust(const SigstoreTrustOptions& o) {
  auto t = resolve_sigstore_trust(o);
  if (!t) return fail(t.error());
  log::info("trusted root: {}", t->trusted_root_source);
  sigstore::Trust out;
  auto root = root::parse_trusted_root(t->trusted_root_json, t->trusted_root_source);
  if (!root) return fail(root.error());
  out.root = std::move(*root);
  if (t->signing_config_json) {
    auto c = sigstore::parse_signing_config(*t->signing_config_json, t->signing_config_source);
    if (!c) return fail(c.error());
    out.config = std::move(*c);
  } else if (o.trust_config.empty() && o.tuf_url.empty()) {
    auto c = sigstore::builtin_signing_config(o.use_staging);
    if (!c) return fail(c.error());
    log::info("signing config: built in ({})", t->signing_config_source);
    out.config = std::move(*c);
  } else {
    return fail(ErrorCode::kNotFound, t->signing_config_source);
  }
  return out;
}

}  // namespace

Result<KeylessSignOutcome> sign_keyless_to_file(const KeylessSignRequest& q) {
  if (auto c = check_output_path(q.signature_path); !c) return fail(c.error());

  // The token is checked locally before any network call, TUF included. Only the
  // interactive login needs the signing config first (it names the OIDC issuer).
  sigstore::HttpOptions ho;
  ho.ca_file = q.ca_file;
  ho.user_agent = "modelsign/" MODELSIGN_VERSION;
  sigstore::HttpClient http(ho);
  sigstore::TokenSources ts;
  ts.flag_token = q.identity_token;
  ts.flag_token_name = q.identity_token_name;
  ts.ambient = q.use_ambient_credentials;
  ts.client_id = q.client_id;
  ts.client_secret = q.client_secret;
  ts.force_oob = q.oauth_force_oob;
  ts.interactive = q.interactive;
  const std::int64_t now = std::time(nullptr);
  std::optional<sigstore::IdentityToken> token;
  if (!q.interactive) {
    auto t = sigstore::find_token(ts, http, now);
    if (!t) return fail(t.error());
    token = std::move(*t);
  }

  auto trust = load_signing_trust(q.trust);
  if (!trust) return fail(trust.error());
  auto plan = sigstore::plan_services(trust->config, now);
  if (!plan) return fail(plan.error());

  if (!token) {
    ts.oidc_url = plan->oidc_url;
    auto t = sigstore::find_token(ts, http, now);
    if (!t) return fail(t.error());
    token = std::move(*t);
  }
  log::warning("signing as {} (issuer {}; identity token from {}); the identity is recorded publicly in the "
               "transparency log",
               token->identity, token->issuer, token->source);

  auto signer = q.open_signer ? q.open_signer() : sigstore::ephemeral_signer();
  if (!signer) return fail(signer.error());
  log::debug("signing key: {} ({})", (*signer)->describe(), (*signer)->public_key().describe());

  auto r = sigstore::sign_keyless(q.model_path, **signer, q.options, *trust, *plan, *token, http);
  if (!r) return fail(r.error());
  // Interrupted (the Python package's KeyboardInterrupt): no signature is written at all.
  if (q.options.hashing.observer && q.options.hashing.observer->cancel.load())
    return fail(ErrorCode::kInternal, kHashingCancelled);
  if (auto w = write_file_atomically(q.signature_path, r->sign.bundle_json); !w) return fail(w.error());
  return KeylessSignOutcome{std::move(*r), plan->fulcio.url, trust->config.source};
}

void note_keyless_signed(audit::Event& ev, const KeylessSignOutcome& o) {
  ev.root_digest = "sha256:" + to_hex(o.result.sign.manifest.root_digest());
  ev.signer.summary = o.result.identity;
  ev.signer.identity = o.result.identity;
  ev.signer.issuer = o.result.issuer;
  if (!o.result.log_indexes.empty()) ev.rekor_log_index = o.result.log_indexes.front();
  ev.ok = true;
}

namespace {

int run_sign_sigstore(SigstoreSignArgs& a) {
  SecretString flag_token{std::string_view(a.identity_token)};
  wipe(a.identity_token);
  SecretString client_secret{std::string_view(a.client_secret)};
  wipe(a.client_secret);

  const std::string sig_path = signature_path(a.sign.model);
  audit::Event ev = operation_event("sign", a.sign.model, "sigstore",
                                    !a.pkcs11_uri.empty() ? a.pkcs11_uri : a.tpm.key);
  ev.method_reason = a.sign.method_reason;
  auto failed = [&](const Error& e) { return fail_operation(a.sign.record, ev, "Signing", e); };

  KeylessSignRequest q;
  q.model_path = a.sign.model.model_path;
  q.signature_path = sig_path;
  q.trust = a.trust;
  q.ca_file = a.ca_file;
  q.identity_token = &flag_token;
  q.use_ambient_credentials = a.use_ambient_credentials;
  q.interactive = ::isatty(STDIN_FILENO) == 1;
  q.oauth_force_oob = a.oauth_force_oob;
  q.client_id = a.client_id;
  q.client_secret = &client_secret;
  q.open_signer = [&a] { return open_keyless_signer(a); };
  q.options.serialization = serialization_from(a.sign.model, {sig_path});
  auto method_v = parse_method(a.sign.serialization);
  auto hash_v = parse_hash(a.sign.hash);
  if (!method_v) return failed(method_v.error());
  if (!hash_v) return failed(hash_v.error());
  q.options.serialization.method = *method_v;
  q.options.serialization.hash = *hash_v;
  q.options.serialization.shard_size = a.sign.shard_size;
  q.options.hashing = hashing_defaults(a.sign.threads, a.sign.io_depth);

  auto o = sign_keyless_to_file(q);
  if (!o) return failed(o.error());
  const sigstore::KeylessResult* r = &o->result;
  note_keyless_signed(ev, *o);
  if (auto rec = record_operation(a.sign.record, ev); !rec)
    return report_failure("Signing", Error(rec.error().code,
                                           fmt::format("the signature was written to '{}', but {}", sig_path,
                                                       rec.error().message)));
  log::info("signed {} files of '{}' as {} -> {}", r->sign.manifest.resources.size(), a.sign.model.model_path,
            r->identity, sig_path);

  if (json_mode(a.sign.json)) {
    auto j = json_header(true, kExitOk);
    j["result"] = "Signing succeeded";
    j["method"] = "sigstore";
    j["model_name"] = r->sign.manifest.model_name;
    j["root_digest"] = "sha256:" + to_hex(r->sign.manifest.root_digest());
    j["signature"] = sig_path;
    j["signer"] = r->identity;
    j["sigstore"] = {{"identity", r->identity},
                     {"issuer", r->issuer},
                     {"rekor_log_indexes", r->log_indexes},
                     {"rfc3161_timestamps", r->timestamps},
                     {"fulcio", o->fulcio_url},
                     {"trust", o->trust_source}};
    auto files = nlohmann::ordered_json::array();
    for (const auto& res : r->sign.manifest.resources) files.push_back(res.name);
    j["file_count"] = r->sign.manifest.resources.size();
    j["files"] = std::move(files);
    return emit_json(j);
  }
  std::string idx;
  for (auto i : r->log_indexes) idx += (idx.empty() ? "" : ", ") + std::to_string(i);
  return emit_text(fmt::format("Signing succeeded: {}\n  identity: {}\n  issuer: {}\n  Rekor log index: {}\n",
                               log::printable(sig_path), log::printable(r->identity), log::printable(r->issuer),
                               idx));
}

}  // namespace

int run_keyless_sign(const SignArgs& sign, const SigstoreTrustOptions& trust, const std::string& ca_file) {
  auto* a = make_args<SigstoreSignArgs>();
  a->sign = sign;
  a->trust = trust;
  a->ca_file = ca_file;
  return run_sign_sigstore(*a);
}

void register_sign_sigstore(CLI::App* sign, int* rc) {
  auto* a = make_args<SigstoreSignArgs>();
  CLI::App* s = sign->add_subcommand("sigstore", "Keyless signing: an OIDC identity certified by Fulcio, logged in Rekor");
  add_sign_options(s, a->sign, false);
  s->add_option(flag("identity-token"), a->identity_token,
                "OIDC identity token (visible in the process list: prefer $SIGSTORE_ID_TOKEN)")
      ->option_text("TOKEN")
      ->group(kGroupKey);
  s->add_flag(flag("use-ambient-credentials"), a->use_ambient_credentials,
              "Use the CI's ambient credentials (GitHub Actions, a Kubernetes token file); on by default")
      ->group(kGroupKey);
  add_sigstore_trust_options(s, a->trust, /*with_trusted_root=*/false);
  s->add_flag(flag("oauth-force-oob"), a->oauth_force_oob, "Interactive login: type the code instead of a redirect")
      ->group(kGroupAdvanced);
  s->add_option(flag("client-id"), a->client_id, "OAuth client ID; also accepted as the token audience (default sigstore)")
      ->option_text("ID")
      ->group(kGroupAdvanced);
  s->add_option(flag("client-secret"), a->client_secret, "OAuth client secret (interactive login)")
      ->option_text("SECRET")
      ->group(kGroupAdvanced);
  s->add_option(flag("private-key"), a->private_key, "Have Fulcio certify this PEM key instead of an ephemeral one")
      ->option_text("PATH")
      ->group(kGroupKey);
  s->add_option(flag("password-file"), a->password_file, "Password of an encrypted --private-key")
      ->option_text("PATH")
      ->group(kGroupKey);
  s->add_option(flag("pkcs11-uri"), a->pkcs11_uri, "Have Fulcio certify this PKCS#11 key (it stays in the token)")
      ->option_text("URI")
      ->group(kGroupKey);
  add_tpm2_options(s, a->tpm, false, true);
  s->add_option(flag("ca-file"), a->ca_file, "CA certificates (PEM) for the services' TLS, e.g. a private deployment")
      ->option_text("PATH")
      ->group(kGroupAdvanced);
  set_footer(s, "The identity token comes from, first found: --identity-token, $SIGSTORE_ID_TOKEN, GitHub Actions "
                "($ACTIONS_ID_TOKEN_REQUEST_URL), a Kubernetes token file ($MODELSIGN_K8S_TOKEN_FILE, else "
                "/var/run/secrets/tokens/sigstore).\n\n"
                "Examples:\n"
                "  modelsign sign sigstore models/bert                       # in GitHub Actions (id-token: write)\n"
                "  SIGSTORE_ID_TOKEN=$TOKEN modelsign sign sigstore models/bert\n"
                "  modelsign sign sigstore --trust-config private.json --ca-file ca.pem models/bert\n"
                "  modelsign sign sigstore --pkcs11-uri 'pkcs11:token=ci;object=signer' models/bert");
  s->callback([a, rc] { *rc = run_sign_sigstore(*a); });
}

}  // namespace modelsign::cli
