#include "tpm2/esys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <utility>

#include "common/signal_cleanup.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"
#include "tpm2/tpm2_provider.h"

namespace modelsign::tpm2 {

namespace {

using ossl::UniquePtr;

constexpr const char* kOwnerAuthEnv = "MODELSIGN_TPM_OWNER_AUTH";

std::string decode(TSS2_RC rc) {
  const char* d = Tss2_RC_Decode(rc);
  return d != nullptr ? std::string(d) : fmt::format("0x{:x}", rc);
}

}  // namespace

// ---------------------------------------------------------------- TCTI

std::string TctiChoice::describe() const {
  if (conf.empty())
    return "the default TCTI (tpm2-abrmd, then /dev/tpmrm0, /dev/tpm0, then swtpm on "
           "127.0.0.1:2321)";
  return fmt::format("TCTI '{}' (from {})", conf, origin);
}

TctiChoice choose_tcti(const ProviderOptions& options) {
  if (auto it = options.params.find(kTpm2TctiOption); it != options.params.end() && !it->second.empty())
    return {it->second, "--tcti"};
  for (const char* var : {"TPM2TOOLS_TCTI", "TSS2_TCTI"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return {v, var};
  }
  return {};
}

// ---------------------------------------------------------------- errors

std::uint32_t tpm_base_rc(TSS2_RC rc) {
  TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER) return 0;
  std::uint32_t r = rc & 0xFFFFu;
  // Format-one codes carry the handle/parameter/session number in bits 6 and 8-11.
  if ((r & TPM2_RC_FMT1) != 0) return r & (TPM2_RC_FMT1 | 0x3Fu);
  return r;
}

Error tpm_error(TSS2_RC rc, const ErrorContext& c) {
  const std::string decoded = decode(rc);
  auto make = [&](ErrorCode code, std::string advice) {
    return Error(code, fmt::format("{}: {}", c.operation, advice), decoded, rc);
  };
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  const TSS2_RC base = rc & 0xFFFFu;
  const std::string object = c.object.empty() ? std::string("the key") : c.object;

  if (layer == TSS2_TCTI_RC_LAYER || layer == TSS2_ESAPI_RC_LAYER || layer == TSS2_SYS_RC_LAYER) {
    if (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
        base == TSS2_BASE_RC_TRY_AGAIN)
      return make(ErrorCode::kNotFound,
                  fmt::format("no TPM answered at {}: start the TPM or its simulator/resource "
                              "manager, check access to the device, or choose another TCTI "
                              "with --tcti, TPM2TOOLS_TCTI or TSS2_TCTI",
                              c.tcti));
    if (layer == TSS2_TCTI_RC_LAYER)
      return make(ErrorCode::kInvalidArgument,
                  fmt::format("cannot use {}: expected a TCTI configuration such as "
                              "'device:/dev/tpmrm0', 'tabrmd:' or 'swtpm:path=SOCKET' whose "
                              "libtss2-tcti library is installed",
                              c.tcti));
  }

  switch (tpm_base_rc(rc)) {
    case 0: break;
    case TPM2_RC_HANDLE:
      return make(ErrorCode::kNotFound,
                  fmt::format("there is no {} in the TPM at {}: list the persistent keys with "
                              "'modelsign tpm2 list' or 'tpm2_getcap handles-persistent'",
                              object, c.tcti));
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
      if (c.auth_of == "owner")
        return make(ErrorCode::kAuth,
                    fmt::format("the TPM's owner hierarchy rejected the authorisation value: put "
                                "the owner password in {}",
                                kOwnerAuthEnv));
      return make(ErrorCode::kAuth,
                  fmt::format("wrong authorisation value for {}: give the key's value in a "
                              "file (--tpm2-auth-file) or in MODELSIGN_TPM_AUTH (every failure "
                              "counts towards the TPM's dictionary-attack lockout)",
                              object));
    case TPM2_RC_LOCKOUT:
      return make(ErrorCode::kLocked,
                  "the TPM is in dictionary-attack lockout after too many wrong authorisation "
                  "values and refuses to use the key: wait for the lockout recovery interval "
                  "(tpm2_getcap properties-variable shows TPM2_PT_LOCKOUT_COUNTER and "
                  "TPM2_PT_LOCKOUT_INTERVAL), or have the TPM owner reset it with "
                  "'tpm2_dictionarylockout --clear-lockout'");
    case TPM2_RC_CURVE:
    case TPM2_RC_ECC_POINT:
      return make(ErrorCode::kUnsupported,
                  "this TPM does not support the key's elliptic curve: use ec-p256, which every "
                  "TPM 2.0 implements");
    case TPM2_RC_SCHEME:
    case TPM2_RC_HASH:
    case TPM2_RC_KEY_SIZE:
    case TPM2_RC_ASYMMETRIC:
    case TPM2_RC_MGF:
    case TPM2_RC_KDF:
    case TPM2_RC_SYMMETRIC:
      return make(ErrorCode::kUnsupported,
                  "this TPM does not support the requested algorithm, key size or signature "
                  "scheme (tpm2_getcap algorithms and ecc-curves list what it implements)");
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_OBJECT_HANDLES:
      return make(ErrorCode::kBackend,
                  "the TPM has no free object slot: another program left transient objects "
                  "loaded; run 'tpm2_flushcontext -t', or reach the TPM through a resource "
                  "manager (/dev/tpmrm0 or tpm2-abrmd)");
    case TPM2_RC_INITIALIZE:
      return make(ErrorCode::kBackend,
                  "the TPM has not been started: run 'tpm2_startup -c' (the firmware does this "
                  "on a real machine; a simulator needs it or swtpm's startup-clear flag)");
    case TPM2_RC_NV_DEFINED:
      return make(ErrorCode::kInvalidArgument,
                  fmt::format("{} is already in use: choose a free handle, or remove the old key "
                              "with 'tpm2_evictcontrol -C o -c HANDLE'",
                              object));
    case TPM2_RC_INTEGRITY:
    case TPM2_RC_BINDING:
      return make(ErrorCode::kInvalidArgument,
                  fmt::format("{} does not belong to this TPM: a TSS2 key file only loads on the "
                              "TPM that created it, under the same parent, and not after the "
                              "owner hierarchy was cleared",
                              object));
    case TPM2_RC_HIERARCHY:
      return make(ErrorCode::kPermission,
                  "the owner hierarchy of this TPM is disabled: enable it in the firmware");
    case TPM2_RC_NV_SPACE:
      return make(ErrorCode::kBackend,
                  "the TPM has no room left for persistent objects: remove an unused key with "
                  "'tpm2_evictcontrol -C o -c HANDLE'");
    default: break;
  }
  return make(ErrorCode::kBackend, fmt::format("the TPM at {} failed: {}", c.tcti, decoded));
}

// ---------------------------------------------------------------- bounded waits

// Ends the process when the TPM does not answer in time. ESYS's synchronous calls wait
// forever and the TCTIs retry on EINTR, so a hung TPM (a stopped simulator, a wedged
// resource manager) cannot be interrupted from inside; nothing can be flushed from a TPM
// that does not answer either, so the process reports it and exits (removing its
// temporary files), instead of hanging a CI job.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds limit, std::string tcti) : limit_(limit), tcti_(std::move(tcti)) {
    // The thread inherits a mask without SIGINT/SIGTERM/SIGHUP: deferred by the signing
    // thread while a key is loaded, they must not reach the process through this one.
    signal_cleanup::DeferSignals block;
    thread_ = std::thread([this] { run(); });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm() {
    std::lock_guard<std::mutex> l(mu_);
    deadline_ = std::chrono::steady_clock::now() + limit_;
    armed_ = true;
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> l(mu_);
    armed_ = false;
  }

 private:
  void run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (!armed_) {
        cv_.wait(l);
        continue;
      }
      if (cv_.wait_until(l, deadline_) == std::cv_status::timeout && armed_ && !stop_ &&
          std::chrono::steady_clock::now() >= deadline_) {
        std::string line = fmt::format(
            "modelsign: error: the TPM at {} did not answer within {} s: it is hung, stopped or "
            "overloaded; check the TPM, its simulator or resource manager, or allow longer with "
            "--tpm2-timeout SECONDS\n",
            tcti_, static_cast<double>(limit_.count()) / 1000.0);
        std::fwrite(line.data(), 1, line.size(), stderr);
        signal_cleanup::remove_registered_files();
        std::_Exit(1);
      }
    }
  }
  std::chrono::milliseconds limit_;
  std::string tcti_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::steady_clock::time_point deadline_{};
  bool armed_ = false, stop_ = false;
  std::thread thread_;
};

// A TCTI in front of the chosen one: forwards everything, with the watchdog armed while
// a command is sent and its response awaited. `common` must stay the first member.
struct WatchedTcti {
  TSS2_TCTI_CONTEXT_COMMON_V2 common;
  TSS2_TCTI_CONTEXT* inner;
  Watchdog* dog;
};

namespace {

WatchedTcti* watched(TSS2_TCTI_CONTEXT* c) { return reinterpret_cast<WatchedTcti*>(c); }

struct Armed {
  explicit Armed(Watchdog* d) : dog(d) { dog->arm(); }
  ~Armed() { dog->disarm(); }
  Watchdog* dog;
};

extern "C" TSS2_RC watched_transmit(TSS2_TCTI_CONTEXT* c, size_t size, const uint8_t* command) {
  Armed a(watched(c)->dog);
  return Tss2_Tcti_Transmit(watched(c)->inner, size, command);
}
extern "C" TSS2_RC watched_receive(TSS2_TCTI_CONTEXT* c, size_t* size, uint8_t* response, int32_t timeout) {
  Armed a(watched(c)->dog);
  return Tss2_Tcti_Receive(watched(c)->inner, size, response, timeout);
}
extern "C" void watched_finalize(TSS2_TCTI_CONTEXT*) {}  // the Connection finalizes the inner TCTI
extern "C" TSS2_RC watched_cancel(TSS2_TCTI_CONTEXT* c) { return Tss2_Tcti_Cancel(watched(c)->inner); }
extern "C" TSS2_RC watched_poll_handles(TSS2_TCTI_CONTEXT* c, TSS2_TCTI_POLL_HANDLE* h, size_t* n) {
  return Tss2_Tcti_GetPollHandles(watched(c)->inner, h, n);
}
extern "C" TSS2_RC watched_set_locality(TSS2_TCTI_CONTEXT* c, uint8_t locality) {
  return Tss2_Tcti_SetLocality(watched(c)->inner, locality);
}
extern "C" TSS2_RC watched_make_sticky(TSS2_TCTI_CONTEXT* c, TPM2_HANDLE* handle, uint8_t sticky) {
  return Tss2_Tcti_MakeSticky(watched(c)->inner, handle, sticky);
}

}  // namespace

Result<std::chrono::milliseconds> tpm_timeout(const ProviderOptions& options) {
  auto it = options.params.find(kTpm2TimeoutOption);
  if (it == options.params.end() || it->second.empty()) return kDefaultTpmTimeout;
  double seconds = 0;
  const std::string& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || !(seconds > 0) || seconds > 86400)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("TPM timeout '{}': expected a number of seconds above 0 (at most 86400)", v));
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// ---------------------------------------------------------------- Connection

Result<std::unique_ptr<Connection>> Connection::open(const ProviderOptions& options) {
  std::unique_ptr<Connection> c(new Connection());
  c->tcti_choice_ = choose_tcti(options);
  auto limit = tpm_timeout(options);
  if (!limit) return fail(limit.error());
  c->timeout_ = *limit;
  // The TCTI loader prints an ERROR line for every TCTI it tries and rejects; our own
  // errors say which TCTI failed and why, so keep stderr clean unless the user asked.
  if (std::getenv("TSS2_LOG") == nullptr) setenv("TSS2_LOG", "all+none", 0);
  const char* conf = c->tcti_choice_.conf.empty() ? nullptr : c->tcti_choice_.conf.c_str();
  c->watchdog_ = std::make_unique<Watchdog>(*limit, c->tcti_choice_.describe());
  TSS2_RC rc = TSS2_RC_SUCCESS;
  {
    // Some TCTIs (swtpm) already talk to the TPM while they initialise.
    Armed armed(c->watchdog_.get());
    rc = Tss2_TctiLdr_Initialize(conf, &c->tcti_);
  }
  if (rc != TSS2_RC_SUCCESS) {
    c->tcti_ = nullptr;
    return fail(tpm_error(rc, c->context("connecting to the TPM")));
  }
  auto w = std::make_unique<WatchedTcti>();
  w->common.v1.magic = reinterpret_cast<const TSS2_TCTI_CONTEXT_COMMON_V1*>(c->tcti_)->magic;
  w->common.v1.version = 2;
  w->common.v1.transmit = watched_transmit;
  w->common.v1.receive = watched_receive;
  w->common.v1.finalize = watched_finalize;
  w->common.v1.cancel = watched_cancel;
  w->common.v1.getPollHandles = watched_poll_handles;
  w->common.v1.setLocality = watched_set_locality;
  w->common.makeSticky = watched_make_sticky;
  w->inner = c->tcti_;
  w->dog = c->watchdog_.get();
  c->watched_ = std::move(w);
  rc = Esys_Initialize(&c->esys_, reinterpret_cast<TSS2_TCTI_CONTEXT*>(c->watched_.get()), nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    c->esys_ = nullptr;
    return fail(tpm_error(rc, c->context("connecting to the TPM")));
  }
  return c;
}

Connection::~Connection() {
  if (esys_ != nullptr) Esys_Finalize(&esys_);
  if (tcti_ != nullptr) Tss2_TctiLdr_Finalize(&tcti_);
}

ErrorContext Connection::context(std::string operation, std::string object) const {
  ErrorContext e;
  e.operation = std::move(operation);
  e.tcti = tcti_choice_.describe();
  e.object = std::move(object);
  return e;
}

Result<std::vector<TPM2_HANDLE>> Connection::handles(TPM2_HANDLE first) const {
  std::vector<TPM2_HANDLE> out;
  TPM2_HANDLE next = first;
  const TPM2_HANDLE type = first >> TPM2_HR_SHIFT;
  for (;;) {
    TPMI_YES_NO more = TPM2_NO;
    TPMS_CAPABILITY_DATA* raw = nullptr;
    TSS2_RC rc = Esys_GetCapability(esys_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES, &more, &raw);
    EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
    if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, context("listing the TPM's handles")));
    const TPML_HANDLE& list = data->data.handles;
    if (list.count == 0) break;
    for (UINT32 i = 0; i < list.count; ++i)
      if ((list.handle[i] >> TPM2_HR_SHIFT) == type) out.push_back(list.handle[i]);
    if (more != TPM2_YES) break;
    next = list.handle[list.count - 1] + 1;
  }
  return out;
}

// ---------------------------------------------------------------- Object

Object::Object(Object&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)),
      tr_(std::exchange(o.tr_, ESYS_TR_NONE)),
      transient_(o.transient_) {}

Object& Object::operator=(Object&& o) noexcept {
  if (this != &o) {
    reset();
    ctx_ = std::exchange(o.ctx_, nullptr);
    tr_ = std::exchange(o.tr_, ESYS_TR_NONE);
    transient_ = o.transient_;
  }
  return *this;
}

void Object::reset() {
  if (ctx_ != nullptr && tr_ != ESYS_TR_NONE) {
    // A transient object left loaded occupies one of the TPM's few slots (3 in swtpm)
    // until someone flushes it; a persistent one stays, only our metadata goes.
    if (transient_)
      Esys_FlushContext(ctx_, tr_);
    else
      Esys_TR_Close(ctx_, &tr_);
  }
  ctx_ = nullptr;
  tr_ = ESYS_TR_NONE;
}

// ---------------------------------------------------------------- templates

Result<Object> create_owner_primary(const Connection& c) {
  TPM2B_PUBLIC tmpl{};
  TPMT_PUBLIC& p = tmpl.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                       TPMA_OBJECT_NODA | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.eccDetail.symmetric.keyBits.aes = 128;
  p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;

  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION pcrs{};

  ErrorContext ctx = c.context("creating the owner hierarchy's storage primary key");
  ctx.auth_of = "owner";
  TPM2B_AUTH owner{};
  if (const char* v = std::getenv(kOwnerAuthEnv); v != nullptr && *v != '\0') {
    std::size_t n = std::strlen(v);
    if (n > sizeof(owner.buffer))
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the owner authorisation value in {} is longer than {} bytes",
                              kOwnerAuthEnv, sizeof(owner.buffer)));
    owner.size = static_cast<UINT16>(n);
    std::memcpy(owner.buffer, v, n);
  }
  TSS2_RC rc = Esys_TR_SetAuth(c.ctx(), ESYS_TR_RH_OWNER, &owner);
  OPENSSL_cleanse(&owner, sizeof(owner));
  if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, ctx));

  ESYS_TR handle = ESYS_TR_NONE;
  rc = Esys_CreatePrimary(c.ctx(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &sensitive, &tmpl, &outside, &pcrs, &handle, nullptr, nullptr, nullptr,
                          nullptr);
  if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, ctx));
  return Object(c.ctx(), handle, true);
}

Result<TPM2B_PUBLIC> signing_key_template(KeyType type) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.nameAlg = TPM2_ALG_SHA256;
  // Not decrypt: a signing key that can also decrypt invites cross-protocol misuse.
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_SIGN_ENCRYPT;
  auto ecc = [&](TPMI_ECC_CURVE curve) {
    p.type = TPM2_ALG_ECC;
    p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;  // hash chosen per signature
    p.parameters.eccDetail.curveID = curve;
    p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  };
  auto rsa = [&](TPMI_RSA_KEY_BITS bits) {
    p.type = TPM2_ALG_RSA;
    p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    p.parameters.rsaDetail.keyBits = bits;
    p.parameters.rsaDetail.exponent = 0;  // 65537
  };
  switch (type) {
    case KeyType::kEcP256: ecc(TPM2_ECC_NIST_P256); return t;
    case KeyType::kEcP384: ecc(TPM2_ECC_NIST_P384); return t;
    case KeyType::kEcP521: ecc(TPM2_ECC_NIST_P521); return t;
    case KeyType::kRsa2048: rsa(2048); return t;
    case KeyType::kRsa3072: rsa(3072); return t;
    case KeyType::kRsa4096: rsa(4096); return t;  // few TPMs implement it; the TPM decides
    case KeyType::kEd25519: break;
  }
  return fail(ErrorCode::kUnsupported,
              fmt::format("a TPM key cannot be of type {}: choose ec-p256 or ec-p384 (the "
                          "model_signing format), ec-p521, or rsa-2048 / rsa-3072 / rsa-4096 "
                          "(RSA-PSS, modelsign only)",
                          to_string(type)));
}

// ---------------------------------------------------------------- public keys

namespace {

struct CurveInfo {
  const char* group;
  std::size_t field_bytes;
  SignatureScheme scheme;
  TPMI_ALG_HASH hash;
  std::size_t digest_size;
  const char* type_name;
};

const CurveInfo* curve_info(TPMI_ECC_CURVE curve) {
  static constexpr CurveInfo kP256{"P-256", 32, SignatureScheme::kEcdsaP256Sha256, TPM2_ALG_SHA256, 32, "ec-p256"};
  static constexpr CurveInfo kP384{"P-384", 48, SignatureScheme::kEcdsaP384Sha384, TPM2_ALG_SHA384, 48, "ec-p384"};
  static constexpr CurveInfo kP521{"P-521", 66, SignatureScheme::kEcdsaP521Sha512, TPM2_ALG_SHA512, 64, "ec-p521"};
  switch (curve) {
    case TPM2_ECC_NIST_P256: return &kP256;
    case TPM2_ECC_NIST_P384: return &kP384;
    case TPM2_ECC_NIST_P521: return &kP521;
    default: return nullptr;
  }
}

Result<PublicKey> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  UniquePtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld));
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return fail(openssl_error(ErrorCode::kMalformed,
                              fmt::format("the TPM's {} public key is not a valid key", type)));
  UniquePtr<EVP_PKEY> pkey(raw);
  return public_key_from_pkey(pkey.get());
}

}  // namespace

Result<PublicKey> public_key_of(const TPMT_PUBLIC& pub) {
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld) return fail(openssl_error(ErrorCode::kInternal, "out of memory"));
  if (pub.type == TPM2_ALG_ECC) {
    const CurveInfo* ci = curve_info(pub.parameters.eccDetail.curveID);
    if (ci == nullptr)
      return fail(ErrorCode::kUnsupported,
                  fmt::format("the key's elliptic curve (TPM curve 0x{:04x}) is not supported: "
                              "modelsign uses P-256, P-384 and P-521",
                              pub.parameters.eccDetail.curveID));
    const TPM2B_ECC_PARAMETER& x = pub.unique.ecc.x;
    const TPM2B_ECC_PARAMETER& y = pub.unique.ecc.y;
    if (x.size > ci->field_bytes || y.size > ci->field_bytes || x.size == 0 || y.size == 0)
      return fail(ErrorCode::kMalformed,
                  fmt::format("the TPM's {} public point has coordinates of {} and {} bytes",
                              ci->group, x.size, y.size));
    // Uncompressed SEC1 point; the TPM may drop leading zero bytes of a coordinate.
    Bytes point(1 + 2 * ci->field_bytes, 0);
    point[0] = 0x04;
    std::memcpy(point.data() + 1 + ci->field_bytes - x.size, x.buffer, x.size);
    std::memcpy(point.data() + 1 + 2 * ci->field_bytes - y.size, y.buffer, y.size);
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ci->group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1)
      return fail(openssl_error(ErrorCode::kInternal, "cannot build EC key parameters"));
    return from_params("EC", bld.get());
  }
  if (pub.type == TPM2_ALG_RSA) {
    const TPM2B_PUBLIC_KEY_RSA& n = pub.unique.rsa;
    UniquePtr<BIGNUM> bn_n(BN_bin2bn(n.buffer, n.size, nullptr));
    UniquePtr<BIGNUM> bn_e(BN_new());
    UINT32 e = pub.parameters.rsaDetail.exponent == 0 ? 65537u : pub.parameters.rsaDetail.exponent;
    if (!bn_n || !bn_e || BN_set_word(bn_e.get(), e) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
      return fail(openssl_error(ErrorCode::kInternal, "cannot build RSA key parameters"));
    return from_params("RSA", bld.get());
  }
  return fail(ErrorCode::kUnsupported,
              fmt::format("the TPM object is a {} key, not an ECC or RSA signing key",
                          key_type_name(pub)));
}

std::string key_type_name(const TPMT_PUBLIC& pub) {
  switch (pub.type) {
    case TPM2_ALG_ECC:
      if (const CurveInfo* ci = curve_info(pub.parameters.eccDetail.curveID)) return ci->type_name;
      return fmt::format("ec-curve-0x{:04x}", pub.parameters.eccDetail.curveID);
    case TPM2_ALG_RSA: return fmt::format("rsa-{}", pub.parameters.rsaDetail.keyBits);
    case TPM2_ALG_KEYEDHASH: return "keyedhash";
    case TPM2_ALG_SYMCIPHER: return "symcipher";
    default: return fmt::format("type-0x{:04x}", pub.type);
  }
}

std::string attributes_string(TPMA_OBJECT attrs) {
  static constexpr std::pair<TPMA_OBJECT, const char*> kNames[] = {
      {TPMA_OBJECT_FIXEDTPM, "fixedTPM"},
      {TPMA_OBJECT_STCLEAR, "stClear"},
      {TPMA_OBJECT_FIXEDPARENT, "fixedParent"},
      {TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin"},
      {TPMA_OBJECT_USERWITHAUTH, "userWithAuth"},
      {TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy"},
      {TPMA_OBJECT_NODA, "noDA"},
      {TPMA_OBJECT_ENCRYPTEDDUPLICATION, "encryptedDuplication"},
      {TPMA_OBJECT_RESTRICTED, "restricted"},
      {TPMA_OBJECT_DECRYPT, "decrypt"},
      {TPMA_OBJECT_SIGN_ENCRYPT, "sign"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((attrs & bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += name;
  }
  return out;
}

Result<SigningParams> signing_params(const TPMT_PUBLIC& pub, std::string_view key_name) {
  const TPMA_OBJECT a = pub.objectAttributes;
  if ((a & TPMA_OBJECT_SIGN_ENCRYPT) == 0)
    return fail(ErrorCode::kUnsupported,
                fmt::format("{} is not a signing key (its sign attribute is clear; attributes: {})",
                            key_name, attributes_string(a)));
  if ((a & TPMA_OBJECT_RESTRICTED) != 0)
    return fail(ErrorCode::kUnsupported,
                fmt::format("{} is a restricted signing key (e.g. an attestation key): it only "
                            "signs data the TPM hashed itself, not a model digest; create an "
                            "unrestricted signing key with 'modelsign keygen --tpm2'",
                            key_name));
  if ((a & TPMA_OBJECT_USERWITHAUTH) == 0)
    return fail(ErrorCode::kUnsupported,
                fmt::format("{} can only be used with a policy session (userWithAuth is clear); "
                            "modelsign authorises with the key's authorisation value",
                            key_name));
  SigningParams sp{};
  if (pub.type == TPM2_ALG_ECC) {
    const CurveInfo* ci = curve_info(pub.parameters.eccDetail.curveID);
    if (ci == nullptr)
      return fail(ErrorCode::kUnsupported,
                  fmt::format("{} is on an unsupported elliptic curve ({}): modelsign signs with "
                              "P-256 and P-384 (and P-521)",
                              key_name, key_type_name(pub)));
    const TPMT_ECC_SCHEME& fixed = pub.parameters.eccDetail.scheme;
    if (fixed.scheme != TPM2_ALG_NULL &&
        !(fixed.scheme == TPM2_ALG_ECDSA && fixed.details.ecdsa.hashAlg == ci->hash))
      return fail(ErrorCode::kUnsupported,
                  fmt::format("{} is fixed to signature scheme 0x{:04x} with hash 0x{:04x}, but a "
                              "{} key signs model_signing bundles with ECDSA over {}: create the "
                              "key without a fixed scheme (tpm2_create -G ecc256, not "
                              "ecc256:ecdsa-sha384)",
                              key_name, fixed.scheme, fixed.details.anySig.hashAlg, ci->group,
                              hash_name(ci->scheme)));
    sp.scheme = ci->scheme;
    sp.tpm_scheme.scheme = TPM2_ALG_ECDSA;
    sp.tpm_scheme.details.ecdsa.hashAlg = ci->hash;
    sp.digest_size = ci->digest_size;
    return sp;
  }
  if (pub.type == TPM2_ALG_RSA) {
    const TPMI_RSA_KEY_BITS bits = pub.parameters.rsaDetail.keyBits;
    if (bits < 2048 || bits > 4096)
      return fail(ErrorCode::kUnsupported,
                  fmt::format("{} is a {}-bit RSA key: modelsign signs with RSA 2048 to 4096 bits",
                              key_name, bits));
    const TPMT_RSA_SCHEME& fixed = pub.parameters.rsaDetail.scheme;
    if (fixed.scheme != TPM2_ALG_NULL &&
        !(fixed.scheme == TPM2_ALG_RSAPSS && fixed.details.rsapss.hashAlg == TPM2_ALG_SHA256))
      return fail(ErrorCode::kUnsupported,
                  fmt::format("{} is fixed to signature scheme 0x{:04x} with hash 0x{:04x}: "
                              "modelsign signs with RSA-PSS over SHA-256 only; create the key "
                              "without a fixed scheme",
                              key_name, fixed.scheme, fixed.details.anySig.hashAlg));
    sp.scheme = SignatureScheme::kRsaPssSha256;
    sp.tpm_scheme.scheme = TPM2_ALG_RSAPSS;
    sp.tpm_scheme.details.rsapss.hashAlg = TPM2_ALG_SHA256;
    sp.digest_size = 32;
    return sp;
  }
  return fail(ErrorCode::kUnsupported,
              fmt::format("{} is a {} object, not an ECC or RSA signing key", key_name,
                          key_type_name(pub)));
}

Result<TPM2_HANDLE> parse_handle(std::string_view text) {
  std::string_view digits = text;
  int base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
    base = 16;
  }
  TPM2_HANDLE h = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), h, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not a TPM handle: expected a number such as 0x81000001",
                            text));
  return h;
}

}  // namespace modelsign::tpm2
