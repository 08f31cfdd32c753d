#include "bundle/json.h"

#include <fmt/format.h>

#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <set>
#include <utility>
#include <vector>

#include "bundle/limits.h"
#include "hashing/enumerate.h"

namespace modelsign::bundle {

namespace {

constexpr std::uint8_t kLongStringSubtype = 0x4c;

// What the input iterator saw, for the handler: whether the last string was elided (and
// where its text is), where reading stopped, and why if the iterator refused the input.
struct ScanState {
  const char* begin = nullptr;
  const char* end = nullptr;
  const char* furthest = nullptr;
  bool last_string_elided = false;
  std::size_t elided_offset = 0, elided_size = 0;
  std::string error;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_structural(char c) {
  return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"';
}

// The document as nlohmann's lexer reads it, with three changes that keep its buffers
// small and change no valid document's meaning: a run of whitespace outside strings
// reads as one character; a string longer than kMaxJsonStringBytes reads as "" (the
// handler takes its text from ScanState); a number or literal longer than
// kMaxJsonTokenBytes, or a long string with escapes, ends the input with an error.
// Each byte is looked at a bounded number of times (a string's look-ahead and checks,
// then its lexing), so the whole read stays linear.
class InputIt {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  InputIt() = default;
  InputIt(const char* p, ScanState* st) : p_(p), st_(st) {}
  reference operator*() const { return *p_; }
  InputIt& operator++() {
    advance();
    return *this;
  }
  InputIt operator++(int) {
    InputIt t = *this;
    advance();
    return t;
  }
  bool operator==(const InputIt& o) const { return p_ == o.p_; }
  bool operator!=(const InputIt& o) const { return p_ != o.p_; }

 private:
  void stop(std::string why) {
    st_->error = std::move(why);
    p_ = st_->end;
  }

  // The closing quote of the string whose content starts at `p` (or `end`), and whether
  // a backslash comes before it. Without escapes, two memchr calls find it.
  static const char* closing_quote(const char* p, const char* end, bool& any_escape) {
    const void* quote = std::memchr(p, '"', static_cast<std::size_t>(end - p));
    const char* q = quote != nullptr ? static_cast<const char*>(quote) : end;
    any_escape = std::memchr(p, '\\', static_cast<std::size_t>(q - p)) != nullptr;
    if (!any_escape) return q;
    bool esc = false;
    for (q = p; q < end; ++q) {
      if (esc) esc = false;
      else if (*q == '\\') esc = true;
      else if (*q == '"') break;
    }
    return q;
  }

  void advance() {
    // Inside a string the look-ahead has found the end of: only step (the lexer checks
    // the content).
    if (string_end_ != nullptr) {
      if (p_ == string_end_) string_end_ = nullptr;  // stepping past the closing quote
      ++p_;
      if (p_ > st_->furthest) st_->furthest = p_;
      return;
    }
    const char c = *p_;
    const char* next = p_ + 1;
    const char* end = st_->end;
    if (c == '"') {
      token_ = 0;
      bool any_escape = false;
      const char* q = closing_quote(next, end, any_escape);
      const auto size = static_cast<std::size_t>(q - next);
      st_->last_string_elided = false;
      if (q == end)
        return stop(fmt::format("is not valid JSON: the string that starts at byte {} never ends (is the "
                                "file cut short?)",
                                p_ - st_->begin));
      if (size > limits::kMaxJsonStringBytes) {
        if (any_escape)
          return stop(fmt::format("holds a string of {} bytes with escape sequences at byte {}; no field "
                                  "of a signature holds one",
                                  size, next - st_->begin));
        // What the lexer would have checked: no raw control character, valid UTF-8. One
        // pass that the compiler vectorises finds whether any byte is below 0x20 or non-ASCII.
        const std::string_view content(next, size);
        unsigned char lowest = 0xff, any_bits = 0;
        for (char ch : content) {
          const auto u = static_cast<unsigned char>(ch);
          lowest = u < lowest ? u : lowest;
          any_bits |= u;
        }
        if (lowest < 0x20)
          return stop(fmt::format("is not valid JSON: the string at byte {} holds a control character",
                                  next - st_->begin));
        if ((any_bits & 0x80) != 0 && !hashing::is_valid_utf8(content))
          return stop(fmt::format("is not valid JSON: the string at byte {} is not valid UTF-8",
                                  next - st_->begin));
        st_->last_string_elided = true;
        st_->elided_offset = static_cast<std::size_t>(next - st_->begin);
        st_->elided_size = size;
        next = q;  // the lexer sees the closing quote next: an empty string
      }
      string_end_ = q;
    } else if (is_space(c)) {
      token_ = 0;
      while (next < end && is_space(*next)) ++next;
    } else if (is_structural(c)) {
      token_ = 0;
    } else if (++token_ > limits::kMaxJsonTokenBytes) {
      return stop(fmt::format("holds a number or literal of more than {} characters at byte {}",
                              limits::kMaxJsonTokenBytes, p_ - st_->begin));
    }
    p_ = next;
    if (p_ > st_->furthest) st_->furthest = p_;
  }

  const char* p_ = nullptr;
  ScanState* st_ = nullptr;
  const char* string_end_ = nullptr;  // the closing quote while inside a string
  std::size_t token_ = 0;
};

// What every strict reader of nlohmann's SAX events checks: the value count, the depth,
// overlong keys, and the wording of parse errors. The first violation stops the parser
// at once, so nothing past it is read or allocated (40 MB of '[' stops after
// limits::kMaxJsonDepth bytes).
class StrictChecks {
 public:
  using string_t = Json::string_t;

  StrictChecks(std::size_t max_values, const ScanState* scan) : max_values_(max_values), scan_(scan) {}

  bool binary(Json::binary_t& /*v*/) { return stop("binary data, which JSON text cannot hold"); }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    if (!scan_->error.empty()) return stop(scan_->error);
    // nlohmann counts characters it read; collapsed whitespace makes that differ from the
    // byte offset, which the iterator tracks.
    const auto at = scan_->furthest > scan_->begin ? scan_->furthest - scan_->begin - 1 : 0;
    error_ = fmt::format("is not valid JSON at byte {} (counting from 0): {}", at, e.what());
    return false;
  }

  const std::string& error() const { return error_; }

 protected:
  bool stop(std::string msg) {
    error_ = std::move(msg);
    return false;
  }

  // One more value (object, array or scalar); false once there are too many.
  bool count_value() {
    if (++values_ > max_values_) {
      error_ = fmt::format("holds more than {} JSON values; no valid document is that large", max_values_);
      return false;
    }
    return true;
  }

  // A container opens inside `open` others; checked before it is counted.
  bool depth_allows(std::size_t open) {
    if (open >= limits::kMaxJsonDepth) {
      error_ = fmt::format("nests JSON deeper than {} levels; no valid document nests that deep",
                           limits::kMaxJsonDepth);
      return false;
    }
    return true;
  }

  bool key_allowed() {
    if (scan_->last_string_elided)
      return stop(fmt::format("has a key of {} bytes; no valid document has one", scan_->elided_size));
    return true;
  }

  std::string duplicate_key_error(const std::string& k) const {
    return fmt::format("has the key '{}' twice in one object; readers disagree on which one counts, so "
                       "the document is refused",
                       k);
  }

  std::size_t max_values_;
  const ScanState* scan_;
  std::size_t values_ = 0;
  std::string error_;
};

// Builds the tree as nlohmann's SAX parser reports it, in one pass: every event costs
// O(1) (amortised), apart from the O(log n) duplicate-key lookup in a std::map.
class TreeBuilder : public StrictChecks {
 public:
  using StrictChecks::StrictChecks;

  bool null() { return add(Json(nullptr)) != nullptr; }
  bool boolean(bool v) { return add(Json(v)) != nullptr; }
  bool number_integer(Json::number_integer_t v) { return add(Json(v)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t v) { return add(Json(v)) != nullptr; }
  bool number_float(Json::number_float_t v, const string_t& /*text*/) { return add(Json(v)) != nullptr; }
  // The lexer's buffer is ours to take: moving it avoids a second copy of a large string.
  bool string(string_t& v) {
    if (scan_->last_string_elided) {
      std::vector<std::uint8_t> marker(2 * sizeof(std::size_t));
      std::memcpy(marker.data(), &scan_->elided_offset, sizeof(std::size_t));
      std::memcpy(marker.data() + sizeof(std::size_t), &scan_->elided_size, sizeof(std::size_t));
      return add(Json::binary(std::move(marker), kLongStringSubtype)) != nullptr;
    }
    return add(Json(std::move(v))) != nullptr;
  }

  bool start_object(std::size_t /*len*/) { return open(Json::value_t::object); }
  bool start_array(std::size_t /*len*/) { return open(Json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& k) {
    if (!key_allowed()) return false;
    auto& obj = stack_.back()->get_ref<Json::object_t&>();
    // try_emplace leaves k untouched when the key exists, so the message can name it.
    auto [it, inserted] = obj.try_emplace(std::move(k), nullptr);
    if (!inserted) return stop(duplicate_key_error(k));
    slot_ = &it->second;
    return true;
  }

  Json& root() { return root_; }

 private:
  // Places a value in the open container (or at the root); nullptr once a limit is hit.
  Json* add(Json&& v) {
    if (!count_value()) return nullptr;
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
    if (!depth_allows(stack_.size())) return false;
    Json* v = add(Json(type));
    if (v == nullptr) return false;
    stack_.push_back(v);
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  Json root_;
  std::vector<Json*> stack_;  // open containers; pointers stay valid while they are open
  Json* slot_ = nullptr;      // the member the last key created
};

// The keys of the open objects, to refuse a duplicate without a tree: each object's keys
// sit in one shared list (objects nest, so an inner object's keys follow its parent's and
// go when it closes); an object with more than kFewKeys moves its keys into a set, so a
// hostile object of a million keys costs O(n log n), not O(n^2).
class OpenObjectKeys {
 public:
  void open() { frames_.push_back(Frame{few_.size(), nullptr}); }
  void close() {
    few_.resize(frames_.back().start);
    frames_.pop_back();
  }
  // False when `k` is already a key of the innermost open object.
  bool insert(const std::string& k) {
    Frame& f = frames_.back();
    if (f.many) return f.many->insert(k).second;
    for (std::size_t i = f.start; i < few_.size(); ++i)
      if (few_[i] == k) return false;
    if (few_.size() - f.start < kFewKeys) {
      few_.push_back(k);
      return true;
    }
    f.many = std::make_unique<std::set<std::string, std::less<>>>();
    for (std::size_t i = f.start; i < few_.size(); ++i) f.many->insert(std::move(few_[i]));
    few_.resize(f.start);
    return f.many->insert(k).second;
  }

 private:
  static constexpr std::size_t kFewKeys = 16;
  struct Frame {
    std::size_t start;
    std::unique_ptr<std::set<std::string, std::less<>>> many;
  };
  std::vector<std::string> few_;
  std::vector<Frame> frames_;
};

// Checks as TreeBuilder does and hands each event on instead of building a tree.
class EventForwarder : public StrictChecks {
 public:
  EventForwarder(std::size_t max_values, const ScanState* scan, JsonEvents* out)
      : StrictChecks(max_values, scan), out_(out) {}

  bool null() { return scalar([&] { out_->null(); }); }
  bool boolean(bool v) { return scalar([&] { out_->boolean(v); }); }
  bool number_integer(Json::number_integer_t v) { return scalar([&] { out_->number_integer(v); }); }
  bool number_unsigned(Json::number_unsigned_t v) { return scalar([&] { out_->number_unsigned(v); }); }
  bool number_float(Json::number_float_t v, const string_t& /*text*/) {
    return scalar([&] { out_->number_float(v); });
  }
  bool string(string_t& v) {
    if (!count_value()) return false;
    if (scan_->last_string_elided)
      out_->long_string(std::string_view(scan_->begin + scan_->elided_offset, scan_->elided_size));
    else
      out_->string(std::move(v));
    return true;
  }

  bool start_object(std::size_t /*len*/) {
    if (!open()) return false;
    keys_.open();
    out_->start_object();
    return true;
  }
  bool start_array(std::size_t /*len*/) {
    if (!open()) return false;
    out_->start_array();
    return true;
  }
  bool end_object() {
    --depth_;
    keys_.close();
    out_->end_object();
    return true;
  }
  bool end_array() {
    --depth_;
    out_->end_array();
    return true;
  }

  bool key(string_t& k) {
    if (!key_allowed()) return false;
    if (!keys_.insert(k)) return stop(duplicate_key_error(k));
    out_->key(k);
    return true;
  }

 private:
  template <class F>
  bool scalar(F&& forward) {
    if (!count_value()) return false;
    forward();
    return true;
  }

  bool open() {
    if (!depth_allows(depth_) || !count_value()) return false;
    ++depth_;
    return true;
  }

  JsonEvents* out_;
  std::size_t depth_ = 0;
  OpenObjectKeys keys_;
};

// Runs nlohmann's SAX parser over `text` with our input iterator and `handler`.
template <class Handler>
Result<void> run_strict(std::string_view text, std::string_view what, std::size_t max_bytes,
                        ScanState& scan, Handler& handler) {
  if (text.size() > max_bytes)
    return fail(ErrorCode::kMalformed,
                fmt::format("{} is {} bytes; the limit is {} bytes, so it cannot be a valid signature",
                            what, text.size(), max_bytes));
  try {
    scan.begin = scan.furthest = text.data();
    scan.end = text.data() + text.size();
    bool ok = Json::sax_parse(InputIt(scan.begin, &scan), InputIt(scan.end, &scan), &handler,
                              Json::input_format_t::json, /*strict=*/true, /*ignore_comments=*/false);
    if (!ok) {
      std::string err = handler.error().empty() ? std::string("could not be parsed") : handler.error();
      return fail(ErrorCode::kMalformed, fmt::format("{} {}", what, err));
    }
    return {};
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kMalformed,
                fmt::format("ran out of memory parsing {} ({} bytes); raise the memory limit or check "
                            "that the file is the signature you expect",
                            what, text.size()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kMalformed, fmt::format("{} is not valid JSON: {}", what, e.what()));
  }
}

}  // namespace

Result<Json> parse_strict(std::string_view text, std::string_view what, std::size_t max_values,
                          std::size_t max_bytes) {
  ScanState scan;
  TreeBuilder builder(max_values, &scan);
  auto r = run_strict(text, what, max_bytes, scan, builder);
  if (!r) return fail(r.error());
  return std::move(builder.root());
}

Result<void> parse_strict_events(std::string_view text, std::string_view what, std::size_t max_values,
                                 std::size_t max_bytes, JsonEvents& events) {
  ScanState scan;
  EventForwarder forwarder(max_values, &scan, &events);
  return run_strict(text, what, max_bytes, scan, forwarder);
}

Error missing_field_error(std::string_view where, std::string_view name) {
  return Error(ErrorCode::kMalformed, fmt::format("{}: missing field '{}'", where, name));
}

Error long_string_field_error(std::string_view where, std::string_view name) {
  return Error(ErrorCode::kMalformed, fmt::format("{}: field '{}' holds a string of more than {} bytes, "
                                                  "far longer than it can validly be",
                                                  where, name, limits::kMaxJsonStringBytes));
}

Error field_type_error(std::string_view where, std::string_view name, std::string_view want,
                       std::string_view found) {
  return Error(ErrorCode::kMalformed, fmt::format("{}: field '{}' must be {}, found {}", where, name, want, found));
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

std::optional<std::string_view> long_string(const Json& v, std::string_view text) {
  if (!v.is_binary()) return std::nullopt;
  const auto& b = v.get_binary();
  if (!b.has_subtype() || b.subtype() != kLongStringSubtype || b.size() != 2 * sizeof(std::size_t))
    return std::nullopt;
  std::size_t offset = 0, size = 0;
  std::memcpy(&offset, b.data(), sizeof(std::size_t));
  std::memcpy(&size, b.data() + sizeof(std::size_t), sizeof(std::size_t));
  if (offset > text.size() || size > text.size() - offset) return std::nullopt;
  return text.substr(offset, size);
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
  if (*v == nullptr) return fail(missing_field_error(where, first(names)));
  if ((*v)->is_binary() && type == Json::value_t::string) return fail(long_string_field_error(where, first(names)));
  if ((*v)->type() != type) return fail(field_type_error(where, first(names), type_name, (*v)->type_name()));
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
