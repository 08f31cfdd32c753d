#include "pkcs11/p11_keygen.h"

#include <openssl/rand.h>

#include <fmt/format.h>
#include <utility>

#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "modelsign/log.h"
#include "pkcs11/p11_call.h"
#include "pkcs11/p11_keys.h"
#include "pkcs11/p11_objects.h"

namespace modelsign::pkcs11 {
namespace {

struct KeySpec {
  CK_MECHANISM_TYPE gen;
  CK_MECHANISM_TYPE sign;
  CK_KEY_TYPE type;
  Bytes ec_params;
  CK_ULONG rsa_bits = 0;
};

KeySpec key_spec(KeyType t) {
  switch (t) {
    case KeyType::kEcP256: return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p256()};
    case KeyType::kEcP384: return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p384()};
    case KeyType::kEcP521: return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p521()};
    case KeyType::kRsa2048: return {CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_PSS, CKK_RSA, {}, 2048};
    case KeyType::kRsa3072: return {CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_PSS, CKK_RSA, {}, 3072};
    case KeyType::kRsa4096: return {CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_PSS, CKK_RSA, {}, 4096};
    case KeyType::kEd25519:
      return {CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKK_EC_EDWARDS, ec_params_ed25519()};
  }
  return {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKK_EC, ec_params_p256()};
}

Result<void> refuse_existing(Opened& op, Template& t, std::string_view what) {
  auto objs = find_objects(*op.session, t, kMaxListed + 1);
  if (!objs) return fail(objs.error());
  if (objs->empty()) return {};
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("token {} already holds {} object(s) with {}; keygen never replaces "
                          "keys: choose another object= label (or id=), or delete them first:{}",
                          op.token.describe(), objs->size(), what,
                          uri_list(*op.session, op.token, *objs, op.module_query)));
}

// Says "read-only" where the code or the token's flags allow it: modules report a
// storage they cannot write (SoftHSM's token directory) as a bare CKR_GENERAL_ERROR.
Error keygen_error(CK_RV rv, const Token& t, KeyType type) {
  std::string message = fmt::format("token {} could not generate a {} key pair: {}",
                                    t.describe(), to_string(type), p11_kit_strerror(rv));
  if (is_token_gone(rv)) return token_gone_error(rv, t, "generating a key");
  if (rv == CKR_TOKEN_WRITE_PROTECTED || rv == CKR_SESSION_READ_ONLY ||
      (t.info.flags & CKF_WRITE_PROTECTED) != 0)
    return ck_error(ErrorCode::kPermission,
                    message + "; the token is read-only (write-protected) and cannot store new keys",
                    rv);
  if (rv == CKR_GENERAL_ERROR || rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_MEMORY)
    message += "; the token may be unable to store the key: check that its storage is writable "
               "and not full (for SoftHSM, the token directory in softhsm2.conf)";
  return call_error(rv, t, "generating a key", std::move(message));
}

// The token can make and use keys of this type.
Result<void> check_token_can(const Token& t, const KeySpec& spec, KeyType type) {
  if (auto ok = check_mechanism(t, spec.gen, CKF_GENERATE_KEY_PAIR,
                                fmt::format("generating a key of type {}", to_string(type)));
      !ok)
    return ok;
  return check_mechanism(t, spec.sign, CKF_SIGN, fmt::format("signing with a key of type {}", to_string(type)));
}

// The new key's CKA_ID: the URI's id=, or 16 random bytes; refused when the label or
// the id is taken.
Result<Bytes> choose_free_id(Opened& op, const std::string& label) {
  Template by_label;
  by_label.add_string(CKA_LABEL, label);
  if (auto ok = refuse_existing(op, by_label, fmt::format("label '{}'", label)); !ok)
    return fail(ok.error());
  Bytes id;
  if (op.uri.id && !op.uri.id->empty()) {
    id = *op.uri.id;
  } else {
    id.resize(16);
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
      return fail(openssl_error(ErrorCode::kInternal, "cannot draw a random key id"));
  }
  Template by_id;
  by_id.add_bytes(CKA_ID, id);
  if (auto ok = refuse_existing(op, by_id, fmt::format("id {}", to_hex(id))); !ok)
    return fail(ok.error());
  return id;
}

// The public and private key templates: the private key signs only and never leaves
// the token.
std::pair<Template, Template> key_templates(const KeySpec& spec, const std::string& label,
                                            const Bytes& id) {
  Template pub, priv;
  pub.add_ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .add_ulong(CKA_KEY_TYPE, spec.type)
      .add_bool(CKA_TOKEN, true)
      .add_bool(CKA_PRIVATE, false)
      .add_bool(CKA_VERIFY, true)
      .add_bool(CKA_ENCRYPT, false)
      .add_bool(CKA_WRAP, false)
      .add_bool(CKA_DERIVE, false)
      .add_string(CKA_LABEL, label)
      .add_bytes(CKA_ID, id);
  if (spec.rsa_bits != 0) {
    pub.add_ulong(CKA_MODULUS_BITS, spec.rsa_bits).add_bytes(CKA_PUBLIC_EXPONENT, Bytes{1, 0, 1});
  } else {
    pub.add_bytes(CKA_EC_PARAMS, spec.ec_params);
  }
  priv.add_ulong(CKA_CLASS, CKO_PRIVATE_KEY)
      .add_ulong(CKA_KEY_TYPE, spec.type)
      .add_bool(CKA_TOKEN, true)
      .add_bool(CKA_PRIVATE, true)
      .add_bool(CKA_SENSITIVE, true)
      .add_bool(CKA_EXTRACTABLE, false)
      .add_bool(CKA_SIGN, true)
      .add_bool(CKA_DECRYPT, false)
      .add_bool(CKA_UNWRAP, false)
      .add_bool(CKA_DERIVE, false)
      .add_string(CKA_LABEL, label)
      .add_bytes(CKA_ID, id);
  return {std::move(pub), std::move(priv)};
}

// Trust but verify: a token that ignored the template must not hand out the key (it
// is deleted). The new public key.
Result<PublicKey> check_generated(const Session& s, const Token& t, CK_OBJECT_HANDLE hpub,
                                  CK_OBJECT_HANDLE hpriv) {
  bool sensitive = get_bool(s, hpriv, CKA_SENSITIVE).value_or(false);
  bool extractable = get_bool(s, hpriv, CKA_EXTRACTABLE).value_or(true);
  auto key = public_key_from_object(s, hpub);
  if (sensitive && !extractable && key) return key;
  CK_CALL(s.f(), C_DestroyObject, s.handle(), hpriv);
  CK_CALL(s.f(), C_DestroyObject, s.handle(), hpub);
  if (!key) return fail(key.error().with_context("reading the new public key"));
  return fail(ErrorCode::kBackend,
              fmt::format("token {} created the key with CKA_SENSITIVE={} and "
                          "CKA_EXTRACTABLE={} despite the template; the key was deleted",
                          t.describe(), sensitive, extractable));
}

}  // namespace

Result<GeneratedKey> generate_key(std::string_view reference, KeyType type,
                                  const ProviderOptions& options) {
  auto op = open_token(reference, options, true);
  if (!op) return fail(op.error());
  if (!op->uri.label || op->uri.label->empty())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("keygen needs the new key's label: add object=LABEL to '{}'",
                            op->uri.redacted));
  const std::string label = *op->uri.label;
  const KeySpec spec = key_spec(type);
  if (auto ok = check_token_can(op->token, spec, type); !ok) return fail(ok.error());
  if (auto ok = ensure_login(*op->session, op->token, *op->pin, true); !ok)
    return fail(ok.error());
  auto id = choose_free_id(*op, label);
  if (!id) return fail(id.error());

  auto [pub, priv] = key_templates(spec, label, *id);
  CK_MECHANISM mech{spec.gen, nullptr, 0};
  CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
  const Session& s = *op->session;
  CK_RV rv = CK_CALL(s.f(), C_GenerateKeyPair, s.handle(), &mech, pub.data(), pub.size(),
                     priv.data(), priv.size(), &hpub, &hpriv);
  if (rv != CKR_OK) return fail(keygen_error(rv, op->token, type));
  auto key = check_generated(s, op->token, hpub, hpriv);
  if (!key) return fail(key.error());
  std::string uri = object_uri(op->token.info, *id, label, CKO_PRIVATE_KEY, op->module_query);
  log::info("pkcs11: generated {} key {}", to_string(type), uri);
  return GeneratedKey{std::move(uri), std::move(*key)};
}

}  // namespace modelsign::pkcs11
