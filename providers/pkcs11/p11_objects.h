// Opening the one token a "pkcs11:" URI names, and finding the objects it names there:
// the key, the public half bound to it, and the URIs shown in messages and listings.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/key_provider.h"
#include "pkcs11/p11_token.h"

namespace modelsign::pkcs11 {

// At most this many objects are named in a message or searched for bound objects.
inline constexpr std::size_t kMaxListed = 20;

// "(none)" or the id in hex.
std::string id_hex(const Bytes& id);
// "private key", "certificate", ...
std::string class_name(CK_OBJECT_CLASS c);
// The canonical URI of an object, with the module query `mq` appended.
std::string uri_of(const Session& s, const Token& t, CK_OBJECT_HANDLE o, std::string_view mq);
// The URIs of up to kMaxListed objects, one an indented line.
std::string uri_list(const Session& s, const Token& t, const std::vector<CK_OBJECT_HANDLE>& objs,
                     std::string_view mq);
// A search for objects of class `cls` with the URI's id= and object= (when given).
Template uri_template(const KeyUri& u, CK_OBJECT_CLASS cls);
// An error unless the URI names a key by id= or object=.
Result<void> require_key_selector(const KeyUri& u);

// Whether the token offers mechanism `m` with the flags `need` (CKF_SIGN,
// CKF_GENERATE_KEY_PAIR); the error lists what it offers for the same purpose.
Result<void> check_mechanism(const Token& t, CK_MECHANISM_TYPE m, CK_FLAGS need,
                             std::string_view purpose);

// Everything needed to talk to the one token a URI names.
struct Opened {
  KeyUri uri;
  std::shared_ptr<Modules> modules;
  Token token;
  std::unique_ptr<Session> session;
  std::unique_ptr<PinSource> pin;
  std::string module_query;
};

// The provider's init-args option, else $MODELSIGN_PKCS11_INIT_ARGS, or "".
std::string init_args(const ProviderOptions& o);

// Parses the URI, loads its module (or the provider's "module" option) and opens a
// session on the one token it names.
Result<Opened> open_token(std::string_view reference, const ProviderOptions& o, bool rw);

// The one object of class `cls` the URI names; an error naming the candidates when more
// match. None: an error listing what the token holds, or CK_INVALID_HANDLE when
// `missing_is_error` is false.
Result<CK_OBJECT_HANDLE> find_one(Opened& op, CK_OBJECT_CLASS cls, bool missing_is_error);

struct PublicHalf {
  PublicKey key;
  std::vector<Bytes> certs;  // DER certificates on the token that certify this key
};

// The public half of a private key, taken only from objects bound to it: public-key
// objects and certificates with the same (non-empty) CKA_ID, and the private key's own
// public attributes. A label binds nothing (anyone who may create public objects can
// plant one with the same label). All bound objects must hold the same key: a
// conflict is refused, naming the candidates.
Result<PublicHalf> public_half(const Session& s, const Token& t, CK_OBJECT_HANDLE priv,
                               std::string_view key_uri, std::string_view mq);

}  // namespace modelsign::pkcs11
