// modelsign._native: the C++ library for the Python package. The public API, argument
// checks and documentation live in the pure-Python layer (python/modelsign); this module
// only converts values, runs the library off the interpreter lock and turns every
// modelsign::Error into the package's exception classes (modelsign/_errors.py).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "audit/audit_log.h"
#include "ci/method_choice.h"
#include "cli/app.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/keyless_sign.h"
#include "cli/output.h"
#include "cli/record.h"
#include "common/files.h"
#include "crypto/encoding.h"
#include "modelsign/key_provider.h"
#include "modelsign/log.h"
#include "modelsign/manifest.h"
#include "modelsign/sign.h"
#include "modelsign/verify.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace modelsign::python {

namespace {

// ---- logging bridge ----------------------------------------------------------------
// Library messages come from any thread (hashing workers too), where calling into Python
// would need the interpreter lock. They are queued here and handed to the `modelsign`
// logger by the thread that called into the module, which holds the lock.
struct LogQueue {
  std::mutex mu;
  std::vector<std::pair<log::Level, std::string>> items;
};
constexpr std::size_t kMaxQueuedMessages = 10000;  // a runaway logger cannot exhaust memory

LogQueue& log_queue() {
  static auto* q = new LogQueue();  // never destroyed: worker threads may log at exit
  return *q;
}

void queue_message(log::Level level, std::string_view message) {
  try {
    LogQueue& q = log_queue();
    std::lock_guard lock(q.mu);
    if (q.items.size() < kMaxQueuedMessages) q.items.emplace_back(level, std::string(message));
  } catch (...) {
    // Out of memory: the message is dropped rather than thrown into a worker thread.
  }
}

int python_level(log::Level l) {
  switch (l) {
    case log::Level::kDebug: return 10;
    case log::Level::kInfo: return 20;
    case log::Level::kWarning: return 30;
    case log::Level::kError: return 40;
  }
  return 40;
}

// The interpreter lock is held.
void drain_logs() {
  std::vector<std::pair<log::Level, std::string>> items;
  {
    LogQueue& q = log_queue();
    std::lock_guard lock(q.mu);
    items.swap(q.items);
  }
  if (items.empty()) return;
  py::object logger = py::module_::import("logging").attr("getLogger")("modelsign");
  for (auto& [level, message] : items) logger.attr("log")(python_level(level), message);
}

// The library's level follows the `modelsign` logger's effective level, so debug
// messages are only formatted when Python would show them.
void sync_level() {
  int py_level = py::module_::import("logging")
                     .attr("getLogger")("modelsign")
                     .attr("getEffectiveLevel")()
                     .cast<int>();
  log::set_level(py_level <= 10   ? log::Level::kDebug
                 : py_level <= 20 ? log::Level::kInfo
                 : py_level <= 30 ? log::Level::kWarning
                                  : log::Level::kError);
}

// ---- errors ----------------------------------------------------------------------------
// `code` overrides the error code's name (e.g. "malformed-signature": a malformed bundle
// is a failed verification, a malformed key file is not).
[[noreturn]] void raise_error(const Error& e, const VerifyMismatch* mismatch = nullptr,
                              std::string_view code = {}) {
  drain_logs();
  py::dict lists;
  if (mismatch != nullptr) {
    lists["missing"] = mismatch->missing;
    lists["extra"] = mismatch->extra;
    lists["changed"] = mismatch->changed;
  }
  py::object exc = py::module_::import("modelsign._errors")
                       .attr("_from_native")(std::string(code.empty() ? to_string(e.code) : code), e.describe(),
                                             e.backend, e.backend_code, lists);
  PyErr_SetObject(py::type::handle_of(exc).ptr(), exc.ptr());
  throw py::error_already_set();
}

template <class T>
T take(Result<T> r) {
  if (!r) raise_error(r.error());
  return std::move(*r);
}

// ---- running the library off the interpreter lock ----------------------------------
// `work` runs on its own thread while the calling thread, without the interpreter lock,
// wakes every 100 ms to pass on log messages, report progress and check for signals. A
// KeyboardInterrupt (or an exception from the progress callback) cancels the hashing
// through the observer; the work is always waited for, so nothing outlives the call.
template <class R>
R run_unlocked(const std::function<R()>& work, const std::shared_ptr<HashObserver>& observer,
               const py::object& progress) {
  std::optional<R> result;
  std::exception_ptr thrown;
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread worker([&] {
    try {
      result.emplace(work());
    } catch (...) {
      thrown = std::current_exception();
    }
    std::lock_guard lock(mu);
    finished = true;
    cv.notify_all();
  });
  // Whatever happens on this side, the worker is stopped and joined before the frame it
  // uses goes away (a running std::thread destroyed would terminate the process).
  struct Joiner {
    std::thread& t;
    HashObserver& o;
    ~Joiner() {
      if (!t.joinable()) return;
      o.cancel.store(true);
      py::gil_scoped_release unlocked;
      t.join();
    }
  } joiner{worker, *observer};
  std::optional<py::error_already_set> pending;
  auto drain = [&] {
    try {
      drain_logs();
    } catch (py::error_already_set& e) {  // a logging handler raised
      if (!pending) pending.emplace(std::move(e));
      observer->cancel.store(true);
    }
  };
  auto report = [&] {
    if (progress.is_none()) return;
    try {
      progress(observer->done.load(), observer->total.load());
    } catch (py::error_already_set& e) {
      pending.emplace(std::move(e));
      observer->cancel.store(true);
    }
  };
  for (;;) {
    bool done = false;
    {
      py::gil_scoped_release unlocked;
      std::unique_lock lock(mu);
      done = cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished; });
    }
    drain();
    if (done) break;
    if (pending) continue;
    if (PyErr_CheckSignals() != 0) {
      pending.emplace();  // takes the KeyboardInterrupt (or the signal handler's exception)
      observer->cancel.store(true);
      continue;
    }
    report();
  }
  {
    py::gil_scoped_release unlocked;  // finished already: joining is immediate
    worker.join();
  }
  if (!pending && !thrown) report();  // the final count
  if (pending) throw std::move(*pending);
  if (thrown) std::rethrow_exception(thrown);
  return std::move(*result);
}

// ---- model options ---------------------------------------------------------------------
struct ModelArgs {
  std::string model_path;
  std::vector<std::string> ignore_paths;  // as the user gave them (relative to the CWD)
  bool ignore_git_paths = true;
  int symlinks = 0;  // 0 refuse, 1 inside the model root, 2 anywhere
  unsigned threads = 0;
};

SerializationOptions serialization_for(const ModelArgs& m, const std::vector<std::string>& extra) {
  SerializationOptions s;
  s.ignore_git_paths = m.ignore_git_paths;
  s.symlinks = m.symlinks == 2   ? SymlinkPolicy::kFollowAnywhere
               : m.symlinks == 1 ? SymlinkPolicy::kFollowInRoot
                                 : SymlinkPolicy::kReject;
  for (const auto& p : m.ignore_paths) {
    auto r = resolve_ignore_path(p, m.model_path);
    struct stat st {};
    if (!r || ::lstat((m.model_path + "/" + *r).c_str(), &st) != 0)
      log::warning("ignore path '{}' matches nothing in the model '{}': ignore paths are relative to "
                   "the current directory (or absolute), not to the model",
                   p, m.model_path);
    if (r) s.ignore_paths.push_back(*r);
  }
  for (const auto& p : extra)
    if (auto r = resolve_ignore_path(p, m.model_path)) s.ignore_paths.push_back(*r);
  return s;
}

HashingOptions hashing_for(const ModelArgs& m, const std::shared_ptr<HashObserver>& observer) {
  HashingOptions h;
  h.threads = m.threads;
  h.observer = observer;
  return h;
}

std::string root_text(const Manifest& m) { return "sha256:" + to_hex(m.root_digest()); }

py::list file_names(const Manifest& m) {
  py::list out;
  for (const auto& r : m.resources) out.append(r.name);
  return out;
}

py::dict manifest_dict(const Manifest& m) {
  py::list files;
  for (const auto& r : m.resources)
    files.append(py::dict("name"_a = r.name, "digest"_a = r.algorithm + ":" + to_hex(r.digest)));
  py::dict ser("method"_a = std::string(to_string(m.serialization.method)),
               "hash_type"_a = std::string(to_string(m.serialization.hash)),
               "allow_symlinks"_a = m.serialization.allow_symlinks,
               "ignore_paths"_a = m.serialization.ignore_paths);
  if (m.serialization.shard_size) ser["shard_size"] = *m.serialization.shard_size;
  return py::dict("model_name"_a = m.model_name, "hashes"_a = py::dict("sha256"_a = root_text(m)),
                  "files"_a = files, "serialization"_a = ser);
}

py::dict compute_manifest_py(const ModelArgs& m, const py::object& progress) {
  sync_level();
  auto observer = std::make_shared<HashObserver>();
  SerializationOptions ser = serialization_for(m, {});
  HashingOptions hashing = hashing_for(m, observer);
  log::debug("hashing '{}' with {} thread(s)", m.model_path,
             m.threads != 0 ? m.threads : std::max(1u, std::thread::hardware_concurrency()));
  auto r = run_unlocked<Result<Manifest>>(
      [&] { return compute_manifest(m.model_path, ser, hashing); }, observer, progress);
  Manifest manifest = take(std::move(r));
  log::debug("hashed {} files of '{}'", manifest.resources.size(), m.model_path);
  drain_logs();
  return manifest_dict(manifest);
}

// ---- keys ------------------------------------------------------------------------------
// A secret handed over from Python: copied once into a SecretString, the copy wiped.
std::shared_ptr<const SecretString> secret_from(const py::object& value) {
  if (value.is_none()) return nullptr;
  std::string raw;
  if (py::isinstance<py::bytearray>(value)) {
    // A bytearray is the one form the caller can wipe afterwards: copied, not kept.
    const char* data = PyByteArray_AsString(value.ptr());
    raw.assign(data, static_cast<std::size_t>(PyByteArray_Size(value.ptr())));
  } else {
    raw = value.cast<std::string>();  // str (UTF-8) or bytes
  }
  auto s = std::make_shared<const SecretString>(std::string_view(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  return s;
}

struct KeyArgs {
  std::string reference;                  // PEM path, env:VAR, pkcs11: URI, handle:/tpm2:/TSS2 file
  std::map<std::string, std::string> params;  // provider settings (tcti, module, ...)
  std::string secret_file;
  std::string secret_env;
  py::object secret = py::none();
};

ProviderOptions provider_options(const KeyArgs& k) {
  ProviderOptions o;
  o.params = k.params;
  o.secret.file = k.secret_file;
  o.secret.env_var = k.secret_env;
  o.secret.value = secret_from(k.secret);
  // No prompt: a library call has no terminal of its own; the error says what to pass.
  return o;
}

std::string signature_default(const std::string& model_path) {
  cli::ModelOptions o;
  o.model_path = model_path;
  return cli::signature_path(o);
}

// ---- the record of a CI-mode signing ------------------------------------------------------
// sign_trained_model(ci_mode=True) leaves what `modelsign sign MODEL_PATH` leaves: the audit
// line (MODELSIGN_AUDIT_LOG) and the CI outputs, written by the command line's own code.
struct RecordSpec {
  std::string audit_log;      // "" : none
  std::string ci_dotenv;      // "" : MODELSIGN_CI_DOTENV under GITLAB_CI, as the CLI
  std::string method;         // the CLI's method name (key, certificate, pkcs11-key, sigstore...)
  std::string method_reason;  // why the environment chose it
};

class Recorder {
 public:
  Recorder(const py::object& spec, const std::string& model_path, const std::string& sig_path,
           const std::string& key_reference) {
    if (spec.is_none()) return;
    auto s = spec.cast<RecordSpec>();
    args_.audit_log = s.audit_log;
    args_.ci_dotenv = s.ci_dotenv;
    cli::ModelOptions m;
    m.model_path = model_path;
    m.signature = sig_path;
    ev_ = cli::operation_event("sign", m, s.method, key_reference);
    ev_->method_reason = s.method_reason;
  }
  audit::Event* event() { return ev_ ? &*ev_ : nullptr; }
  // Records the failure, then raises it (with the recording's own failure appended).
  [[noreturn]] void failed(const Error& e, std::string_view code = {}) {
    if (ev_) {
      if (auto rec = cli::record_failure(args_, *ev_, e, cli::kExitFailure); !rec) {
        Error both = e;
        both.message += fmt::format("; and the operation could not be recorded: {}", rec.error().message);
        raise_error(both, nullptr, code);
      }
    }
    raise_error(e, nullptr, code);
  }
  // After success (the event's facts filled in): the audit line and the CI outputs.
  void succeeded(const std::string& sig_path) {
    if (!ev_) return;
    if (auto rec = cli::record_operation(args_, *ev_); !rec)
      raise_error(Error(rec.error().code, fmt::format("the signature was written to '{}', but {}", sig_path,
                                                      rec.error().message)));
  }

 private:
  cli::RecordArgs args_;
  std::optional<audit::Event> ev_;
};

// ---- sign --------------------------------------------------------------------------------
struct SignOutcome {
  SignResult result;
  std::string describe;
};

py::dict sign_py(const ModelArgs& m, const std::string& signature, const KeyArgs& key,
                 const std::vector<std::string>& certificate_files, const py::object& progress,
                 const py::object& record) {
  sync_level();
  const std::string sig_path = signature.empty() ? signature_default(m.model_path) : signature;
  Recorder rec(record, m.model_path, sig_path, key.reference);
  if (auto c = check_output_path(sig_path); !c) rec.failed(c.error());
  ProviderOptions popts = provider_options(key);
  SignOptions opts;
  for (const auto& f : certificate_files) {
    auto certs = read_pem_certificates(f);
    if (!certs) rec.failed(certs.error());
    if (certs->empty()) rec.failed(Error(ErrorCode::kMalformed, fmt::format("'{}' holds no PEM certificate", f)));
    // The signing certificate file gives its first certificate; chain files give all.
    if (opts.certificate_chain.empty()) {
      opts.certificate_chain.push_back(std::move(certs->front()));
      continue;
    }
    for (auto& c : *certs) opts.certificate_chain.push_back(std::move(c));
  }
  opts.serialization = serialization_for(m, {sig_path});
  auto observer = std::make_shared<HashObserver>();
  opts.hashing = hashing_for(m, observer);

  auto r = run_unlocked<Result<SignOutcome>>(
      [&]() -> Result<SignOutcome> {
        // The key first: a wrong PIN or a missing key fails before any hashing.
        auto signer = open_signer(key.reference, popts);
        if (!signer) return fail(signer.error());
        log::debug("signing key: {} ({}, public key hint {})", (*signer)->describe(),
                   (*signer)->public_key().describe(), (*signer)->public_key().hint());
        auto result = sign_model(m.model_path, **signer, opts);
        if (!result) return fail(result.error());
        // Interrupted while signing: no signature is written at all.
        if (observer->cancel.load()) return fail(ErrorCode::kInternal, kHashingCancelled);
        if (auto w = write_file_atomically(sig_path, result->bundle_json); !w) return fail(w.error());
        log::info("signed {} files of '{}' with {} -> {}", result->manifest.resources.size(),
                  m.model_path, (*signer)->describe(), sig_path);
        return SignOutcome{std::move(*result), (*signer)->describe()};
      },
      observer, progress);
  if (!r) rec.failed(r.error());
  SignOutcome out = std::move(*r);
  if (audit::Event* ev = rec.event()) cli::note_signed(*ev, out.result, !certificate_files.empty());
  rec.succeeded(sig_path);
  drain_logs();
  return py::dict("signature_path"_a = sig_path, "model_name"_a = out.result.manifest.model_name,
                  "model_hash"_a = root_text(out.result.manifest), "signer"_a = out.result.signer,
                  "key"_a = out.describe, "files"_a = file_names(out.result.manifest),
                  "bundle"_a = out.result.bundle_json);
}

// ---- keyless -----------------------------------------------------------------------------
struct KeylessArgs {
  py::object identity_token = py::none();  // the token text (str, bytes, bytearray)
  std::string identity_token_file;         // or a file holding it
  std::string trust_config;                // ClientTrustConfig file; else TUF
  bool use_staging = false;
  bool offline = false;
  std::string ca_file;
  bool use_ambient_credentials = true;
  bool oauth = false;  // the interactive login (a browser); never implied by a library call
  bool oauth_force_oob = false;
  std::string client_id = "sigstore";
};

py::dict sign_keyless_py(const ModelArgs& m, const std::string& signature, const KeylessArgs& k,
                         const py::object& key, const py::object& progress, const py::object& record) {
  sync_level();
  const std::string sig_path = signature.empty() ? signature_default(m.model_path) : signature;
  std::optional<KeyArgs> signing_key;
  if (!key.is_none()) signing_key = key.cast<KeyArgs>();
  Recorder rec(record, m.model_path, sig_path, signing_key ? signing_key->reference : std::string());
  // The token, read once into wiped memory; empty: the environment's sources.
  SecretSources token_sources;
  token_sources.file = k.identity_token_file;
  token_sources.value = secret_from(k.identity_token);
  auto token = read_secret(token_sources, "identity token", false);
  if (!token) rec.failed(token.error());
  std::optional<ProviderOptions> key_options;
  if (signing_key) key_options = provider_options(*signing_key);

  cli::KeylessSignRequest q;
  q.model_path = m.model_path;
  q.signature_path = sig_path;
  q.trust.trust_config = k.trust_config;
  q.trust.use_staging = k.use_staging;
  q.trust.offline = k.offline;
  q.ca_file = k.ca_file;
  q.identity_token = &*token;
  q.identity_token_name = k.identity_token_file.empty() ? "identity_token="
                                                          : fmt::format("the identity_token file {}", k.identity_token_file);
  q.use_ambient_credentials = k.use_ambient_credentials;
  q.interactive = k.oauth;
  q.oauth_force_oob = k.oauth_force_oob;
  q.client_id = k.client_id;
  if (signing_key)
    q.open_signer = [&] { return open_signer(signing_key->reference, *key_options); };
  q.options.serialization = serialization_for(m, {sig_path});
  auto observer = std::make_shared<HashObserver>();
  q.options.hashing = hashing_for(m, observer);

  auto r = run_unlocked<Result<cli::KeylessSignOutcome>>([&] { return cli::sign_keyless_to_file(q); }, observer,
                                                          progress);
  if (!r) {
    // An I/O error outside the hashing is a service's (network, HTTP status): ServiceError.
    const bool hashing = observer->total.load() > 0 && observer->done.load() < observer->total.load();
    rec.failed(r.error(), r.error().code == ErrorCode::kIo && !hashing ? "service" : "");
  }
  const sigstore::KeylessResult& out = r->result;
  log::info("signed {} files of '{}' as {} -> {}", out.sign.manifest.resources.size(), m.model_path, out.identity,
            sig_path);
  if (audit::Event* ev = rec.event()) cli::note_keyless_signed(*ev, *r);
  rec.succeeded(sig_path);
  drain_logs();
  return py::dict("signature_path"_a = sig_path, "model_name"_a = out.sign.manifest.model_name,
                  "model_hash"_a = root_text(out.sign.manifest), "signer"_a = out.identity,
                  "key"_a = signing_key ? signing_key->reference : std::string("ephemeral key"),
                  "files"_a = file_names(out.sign.manifest), "bundle"_a = out.sign.bundle_json,
                  "identity"_a = out.identity, "issuer"_a = out.issuer, "rekor_log_indexes"_a = out.log_indexes,
                  "fulcio"_a = r->fulcio_url, "trust"_a = r->trust_source);
}

// CI mode when the environment offers no method: recorded as `modelsign sign MODEL_PATH`
// records it (a usage failure, exit code 2), then raised.
void record_choice_failure_py(const std::string& model_path, const std::string& signature, const RecordSpec& spec,
                              const std::string& code, const std::string& message) {
  cli::ModelOptions m;
  m.model_path = model_path;
  m.signature = signature;
  audit::Event ev = cli::operation_event("sign", m, "", {});
  Error e(ErrorCode::kInvalidArgument, message);
  cli::RecordArgs args;
  args.audit_log = spec.audit_log;
  args.ci_dotenv = spec.ci_dotenv;
  if (auto rec = cli::record_failure(args, ev, e, cli::kExitUsage); !rec)
    raise_error(Error(rec.error().code, fmt::format("{}; and the operation could not be recorded: {}", message,
                                                    rec.error().message)),
                nullptr, code);
}

// ---- the method from the environment ------------------------------------------------------
// `modelsign sign MODEL_PATH`'s choice (src/ci/method_choice.h), for method="auto" without a
// key argument and for CI mode: the same order, reasons and error text.
py::dict choose_sign_method_py(bool private_key, bool pkcs11_uri, bool tpm2_key, bool certificate) {
  ci::SignFlags f;
  f.private_key = private_key;
  f.pkcs11_uri = pkcs11_uri;
  f.tpm2_key = tpm2_key;
  f.signing_certificate = certificate;
  auto c = take(ci::choose_sign_method(f, audit::process_env()));
  return py::dict("method"_a = c.method, "reason"_a = c.reason, "key_reference"_a = c.key_reference);
}

// ---- verify ------------------------------------------------------------------------------
// A signature (or trust material) file, read whole within the bundle parser's size bound.
Result<std::string> read_signature(const std::string& path, std::string_view what = "signature file") {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound, fmt::format("{} '{}' not found", what, path));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} '{}' is not a regular file", what, path));
  if (static_cast<std::uint64_t>(st.st_size) > kMaxSignatureBytes)
    return fail(ErrorCode::kMalformed, fmt::format("{} '{}' is {} bytes; the limit is {}",
                                                   what, path, st.st_size, kMaxSignatureBytes));
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in || in.gcount() != static_cast<std::streamsize>(text.size()) || in.peek() != EOF)
    return fail(ErrorCode::kIo, fmt::format("could not read the {} '{}' in full ({} bytes "
                                            "expected); it changed or is unreadable",
                                            what, path, st.st_size));
  return text;
}

struct SigstoreArgs {
  std::string identity;
  bool identity_regex = false;
  std::string issuer;
  std::string trust_config;  // file: ClientTrustConfig JSON
  std::string trusted_root;  // file: trusted_root.json
  bool use_staging = false;
};

SigstorePolicy sigstore_policy(const SigstoreArgs& a) {
  SigstorePolicy p;
  p.identity = a.identity;
  p.identity_regex = a.identity_regex;
  p.issuer = a.issuer;
  p.use_staging = a.use_staging;
  if (!a.trust_config.empty() || !a.trusted_root.empty()) {
    const bool config = !a.trust_config.empty();
    const std::string& path = config ? a.trust_config : a.trusted_root;
    auto text = read_signature(path, config ? "trust config file" : "trusted root file");
    if (!text) raise_error(text.error());
    p.trust_material = std::move(*text);
    p.trust_material_is_trust_config = config;
    p.trust_material_name = path;
  }
  return p;
}

py::object sigstore_dict(const std::optional<SigstoreDetails>& d) {
  if (!d) return py::none();
  return py::dict("identity"_a = d->identity, "issuer"_a = d->issuer,
                  "signing_time"_a = d->signing_time, "signing_time_source"_a = d->signing_time_source,
                  "rekor_log_index"_a = d->rekor_log_index ? py::object(py::int_(*d->rekor_log_index))
                                                           : py::object(py::none()),
                  "trusted_root"_a = d->trusted_root);
}

py::dict verify_py(const ModelArgs& m, const std::string& signature, const std::string& method,
                   const KeyArgs& key, const SigstoreArgs& sigstore,
                   const std::vector<std::string>& trust_files,
                   bool use_system_trust_store, bool ignore_unsigned_files, bool strict_ignored,
                   const py::object& progress) {
  sync_level();
  const std::string sig_path = signature.empty() ? signature_default(m.model_path) : signature;
  auto read = read_signature(sig_path);
  if (!read)
    raise_error(read.error(), nullptr, read.error().code == ErrorCode::kMalformed ? "malformed-signature" : "");
  std::string text = std::move(*read);
  VerifyOptions opts;
  if (method == "key") {
    opts.method = VerifyMethod::kKey;
    opts.public_key = take(load_public_key(key.reference, provider_options(key)));
    log::debug("verifying with the public key {} (hint {})", opts.public_key->describe(),
               opts.public_key->hint());
  } else if (method == "certificate") {
    opts.method = VerifyMethod::kCertificate;
    for (const auto& f : trust_files) {
      auto certs = take(read_pem_certificates(f));
      log::debug("trust anchors: {} certificate(s) from '{}'", certs.size(), f);
      for (auto& c : certs) opts.trust_anchors.push_back(std::move(c));
    }
    opts.use_system_trust_store = use_system_trust_store;
  } else if (method == "sigstore") {
    opts.method = VerifyMethod::kSigstore;
    opts.sigstore = sigstore_policy(sigstore);
  } else {
    raise_error(Error(ErrorCode::kInvalidArgument, fmt::format("unknown verification method '{}'", method)));
  }
  opts.ignore_unsigned_files = ignore_unsigned_files;
  opts.strict_ignored = strict_ignored;
  opts.serialization = serialization_for(m, {sig_path});
  opts.signature_in_model = resolve_ignore_path(sig_path, m.model_path);
  auto observer = std::make_shared<HashObserver>();
  opts.hashing = hashing_for(m, observer);
  VerifyMismatch mismatch;
  opts.mismatch = &mismatch;
  auto r = run_unlocked<Result<VerifyResult>>(
      [&] { return verify_model(m.model_path, text, opts); }, observer, progress);
  if (!r)
    raise_error(r.error(), r.error().code == ErrorCode::kMismatch ? &mismatch : nullptr,
                r.error().code == ErrorCode::kMalformed ? "malformed-signature" : "");
  for (const auto& w : r->warnings) log::warning("{}", w);
  log::debug("{} files match the signature; signer {}", r->signed_manifest.resources.size(), r->signer);
  drain_logs();
  return py::dict("signature_path"_a = sig_path, "method"_a = method,
                  "model_name"_a = r->signed_manifest.model_name,
                  "model_hash"_a = root_text(r->signed_manifest), "signer"_a = r->signer,
                  "files"_a = file_names(r->signed_manifest), "warnings"_a = r->warnings,
                  "recorded_ignore_paths"_a = r->recorded_ignore_paths,
                  "ignored_files"_a = r->ignored_files, "unsigned_files"_a = r->tolerated_unsigned,
                  "sigstore"_a = sigstore_dict(r->sigstore));
}

// ---- keygen ------------------------------------------------------------------------------
py::dict generate_pem_key_py(const std::string& private_path, const std::string& key_type,
                             const py::object& password) {
  sync_level();
  KeyType type = take(parse_key_type(key_type));
  const KeyProvider* provider = take(provider_by_name("pem"));
  ProviderOptions o;
  o.secret.value = secret_from(password);
  GeneratedKey key = take(provider->generate(private_path, type, o));
  drain_logs();
  return py::dict("reference"_a = key.reference, "public_key_pem"_a = key.public_key.to_pem(),
                  "hint"_a = key.public_key.hint(), "key_type"_a = std::string(to_string(type)));
}

py::dict public_key_py(const KeyArgs& key) {
  sync_level();
  PublicKey pub = take(load_public_key(key.reference, provider_options(key)));
  drain_logs();
  return py::dict("pem"_a = pub.to_pem(), "hint"_a = pub.hint(), "description"_a = pub.describe());
}

// ---- the command line --------------------------------------------------------------------
int run_cli_py(const std::vector<std::string>& args) {
  // The command line writes its own messages to stderr, exactly like the binary.
  log::set_sink(nullptr);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = 0;
  {
    py::gil_scoped_release unlocked;
    rc = cli::run_cli(static_cast<int>(copy.size()), argv.data());
  }
  return rc;
}

}  // namespace

}  // namespace modelsign::python

PYBIND11_MODULE(_native, mod) {
  using namespace modelsign::python;
  namespace ms = modelsign;
  mod.doc() = "The modelsign C++ library; use the `modelsign` package, not this module.";
  mod.attr("__version__") = MODELSIGN_VERSION;
  ms::log::set_sink(&queue_message);

  py::class_<ModelArgs>(mod, "ModelArgs")
      .def(py::init<>())
      .def_readwrite("model_path", &ModelArgs::model_path)
      .def_readwrite("ignore_paths", &ModelArgs::ignore_paths)
      .def_readwrite("ignore_git_paths", &ModelArgs::ignore_git_paths)
      .def_readwrite("symlinks", &ModelArgs::symlinks)
      .def_readwrite("threads", &ModelArgs::threads);
  py::class_<SigstoreArgs>(mod, "SigstoreArgs")
      .def(py::init<>())
      .def_readwrite("identity", &SigstoreArgs::identity)
      .def_readwrite("identity_regex", &SigstoreArgs::identity_regex)
      .def_readwrite("issuer", &SigstoreArgs::issuer)
      .def_readwrite("trust_config", &SigstoreArgs::trust_config)
      .def_readwrite("trusted_root", &SigstoreArgs::trusted_root)
      .def_readwrite("use_staging", &SigstoreArgs::use_staging);
  py::class_<KeyArgs>(mod, "KeyArgs")
      .def(py::init<>())
      .def_readwrite("reference", &KeyArgs::reference)
      .def_readwrite("params", &KeyArgs::params)
      .def_readwrite("secret_file", &KeyArgs::secret_file)
      .def_readwrite("secret_env", &KeyArgs::secret_env)
      .def_readwrite("secret", &KeyArgs::secret);

  mod.def("compute_manifest", &compute_manifest_py, py::arg("model"), py::arg("progress"));
  py::class_<RecordSpec>(mod, "RecordSpec")
      .def(py::init<>())
      .def_readwrite("audit_log", &RecordSpec::audit_log)
      .def_readwrite("ci_dotenv", &RecordSpec::ci_dotenv)
      .def_readwrite("method", &RecordSpec::method)
      .def_readwrite("method_reason", &RecordSpec::method_reason);
  py::class_<KeylessArgs>(mod, "KeylessArgs")
      .def(py::init<>())
      .def_readwrite("identity_token", &KeylessArgs::identity_token)
      .def_readwrite("identity_token_file", &KeylessArgs::identity_token_file)
      .def_readwrite("trust_config", &KeylessArgs::trust_config)
      .def_readwrite("use_staging", &KeylessArgs::use_staging)
      .def_readwrite("offline", &KeylessArgs::offline)
      .def_readwrite("ca_file", &KeylessArgs::ca_file)
      .def_readwrite("use_ambient_credentials", &KeylessArgs::use_ambient_credentials)
      .def_readwrite("oauth", &KeylessArgs::oauth)
      .def_readwrite("oauth_force_oob", &KeylessArgs::oauth_force_oob)
      .def_readwrite("client_id", &KeylessArgs::client_id);

  mod.def("sign", &sign_py, py::arg("model"), py::arg("signature"), py::arg("key"),
          py::arg("certificate_files"), py::arg("progress"), py::arg("record") = py::none());
  mod.def("sign_keyless", &sign_keyless_py, py::arg("model"), py::arg("signature"), py::arg("keyless"),
          py::arg("key") = py::none(), py::arg("progress") = py::none(), py::arg("record") = py::none());
  mod.def("record_choice_failure", &record_choice_failure_py, py::arg("model_path"), py::arg("signature"),
          py::arg("record"), py::arg("code"), py::arg("message"));
  mod.def("choose_sign_method", &choose_sign_method_py, py::arg("private_key"), py::arg("pkcs11_uri"),
          py::arg("tpm2_key"), py::arg("certificate"));
  mod.def("verify", &verify_py, py::arg("model"), py::arg("signature"), py::arg("method"),
          py::arg("key"), py::arg("sigstore"), py::arg("trust_files"), py::arg("use_system_trust_store"),
          py::arg("ignore_unsigned_files"), py::arg("strict_ignored"), py::arg("progress"));
  mod.def("generate_pem_key", &generate_pem_key_py, py::arg("private_key"), py::arg("key_type"),
          py::arg("password"));
  mod.def("public_key", &public_key_py, py::arg("key"));
  mod.def("default_signature_path", &signature_default, py::arg("model_path"));
  mod.def("run_cli", &run_cli_py, py::arg("argv"));
  mod.def("close_stdout", [] { return ms::cli::close_stdout(); });
  mod.def("providers", [] {
    std::vector<std::string> names;
    for (const auto* p : ms::all_providers()) names.emplace_back(p->name());
    return names;
  });
}
