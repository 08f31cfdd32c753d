#include "pkcs11/p11_uri.h"

#include <openssl/crypto.h>
#include <strings.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "modelsign/log.h"

namespace modelsign::pkcs11 {

namespace {

std::string_view trim_prefix(std::string_view s) {
  // RFC 3986: the scheme is case-insensitive; p11-kit wants it in lower case.
  return s.substr(7);
}

bool any_set(const unsigned char* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (s[i] != 0) return true;
  return false;
}

std::string percent_encode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || std::strchr("-._~/", ch) != nullptr) {
      out.push_back(ch);
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned>(c));
    }
  }
  return out;
}

}  // namespace

namespace {

// Whether one attribute ("name=value") is a pin-value, however spelled: names are
// compared case-insensitively after percent-decoding, as a lenient parser might.
bool is_pin_value_attribute(std::string_view item) {
  std::string name;
  for (std::size_t i = 0; i < item.size() && item[i] != '='; ++i) {
    char c = item[i];
    if (c == '%' && i + 2 < item.size() && std::isxdigit(static_cast<unsigned char>(item[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(item[i + 2])) != 0) {
      c = static_cast<char>(std::stoi(std::string(item.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())) != 0) name.pop_back();
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())) != 0) name.erase(0, 1);
  return name == "pin-value" || name == "pinvalue" || name == "pin_value";
}

// Drops every pin-value attribute from a list separated by `sep`.
std::string drop_pin(std::string_view list, char sep) {
  std::string out;
  bool first = true;
  while (true) {
    auto at = list.find(sep);
    std::string_view item = list.substr(0, at);
    if (!is_pin_value_attribute(item)) {
      if (!first) out.push_back(sep);
      out.append(item);
      first = false;
    }
    if (at == std::string_view::npos) break;
    list = list.substr(at + 1);
  }
  return out;
}

}  // namespace

std::string redact_uri(std::string_view text) {
  // p11-kit accepts pin-value in the path (";pin-value=") as well as in the query.
  auto q = text.find('?');
  std::string_view path = text.substr(0, q);
  std::string out;
  auto colon = path.find(':');
  if (colon != std::string_view::npos) {
    out.append(path.substr(0, colon + 1));
    out += drop_pin(path.substr(colon + 1), ';');
  } else {
    out += drop_pin(path, ';');
  }
  if (q != std::string_view::npos) {
    std::string query = drop_pin(text.substr(q + 1), '&');
    if (!query.empty()) out += "?" + query;
  }
  return out;
}

namespace {
std::string format(P11KitUri* uri, P11KitUriType type) {
  char* s = nullptr;
  if (p11_kit_uri_format(uri, type, &s) != P11_KIT_URI_OK || s == nullptr) return "pkcs11:";
  std::string out(s);
  std::free(s);
  return out;
}
}  // namespace

Result<KeyUri> parse_uri(std::string_view text) {
  KeyUri u;
  u.redacted = redact_uri(text);
  if (text.size() < 7 || strncasecmp(text.data(), "pkcs11:", 7) != 0)
    return fail(ErrorCode::kMalformed,
                fmt::format("Malformed pkcs11 URI: missing 'pkcs11:' prefix: {}", u.redacted));
  // The text may carry a PIN: this copy is wiped when done.
  const Secret normalised("pkcs11:" + std::string(trim_prefix(text)));
  // p11-kit takes an unknown type= as an unknown attribute; model_signing rejects it.
  std::string_view path = normalised.view().substr(7);
  path = path.substr(0, path.find('?'));
  while (!path.empty()) {
    auto semi = path.find(';');
    std::string_view item = path.substr(0, semi);
    if (item.starts_with("type=")) {
      std::string_view v = item.substr(5);
      if (v != "public" && v != "private" && v != "cert" && v != "secret-key" && v != "data" &&
          !v.empty())
        return fail(ErrorCode::kMalformed,
                    fmt::format("Malformed pkcs11 URI '{}': type must be one of public, private, "
                                "cert, secret-key, data; got '{}'",
                                u.redacted, v));
    }
    if (semi == std::string_view::npos) break;
    path = path.substr(semi + 1);
  }
  u.uri.reset(p11_kit_uri_new());
  int rc = p11_kit_uri_parse(normalised.data(), P11_KIT_URI_FOR_ANY, u.uri.get());
  if (rc != P11_KIT_URI_OK)
    return fail(ErrorCode::kMalformed,
                fmt::format("Malformed pkcs11 URI '{}': {}. Expected RFC 7512 syntax, e.g. "
                            "pkcs11:token=LABEL;object=KEY?pin-source=file:/path/to/pin",
                            u.redacted, p11_kit_uri_message(rc)));
  if (p11_kit_uri_any_unrecognized(u.uri.get()) != 0) {
    // Vendor or unknown path attributes are ignored (as model_signing does); p11-kit
    // would otherwise refuse to match anything.
    log::warning("pkcs11: ignoring attributes p11-kit does not know in '{}'", u.redacted);
    p11_kit_uri_set_unrecognized(u.uri.get(), 0);
  }
  if (CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(u.uri.get(), CKA_ID)) {
    const auto* p = static_cast<const std::uint8_t*>(a->pValue);
    u.id = Bytes(p, p + a->ulValueLen);
  }
  if (CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(u.uri.get(), CKA_LABEL)) {
    const auto* p = static_cast<const char*>(a->pValue);
    u.label = std::string(p, p + a->ulValueLen);
  }
  if (CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(u.uri.get(), CKA_CLASS);
      a != nullptr && a->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
    CK_OBJECT_CLASS c = 0;
    std::memcpy(&c, a->pValue, sizeof(c));
    u.object_class = c;
  }
  CK_SLOT_ID slot = p11_kit_uri_get_slot_id(u.uri.get());
  if (slot != static_cast<CK_SLOT_ID>(-1)) u.slot_id = slot;
  if (const char* v = p11_kit_uri_get_module_path(u.uri.get())) u.module_path = v;
  if (const char* v = p11_kit_uri_get_module_name(u.uri.get())) u.module_name = v;
  if (const char* v = p11_kit_uri_get_pin_source(u.uri.get())) u.pin_source = v;
  if (const char* pin = p11_kit_uri_get_pin_value(u.uri.get())) {
    u.has_pin_value = true;
    u.pin_value = Secret(std::string_view(pin));
    // p11-kit frees its copy without wiping it: wipe it first.
    OPENSSL_cleanse(const_cast<char*>(pin), std::strlen(pin));
    p11_kit_uri_set_pin_value(u.uri.get(), nullptr);
  }
  // What people see is re-formatted from the parse, with the PIN gone.
  u.redacted = format(u.uri.get(), P11_KIT_URI_FOR_ANY);

  const CK_TOKEN_INFO* t = p11_kit_uri_get_token_info(u.uri.get());
  u.names_token = u.slot_id.has_value() || any_set(t->label, sizeof(t->label)) ||
                  any_set(t->manufacturerID, sizeof(t->manufacturerID)) ||
                  any_set(t->model, sizeof(t->model)) ||
                  any_set(t->serialNumber, sizeof(t->serialNumber));

  if (!u.pin_source.empty() && u.has_pin_value)
    return fail(ErrorCode::kMalformed,
                fmt::format("Malformed pkcs11 URI '{}': pin-source and pin-value are mutually "
                            "exclusive; keep one of them",
                            u.redacted));
  if (!u.module_path.empty() && u.module_path.front() != '/')
    return fail(ErrorCode::kMalformed,
                fmt::format("Malformed pkcs11 URI '{}': module-path must be an absolute path, got "
                            "'{}'",
                            u.redacted, u.module_path));
  return u;
}


std::string token_uri(const CK_TOKEN_INFO& token) {
  UriPtr uri(p11_kit_uri_new());
  *p11_kit_uri_get_token_info(uri.get()) = token;
  return format(uri.get(), P11_KIT_URI_FOR_TOKEN);
}

std::string object_uri(const CK_TOKEN_INFO& token, const Bytes& id, std::string_view label,
                       std::optional<CK_OBJECT_CLASS> cls, std::string_view module_query) {
  UriPtr uri(p11_kit_uri_new());
  *p11_kit_uri_get_token_info(uri.get()) = token;
  Bytes id_copy = id;
  std::string label_copy(label);
  if (!id_copy.empty()) {
    CK_ATTRIBUTE a{CKA_ID, id_copy.data(), id_copy.size()};
    p11_kit_uri_set_attribute(uri.get(), &a);
  }
  if (!label_copy.empty()) {
    CK_ATTRIBUTE a{CKA_LABEL, label_copy.data(), label_copy.size()};
    p11_kit_uri_set_attribute(uri.get(), &a);
  }
  if (cls) {
    CK_OBJECT_CLASS c = *cls;
    CK_ATTRIBUTE a{CKA_CLASS, &c, sizeof(c)};
    p11_kit_uri_set_attribute(uri.get(), &a);
  }
  std::string out = format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN);
  if (!module_query.empty()) out += fmt::format("?{}", module_query);
  return out;
}

std::string module_query_of(const KeyUri& u) {
  if (!u.module_path.empty() && !u.module_name.empty())
    return fmt::format("module-name={}&module-path={}", percent_encode(u.module_name),
                       percent_encode(u.module_path));
  if (!u.module_path.empty()) return "module-path=" + percent_encode(u.module_path);
  if (!u.module_name.empty()) return "module-name=" + percent_encode(u.module_name);
  return "";
}

}  // namespace modelsign::pkcs11
