#include "tpm2/tpm2_provider.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <optional>

#include "common/files.h"
#include "common/signal_cleanup.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "modelsign/log.h"
#include "tpm2/esys.h"
#include "tpm2/keyfile.h"

namespace modelsign {

namespace {

using namespace tpm2;

constexpr const char* kAuthEnv = "MODELSIGN_TPM_AUTH";
// A TSS2 key file is a few hundred bytes to ~2 KiB (RSA); anything far larger is not one.
constexpr std::size_t kMaxKeyFileSize = 64 * 1024;
// Auth values are limited to the size of the key's name hash (SHA-256 here).
constexpr std::size_t kMaxAuthSize = 32;

// ---------------------------------------------------------------- references

struct KeyRef {
  bool is_file = false;
  TPM2_HANDLE handle = 0;
  std::string path;
  std::string name() const {
    return is_file ? fmt::format("TSS2 key file '{}'", path) : tpm2_handle_reference(handle);
  }
};

Result<TPM2_HANDLE> persistent_handle(std::string_view text, std::string_view reference) {
  auto h = parse_handle(text);
  if (!h) return fail(h.error().with_context(fmt::format("key reference '{}'", reference)));
  if ((*h >> TPM2_HR_SHIFT) != TPM2_HT_PERSISTENT)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("key reference '{}': 0x{:08x} is not a persistent handle (expected "
                            "0x81000000 to 0x81ffffff, e.g. handle:0x81000001)",
                            reference, *h));
  return *h;
}

// "handle:H" / "tpm2:handle=H" -> handle; nullopt when the reference has neither prefix.
Result<std::optional<TPM2_HANDLE>> handle_reference(std::string_view ref) {
  if (ref.starts_with("handle:")) return persistent_handle(ref.substr(7), ref);
  if (ref.starts_with("tpm2:")) {
    std::string_view rest = ref.substr(5);
    if (!rest.starts_with("handle="))
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("unsupported TPM key reference '{}': expected "
                              "tpm2:handle=0x81000001, handle:0x81000001 or the path of a TSS2 "
                              "PRIVATE KEY file",
                              ref));
    return persistent_handle(rest.substr(7), ref);
  }
  return std::optional<TPM2_HANDLE>();
}

Result<KeyRef> parse_reference(std::string_view ref) {
  auto h = handle_reference(ref);
  if (!h) return fail(h.error());
  KeyRef k;
  if (h->has_value()) {
    k.handle = **h;
    return k;
  }
  k.is_file = true;
  k.path = std::string(ref);
  return k;
}

Result<std::string> read_key_file_text(const std::string& path) {
  auto text = read_file(path, "the TPM key file", kMaxKeyFileSize);
  if (!text && text.error().code == ErrorCode::kMalformed)
    return fail(ErrorCode::kMalformed,
                fmt::format("'{}' is larger than {} bytes: not a TSS2 PRIVATE KEY file", path,
                            kMaxKeyFileSize));
  return text;
}

Result<KeyFile> load_key_file(const std::string& path) {
  auto text = read_key_file_text(path);
  if (!text) return fail(text.error());
  auto kf = parse_key_file(*text);
  if (!kf) return fail(kf.error().with_context(fmt::format("TPM key file '{}'", path)));
  return kf;
}

// ---------------------------------------------------------------- secrets

struct Auth {
  TPM2B_AUTH value{};
  Auth() = default;
  Auth(const Auth&) = delete;
  Auth& operator=(const Auth&) = delete;
  ~Auth() { OPENSSL_cleanse(&value, sizeof(value)); }
};

Result<void> read_auth(const ProviderOptions& options, std::string_view what, bool may_prompt,
                       Auth& out) {
  SecretSources s = options.secret;
  if (s.env_var.empty()) s.env_var = kAuthEnv;
  if (!may_prompt) s.prompt = nullptr;
  auto secret = read_secret(s, what, false);
  if (!secret) return fail(secret.error());
  const SecretString& v = *secret;  // wiped when `secret` goes
  if (v.size() > kMaxAuthSize)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the {} is {} bytes long; a TPM key's authorisation value is at most "
                            "{} bytes",
                            what, v.size(), kMaxAuthSize));
  out.value.size = static_cast<UINT16>(v.size());
  std::memcpy(out.value.buffer, v.data(), v.size());
  return {};
}

// ---------------------------------------------------------------- keys

Result<Object> persistent_object(const Connection& c, TPM2_HANDLE handle, const std::string& what,
                                 const std::string& operation) {
  ESYS_TR tr = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(c.ctx(), handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
  if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, c.context(operation, what)));
  return Object(c.ctx(), tr, false);
}

Result<TPMT_PUBLIC> read_public(const Connection& c, const Object& o, const std::string& what) {
  TPM2B_PUBLIC* raw = nullptr;
  TSS2_RC rc = Esys_ReadPublic(c.ctx(), o.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw,
                               nullptr, nullptr);
  EsysPtr<TPM2B_PUBLIC> pub(raw);
  if (rc != TSS2_RC_SUCCESS)
    return fail(tpm_error(rc, c.context(fmt::format("reading the public part of {}", what), what)));
  return pub->publicArea;
}

// What it takes to load a key for one signature. A key file's key is loaded only for
// each signature and flushed right after: nothing stays in the TPM's few object slots
// while the model is hashed, so a killed signer leaks nothing and concurrent signers
// share the slots. Member order matters: objects go before the connection.
struct KeySource {
  std::unique_ptr<Connection> conn;
  KeyRef ref;
  std::optional<KeyFile> file;
  std::unique_ptr<Auth> auth = std::make_unique<Auth>();
  TPMT_PUBLIC pub{};
  std::string name;
};

Result<KeySource> prepare_key(const KeyRef& ref, const ProviderOptions& options) {
  KeySource k;
  k.ref = ref;
  k.name = ref.name();
  if (ref.is_file) {
    auto kf = load_key_file(ref.path);
    if (!kf) return fail(kf.error());
    k.file = std::move(*kf);
  }
  // Prompt only when the key may have an authorisation value.
  auto got = read_auth(options, "TPM key authorisation value (empty for none)",
                       !(k.file && k.file->empty_auth), *k.auth);
  if (!got) return fail(got.error());
  auto conn = Connection::open(options);
  if (!conn) return fail(conn.error());
  k.conn = std::move(*conn);
  if (k.file) {
    k.pub = k.file->pub.publicArea;
  } else {
    auto o = persistent_object(*k.conn, ref.handle, k.name, fmt::format("opening TPM key {}", k.name));
    if (!o) return fail(o.error());
    auto pub = read_public(*k.conn, *o, k.name);
    if (!pub) return fail(pub.error());
    k.pub = *pub;
  }
  return k;
}

// Loads the key (a file key under its parent) and sets its authorisation.
Result<Object> load_key(const KeySource& k) {
  const Connection& c = *k.conn;
  const std::string operation = fmt::format("opening TPM key {}", k.name);
  Object key;
  if (!k.file) {
    auto o = persistent_object(c, k.ref.handle, k.name, operation);
    if (!o) return fail(o.error());
    key = std::move(*o);
  } else {
    Object parent;
    if (k.file->parent == TPM2_RH_OWNER) {
      auto p = create_owner_primary(c);
      if (!p) return fail(p.error().with_context(operation));
      parent = std::move(*p);
    } else {
      auto p = persistent_object(c, k.file->parent,
                                 fmt::format("parent key 0x{:08x}", k.file->parent), operation);
      if (!p) return fail(p.error());
      parent = std::move(*p);
    }
    ESYS_TR tr = ESYS_TR_NONE;
    TSS2_RC rc = Esys_Load(c.ctx(), parent.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &k.file->priv, &k.file->pub, &tr);
    if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, c.context(operation, k.name)));
    key = Object(c.ctx(), tr, true);
    parent.reset();  // frees its slot now: swtpm has only three
  }
  TSS2_RC rc = Esys_TR_SetAuth(c.ctx(), key.get(), &k.auth->value);
  if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, c.context(operation, k.name)));
  return key;
}

bool out_of_slots(const Error& e) {
  switch (tpm_base_rc(static_cast<TSS2_RC>(e.backend_code))) {
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_OBJECT_HANDLES: return true;
    default: return false;
  }
}

// One TPM2_Sign with the key loaded just for it. SIGINT/SIGTERM wait until the key is
// flushed again; other signers holding every slot for a moment are waited for.
Result<EsysPtr<TPMT_SIGNATURE>> tpm_sign(const KeySource& k, const TPM2B_DIGEST& digest,
                                         const TPMT_SIG_SCHEME& scheme) {
  const auto deadline = std::chrono::steady_clock::now() + k.conn->timeout();
  std::uint32_t backoff_ms = 5;
  for (;;) {
    Result<EsysPtr<TPMT_SIGNATURE>> out;
    {
      signal_cleanup::DeferSignals defer;
      auto key = load_key(k);
      if (key) {
        // The digest was computed on the CPU, not by the TPM: a NULL-hierarchy
        // hash-check ticket, which an unrestricted key accepts.
        TPMT_TK_HASHCHECK ticket{};
        ticket.tag = TPM2_ST_HASHCHECK;
        ticket.hierarchy = TPM2_RH_NULL;
        TPMT_SIGNATURE* raw = nullptr;
        const Connection& c = *k.conn;
        TSS2_RC rc = Esys_Sign(c.ctx(), key->get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                               &digest, &scheme, &ticket, &raw);
        EsysPtr<TPMT_SIGNATURE> sig(raw);
        if (rc != TSS2_RC_SUCCESS)
          out = fail(tpm_error(rc, c.context(fmt::format("signing with TPM key {}", k.name), k.name)));
        else
          out = std::move(sig);
      } else {
        out = fail(key.error());
      }
    }  // the key is flushed here, before any deferred signal is delivered
    if (out || !out_of_slots(out.error()) || std::chrono::steady_clock::now() >= deadline) return out;
    ::usleep(static_cast<useconds_t>(backoff_ms * 1000 + (::random() % 20) * 1000));
    backoff_ms = std::min<std::uint32_t>(backoff_ms * 2, 200);
  }
}

// ---------------------------------------------------------------- signer

class Tpm2Signer final : public Signer {
 public:
  Tpm2Signer(KeySource key, PublicKey pub, SigningParams params)
      : key_(std::move(key)), pub_(std::move(pub)), params_(params) {}

  SignatureScheme scheme() const override { return params_.scheme; }
  const PublicKey& public_key() const override { return pub_; }
  std::string describe() const override {
    return fmt::format("TPM key {} ({}) via {}", key_.name, pub_.describe(),
                       key_.conn->tcti().describe());
  }

  // A signature over a zero digest: proves now, before hours of hashing, that the key
  // loads, its authorisation value is right and the TPM signs with it.
  Result<void> probe() {
    Bytes zero(params_.digest_size, 0);
    auto sig = sign_digest(zero);
    if (!sig) return fail(sig.error());
    return {};
  }

  Result<Bytes> sign(const SignRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);  // ESYS contexts are not thread-safe
    if (request.digest.size() != params_.digest_size)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} signs {}-byte {} digests, got {} bytes", key_.name,
                              params_.digest_size, hash_name(params_.scheme), request.digest.size()));
    // sign_model checks every backend's signature with the signer's public key.
    return sign_digest(request.digest);
  }

 private:
  Result<Bytes> sign_digest(std::span<const std::uint8_t> d) {
    TPM2B_DIGEST digest{};
    digest.size = static_cast<UINT16>(d.size());
    std::memcpy(digest.buffer, d.data(), d.size());
    auto sig = tpm_sign(key_, digest, params_.tpm_scheme);
    if (!sig) return fail(sig.error());
    const TPMT_SIGNATURE& s = **sig;
    if (s.sigAlg == TPM2_ALG_ECDSA && params_.tpm_scheme.scheme == TPM2_ALG_ECDSA) {
      const auto& r = s.signature.ecdsa.signatureR;
      const auto& ss = s.signature.ecdsa.signatureS;
      return ecdsa_rs_to_der(std::span<const std::uint8_t>(r.buffer, r.size),
                             std::span<const std::uint8_t>(ss.buffer, ss.size));
    }
    if (s.sigAlg == TPM2_ALG_RSAPSS && params_.tpm_scheme.scheme == TPM2_ALG_RSAPSS) {
      const auto& rs = s.signature.rsapss.sig;
      return Bytes(rs.buffer, rs.buffer + rs.size);
    }
    return fail(ErrorCode::kBackend,
                fmt::format("{}: the TPM returned a signature of algorithm 0x{:04x}, expected "
                            "0x{:04x}",
                            key_.name, s.sigAlg, params_.tpm_scheme.scheme));
  }

  KeySource key_;
  PublicKey pub_;
  SigningParams params_;
  std::mutex mu_;
};

// ---------------------------------------------------------------- generate helpers

struct GenerateTarget {
  std::optional<TPM2_HANDLE> handle;
  std::string path;
};

Result<GenerateTarget> generate_target(std::string_view ref, const ProviderOptions& options) {
  GenerateTarget t;
  std::string key_file;
  if (auto it = options.params.find(kTpm2KeyFileOption); it != options.params.end()) key_file = it->second;
  auto h = handle_reference(ref);
  if (!h) return fail(h.error());
  if (h->has_value()) {
    t.handle = **h;
    if (!key_file.empty())
      return fail(ErrorCode::kInvalidArgument,
                  "give either a persistent handle or a key file for the new TPM key, not both");
    if (*t.handle > 0x817FFFFFu)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("0x{:08x} is in the platform's persistent range; owner keys go to "
                              "0x81000000 to 0x817fffff",
                              *t.handle));
    return t;
  }
  std::string_view path = ref.starts_with("file:") ? ref.substr(5) : ref;
  if (!path.empty() && !key_file.empty() && path != key_file)
    return fail(ErrorCode::kInvalidArgument,
                "give the new TPM key's file either as the reference or as key-file, not both");
  t.path = path.empty() ? key_file : std::string(path);
  if (t.path.empty())
    return fail(ErrorCode::kInvalidArgument,
                "where should the new TPM key go? Give a persistent handle (handle:0x81000001) "
                "or a key file (file:KEY.tss2.pem)");
  return t;
}

// A key being generated: its type, where it goes, and the operation's name for errors.
struct NewKey {
  KeyType type = KeyType::kEcP256;
  std::string what;       // "handle:0x81000001" or "key file 'k.tss2.pem'"
  std::string operation;  // "creating a ec-p256 TPM key at ..."
};

// The TPM's answer to TPM2_Create, with the primary it was created under (still loaded).
struct CreatedKey {
  Object primary;
  EsysPtr<TPM2B_PRIVATE> priv;
  EsysPtr<TPM2B_PUBLIC> pub;
};

Result<void> refuse_existing_key_file(const GenerateTarget& target) {
  if (target.handle) return {};
  struct stat st{};
  if (::lstat(target.path.c_str(), &st) == 0)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("refusing to overwrite '{}': choose a new key file name", target.path));
  return {};
}

Result<void> check_handle_free(const Connection& c, TPM2_HANDLE handle, const std::string& operation) {
  auto used = c.handles(TPM2_PERSISTENT_FIRST);
  if (!used) return fail(used.error());
  if (std::find(used->begin(), used->end(), handle) != used->end())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: persistent handle 0x{:08x} is already in use; choose a free "
                            "handle ('modelsign tpm2 list' shows the used ones) or remove "
                            "the old key with 'tpm2_evictcontrol -C o -c 0x{:08x}'",
                            operation, handle, handle));
  return {};
}

// Asks the TPM first: an unsupported curve or key size then gets a clear answer instead
// of a parameter error from TPM2_Create.
Result<void> check_tpm_supports(const Connection& c, const TPM2B_PUBLIC& tmpl, const NewKey& key) {
  TPMT_PUBLIC_PARMS parms{};
  parms.type = tmpl.publicArea.type;
  parms.parameters = tmpl.publicArea.parameters;
  TSS2_RC rc = Esys_TestParms(c.ctx(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &parms);
  if (rc == TSS2_RC_SUCCESS) return {};
  Error e = tpm_error(rc, c.context(key.operation, key.what));
  if (tpm_base_rc(rc) == 0) return fail(e);
  return fail(Error(ErrorCode::kUnsupported,
                    fmt::format("{}: this TPM does not support {} keys (TPM2_TestParms "
                                "refused them); tpm2_getcap algorithms and ecc-curves list "
                                "what it implements, ec-p256 works on every TPM 2.0",
                                key.operation, to_string(key.type)),
                    e.backend, e.backend_code));
}

// TPM2_Create under the owner's storage primary; the authorisation value is wiped from
// the request once sent.
Result<CreatedKey> create_key(const Connection& c, const TPM2B_PUBLIC& tmpl, const Auth& auth,
                              const NewKey& key) {
  auto primary = create_owner_primary(c);
  if (!primary) return fail(primary.error().with_context(key.operation));
  TPM2B_SENSITIVE_CREATE sensitive{};
  sensitive.sensitive.userAuth = auth.value;
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION pcrs{};
  TPM2B_PRIVATE* priv_raw = nullptr;
  TPM2B_PUBLIC* pub_raw = nullptr;
  TSS2_RC rc = Esys_Create(c.ctx(), primary->get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sensitive, &tmpl, &outside, &pcrs, &priv_raw, &pub_raw, nullptr,
                           nullptr, nullptr);
  OPENSSL_cleanse(&sensitive, sizeof(sensitive));
  CreatedKey out{std::move(*primary), EsysPtr<TPM2B_PRIVATE>(priv_raw), EsysPtr<TPM2B_PUBLIC>(pub_raw)};
  if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, c.context(key.operation, key.what)));
  return out;
}

// Loads the new key and makes it persistent at `handle` (the owner's authorisation).
Result<void> persist_key(const Connection& c, CreatedKey& created, TPM2_HANDLE handle, const NewKey& key) {
  ESYS_TR loaded = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load(c.ctx(), created.primary.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                         created.priv.get(), created.pub.get(), &loaded);
  if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, c.context(key.operation, key.what)));
  Object loaded_key(c.ctx(), loaded, true);
  created.primary.reset();
  ESYS_TR persisted = ESYS_TR_NONE;
  rc = Esys_EvictControl(c.ctx(), ESYS_TR_RH_OWNER, loaded_key.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, handle, &persisted);
  if (rc != TSS2_RC_SUCCESS) {
    ErrorContext ctx = c.context(key.operation, key.what);
    ctx.auth_of = "owner";
    return fail(tpm_error(rc, ctx));
  }
  Object keep(c.ctx(), persisted, false);
  return {};
}

// The TPM-wrapped key as a TSS2 PRIVATE KEY file. Never overwrites a key file; 0600
// although the private part is TPM-wrapped.
Result<void> write_wrapped_key(const CreatedKey& created, bool empty_auth, const std::string& path,
                               const NewKey& key) {
  KeyFile kf;
  kf.empty_auth = empty_auth;
  kf.parent = TPM2_RH_OWNER;
  kf.pub = *created.pub;
  kf.priv = *created.priv;
  auto pem = write_key_file(kf);
  if (!pem) return fail(pem.error().with_context(key.operation));
  return write_new_file(path, *pem, 0600);
}

// ---------------------------------------------------------------- provider

class Tpm2Provider final : public KeyProvider {
 public:
  std::string_view name() const override { return "tpm2"; }

  bool claims(std::string_view reference) const override {
    if (reference.starts_with("handle:") || reference.starts_with("tpm2:")) return true;
    // Other files belong to the PEM provider: look at the content, not the name. Only
    // regular files: peeking into a pipe (--private-key <(...)) would eat the PEM key.
    const std::string path(reference);
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    std::ifstream in{path, std::ios::binary};
    if (!in) return false;
    std::string head(256, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return looks_like_tss2_pem(head);
  }

  Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                              const ProviderOptions& options) const override {
    auto ref = parse_reference(reference);
    if (!ref) return fail(ref.error());
    auto key = prepare_key(*ref, options);
    if (!key) return fail(key.error());
    auto params = signing_params(key->pub, key->name);
    if (!params) return fail(params.error());
    auto pub = public_key_of(key->pub);
    if (!pub) return fail(pub.error().with_context(key->name));
    auto signer = std::make_unique<Tpm2Signer>(std::move(*key), std::move(*pub), *params);
    if (auto p = signer->probe(); !p) return fail(p.error());
    log::debug("{}: opened, key and authorisation checked", signer->describe());
    return std::unique_ptr<Signer>(std::move(signer));
  }

  Result<PublicKey> public_key(std::string_view reference,
                               const ProviderOptions& options) const override {
    auto ref = parse_reference(reference);
    if (!ref) return fail(ref.error());
    if (ref->is_file) {
      // The public part is in the file; the TPM checks it against the private part on load.
      auto kf = load_key_file(ref->path);
      if (!kf) return fail(kf.error());
      auto pub = public_key_of(kf->pub.publicArea);
      if (!pub) return fail(pub.error().with_context(ref->name()));
      return pub;
    }
    auto conn = Connection::open(options);
    if (!conn) return fail(conn.error());
    auto o = persistent_object(**conn, ref->handle, ref->name(),
                               fmt::format("reading the public key of {}", ref->name()));
    if (!o) return fail(o.error());
    auto pub = read_public(**conn, *o, ref->name());
    if (!pub) return fail(pub.error());
    auto key = public_key_of(*pub);
    if (!key) return fail(key.error().with_context(ref->name()));
    return key;
  }

  Result<GeneratedKey> generate(std::string_view reference, KeyType type,
                                const ProviderOptions& options) const override {
    auto target = generate_target(reference, options);
    if (!target) return fail(target.error());
    auto tmpl = signing_key_template(type);
    if (!tmpl) return fail(tmpl.error());
    if (auto r = refuse_existing_key_file(*target); !r) return fail(r.error());
    Auth auth;
    auto got = read_auth(options, "authorisation value for the new TPM key (empty for none)",
                         true, auth);
    if (!got) return fail(got.error());
    // Without an authorisation value there is nothing to guess, so failed uses (a signer
    // killed mid-command) must not count towards the TPM's dictionary-attack lockout:
    // noDA, as tpm2-tools users set for machine keys. A key with a value keeps DA protection.
    if (auth.value.size == 0) tmpl->publicArea.objectAttributes |= TPMA_OBJECT_NODA;

    auto conn = Connection::open(options);
    if (!conn) return fail(conn.error());
    const Connection& c = **conn;
    NewKey key;
    key.type = type;
    key.what = target->handle ? tpm2_handle_reference(*target->handle)
                              : fmt::format("key file '{}'", target->path);
    key.operation = fmt::format("creating a {} TPM key at {}", to_string(type), key.what);
    if (target->handle) {
      if (auto r = check_handle_free(c, *target->handle, key.operation); !r) return fail(r.error());
    }
    if (auto ok = check_tpm_supports(c, *tmpl, key); !ok) return fail(ok.error());
    auto created = create_key(c, *tmpl, auth, key);
    if (!created) return fail(created.error());
    auto pubkey = public_key_of(created->pub->publicArea);
    if (!pubkey) return fail(pubkey.error().with_context(key.operation));

    if (target->handle) {
      if (auto p = persist_key(c, *created, *target->handle, key); !p) return fail(p.error());
      log::info("created {} key {} in the TPM", to_string(type), key.what);
      return GeneratedKey{tpm2_handle_reference(*target->handle), std::move(*pubkey)};
    }
    if (auto w = write_wrapped_key(*created, auth.value.size == 0, target->path, key); !w)
      return fail(w.error());
    log::info("created {} key {} wrapped by the TPM", to_string(type), key.what);
    return GeneratedKey{target->path, std::move(*pubkey)};
  }

  Result<std::vector<std::string>> list(std::string_view,
                                        const ProviderOptions& options) const override {
    auto conn = Connection::open(options);
    if (!conn) return fail(conn.error());
    const Connection& c = **conn;
    auto handles = c.handles(TPM2_PERSISTENT_FIRST);
    if (!handles) return fail(handles.error());
    std::vector<std::string> out;
    for (TPM2_HANDLE h : *handles) {
      const std::string name = tpm2_handle_reference(h);
      auto o = persistent_object(c, h, name, "listing persistent keys");
      if (!o) return fail(o.error());
      auto pub = read_public(c, *o, name);
      if (!pub) return fail(pub.error());
      if ((pub->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) == 0) continue;
      std::string line = fmt::format("{}  {:<8}  {}", name, key_type_name(*pub),
                                     attributes_string(pub->objectAttributes));
      if (auto sp = signing_params(*pub, name); !sp) line += "  (cannot sign model digests)";
      out.push_back(std::move(line));
    }
    return out;
  }
};

}  // namespace

std::string tpm2_handle_reference(std::uint32_t handle) {
  return fmt::format("handle:0x{:08x}", handle);
}

std::string tpm2_persistent_reference(std::string_view handle) {
  if (handle.starts_with("handle:") || handle.starts_with("tpm2:")) return std::string(handle);
  return "handle:" + std::string(handle);
}

std::unique_ptr<KeyProvider> make_tpm2_provider() { return std::make_unique<Tpm2Provider>(); }

}  // namespace modelsign
