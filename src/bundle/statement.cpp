#include "bundle/statement.h"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

#include "bundle/json.h"
#include "bundle/json_writer.h"
#include "bundle/limits.h"
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

Result<Bytes> parse_digest(const Json& r, std::string_view where) {
  auto hex = get_string(r, {"digest"}, where);
  if (!hex) return fail(hex.error());
  if (hex->size() > 2 * limits::kMaxDigestBytes || hex->empty())
    return fail(ErrorCode::kMalformed, fmt::format("{}: digest of unexpected length {}", where, hex->size()));
  auto b = from_hex(*hex);
  if (!b) return fail(ErrorCode::kMalformed, fmt::format("{}: digest is not hex", where));
  return b;
}

Result<ParsedStatement> parse_legacy(const Json& subjects) {
  ParsedStatement out;
  out.legacy = true;
  out.manifest.model_name = std::string(kLegacyModelName);
  if (subjects.size() > limits::kMaxResources)
    return fail(ErrorCode::kMalformed, "the signature lists more subjects than the limit");
  std::set<std::string> seen;
  for (const auto& s : subjects) {
    auto name = get_string(s, {"name"}, "subject");
    if (!name) return fail(name.error());
    auto digest = get_object(s, {"digest"}, "subject");
    if (!digest) return fail(digest.error());
    auto hex = get_string(**digest, {"sha256"}, "subject digest");
    if (!hex) return fail(hex.error());
    auto bytes = from_hex(*hex);
    if (!bytes || bytes->size() != 32)
      return fail(ErrorCode::kMalformed, fmt::format("subject '{}': sha256 digest is not 64 hex digits", *name));
    if (auto c = check_resource_path(*name); !c) return fail(c.error());
    if (!seen.insert(*name).second)
      return fail(ErrorCode::kMalformed, fmt::format("the signature lists '{}' twice", *name));
    Resource r;
    r.name = r.path = *name;
    r.algorithm = "sha256";
    r.digest = std::move(*bytes);
    out.manifest.resources.push_back(std::move(r));
  }
  if (out.manifest.resources.empty())
    return fail(ErrorCode::kMalformed, "the signature lists no files (empty resources)");
  return out;
}

}  // namespace

static Result<ParsedStatement> parse_statement_impl(std::string_view payload) {
  auto j = parse_strict(payload, "the signed statement", limits::kMaxStatementJsonValues,
                        limits::kMaxPayloadBytes);
  if (!j) return fail(j.error());
  if (!j->is_object()) return fail(ErrorCode::kMalformed, "the signed statement is not a JSON object");
  auto type = get_string(*j, {"_type"}, "statement");
  if (!type) return fail(type.error());
  if (*type != kStatementType)
    return fail(ErrorCode::kVerification,
                fmt::format("Expected in-toto {} payload, but got {}", kStatementType, *type));
  auto ptype = get_string(*j, {"predicateType", "predicate_type"}, "statement");
  if (!ptype) return fail(ptype.error());
  auto subjects = get_array(*j, {"subject"}, "statement");
  if (!subjects) return fail(subjects.error());
  if (*ptype == kLegacyPredicateType) return parse_legacy(**subjects);
  if (*ptype != kPredicateType)
    return fail(ErrorCode::kVerification,
                fmt::format("Predicate type mismatch, expected {}, got {}", kPredicateType, *ptype));
  if ((*subjects)->size() != 1)
    return fail(ErrorCode::kVerification,
                fmt::format("Expected only one subject, got {}", (*subjects)->size()));
  const Json& subject = (**subjects)[0];
  ParsedStatement out;
  Manifest& m = out.manifest;
  auto name = get_string(subject, {"name"}, "subject");
  if (!name) return fail(name.error());
  m.model_name = *name;
  auto sd = get_object(subject, {"digest"}, "subject");
  if (!sd) return fail(sd.error());
  auto root_hex = get_string(**sd, {"sha256"}, "subject digest");
  if (!root_hex) return fail(root_hex.error());
  out.subject_digest = *root_hex;

  auto predicate = get_object(*j, {"predicate"}, "statement");
  if (!predicate) return fail(predicate.error());
  auto ser = get_object(**predicate, {"serialization"}, "predicate");
  if (!ser) return fail(ser.error());
  auto method = get_string(**ser, {"method"}, "serialization");
  if (!method) return fail(method.error());
  if (*method == "files") m.serialization.method = Method::kFiles;
  else if (*method == "shards") m.serialization.method = Method::kShards;
  else return fail(ErrorCode::kUnsupported, fmt::format("Unknown serialization type {}", *method));
  auto hash = get_string(**ser, {"hash_type"}, "serialization");
  if (!hash) return fail(hash.error());
  if (*hash == "sha256") m.serialization.hash = HashAlgorithm::kSha256;
  else if (*hash == "blake2b") m.serialization.hash = HashAlgorithm::kBlake2b;
  else
    return fail(ErrorCode::kUnsupported,
                fmt::format("the signature uses hash '{}'; modelsign supports sha256 and blake2b", *hash));
  if (const Json* as = member(**ser, "allow_symlinks"); as != nullptr) {
    if (!as->is_boolean())
      return fail(ErrorCode::kMalformed, "serialization: allow_symlinks must be a boolean");
    m.serialization.allow_symlinks = as->get<bool>();
  }
  if (m.serialization.method == Method::kShards) {
    const Json* ss = member(**ser, "shard_size");
    // Python writes a float (1000000000.0); accept any integral positive number.
    if (ss == nullptr || !ss->is_number())
      return fail(ErrorCode::kMalformed, "serialization: shards need a numeric shard_size");
    double v = ss->get<double>();
    if (!(v >= 1) || v > 9.0e15 || std::floor(v) != v)
      return fail(ErrorCode::kMalformed, "serialization: shard_size must be a positive integer");
    m.serialization.shard_size = static_cast<std::uint64_t>(v);
  }
  if (const Json* ip = member(**ser, "ignore_paths"); ip != nullptr) {
    if (!ip->is_array() || ip->size() > limits::kMaxIgnorePaths)
      return fail(ErrorCode::kMalformed, "serialization: ignore_paths must be an array of strings");
    for (const auto& p : *ip) {
      if (!p.is_string())
        return fail(ErrorCode::kMalformed, "serialization: ignore_paths must be an array of strings");
      m.serialization.ignore_paths.push_back(p.get<std::string>());
    }
    if (auto c = check_ignore_paths(m.serialization.ignore_paths); !c) return fail(c.error());
  }

  auto resources = get_array(**predicate, {"resources"}, "predicate");
  if (!resources) return fail(resources.error());
  if ((*resources)->empty())
    return fail(ErrorCode::kVerification, "the signature lists no files (empty resources)");
  if (auto c = check_resource_count((*resources)->size()); !c) return fail(c.error());
  m.resources.reserve((*resources)->size());
  for (const auto& rj : **resources) {
    Resource r;
    auto rname = get_string(rj, {"name"}, "resource");
    if (!rname) return fail(rname.error());
    auto alg = get_string(rj, {"algorithm"}, fmt::format("resource '{}'", *rname));
    if (!alg) return fail(alg.error());
    auto dig = parse_digest(rj, fmt::format("resource '{}'", *rname));
    if (!dig) return fail(dig.error());
    r.name = *rname;
    r.algorithm = *alg;
    r.digest = std::move(*dig);
    r.path = r.name;
    if (m.serialization.method == Method::kShards) {
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
    }
    m.resources.push_back(std::move(r));
  }

  // Root digest over the resources in payload order (the verifier does not re-sort).
  std::string actual = to_hex(m.root_digest());
  if (actual != out.subject_digest)
    return fail(ErrorCode::kVerification,
                fmt::format("Manifest is inconsistent. Root digest is {}, but the included "
                            "resources hash to {}",
                            out.subject_digest, actual));
  std::set<std::string_view> seen;
  for (const auto& r : m.resources) {
    if (auto c = check_resource_path(r.path); !c) return fail(c.error());
    if (!seen.insert(r.name).second)
      return fail(ErrorCode::kMalformed, fmt::format("the signature lists '{}' twice", r.name));
  }
  return out;
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
