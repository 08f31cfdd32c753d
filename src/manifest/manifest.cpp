#include "modelsign/manifest.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fmt/format.h>

#include "crypto/openssl_util.h"
#include "hashing/enumerate.h"
#include "hashing/pipeline.h"

namespace modelsign {

using hashing::split_components;

std::string_view to_string(Method m) { return m == Method::kFiles ? "files" : "shards"; }
std::string_view to_string(HashAlgorithm h) { return h == HashAlgorithm::kSha256 ? "sha256" : "blake2b"; }

Result<Method> parse_method(std::string_view s) {
  if (s == "files") return Method::kFiles;
  if (s == "shards") return Method::kShards;
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown serialization '{}': expected 'files' or 'shards'", s));
}

Result<HashAlgorithm> parse_hash(std::string_view s) {
  if (s == "sha256") return HashAlgorithm::kSha256;
  if (s == "blake2b" || s == "blake2") return HashAlgorithm::kBlake2b;
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown hash '{}': expected 'sha256' or 'blake2b'", s));
}

std::string algorithm_name(HashAlgorithm h, Method m, std::uint64_t shard_size) {
  if (m == Method::kFiles) return std::string(to_string(h));
  return fmt::format("{}-sharded-{}", to_string(h), shard_size);
}

bool path_less(std::string_view a, std::string_view b) {
  // Component-wise: '/' separates components and is never compared as a character.
  // string_view::compare is memcmp-like (unsigned bytes), which for UTF-8 is code point order.
  while (true) {
    size_t ai = a.find('/'), bi = b.find('/');
    if (ai == std::string_view::npos) ai = a.size();
    if (bi == std::string_view::npos) bi = b.size();
    if (int c = a.substr(0, ai).compare(b.substr(0, bi)); c != 0) return c < 0;
    bool a_last = ai == a.size(), b_last = bi == b.size();
    if (a_last || b_last) return a_last && !b_last;
    a.remove_prefix(ai + 1);
    b.remove_prefix(bi + 1);
  }
}

bool resource_less(const Resource& a, const Resource& b) {
  if (a.path != b.path) return path_less(a.path, b.path);
  if (a.start != b.start) return a.start < b.start;
  return a.end < b.end;
}

Bytes Manifest::root_digest() const {
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (const auto& r : resources) EVP_DigestUpdate(ctx.get(), r.digest.data(), r.digest.size());
  unsigned char out[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return Bytes(out, out + len);
}

static std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return "";
  return buf;
}

static std::string current_dir() {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof(buf)) == nullptr) return "/";
  return buf;
}

static std::string join_components(const std::vector<std::string>& comps, bool absolute) {
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < comps.size(); ++i) {
    if (i > 0) out += "/";
    out += comps[i];
  }
  return out;
}

// realpath() that, like Python's Path.resolve(strict=False), tolerates a missing tail.
static std::string resolve_non_strict(const std::string& path) {
  std::string abs = path.starts_with("/") ? path : current_dir() + "/" + path;
  auto comps = split_components(abs);
  std::vector<std::string> tail;
  while (true) {
    std::string prefix = join_components(comps, true);
    std::string r = real_path(prefix);
    if (!r.empty() || comps.empty()) {
      auto out = split_components(r.empty() ? "/" : r);
      for (auto it = tail.rbegin(); it != tail.rend(); ++it) {
        if (*it == ".") continue;
        if (*it == "..") {
          if (!out.empty()) out.pop_back();
          continue;
        }
        out.push_back(*it);
      }
      return join_components(out, true);
    }
    tail.push_back(comps.back());
    comps.pop_back();
  }
}

std::string model_name_for(const std::string& model_path) {
  auto comps = split_components(model_path);
  std::erase(comps, std::string("."));
  if (!comps.empty() && comps.back() != "..") return comps.back();
  auto real = split_components(resolve_non_strict(model_path));
  if (!real.empty()) return real.back();
  return "model";  // "/" has no name; never emit an empty one (upstream quirk §2.12)
}

std::optional<std::string> resolve_ignore_path(const std::string& path, const std::string& model_path) {
  std::string target = resolve_non_strict(path);
  std::string root = resolve_non_strict(model_path);
  if (target.size() <= root.size() || target.compare(0, root.size(), root) != 0) return std::nullopt;
  if (root != "/" && target[root.size()] != '/') return std::nullopt;
  return target.substr(root == "/" ? 1 : root.size() + 1);
}

static std::string normalize_relative(std::string p) {
  auto comps = split_components(p);
  std::erase(comps, std::string("."));
  return join_components(comps, false);
}

std::vector<std::string> effective_ignore_set(const SerializationOptions& ser) {
  std::vector<std::string> out;
  for (const auto& p : ser.ignore_paths) {
    std::string n = normalize_relative(p);
    if (n.empty() || n == ".." || n.starts_with("../")) continue;
    out.push_back(n);
  }
  if (ser.ignore_git_paths)
    for (const char* g : {".git", ".gitattributes", ".github", ".gitignore"}) out.emplace_back(g);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<Manifest> compute_manifest(const std::string& model_path, const SerializationOptions& ser,
                                  const HashingOptions& hashing) {
  if (ser.method == Method::kShards && ser.shard_size == 0)
    return fail(ErrorCode::kInvalidArgument, "shard size must be a positive number of bytes");
  std::vector<std::string> ignores = effective_ignore_set(ser);
  // A relative path in a deleted directory lists as empty: say what happened instead of
  // "no file to sign" or "every file is missing".
  if (!model_path.starts_with("/")) {
    char buf[PATH_MAX];
    if (::getcwd(buf, sizeof(buf)) == nullptr && errno == ENOENT)
      return fail(ErrorCode::kNotFound,
                  fmt::format("the current directory was deleted, so the model path '{}' (relative "
                              "to it) cannot be read; change to an existing directory or give an "
                              "absolute path",
                              model_path));
  }

  auto files = hashing.only_paths
                   ? hashing::enumerate_listed(model_path, *hashing.only_paths, ignores, ser.symlinks)
                   : hashing::enumerate_model(model_path, ignores, ser.symlinks,
                                                hashing.threads != 0 ? hashing.threads : default_threads());
  if (!files) return fail(files.error());
  if (files->empty() && !hashing.allow_empty_model)
    return fail(ErrorCode::kNotFound,
                fmt::format("the model '{}' has no file to sign after exclusions (ignored: {}); "
                            "check the model path and --ignore-paths",
                            model_path, fmt::join(ignores, ", ")));

  std::vector<hashing::WorkUnit> units;
  for (size_t i = 0; i < files->size(); ++i) {
    std::uint64_t size = (*files)[i].size;
    if (ser.method == Method::kFiles) {
      units.push_back({i, 0, size});
      continue;
    }
    for (std::uint64_t s = 0; s < size; s += ser.shard_size)
      units.push_back({i, s, std::min(size, s + ser.shard_size)});  // empty files: no shard
  }

  auto digests = hashing::hash_units(model_path, *files, units, ser.hash, hashing);
  if (!digests) return fail(digests.error());

  Manifest m;
  m.model_name = model_name_for(model_path);
  m.serialization.method = ser.method;
  m.serialization.hash = ser.hash;
  m.serialization.allow_symlinks = ser.symlinks != SymlinkPolicy::kReject;
  if (ser.method == Method::kShards) m.serialization.shard_size = ser.shard_size;
  m.serialization.ignore_paths = ignores;
  std::string alg = algorithm_name(ser.hash, ser.method, ser.shard_size);
  m.resources.reserve(units.size());
  for (size_t k = 0; k < units.size(); ++k) {
    const auto& u = units[k];
    Resource r;
    // One unit per file (files method): the name moves, it is not held twice.
    r.path = ser.method == Method::kFiles ? std::move((*files)[u.file].name) : (*files)[u.file].name;
    r.start = u.start;
    r.end = u.end;
    r.name = ser.method == Method::kFiles ? r.path : fmt::format("{}:{}:{}", r.path, u.start, u.end);
    r.algorithm = alg;
    r.digest = std::move((*digests)[k]);
    m.resources.push_back(std::move(r));
  }
  std::sort(m.resources.begin(), m.resources.end(), resource_less);
  return m;
}

}  // namespace modelsign
