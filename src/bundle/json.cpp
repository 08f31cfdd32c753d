#include "bundle/json.h"

#include <fmt/format.h>

#include <set>
#include <vector>

#include "bundle/limits.h"

namespace modelsign::bundle {

Result<Json> parse_strict(std::string_view text, std::string_view what) {
  if (text.size() > limits::kMaxBundleBytes)
    return fail(ErrorCode::kMalformed, fmt::format("{} is {} bytes; the limit is {} bytes", what,
                                                   text.size(), limits::kMaxBundleBytes));
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  bool too_deep = false;
  auto cb = [&](int depth, Json::parse_event_t ev, Json& parsed) {
    if (static_cast<std::size_t>(depth) > limits::kMaxJsonDepth) too_deep = true;
    switch (ev) {
      case Json::parse_event_t::object_start: keys.emplace_back(); break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default: break;
    }
    return !too_deep;
  };
  Json j;
  try {
    j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    if (too_deep)
      return fail(ErrorCode::kMalformed,
                  fmt::format("{} nests JSON deeper than {} levels", what, limits::kMaxJsonDepth));
    return fail(ErrorCode::kMalformed, fmt::format("{} is not valid JSON: {}", what, e.what()));
  }
  if (too_deep)
    return fail(ErrorCode::kMalformed,
                fmt::format("{} nests JSON deeper than {} levels", what, limits::kMaxJsonDepth));
  if (!duplicate.empty())
    return fail(ErrorCode::kMalformed,
                fmt::format("{} has the key '{}' twice in one object", what, duplicate));
  return j;
}

const Json* member(const Json& obj, std::initializer_list<std::string_view> names) {
  if (!obj.is_object()) return nullptr;
  for (auto n : names) {
    auto it = obj.find(std::string(n));
    if (it != obj.end()) return &*it;
  }
  return nullptr;
}

static std::string first(std::initializer_list<std::string_view> names) {
  return names.size() > 0 ? std::string(*names.begin()) : std::string();
}

Result<std::string> get_string(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where) {
  const Json* v = member(obj, names);
  if (v == nullptr)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, first(names)));
  if (!v->is_string())
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: field '{}' must be a string, found {}", where, first(names), v->type_name()));
  return v->get<std::string>();
}

Result<const Json*> get_object(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where) {
  const Json* v = member(obj, names);
  if (v == nullptr)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, first(names)));
  if (!v->is_object())
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: field '{}' must be an object, found {}", where, first(names), v->type_name()));
  return v;
}

Result<const Json*> get_array(const Json& obj, std::initializer_list<std::string_view> names,
                              std::string_view where) {
  const Json* v = member(obj, names);
  if (v == nullptr)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, first(names)));
  if (!v->is_array())
    return fail(ErrorCode::kMalformed,
                fmt::format("{}: field '{}' must be an array, found {}", where, first(names), v->type_name()));
  return v;
}

}  // namespace modelsign::bundle
