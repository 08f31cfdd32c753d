#include "tuf/canonical_json.h"

#include <fmt/format.h>

#include "tuf/errors.h"

namespace modelsign::tuf {

namespace {

void append_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// Depth is bounded by the parser (limits::kMaxJsonDepth), so recursion is bounded too.
Result<void> encode(std::string& out, const bundle::Json& v) {
  switch (v.type()) {
    case bundle::Json::value_t::null: out += "null"; return {};
    case bundle::Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return {};
    case bundle::Json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); return {};
    case bundle::Json::value_t::number_unsigned:
      out += std::to_string(v.get<std::uint64_t>());
      return {};
    case bundle::Json::value_t::number_float:
      return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                      "TUF metadata holds a floating-point number; canonical JSON allows integers "
                      "only, so no signature can cover it");
    case bundle::Json::value_t::string: append_string(out, v.get_ref<const std::string&>()); return {};
    case bundle::Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(',');
        first = false;
        if (auto r = encode(out, e); !r) return r;
      }
      out.push_back(']');
      return {};
    }
    case bundle::Json::value_t::object: {
      // nlohmann's object is a std::map: iteration is already in byte order.
      out.push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, it.key());
        out.push_back(':');
        if (auto r = encode(out, it.value()); !r) return r;
      }
      out.push_back('}');
      return {};
    }
    default:
      return tuf_fail(Failure::kMalformed, ErrorCode::kMalformed,
                      fmt::format("TUF metadata holds a JSON {} value, which canonical JSON cannot encode",
                                  v.type_name()));
  }
}

}  // namespace

Result<std::string> canonical_json(const bundle::Json& value) {
  std::string out;
  if (auto r = encode(out, value); !r) return std::unexpected(r.error());
  return out;
}

}  // namespace modelsign::tuf
