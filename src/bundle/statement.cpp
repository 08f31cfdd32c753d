#include "bundle/statement.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <set>
#include <utility>

#include "bundle/json.h"
#include "bundle/json_writer.h"
#include "bundle/limits.h"
#include "crypto/encoding.h"
#include "hashing/enumerate.h"

namespace modelsign::bundle {

namespace {

void append_indent(std::string& out, int level) {
  out += '\n';
  out.append(static_cast<std::size_t>(2 * level), ' ');
}

// `"key": ` at `level`, preceded by the separator of the previous member.
void append_key(std::string& out, int level, std::string_view key, bool first) {
  if (!first) out += ',';
  append_indent(out, level);
  append_json_string(out, key, true);
  out += ": ";
}

void append_string_member(std::string& out, int level, std::string_view key, std::string_view v,
                          bool first = false) {
  append_key(out, level, key, first);
  append_json_string(out, v, true);
}

}  // namespace

// Written directly (not through a JSON tree) in the layout nlohmann's dump(2, ' ', true)
// gives: the statement of a million files then costs its text once, not a tree of
// small objects as well. tests/bundle checks the bytes against nlohmann's.
std::string write_statement(const Manifest& m) {
  std::string out;
  // An upper bound, so the text is never reallocated (a doubling would briefly hold it
  // three times): 82 bytes of layout per resource, its strings, its hex digest; the rest,
  // and room for the DSSE PAE header signing puts in front.
  std::size_t bound = 1024 + json_string_size_bound(m.model_name);
  for (const auto& p : m.serialization.ignore_paths) bound += 16 + json_string_size_bound(p);
  for (const auto& r : m.resources)
    bound += 82 + json_string_size_bound(r.name) + json_string_size_bound(r.algorithm) + 2 * r.digest.size();
  out.reserve(bound);
  out += '{';
  append_string_member(out, 1, "_type", kStatementType, true);
  append_key(out, 1, "subject", false);
  out += '[';
  append_indent(out, 2);
  out += '{';
  append_string_member(out, 3, "name", m.model_name, true);
  append_key(out, 3, "digest", false);
  out += '{';
  append_string_member(out, 4, "sha256", to_hex(m.root_digest()), true);
  append_indent(out, 3);
  out += '}';
  append_indent(out, 2);
  out += '}';
  append_indent(out, 1);
  out += ']';
  append_string_member(out, 1, "predicateType", kPredicateType);
  append_key(out, 1, "predicate", false);
  out += '{';
  append_key(out, 2, "serialization", true);
  out += '{';
  const Serialization& ser = m.serialization;
  append_string_member(out, 3, "method", to_string(ser.method), true);
  append_string_member(out, 3, "hash_type", to_string(ser.hash));
  append_key(out, 3, "allow_symlinks", false);
  out += ser.allow_symlinks ? "true" : "false";
  // Integer, not Python's float: model_signing's API auto-detect only copes with integers.
  if (ser.shard_size) {
    append_key(out, 3, "shard_size", false);
    out += std::to_string(*ser.shard_size);
  }
  if (!ser.ignore_paths.empty()) {
    append_key(out, 3, "ignore_paths", false);
    out += '[';
    for (std::size_t i = 0; i < ser.ignore_paths.size(); ++i) {
      if (i > 0) out += ',';
      append_indent(out, 4);
      append_json_string(out, ser.ignore_paths[i], true);
    }
    append_indent(out, 3);
    out += ']';
  }
  append_indent(out, 2);
  out += '}';
  append_key(out, 2, "resources", false);
  out += '[';
  if (m.resources.empty()) {
    out += ']';
  } else {
    for (std::size_t i = 0; i < m.resources.size(); ++i) {
      const Resource& r = m.resources[i];
      if (i > 0) out += ',';
      append_indent(out, 3);
      out += '{';
      append_string_member(out, 4, "name", r.name, true);
      append_string_member(out, 4, "algorithm", r.algorithm);
      append_key(out, 4, "digest", false);
      out += '"';
      out += to_hex(r.digest);
      out += '"';
      append_indent(out, 3);
      out += '}';
    }
    append_indent(out, 2);
    out += ']';
  }
  append_indent(out, 1);
  out += '}';
  append_indent(out, 0);
  out += '}';
  return out;
}

Result<void> check_resource_count(std::size_t count) {
  if (count > limits::kMaxResources)
    return fail(ErrorCode::kMalformed, fmt::format("the signature lists {} resources; the limit is {}",
                                                   count, limits::kMaxResources));
  return {};
}

Result<void> check_ignore_paths(const std::vector<std::string>& paths) {
  if (paths.size() > limits::kMaxIgnorePaths)
    return fail(ErrorCode::kMalformed,
                fmt::format("serialization: {} ignore_paths; the limit is {}", paths.size(),
                            limits::kMaxIgnorePaths));
  for (const auto& p : paths)
    if (p.size() > limits::kMaxNameBytes)
      return fail(ErrorCode::kMalformed,
                  fmt::format("serialization: an ignore_paths entry of {} bytes exceeds the limit of {}",
                              p.size(), limits::kMaxNameBytes));
  return {};
}

Result<void> check_resource_path(std::string_view path) {
  if (path.empty()) return fail(ErrorCode::kMalformed, "the signature lists a resource with an empty name");
  if (path.size() > limits::kMaxNameBytes)
    return fail(ErrorCode::kMalformed, fmt::format("resource name of {} bytes exceeds the limit of {}",
                                                   path.size(), limits::kMaxNameBytes));
  if (path == ".") return {};
  if (!hashing::is_valid_utf8(path))
    return fail(ErrorCode::kMalformed, "the signature lists a resource name that is not valid UTF-8");
  auto unsafe = [&](std::string_view why) {
    return fail(ErrorCode::kMalformed,
                fmt::format("unsafe resource name '{}' in the signature ({}); refusing to read "
                            "anything outside the model",
                            path, why));
  };
  if (path.front() == '/') return unsafe("absolute path");
  if (path.find('\0') != std::string_view::npos) return unsafe("NUL byte");
  size_t count = 0, start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(start, end - start);
    if (comp.empty()) return unsafe("empty path component");
    if (comp == "..") return unsafe("'..' component");
    if (comp == ".") return unsafe("'.' component");
    if (++count > limits::kMaxPathComponents) return unsafe("too many components");
    start = end + 1;
  }
  return {};
}

namespace {

Result<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return fail(ErrorCode::kMalformed, "bad integer");
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fail(ErrorCode::kMalformed, "bad integer");
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// The kinds of JSON value the reader tells apart. Messages name them as nlohmann's
// type_name() does, in which a long string (never lexed, see bundle/json.h) is "binary".
enum class Kind : std::uint8_t { kAbsent, kNull, kBoolean, kNumber, kString, kLongString, kObject, kArray };

std::string_view type_name(Kind k) {
  switch (k) {
    case Kind::kNull: return "null";
    case Kind::kBoolean: return "boolean";
    case Kind::kNumber: return "number";
    case Kind::kString: return "string";
    case Kind::kLongString: return "binary";
    case Kind::kObject: return "object";
    case Kind::kArray: return "array";
    case Kind::kAbsent: break;
  }
  return "absent";
}

// A field the statement checks, as the document gave it (containers: the kind only).
struct Field {
  Kind kind = Kind::kAbsent;
  std::string text;   // kString
  bool flag = false;  // kBoolean
  double number = 0;  // kNumber

  void clear() {
    kind = Kind::kAbsent;
    text.clear();
  }
};

// get_string / get_object / get_array's checks on a field of the object `where`.
Result<void> expect(const Field& f, Kind want, std::string_view where, std::string_view name) {
  if (f.kind == Kind::kAbsent) return fail(missing_field_error(where, name));
  if (f.kind == Kind::kLongString && want == Kind::kString) return fail(long_string_field_error(where, name));
  if (f.kind != want) {
    std::string_view article = want == Kind::kString ? "a string" : want == Kind::kObject ? "an object" : "an array";
    return fail(field_type_error(where, name, article, type_name(f.kind)));
  }
  return {};
}

// path:start:end of a shard resource.
Result<void> parse_shard_name(Resource& r) {
  size_t e = r.name.rfind(':');
  size_t s = e == std::string::npos || e == 0 ? std::string::npos : r.name.rfind(':', e - 1);
  if (s == std::string::npos)
    return fail(ErrorCode::kMalformed,
                fmt::format("Invalid resource name: expected 3 components separated by `:`, got {}", r.name));
  auto start = parse_u64(std::string_view(r.name).substr(s + 1, e - s - 1));
  auto end = parse_u64(std::string_view(r.name).substr(e + 1));
  if (!start || !end || *start >= *end)
    return fail(ErrorCode::kMalformed, fmt::format("Invalid shard range in resource name {}", r.name));
  r.path = r.name.substr(0, s);
  r.start = *start;
  r.end = *end;
  return {};
}

// The first resource, in statement order, whose path is unsafe or whose name an earlier
// resource has: the order in which checking them one by one would find it. Duplicates
// are found by sorting indices (O(n log n) comparisons, whatever the names), not with a
// set of a node per name.
Result<void> check_paths_and_duplicates(const std::vector<Resource>& rs) {
  // Names in strictly increasing byte order (usual: signers list resources sorted) are
  // distinct; one pass tells, and no sort is needed.
  bool increasing = true;
  for (std::size_t i = 1; i < rs.size() && increasing; ++i) increasing = rs[i - 1].name < rs[i].name;
  if (increasing) {
    for (const auto& r : rs)
      if (auto c = check_resource_path(r.path); !c) return fail(c.error());
    return {};
  }
  std::vector<std::uint32_t> order(rs.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    int c = rs[a].name.compare(rs[b].name);
    return c != 0 ? c < 0 : a < b;
  });
  // Within a run of equal names the second index is where the duplicate shows.
  std::size_t dup = rs.size();
  for (std::size_t i = 1; i < order.size(); ++i)
    if (rs[order[i]].name == rs[order[i - 1]].name && (i < 2 || rs[order[i - 2]].name != rs[order[i]].name))
      dup = std::min<std::size_t>(dup, order[i]);
  for (std::size_t i = 0; i <= dup && i < rs.size(); ++i)
    if (auto c = check_resource_path(rs[i].path); !c) return fail(c.error());
  if (dup < rs.size())
    return fail(ErrorCode::kMalformed, fmt::format("the signature lists '{}' twice", rs[dup].name));
  return {};
}

// Reads the statement from the parser's events straight into a manifest: no tree. Only
// the fields the checks need are kept, so the checks can run afterwards in the spec's
// order (steps 4-9) with the messages they always had, whatever the order of the keys in
// the document, and a JSON fault anywhere (the parser stops at it) outranks them all.
// Resources are checked as each one ends; only the first faulty one's error is kept
// (later ones are counted, not stored), and shard names, which need the serialization
// method, are parsed at the end.
class StatementReader final : public JsonEvents {
 public:
  void null() override { scalar(Kind::kNull); }
  void boolean(bool v) override {
    if (Field* f = scalar(Kind::kBoolean)) f->flag = v;
  }
  void number_integer(std::int64_t v) override { number(static_cast<double>(v)); }
  void number_unsigned(std::uint64_t v) override { number(static_cast<double>(v)); }
  void number_float(double v) override { number(v); }
  void string(std::string&& v) override {
    if (!stack_.empty() && stack_.back() == Ctx::kIgnorePaths) {
      if (++ignore_count_ <= limits::kMaxIgnorePaths) ignore_list_.push_back(std::move(v));
      return;
    }
    // Copied, not moved: the field's buffer is reused from one resource to the next and
    // the lexer keeps its own (a moved-in buffer could be one grown for a 64-digit digest
    // and end up holding a short name).
    if (Field* f = scalar(Kind::kString)) f->text.assign(v);
  }
  void long_string(std::string_view /*raw*/) override { scalar(Kind::kLongString); }

  void start_object() override { open(Kind::kObject); }
  void start_array() override { open(Kind::kArray); }
  void end_object() override {
    Ctx c = stack_.back();
    stack_.pop_back();
    if (c == Ctx::kSubject) end_subject();
    if (c == Ctx::kResource) end_resource();
  }
  void end_array() override { stack_.pop_back(); }

  void key(const std::string& k) override {
    slot_ = Slot::kNone;
    switch (stack_.back()) {
      case Ctx::kRoot:
        if (k == "_type") slot_ = Slot::kType;
        else if (k == "predicateType") slot_ = Slot::kPredicateType;
        else if (k == "predicate_type") slot_ = Slot::kPredicateTypeSnake;
        else if (k == "subject") slot_ = Slot::kSubject;
        else if (k == "predicate") slot_ = Slot::kPredicate;
        break;
      case Ctx::kSubject:
        if (k == "name") slot_ = Slot::kSubjectName;
        else if (k == "digest") slot_ = Slot::kSubjectDigest;
        break;
      case Ctx::kSubjectDigest:
        if (k == "sha256") slot_ = Slot::kSha256;
        break;
      case Ctx::kPredicate:
        if (k == "serialization") slot_ = Slot::kSerialization;
        else if (k == "resources") slot_ = Slot::kResources;
        break;
      case Ctx::kSerialization:
        if (k == "method") slot_ = Slot::kMethod;
        else if (k == "hash_type") slot_ = Slot::kHashType;
        else if (k == "allow_symlinks") slot_ = Slot::kAllowSymlinks;
        else if (k == "shard_size") slot_ = Slot::kShardSize;
        else if (k == "ignore_paths") slot_ = Slot::kIgnorePaths;
        break;
      case Ctx::kResource:
        if (k == "name") slot_ = Slot::kResourceName;
        else if (k == "algorithm") slot_ = Slot::kAlgorithm;
        else if (k == "digest") slot_ = Slot::kDigest;
        break;
      default: break;
    }
  }

  // The checks, in order, once the whole document has parsed.
  Result<ParsedStatement> finish();

 private:
  // What the innermost open container is to the statement.
  enum class Ctx : std::uint8_t {
    kIgnore, kRoot, kSubjects, kSubject, kSubjectDigest, kPredicate, kSerialization, kIgnorePaths,
    kResources, kResource,
  };
  // Which field the value after the last key is.
  enum class Slot : std::uint8_t {
    kNone, kType, kPredicateType, kPredicateTypeSnake, kSubject, kPredicate, kSubjectName, kSubjectDigest,
    kSha256, kSerialization, kResources, kMethod, kHashType, kAllowSymlinks, kShardSize, kIgnorePaths,
    kResourceName, kAlgorithm, kDigest,
  };

  Field* field(Slot s) {
    switch (s) {
      case Slot::kNone: return nullptr;
      case Slot::kType: return &type_;
      case Slot::kPredicateType: return &ptype_;
      case Slot::kPredicateTypeSnake: return &ptype_snake_;
      case Slot::kSubject: return &subject_;
      case Slot::kPredicate: return &predicate_;
      case Slot::kSubjectName: return &subject_name_;
      case Slot::kSubjectDigest: return &subject_digest_;
      case Slot::kSha256: return &subject_sha256_;
      case Slot::kSerialization: return &serialization_;
      case Slot::kResources: return &resources_field_;
      case Slot::kMethod: return &method_;
      case Slot::kHashType: return &hash_;
      case Slot::kAllowSymlinks: return &allow_symlinks_;
      case Slot::kShardSize: return &shard_size_;
      case Slot::kIgnorePaths: return &ignore_paths_;
      case Slot::kResourceName: return &resource_name_;
      case Slot::kAlgorithm: return &algorithm_;
      case Slot::kDigest: return &digest_;
    }
    return nullptr;
  }

  // A value that is not a container: the field it fills, if the statement checks it.
  Field* scalar(Kind k) {
    if (stack_.empty()) {
      root_ = k;
      return nullptr;
    }
    switch (stack_.back()) {
      case Ctx::kIgnore: return nullptr;
      case Ctx::kSubjects:  // not an object: a subject without fields
        begin_subject();
        end_subject();
        return nullptr;
      case Ctx::kResources:
        begin_resource();
        end_resource();
        return nullptr;
      case Ctx::kIgnorePaths:  // strings are taken by string()
        ++ignore_count_;
        ignore_paths_all_strings_ = false;
        return nullptr;
      default: break;
    }
    Field* f = field(slot_);
    if (f != nullptr) f->kind = k;
    return f;
  }

  void number(double v) {
    if (Field* f = scalar(Kind::kNumber)) f->number = v;
  }

  void open(Kind k) {
    Ctx next = Ctx::kIgnore;
    if (stack_.empty()) {
      root_ = k;
      if (k == Kind::kObject) next = Ctx::kRoot;
    } else {
      switch (stack_.back()) {
        case Ctx::kIgnore: break;
        case Ctx::kSubjects:
          begin_subject();
          if (k == Kind::kObject) next = Ctx::kSubject;
          else end_subject();
          break;
        case Ctx::kResources:
          begin_resource();
          if (k == Kind::kObject) next = Ctx::kResource;
          else end_resource();
          break;
        case Ctx::kIgnorePaths:
          ++ignore_count_;
          ignore_paths_all_strings_ = false;
          break;
        default:
          if (Field* f = field(slot_); f != nullptr) {
            f->kind = k;
            next = role(slot_, k);
          }
      }
    }
    stack_.push_back(next);
  }

  // The container a field's value opens, when it is of the kind the statement expects.
  static Ctx role(Slot s, Kind k) {
    if (k == Kind::kObject) {
      if (s == Slot::kPredicate) return Ctx::kPredicate;
      if (s == Slot::kSubjectDigest) return Ctx::kSubjectDigest;
      if (s == Slot::kSerialization) return Ctx::kSerialization;
    } else {
      if (s == Slot::kSubject) return Ctx::kSubjects;
      if (s == Slot::kResources) return Ctx::kResources;
      if (s == Slot::kIgnorePaths) return Ctx::kIgnorePaths;
    }
    return Ctx::kIgnore;
  }

  void begin_subject() {
    subject_name_.clear();
    subject_digest_.clear();
    subject_sha256_.clear();
  }

  // The checks both kinds of statement make on each subject (name, digest, sha256).
  void end_subject() {
    ++subject_count_;
    if (subject_error_ || subjects_.size() >= limits::kMaxResources) return;
    Result<void> c = expect(subject_name_, Kind::kString, "subject", "name");
    if (c) c = expect(subject_digest_, Kind::kObject, "subject", "digest");
    if (c) c = expect(subject_sha256_, Kind::kString, "subject digest", "sha256");
    if (!c) {
      subject_error_ = std::move(c.error());
      return;
    }
    subjects_.emplace_back(subject_name_.text, subject_sha256_.text);
  }

  void begin_resource() {
    resource_name_.clear();
    algorithm_.clear();
    digest_.clear();
  }

  void end_resource() {
    ++resource_count_;
    if (resource_error_ || resources_.size() >= limits::kMaxResources) return;
    auto r = make_resource();
    if (!r) resource_error_ = std::move(r.error());
    else resources_.push_back(std::move(*r));
  }

  Result<Resource> make_resource() {
    if (auto c = expect(resource_name_, Kind::kString, "resource", "name"); !c) return fail(c.error());
    // Formatted only for a message: a million resources need none.
    auto where = [&] { return fmt::format("resource '{}'", resource_name_.text); };
    if (auto c = expect(algorithm_, Kind::kString, where(), "algorithm"); !c) return fail(c.error());
    if (auto c = expect(digest_, Kind::kString, where(), "digest"); !c) return fail(c.error());
    const std::string& hex = digest_.text;
    if (hex.size() > 2 * limits::kMaxDigestBytes || hex.empty())
      return fail(ErrorCode::kMalformed, fmt::format("{}: digest of unexpected length {}", where(), hex.size()));
    auto digest = from_hex(hex);
    if (!digest) return fail(ErrorCode::kMalformed, fmt::format("{}: digest is not hex", where()));
    // Exact-size copies: the manifest outlives the parse and is held while the model is hashed.
    Resource r;
    r.name = resource_name_.text;
    r.path = r.name;
    r.algorithm = algorithm_.text;
    r.digest = std::move(*digest);
    return r;
  }

  // The steps of finish(), in order.
  Result<const Field*> check_header();
  Result<void> read_subject(const Field& ptype, ParsedStatement& out);
  Result<void> read_serialization(Serialization& s);
  Result<void> read_resources(Manifest& m);
  static Result<void> check_root_digest(const ParsedStatement& st);
  Result<ParsedStatement> finish_legacy();

  std::vector<Ctx> stack_;
  Slot slot_ = Slot::kNone;
  Kind root_ = Kind::kAbsent;
  Field type_, ptype_, ptype_snake_, subject_, predicate_;
  Field serialization_, resources_field_;
  Field method_, hash_, allow_symlinks_, shard_size_, ignore_paths_;
  std::vector<std::string> ignore_list_;  // the first kMaxIgnorePaths strings
  std::size_t ignore_count_ = 0;
  bool ignore_paths_all_strings_ = true;
  // The subject being read; the subjects read (name, sha256 hex), up to the first faulty one.
  Field subject_name_, subject_digest_, subject_sha256_;
  std::vector<std::pair<std::string, std::string>> subjects_;
  std::size_t subject_count_ = 0;
  std::optional<Error> subject_error_;
  // The resource being read; the resources read, up to the first faulty one.
  Field resource_name_, algorithm_, digest_;
  std::vector<Resource> resources_;
  std::size_t resource_count_ = 0;
  std::optional<Error> resource_error_;
};

Result<ParsedStatement> StatementReader::finish() {
  auto ptype = check_header();
  if (!ptype) return fail(ptype.error());
  if ((*ptype)->text == kLegacyPredicateType) return finish_legacy();
  ParsedStatement out;
  if (auto c = read_subject(**ptype, out); !c) return fail(c.error());
  if (auto c = read_serialization(out.manifest.serialization); !c) return fail(c.error());
  if (auto c = read_resources(out.manifest); !c) return fail(c.error());
  if (auto c = check_root_digest(out); !c) return fail(c.error());
  return out;
}

// The statement's own fields: a JSON object of in-toto's type, one spelling of the
// predicate type, a subject array. Returns the predicate type's field.
Result<const Field*> StatementReader::check_header() {
  if (root_ != Kind::kObject) return fail(ErrorCode::kMalformed, "the signed statement is not a JSON object");
  if (auto c = expect(type_, Kind::kString, "statement", "_type"); !c) return fail(c.error());
  if (type_.text != kStatementType)
    return fail(ErrorCode::kVerification,
                fmt::format("Expected in-toto {} payload, but got {}", kStatementType, type_.text));
  if (ptype_.kind != Kind::kAbsent && ptype_snake_.kind != Kind::kAbsent)
    return fail(ErrorCode::kMalformed,
                "statement: both 'predicateType' and 'predicate_type' are present; they are two spellings "
                "of one field and only one may appear (re-create the signature)");
  const Field& ptype = ptype_.kind != Kind::kAbsent ? ptype_ : ptype_snake_;
  if (auto c = expect(ptype, Kind::kString, "statement", "predicateType"); !c) return fail(c.error());
  if (auto c = expect(subject_, Kind::kArray, "statement", "subject"); !c) return fail(c.error());
  return &ptype;
}

// A signature/v1.0 statement: its predicate type and its one subject (the model).
Result<void> StatementReader::read_subject(const Field& ptype, ParsedStatement& out) {
  if (ptype.text != kPredicateType)
    return fail(ErrorCode::kVerification,
                fmt::format("Predicate type mismatch, expected {}, got {}", kPredicateType, ptype.text));
  if (subject_count_ != 1)
    return fail(ErrorCode::kVerification, fmt::format("Expected only one subject, got {}", subject_count_));
  if (subject_error_) return fail(*subject_error_);
  out.manifest.model_name = std::move(subjects_[0].first);
  out.subject_digest = std::move(subjects_[0].second);
  return {};
}

// The predicate's serialization: method, hash, symlinks, shard size, ignore paths.
Result<void> StatementReader::read_serialization(Serialization& s) {
  if (auto c = expect(predicate_, Kind::kObject, "statement", "predicate"); !c) return fail(c.error());
  if (auto c = expect(serialization_, Kind::kObject, "predicate", "serialization"); !c) return fail(c.error());
  if (auto c = expect(method_, Kind::kString, "serialization", "method"); !c) return fail(c.error());
  if (method_.text == "files") s.method = Method::kFiles;
  else if (method_.text == "shards") s.method = Method::kShards;
  else return fail(ErrorCode::kUnsupported, fmt::format("Unknown serialization type {}", method_.text));
  if (auto c = expect(hash_, Kind::kString, "serialization", "hash_type"); !c) return fail(c.error());
  if (hash_.text == "sha256") s.hash = HashAlgorithm::kSha256;
  else if (hash_.text == "blake2b") s.hash = HashAlgorithm::kBlake2b;
  else
    return fail(ErrorCode::kUnsupported,
                fmt::format("the signature uses hash '{}'; modelsign supports sha256 and blake2b", hash_.text));
  if (allow_symlinks_.kind != Kind::kAbsent) {
    if (allow_symlinks_.kind != Kind::kBoolean)
      return fail(ErrorCode::kMalformed, "serialization: allow_symlinks must be a boolean");
    s.allow_symlinks = allow_symlinks_.flag;
  }
  if (s.method == Method::kShards) {
    // Python writes a float (1000000000.0); accept any integral positive number.
    if (shard_size_.kind != Kind::kNumber)
      return fail(ErrorCode::kMalformed, "serialization: shards need a numeric shard_size");
    double v = shard_size_.number;
    if (!(v >= 1) || v > 9.0e15 || std::floor(v) != v)
      return fail(ErrorCode::kMalformed, "serialization: shard_size must be a positive integer");
    s.shard_size = static_cast<std::uint64_t>(v);
  }
  if (ignore_paths_.kind != Kind::kAbsent) {
    if (ignore_paths_.kind != Kind::kArray || ignore_count_ > limits::kMaxIgnorePaths || !ignore_paths_all_strings_)
      return fail(ErrorCode::kMalformed, "serialization: ignore_paths must be an array of strings");
    s.ignore_paths = std::move(ignore_list_);
    if (auto c = check_ignore_paths(s.ignore_paths); !c) return fail(c.error());
  }
  return {};
}

// The resources, checked as they were read: the ones before the first faulty one, then
// its fault.
Result<void> StatementReader::read_resources(Manifest& m) {
  if (auto c = expect(resources_field_, Kind::kArray, "predicate", "resources"); !c) return fail(c.error());
  if (resource_count_ == 0)
    return fail(ErrorCode::kVerification, "the signature lists no files (empty resources)");
  if (auto c = check_resource_count(resource_count_); !c) return fail(c.error());
  if (m.serialization.method == Method::kShards)
    for (auto& r : resources_)
      if (auto c = parse_shard_name(r); !c) return fail(c.error());
  if (resource_error_) return fail(*resource_error_);
  m.resources = std::move(resources_);
  return {};
}

// The root digest over the resources in payload order (the verifier does not re-sort),
// then their paths and duplicates.
Result<void> StatementReader::check_root_digest(const ParsedStatement& st) {
  std::string actual = to_hex(st.manifest.root_digest());
  if (actual != st.subject_digest)
    return fail(ErrorCode::kVerification,
                fmt::format("Manifest is inconsistent. Root digest is {}, but the included "
                            "resources hash to {}",
                            st.subject_digest, actual));
  return check_paths_and_duplicates(st.manifest.resources);
}

// Digests/v0.1: the subjects are the files (name and sha256), with no root digest.
Result<ParsedStatement> StatementReader::finish_legacy() {
  ParsedStatement out;
  out.legacy = true;
  out.manifest.model_name = std::string(kLegacyModelName);
  if (subject_count_ > limits::kMaxResources)
    return fail(ErrorCode::kMalformed, "the signature lists more subjects than the limit");
  std::set<std::string_view> seen;
  for (auto& [name, hex] : subjects_) {
    auto bytes = from_hex(hex);
    if (!bytes || bytes->size() != 32)
      return fail(ErrorCode::kMalformed, fmt::format("subject '{}': sha256 digest is not 64 hex digits", name));
    if (auto c = check_resource_path(name); !c) return fail(c.error());
    if (!seen.insert(name).second)
      return fail(ErrorCode::kMalformed, fmt::format("the signature lists '{}' twice", name));
    Resource r;
    r.name = r.path = name;
    r.algorithm = "sha256";
    r.digest = std::move(*bytes);
    out.manifest.resources.push_back(std::move(r));
  }
  if (subject_error_) return fail(*subject_error_);
  if (out.manifest.resources.empty())
    return fail(ErrorCode::kMalformed, "the signature lists no files (empty resources)");
  return out;
}

}  // namespace

static Result<ParsedStatement> parse_statement_impl(std::string_view payload) {
  StatementReader reader;
  auto parsed = parse_strict_events(payload, "the signed statement", limits::kMaxStatementJsonValues,
                                    limits::kMaxPayloadBytes, reader);
  if (!parsed) return fail(parsed.error());
  return reader.finish();
}

Result<ParsedStatement> parse_statement(std::string_view payload) {
  // Untrusted until parsed: running out of memory is an error value, not an abort.
  try {
    return parse_statement_impl(payload);
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kMalformed,
                fmt::format("ran out of memory reading the signed statement ({} bytes); raise the "
                            "memory limit or check that the signature is the one you expect",
                            payload.size()));
  }
}

}  // namespace modelsign::bundle
