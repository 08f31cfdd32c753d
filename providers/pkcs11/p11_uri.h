// RFC 7512 "pkcs11:" URIs, parsed by p11-kit, plus the rules model_signing applies
// (spec §10.2-10.3): module-path absolute, pin-source and pin-value exclusive.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/p11_common.h"

namespace modelsign::pkcs11 {

struct KeyUri {
  UriPtr uri;                // p11-kit's parse, used to match modules, slots and tokens
  // The URI for messages: re-formatted from the parse without the PIN (before the parse
  // succeeds, the text with every pin-value attribute removed).
  std::string redacted;
  Secret pin_value;          // the URI's pin-value (wiped from p11-kit's copy)
  std::optional<Bytes> id;   // CKA_ID
  std::optional<std::string> label;  // CKA_LABEL (object=)
  std::optional<CK_OBJECT_CLASS> object_class;  // type=
  std::optional<CK_SLOT_ID> slot_id;
  std::string module_path;
  std::string module_name;
  std::string pin_source;
  bool has_pin_value = false;
  bool names_token = false;  // token, manufacturer, serial, model or slot-id given
};

Result<KeyUri> parse_uri(std::string_view text);

// The text with every pin-value attribute removed, from the path (";pin-value=") and
// the query ("?pin-value="), however its name is cased or percent-encoded.
std::string redact_uri(std::string_view text);

// Canonical URIs (percent-encoded by p11-kit). `module_query` is appended verbatim
// after '?' when not empty (e.g. "module-path=/usr/lib/softhsm/libsofthsm2.so").
std::string token_uri(const CK_TOKEN_INFO& token);
std::string object_uri(const CK_TOKEN_INFO& token, const Bytes& id, std::string_view label,
                       std::optional<CK_OBJECT_CLASS> cls, std::string_view module_query = {});

// "module-path=..." / "module-name=..." of a parsed URI (never the PIN), or "".
std::string module_query_of(const KeyUri& u);

}  // namespace modelsign::pkcs11
