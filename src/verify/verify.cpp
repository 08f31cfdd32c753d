#include "modelsign/verify.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/statement.h"
#include "crypto/encoding.h"
#include "hashing/enumerate.h"
#include "verify/material_verifiers.h"

namespace modelsign {

namespace {

std::string join_names(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

// At most `max` names, then how many more: warnings stay readable for a big .git.
std::string some_names(const std::vector<std::string>& v, size_t max = 20) {
  if (v.size() <= max) return join_names(v);
  std::vector<std::string> head(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(max));
  return fmt::format("{} and {} more", join_names(head), v.size() - max);
}

constexpr const char* kGitPaths[] = {".git", ".gitattributes", ".github", ".gitignore"};

// The git paths to ignore at verification. A signature that records its ignore set
// (model_signing v1.1+) lists the git paths when the signer ignored them, so the
// recorded set alone decides: a signer that used --no-ignore-git-paths hashed them, and
// ignoring them here would report its files missing and let new ones in. Without a
// recorded set (v1.0), the git paths are ignored unless the signature has files there.
std::vector<std::string> git_paths_to_apply(const Manifest& signed_m) {
  std::vector<std::string> out;
  if (!signed_m.serialization.ignore_paths.empty()) return out;
  for (const char* g : kGitPaths) {
    bool signed_there = std::any_of(signed_m.resources.begin(), signed_m.resources.end(),
                                    [&](const Resource& r) { return hashing::under_any(r.path, {g}); });
    if (!signed_there) out.emplace_back(g);
  }
  return out;
}

// Files present under `paths` (model-relative), minus the signature file.
Result<std::vector<std::string>> files_under(const std::string& model_path, std::vector<std::string> paths,
                                             const std::optional<std::string>& signature) {
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  std::vector<std::string> skip;
  if (signature) skip.push_back(*signature);
  std::vector<std::string> out;
  std::vector<std::string> done;
  for (const auto& p : paths) {
    if (hashing::under_any(p, done)) continue;  // nested in one already listed
    done.push_back(p);
    auto found = hashing::list_present(model_path, p, skip);
    if (!found) return fail(found.error());
    out.insert(out.end(), found->begin(), found->end());
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return path_less(a, b); });
  return out;
}

// The resources of `m` ordered by name, as a std::map keyed by name would hold them (the
// last of equal names wins), without copying a name.
std::vector<const Resource*> by_name(const Manifest& m) {
  std::vector<const Resource*> v;
  v.reserve(m.resources.size());
  for (const auto& r : m.resources) v.push_back(&r);
  std::stable_sort(v.begin(), v.end(), [](const Resource* a, const Resource* b) { return a->name < b->name; });
  std::size_t out = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (out > 0 && v[out - 1]->name == v[i]->name) --out;
    v[out++] = v[i];
  }
  v.resize(out);
  return v;
}

bool same_entry(const Resource& a, const Resource& b) {
  return a.name == b.name && a.algorithm == b.algorithm && a.digest == b.digest;
}

Result<void> compare(const Manifest& expected, const Manifest& actual, bool ignore_unsigned,
                     const std::string& model_name, VerifyMismatch* report) {
  // The usual case: the signature lists the files in the order they are hashed in
  // (model_signing's), and nothing changed. Anything else takes the sorted comparison.
  if (expected.resources.size() == actual.resources.size() &&
      std::equal(expected.resources.begin(), expected.resources.end(), actual.resources.begin(), same_entry))
    return {};
  const std::vector<const Resource*> want = by_name(expected), have = by_name(actual);
  std::vector<std::string> extra, missing, changed, changed_names;
  for (std::size_t i = 0, j = 0; i < want.size() || j < have.size();) {
    if (j == have.size() || (i < want.size() && want[i]->name < have[j]->name)) {
      missing.push_back(want[i++]->name);
    } else if (i == want.size() || have[j]->name < want[i]->name) {
      extra.push_back(have[j++]->name);
    } else {
      const Resource& w = *want[i++];
      const Resource& h = *have[j++];
      if (h.algorithm != w.algorithm || h.digest != w.digest) {
        changed_names.push_back(w.name);
        changed.push_back(fmt::format("Hash mismatch for '{}': Expected '{}:{}', Actual '{}:{}'", w.name,
                                      w.algorithm, to_hex(w.digest), h.algorithm, to_hex(h.digest)));
      }
    }
  }
  if (ignore_unsigned) extra.clear();
  if (extra.empty() && missing.empty() && changed.empty()) return {};
  if (report != nullptr) *report = VerifyMismatch{extra, missing, changed_names};
  std::vector<std::string> parts;
  if (!extra.empty())
    parts.push_back(fmt::format("Extra files found in model '{}': {}", model_name, join_names(extra)));
  if (!missing.empty())
    parts.push_back(fmt::format("Missing files in model '{}': {}", model_name, join_names(missing)));
  for (auto& c : changed) parts.push_back(std::move(c));
  // The flag only helps when extra files are the whole problem; when most signed files
  // are gone or different, the signature is for another model (or another version).
  std::string hint;
  const size_t differing = missing.size() + changed.size();
  if (want.size() >= 2 && differing * 2 > want.size())
    hint = fmt::format(" (this signature belongs to another model: {} of its {} files are missing "
                       "or changed; check MODEL_PATH and --signature)",
                       differing, want.size());
  else if (differing == 0)
    hint = " (use --ignore-unsigned-files to tolerate extra files)";
  return fail(ErrorCode::kMismatch,
              fmt::format("Signature mismatch: {}{}", fmt::join(parts, "; "), hint));
}

// Steps 1-4: the bundle's structure, its signature by the method's material (who signed
// goes to `out`), then the statement it carries. `owned`, when given, holds the text of
// `bundle_json` and is freed once it is parsed.
Result<bundle::ParsedStatement> read_signed_statement(std::string_view bundle_json, std::string* owned,
                                                      const VerifyOptions& options, VerifyResult& out) {
  // 1. Structure and media type.
  auto b = bundle::parse_bundle(bundle_json);
  if (owned != nullptr) std::string().swap(*owned);
  if (!b) return fail(b.error());

  // 2–3. The verifier for the method's kind of material: it checks that the bundle
  // carries that material, then the signature, and says who signed.
  auto v = verify::verify_material(*b, options, &out.warnings);
  if (!v) return fail(v.error());
  const bool used_compat = v->used_compat_pae;
  out.signer = std::move(v->signer);
  out.sigstore = std::move(v->sigstore);

  // 4. Payload type, then the statement checks (type, predicate, subject, resources, root).
  if (b->payload_type != bundle::kInTotoPayloadType)
    return fail(ErrorCode::kVerification, fmt::format("Expected DSSE payload {}, but got {}",
                                                      bundle::kInTotoPayloadType, b->payload_type));
  auto st = bundle::parse_statement(
      std::string_view(reinterpret_cast<const char*>(b->payload.data()), b->payload.size()));
  if (!st) return fail(st.error());
  if (used_compat && !st->legacy)
    return fail(ErrorCode::kVerification,
                "Invalid signature: it verifies only over model_signing v0.2's legacy encoding, "
                "which v0.2 used for Digests/v0.1 statements only, but the statement is a "
                "signature/v1.0 one; re-sign the model with a current signer");
  return st;
}

struct Rehash {
  SerializationOptions serialization;
  HashingOptions hashing;
};

// Step 5's options: hash the model the way it was signed. Records the ignore paths in
// `out`.
Rehash rehash_options(const Manifest& signed_m, const VerifyOptions& options, VerifyResult& out) {
  SerializationOptions ser = options.serialization;
  if (options.use_recorded_serialization) {
    ser.method = signed_m.serialization.method;
    ser.hash = signed_m.serialization.hash;
    if (signed_m.serialization.shard_size) ser.shard_size = *signed_m.serialization.shard_size;
  } else {
    ser.method = Method::kFiles;
    ser.hash = HashAlgorithm::kSha256;
  }
  for (const auto& p : signed_m.serialization.ignore_paths) ser.ignore_paths.push_back(p);
  out.recorded_ignore_paths = signed_m.serialization.ignore_paths;
  if (ser.ignore_git_paths) {
    ser.ignore_git_paths = false;
    out.default_ignore_paths = git_paths_to_apply(signed_m);
    for (const auto& g : out.default_ignore_paths) ser.ignore_paths.push_back(g);
  }
  HashingOptions hashing = options.hashing;
  hashing.allow_empty_model = true;  // an emptied model is reported as missing files
  if (options.ignore_unsigned_files) {
    std::vector<std::string> paths;
    for (const auto& r : signed_m.resources) paths.push_back(r.path);
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    hashing.only_paths = std::move(paths);
  }
  return Rehash{std::move(ser), std::move(hashing)};
}

// Step 7: name what was let through unverified: files under the ignore paths, and the
// files --ignore-unsigned-files tolerated.
Result<void> report_unverified(const std::string& model_path, const Manifest& signed_m,
                               const SerializationOptions& ser, const VerifyOptions& options,
                               VerifyResult& out) {
  std::vector<std::string> scan = out.recorded_ignore_paths;
  scan.insert(scan.end(), out.default_ignore_paths.begin(), out.default_ignore_paths.end());
  auto ignored = files_under(model_path, scan, options.signature_in_model);
  if (!ignored) {
    if (options.strict_ignored) return fail(ignored.error());
    out.warnings.push_back(fmt::format("cannot list the files under the ignore paths: {}",
                                       ignored.error().message));
  } else {
    out.ignored_files = std::move(*ignored);
  }
  if (!out.recorded_ignore_paths.empty()) {
    std::vector<std::string> unusual;
    for (const auto& p : out.recorded_ignore_paths)
      if (std::find(std::begin(kGitPaths), std::end(kGitPaths), p) == std::end(kGitPaths) &&
          p != options.signature_in_model)
        unusual.push_back(p);
    if (!unusual.empty())
      out.warnings.push_back(fmt::format("the signature records ignore paths, whose files are not "
                                         "verified: {}",
                                         join_names(unusual)));
  }
  if (!out.ignored_files.empty()) {
    if (options.strict_ignored)
      return fail(ErrorCode::kMismatch,
                  fmt::format("Files exist under ignored paths and are not covered by the "
                              "signature: {} (--strict-ignored); remove them, or verify without "
                              "--strict-ignored",
                              some_names(out.ignored_files)));
    out.warnings.push_back(fmt::format("{} file(s) under ignored paths were not verified: {}",
                                       out.ignored_files.size(), some_names(out.ignored_files)));
  }
  if (options.ignore_unsigned_files) {
    // Only names are listed; the verdict does not depend on them, so a directory that
    // cannot be read is a warning here, not a failure.
    auto present = hashing::list_present(model_path, "", effective_ignore_set(ser));
    std::set<std::string> signed_paths;
    for (const auto& r : signed_m.resources) signed_paths.insert(r.path);
    if (!present)
      out.warnings.push_back(fmt::format("cannot list the files --ignore-unsigned-files tolerated: {}",
                                         present.error().message));
    else
      for (auto& p : *present)
        if (!signed_paths.contains(p)) out.tolerated_unsigned.push_back(std::move(p));
    if (!out.tolerated_unsigned.empty())
      out.warnings.push_back(fmt::format("--ignore-unsigned-files: {} file(s) not in the signature "
                                         "were not verified: {}",
                                         out.tolerated_unsigned.size(), some_names(out.tolerated_unsigned)));
  }
  return {};
}

}  // namespace

// `owned`, when given, holds the text of `bundle_json` and is freed once it is parsed.
static Result<VerifyResult> verify_model_impl(const std::string& model_path,
                                              std::string_view bundle_json, std::string* owned,
                                              const VerifyOptions& options) {
  VerifyResult out;
  // 1-4. The bundle, its signature and the statement it signs.
  auto st = read_signed_statement(bundle_json, owned, options, out);
  if (!st) return fail(st.error());
  const Manifest& signed_m = st->manifest;

  // 5. Re-hash the model the way it was signed.
  const Rehash how = rehash_options(signed_m, options, out);
  auto actual = compute_manifest(model_path, how.serialization, how.hashing);
  if (!actual) return fail(actual.error());

  // 6. Compare.
  if (auto c = compare(signed_m, *actual, options.ignore_unsigned_files, actual->model_name,
                       options.mismatch); !c)
    return fail(c.error());

  // 7. What was not verified.
  if (auto r = report_unverified(model_path, signed_m, how.serialization, options, out); !r)
    return fail(r.error());
  out.signed_manifest = std::move(st->manifest);
  return out;
}

static Result<VerifyResult> verify_model_guarded(const std::string& model_path, std::string_view bundle_json,
                                                 std::string* owned, const VerifyOptions& options) {
  // The bundle is untrusted: running out of memory on it is an error, not an abort.
  try {
    return verify_model_impl(model_path, bundle_json, owned, options);
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kInternal,
                "ran out of memory while verifying; raise the memory limit or check that the "
                "signature file is the one you expect");
  }
}

Result<VerifyResult> verify_model(const std::string& model_path, std::string_view bundle_json,
                                  const VerifyOptions& options) {
  return verify_model_guarded(model_path, bundle_json, nullptr, options);
}

Result<VerifyResult> verify_model(const std::string& model_path, std::string&& bundle_json,
                                  const VerifyOptions& options) {
  std::string text = std::move(bundle_json);
  return verify_model_guarded(model_path, text, &text, options);
}

}  // namespace modelsign
