#include "bundle/json.h"

#include <fmt/format.h>

#include <new>
#include <utility>
#include <vector>

#include "bundle/limits.h"

namespace modelsign::bundle {

namespace {

// Builds the tree as nlohmann's SAX parser reports it, in one pass: every event costs
// O(1) (amortised), apart from the O(log n) duplicate-key lookup in a std::map. The
// first limit violation stops the parser at once, so nothing past it is read or
// allocated (40 MB of '[' stops after limits::kMaxJsonDepth bytes).
class TreeBuilder {
 public:
  using string_t = Json::string_t;

  explicit TreeBuilder(std::size_t max_values) : max_values_(max_values) {}

  bool null() { return add(Json(nullptr)) != nullptr; }
  bool boolean(bool v) { return add(Json(v)) != nullptr; }
  bool number_integer(Json::number_integer_t v) { return add(Json(v)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t v) { return add(Json(v)) != nullptr; }
  bool number_float(Json::number_float_t v, const string_t& /*text*/) { return add(Json(v)) != nullptr; }
  // The lexer's buffer is ours to take: moving it avoids a second copy of a large string.
  bool string(string_t& v) { return add(Json(std::move(v))) != nullptr; }
  bool binary(Json::binary_t& /*v*/) { return stop("binary data, which JSON text cannot hold"); }

  bool start_object(std::size_t /*len*/) { return open(Json::value_t::object); }
  bool start_array(std::size_t /*len*/) { return open(Json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& k) {
    auto& obj = stack_.back()->get_ref<Json::object_t&>();
    // try_emplace leaves k untouched when the key exists, so the message can name it.
    auto [it, inserted] = obj.try_emplace(std::move(k), nullptr);
    if (!inserted) {
      error_ = fmt::format("has the key '{}' twice in one object; readers disagree on which one "
                           "counts, so the document is refused",
                           k);
      return false;
    }
    slot_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    error_ = fmt::format("is not valid JSON at byte {}: {}", position, e.what());
    return false;
  }

  Json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool stop(std::string msg) {
    error_ = std::move(msg);
    return false;
  }

  // Places a value in the open container (or at the root); nullptr once a limit is hit.
  Json* add(Json&& v) {
    if (++values_ > max_values_) {
      error_ = fmt::format("holds more than {} JSON values; no valid document is that large", max_values_);
      return nullptr;
    }
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* top = stack_.back();
    if (top->is_array()) {
      auto& arr = top->get_ref<Json::array_t&>();
      arr.push_back(std::move(v));
      return &arr.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }

  bool open(Json::value_t type) {
    if (stack_.size() >= limits::kMaxJsonDepth) {
      error_ = fmt::format("nests JSON deeper than {} levels; no valid document nests that deep",
                           limits::kMaxJsonDepth);
      return false;
    }
    Json* v = add(Json(type));
    if (v == nullptr) return false;
    stack_.push_back(v);
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  std::size_t max_values_;
  std::size_t values_ = 0;
  Json root_;
  std::vector<Json*> stack_;  // open containers; pointers stay valid while they are open
  Json* slot_ = nullptr;      // the member the last key created
  std::string error_;
};

}  // namespace

Result<Json> parse_strict(std::string_view text, std::string_view what, std::size_t max_values,
                          std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return fail(ErrorCode::kMalformed,
                fmt::format("{} is {} bytes; the limit is {} bytes, so it cannot be a valid signature",
                            what, text.size(), max_bytes));
  try {
    TreeBuilder builder(max_values);
    bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                              /*strict=*/true, /*ignore_comments=*/false);
    if (!ok) {
      std::string err = builder.error().empty() ? std::string("could not be parsed") : builder.error();
      return fail(ErrorCode::kMalformed, fmt::format("{} {}", what, err));
    }
    return std::move(builder.root());
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kMalformed,
                fmt::format("ran out of memory parsing {} ({} bytes); raise the memory limit or check "
                            "that the file is the signature you expect",
                            what, text.size()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kMalformed, fmt::format("{} is not valid JSON: {}", what, e.what()));
  }
}

Result<const Json*> member(const Json& obj, std::initializer_list<std::string_view> names,
                           std::string_view where) {
  if (!obj.is_object()) return static_cast<const Json*>(nullptr);
  const Json* found = nullptr;
  std::string_view found_name;
  for (auto n : names) {
    auto it = obj.find(n);
    if (it == obj.end()) continue;
    if (found != nullptr)
      return fail(ErrorCode::kMalformed,
                  fmt::format("{}: both '{}' and '{}' are present; they are two spellings of one "
                              "field and only one may appear (re-create the signature)",
                              where, found_name, n));
    found = &*it;
    found_name = n;
  }
  return found;
}

const Json* member(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

static std::string first(std::initializer_list<std::string_view> names) {
  return names.size() > 0 ? std::string(*names.begin()) : std::string();
}

static Result<const Json*> typed(const Json& obj, std::initializer_list<std::string_view> names,
                                 std::string_view where, Json::value_t type, std::string_view type_name) {
  auto v = member(obj, names, where);
  if (!v) return fail(v.error());
  if (*v == nullptr)
    return fail(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, first(names)));
  if ((*v)->type() != type)
    return fail(ErrorCode::kMalformed, fmt::format("{}: field '{}' must be {}, found {}", where,
                                                   first(names), type_name, (*v)->type_name()));
  return *v;
}

Result<std::string> get_string(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where) {
  auto v = typed(obj, names, where, Json::value_t::string, "a string");
  if (!v) return fail(v.error());
  return (*v)->get_ref<const std::string&>();
}

Result<const Json*> get_object(const Json& obj, std::initializer_list<std::string_view> names,
                               std::string_view where) {
  return typed(obj, names, where, Json::value_t::object, "an object");
}

Result<const Json*> get_array(const Json& obj, std::initializer_list<std::string_view> names,
                              std::string_view where) {
  return typed(obj, names, where, Json::value_t::array, "an array");
}

}  // namespace modelsign::bundle
