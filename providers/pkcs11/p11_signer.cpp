#include "pkcs11/p11_signer.h"

#include <unistd.h>

#include <fmt/format.h>
#include <mutex>

#include "crypto/ecdsa.h"
#include "modelsign/log.h"
#include "pkcs11/p11_call.h"
#include "pkcs11/p11_keys.h"
#include "pkcs11/p11_objects.h"

namespace modelsign::pkcs11 {
namespace {

CK_MECHANISM_TYPE mechanism_for(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kEcdsaP256Sha256:
    case SignatureScheme::kEcdsaP384Sha384:
    case SignatureScheme::kEcdsaP521Sha512: return CKM_ECDSA;
    case SignatureScheme::kRsaPssSha256: return CKM_RSA_PKCS_PSS;
    case SignatureScheme::kEd25519: return CKM_EDDSA;
  }
  return CKM_ECDSA;
}

class Pkcs11Signer final : public Signer {
 public:
  Pkcs11Signer(Opened op, CK_OBJECT_HANDLE key, PublicHalf half, SignatureScheme scheme,
               bool always_auth, std::string uri)
      : modules_(std::move(op.modules)),
        token_(op.token),
        pin_(std::move(op.pin)),
        session_(std::move(op.session)),
        key_(key),
        key_id_(get_attr(*session_, key, CKA_ID).value_or(Bytes{})),
        key_label_(get_string(*session_, key, CKA_LABEL).value_or("")),
        always_auth_(always_auth),
        mech_(mechanism_for(scheme)),
        scheme_(scheme),
        pub_(std::move(half.key)),
        certs_(std::move(half.certs)),
        uri_(std::move(uri)),
        pid_(getpid()) {}

  ~Pkcs11Signer() override {
    session_.reset();  // before the modules it belongs to
  }

  SignatureScheme scheme() const override { return scheme_; }
  const PublicKey& public_key() const override { return pub_; }
  std::vector<Bytes> certificate_chain() const override { return certs_; }
  std::string describe() const override {
    return fmt::format("PKCS#11 key {} on token {}", uri_, token_.describe());
  }

  Result<Bytes> sign(const SignRequest& request) override {
    std::lock_guard lock(mu_);
    if (pid_ != getpid()) {
      // A forked child: the parent's session and login are not ours.
      auto ok = reopen();
      if (!ok) return fail(ok.error().with_context("re-opening the PKCS#11 key in a child process"));
    }
    auto sig = sign_once(request);
    auto rv = static_cast<CK_RV>(sig ? CKR_OK : sig.error().backend_code);
    if (!sig && !sig.error().backend.empty() &&
        (is_token_gone(rv) || rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID)) {
      // The session or the key handle went away (token removed or reinserted, module
      // restarted): find the token and the key again, once.
      auto ok = reopen();
      if (!ok) return fail(ok.error());
      return sign_once(request);
    }
    return sig;
  }

 private:
  Result<void> reopen() {
    session_.reset();
    auto ok = modules_->ensure_initialized();
    if (!ok) return fail(ok.error());
    auto tok = find_token_again(*modules_, token_);
    if (!tok) return fail(tok.error());
    token_ = *tok;
    auto s = open_session(token_, false);
    if (!s) return fail(s.error());
    auto login = ensure_login(**s, token_, *pin_, true);
    if (!login) return fail(login.error());
    Template t;
    t.add_ulong(CKA_CLASS, CKO_PRIVATE_KEY);
    if (!key_id_.empty()) t.add_bytes(CKA_ID, key_id_);
    if (!key_label_.empty()) t.add_string(CKA_LABEL, key_label_);
    auto objs = find_objects(**s, t, 2);
    if (!objs) return fail(objs.error());
    if (objs->empty())
      return fail(ErrorCode::kNotFound,
                  fmt::format("the key {} is no longer on token {}: it was deleted, or the token "
                              "was replaced by another with the same label and serial",
                              uri_, token_.describe()));
    if (objs->size() > 1)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the key {} is no longer unique on token {} ({} keys match now)",
                              uri_, token_.describe(), objs->size()));
    session_ = std::move(*s);
    key_ = objs->front();
    pid_ = getpid();
    return {};
  }

  Error op_error(CK_RV rv, std::string_view op) const {
    if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID)
      return ck_error(ErrorCode::kUnsupported,
                      fmt::format("token {} refused {} with the key {}: the token or the key "
                                  "does not support this signature mechanism",
                                  token_.describe(), mechanism_name(mech_), uri_),
                      rv);
    if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_KEY_TYPE_INCONSISTENT)
      return ck_error(classify(rv),
                      fmt::format("the key {} may not sign with {} (its CKA_SIGN or key type "
                                  "forbids it): use a signing key",
                                  uri_, mechanism_name(mech_)),
                      rv);
    if (rv == CKR_USER_NOT_LOGGED_IN)
      return ck_error(ErrorCode::kAuth,
                      fmt::format("token {} says the user is not logged in while signing with {}",
                                  token_.describe(), uri_),
                      rv);
    return call_error(rv, token_, "signing",
                      fmt::format("{} with the key {} on token {} failed: {}", op, uri_,
                                  token_.describe(), p11_kit_strerror(rv)));
  }

  Result<Bytes> sign_once(const SignRequest& request) {
    std::span<const std::uint8_t> data = scheme_ == SignatureScheme::kEd25519 ? request.message
                                                                                 : request.digest;
    if (data.empty())
      return fail(ErrorCode::kInvalidArgument, "nothing to sign: the request carries no data");
    CK_RSA_PKCS_PSS_PARAMS pss{CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM mech{mech_, nullptr, 0};
    if (mech_ == CKM_RSA_PKCS_PSS) {
      if (data.size() != 32)
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("RSA-PSS signs a 32-byte SHA-256 digest, got {} bytes", data.size()));
      mech.pParameter = &pss;
      mech.ulParameterLen = sizeof(pss);
    }
    CK_FUNCTION_LIST* f = session_->f();
    CK_SESSION_HANDLE h = session_->handle();
    CK_RV rv = CK_CALL(f, C_SignInit, h, &mech, key_);
    if (rv != CKR_OK) return fail(op_error(rv, "starting to sign"));
    if (always_auth_) {
      // CKA_ALWAYS_AUTHENTICATE: the PIN again, for this one operation.
      auto ok = context_login(*session_, token_, *pin_);
      if (!ok) {
        Bytes scratch(1024);
        CK_ULONG n = scratch.size();
        CK_CALL(f, C_Sign, h, const_cast<CK_BYTE*>(data.data()), data.size(), scratch.data(), &n);
        return fail(ok.error().with_context("context-specific login for a CKA_ALWAYS_AUTHENTICATE key"));
      }
    }
    Bytes out(1024);
    CK_ULONG len = out.size();
    rv = CK_CALL(f, C_Sign, h, const_cast<CK_BYTE*>(data.data()), data.size(), out.data(), &len);
    if (rv == CKR_BUFFER_TOO_SMALL) {
      out.resize(len);
      rv = CK_CALL(f, C_Sign, h, const_cast<CK_BYTE*>(data.data()), data.size(), out.data(), &len);
    }
    if (rv != CKR_OK) return fail(op_error(rv, "signing"));
    out.resize(len);
    if (mech_ == CKM_ECDSA) return ecdsa_raw_to_der(out);
    return out;
  }

  std::shared_ptr<Modules> modules_;
  Token token_;
  std::unique_ptr<PinSource> pin_;
  std::unique_ptr<Session> session_;
  CK_OBJECT_HANDLE key_;
  Bytes key_id_;
  std::string key_label_;
  bool always_auth_;
  CK_MECHANISM_TYPE mech_;
  SignatureScheme scheme_;
  PublicKey pub_;
  std::vector<Bytes> certs_;
  std::string uri_;
  pid_t pid_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                            const ProviderOptions& options) {
  auto op = open_token(reference, options, false);
  if (!op) return fail(op.error());
  if (auto ok = require_key_selector(op->uri); !ok) return fail(ok.error());
  if (op->uri.object_class && *op->uri.object_class != CKO_PRIVATE_KEY)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' names a {} (type=); signing needs the private key: use "
                            "type=private or leave type= out",
                            op->uri.redacted, class_name(*op->uri.object_class)));
  if (auto ok = ensure_login(*op->session, op->token, *op->pin, true); !ok)
    return fail(ok.error());
  auto key = find_one(*op, CKO_PRIVATE_KEY, true);
  if (!key) return fail(key.error());
  std::string uri = uri_of(*op->session, op->token, *key, op->module_query);
  if (get_bool(*op->session, *key, CKA_SIGN) == std::optional<bool>(false))
    return fail(ErrorCode::kPermission,
                fmt::format("the key {} has CKA_SIGN=false: the token does not allow it to "
                            "sign. Use a signing key (modelsign keygen makes one)",
                            uri));
  auto half = public_half(*op->session, op->token, *key, uri, op->module_query);
  if (!half) return fail(half.error());
  auto scheme = half->key.scheme();
  if (!scheme) return fail(scheme.error().with_context(fmt::format("key {}", uri)));
  if (auto ok = check_mechanism(op->token, mechanism_for(*scheme), CKF_SIGN,
                                fmt::format("signing with the {} key {}", half->key.describe(), uri));
      !ok)
    return fail(ok.error());
  bool always_auth = get_bool(*op->session, *key, CKA_ALWAYS_AUTHENTICATE).value_or(false);
  log::debug("pkcs11: signing key {} ({}), mechanism {}", uri, half->key.describe(),
             mechanism_name(mechanism_for(*scheme)));
  CK_OBJECT_HANDLE h = *key;
  return std::unique_ptr<Signer>(new Pkcs11Signer(std::move(*op), h, std::move(*half), *scheme,
                                                  always_auth, std::move(uri)));
}

}  // namespace modelsign::pkcs11
