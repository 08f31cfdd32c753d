// The tpm2-tss ESYS plumbing of the TPM provider: one connection per invocation (TCTI
// chosen by the caller), RAII for every ESYS handle, TPM public areas <-> OpenSSL keys,
// and TSS2_RC -> Error with advice a user can act on.
#pragma once

#include <tss2/tss2_esys.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/crypto.h"
#include "modelsign/error.h"
#include "modelsign/key_provider.h"

namespace modelsign::tpm2 {

// Memory that ESYS hands out (TPM2B_PUBLIC*, TPMT_SIGNATURE*, ...).
struct EsysFree {
  void operator()(void* p) const { Esys_Free(p); }
};
template <class T>
using EsysPtr = std::unique_ptr<T, EsysFree>;

// The TCTI configuration for one invocation: ProviderOptions params["tcti"], else
// TPM2TOOLS_TCTI, else TSS2_TCTI, else the tss default search (empty `conf`).
struct TctiChoice {
  std::string conf;    // passed to Tss2_TctiLdr_Initialize; empty = default search
  std::string origin;  // where it came from, for messages ("--tcti", "TPM2TOOLS_TCTI", ...)
  std::string describe() const;
};
TctiChoice choose_tcti(const ProviderOptions& options);

// What an error is about, so a decoded TSS2_RC can say what to do.
struct ErrorContext {
  std::string operation;  // "signing with handle:0x81000001"
  std::string tcti;       // TctiChoice::describe()
  std::string object;     // the key the operation used, for "not found" / "wrong auth"
  // Who owns the authorisation value that was checked: "key" (default) or "owner".
  std::string auth_of = "key";
};

// Decodes `rc` with Tss2_RC_Decode and classifies it: no TPM at the TCTI, handle not
// found, wrong authorisation, lockout, unsupported algorithm, out of object slots, ...
Error tpm_error(TSS2_RC rc, const ErrorContext& ctx);

// The TPM-layer response code with handle/parameter/session numbers removed, or 0 when
// `rc` is not a TPM response code.
std::uint32_t tpm_base_rc(TSS2_RC rc);

// How long one TPM command may take before modelsign gives up on the TPM
// (ProviderOptions params["timeout"], seconds; --tpm2-timeout).
inline constexpr std::chrono::milliseconds kDefaultTpmTimeout{30'000};
Result<std::chrono::milliseconds> tpm_timeout(const ProviderOptions& options);

class Watchdog;
struct WatchedTcti;

// An open ESYS context over its TCTI. Every command's round trip is bounded by the
// timeout: a TPM that does not answer ends the process with a message naming the TCTI. Not thread-safe (nor is ESYS): one per thread.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const ProviderOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ESYS_CONTEXT* ctx() const { return esys_; }
  const TctiChoice& tcti() const { return tcti_choice_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  ErrorContext context(std::string operation, std::string object = "") const;

  // Handles of one class currently in the TPM (TPM2_GetCapability(TPM2_CAP_HANDLES)):
  // first = TPM2_PERSISTENT_FIRST, TPM2_TRANSIENT_FIRST, ...
  Result<std::vector<TPM2_HANDLE>> handles(TPM2_HANDLE first) const;

 private:
  Connection() = default;
  TctiChoice tcti_choice_;
  TSS2_TCTI_CONTEXT* tcti_ = nullptr;
  std::unique_ptr<Watchdog> watchdog_;
  std::unique_ptr<WatchedTcti> watched_;
  std::chrono::milliseconds timeout_{kDefaultTpmTimeout};
  ESYS_CONTEXT* esys_ = nullptr;
};

// An ESYS_TR owned by this process: a transient object is flushed from the TPM, a
// persistent one only has its ESYS metadata released. Destroy before the Connection.
class Object {
 public:
  Object() = default;
  Object(ESYS_CONTEXT* ctx, ESYS_TR tr, bool transient) : ctx_(ctx), tr_(tr), transient_(transient) {}
  Object(Object&& o) noexcept;
  Object& operator=(Object&& o) noexcept;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  ~Object() { reset(); }

  ESYS_TR get() const { return tr_; }
  explicit operator bool() const { return tr_ != ESYS_TR_NONE; }
  void reset();

 private:
  ESYS_CONTEXT* ctx_ = nullptr;
  ESYS_TR tr_ = ESYS_TR_NONE;
  bool transient_ = false;
};

// The owner hierarchy's storage primary used as the parent of key files (TSS2 PRIVATE
// KEY parent 0x40000001) and of generated keys: ECC P-256, AES-128-CFB, noDA, empty
// unique - the template the tpm2-openssl provider and tpm2-tss-engine recreate, so their
// key files load here and ours load there. Recreated on demand, flushed by the caller.
Result<Object> create_owner_primary(const Connection& c);

// Public template for a new signing key: fixedTPM|fixedParent|sensitiveDataOrigin|
// userWithAuth|sign, no decrypt, scheme NULL (the hash is chosen per signature).
Result<TPM2B_PUBLIC> signing_key_template(KeyType type);

// The OpenSSL public key of a TPM public area (ECC or RSA).
Result<PublicKey> public_key_of(const TPMT_PUBLIC& pub);

// "ec-p256", "rsa-3072", ... of a TPM public area.
std::string key_type_name(const TPMT_PUBLIC& pub);
// "fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign".
std::string attributes_string(TPMA_OBJECT attrs);

// How modelsign signs with this key: the scheme and the TPM signature scheme to request.
// Refuses keys that cannot sign an externally computed digest (no sign attribute,
// restricted, policy-only, unsupported curve, size or fixed scheme).
struct SigningParams {
  SignatureScheme scheme;
  TPMT_SIG_SCHEME tpm_scheme;
  std::size_t digest_size;
};
Result<SigningParams> signing_params(const TPMT_PUBLIC& pub, std::string_view key_name);

// "0x81000001" -> 0x81000001; accepts hex with 0x, or decimal.
Result<TPM2_HANDLE> parse_handle(std::string_view text);

}  // namespace modelsign::tpm2
