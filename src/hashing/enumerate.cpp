#include "hashing/enumerate.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>

#include "modelsign/log.h"

namespace modelsign::hashing {

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    size_t n;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
    else return false;
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    // Reject overlong forms, surrogates and out-of-range code points.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

std::vector<std::string> split_components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

std::string realpath_or_empty(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return "";
  return buf;
}

bool is_under(const std::string& child, const std::string& root) {
  if (root == "/") return true;
  return child == root || (child.size() > root.size() && child.compare(0, root.size(), root) == 0 &&
                           child[root.size()] == '/');
}

Error special_file_error(const std::string& shown) {
  return Error(ErrorCode::kUnsupported,
               fmt::format("Cannot use '{}' as file or directory. It could be a special file "
                           "(FIFO, socket, device), it could be missing, or there might be a "
                           "permission issue. Remove it or add it to --ignore-paths.",
                           shown));
}

Error symlink_error(const std::string& shown) {
  return Error(ErrorCode::kUnsupported,
               fmt::format("Cannot use '{}' because it is a symlink. This behavior can be changed "
                           "with --allow-symlinks.",
                           shown));
}

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

class Walker {
 public:
  Walker(std::string model, const std::vector<std::string>& ignores, SymlinkPolicy policy)
      : model_(std::move(model)), policy_(policy) {
    for (const auto& i : ignores) ignores_.push_back(split_components(i));
    root_real_ = realpath_or_empty(model_);
  }

  bool ignored(const std::string& rel) const {
    auto comps = split_components(rel);
    for (const auto& ig : ignores_) {
      if (ig.empty() || ig.size() > comps.size()) continue;
      if (std::equal(ig.begin(), ig.end(), comps.begin())) return true;
    }
    return false;
  }

  // Classify one path (already known not to be ignored). Adds files to out_.
  Result<void> visit(const std::string& rel, const std::string& os_path) {
    struct stat lst {};
    if (::lstat(os_path.c_str(), &lst) != 0) {
      if (errno == ENOENT) return fail(special_file_error(os_path));
      return fail(ErrorCode::kIo, fmt::format("cannot stat '{}': {}", os_path, std::strerror(errno)));
    }
    struct stat st = lst;
    bool via_link = false;
    if (S_ISLNK(lst.st_mode)) {
      if (policy_ == SymlinkPolicy::kReject) return fail(symlink_error(os_path));
      via_link = true;
      if (::stat(os_path.c_str(), &st) != 0) {
        if (errno == ELOOP)
          return fail(ErrorCode::kUnsupported,
                      fmt::format("symlink '{}' is part of a cycle (too many levels of symbolic links)", os_path));
        return fail(ErrorCode::kNotFound,
                    fmt::format("symlink '{}' is broken: its target does not exist", os_path));
      }
      std::string target = realpath_or_empty(os_path);
      if (policy_ == SymlinkPolicy::kFollowInRoot && !is_under(target, root_real_))
        return fail(ErrorCode::kUnsupported,
                    fmt::format("symlink '{}' points outside the model root (to '{}'); links are "
                                "only followed inside the model",
                                os_path, target));
      if (S_ISDIR(st.st_mode)) {
        // A link to one of its own ancestors would make the tree infinite.
        std::string parent_real = realpath_or_empty(os_path.substr(0, os_path.rfind('/')));
        if (is_under(parent_real, target))
          return fail(ErrorCode::kUnsupported,
                      fmt::format("symlink '{}' points to '{}', one of its own parent directories "
                                  "(a cycle)",
                                  os_path, target));
        // model_signing does not traverse symlinked directories; neither do we, so the
        // manifests stay identical.
        log::warning("symlink '{}' points to a directory; its contents are not part of the "
                     "manifest (as in model_signing)",
                     os_path);
        return {};
      }
    }
    if (S_ISDIR(st.st_mode)) return walk_dir(rel, os_path);
    if (!S_ISREG(st.st_mode)) return fail(special_file_error(os_path));
    FileEntry e;
    e.name = rel.empty() ? "." : rel;
    e.os_path = os_path;
    e.via_symlink = via_link;
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.dev = st.st_dev;
    e.ino = st.st_ino;
    e.mtime_ns = mtime_ns(st);
    out_.push_back(std::move(e));
    return {};
  }

  Result<void> walk_dir(const std::string& rel, const std::string& os_path) {
    std::unique_ptr<DIR, DirCloser> dir(::opendir(os_path.c_str()));
    if (!dir)
      return fail(ErrorCode::kPermission,
                  fmt::format("cannot read directory '{}': {} (model_signing would skip it "
                              "silently; modelsign refuses to sign a partial model)",
                              os_path, std::strerror(errno)));
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* d = ::readdir(dir.get())) {
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
      names.emplace_back(d->d_name);
    }
    for (const auto& n : names) {
      std::string child_rel = rel.empty() ? n : rel + "/" + n;
      std::string child_os = os_path + "/" + n;
      if (ignored(child_rel)) continue;
      if (!is_valid_utf8(n))
        return fail(ErrorCode::kUnsupported,
                    fmt::format("file name '{}' is not valid UTF-8; model_signing cannot "
                                "represent it. Rename it or add it to --ignore-paths.",
                                child_os));
      if (auto r = visit(child_rel, child_os); !r) return r;
    }
    return {};
  }

  std::vector<FileEntry> take() { return std::move(out_); }
  const std::string& root_real() const { return root_real_; }

 private:
  std::string model_;
  SymlinkPolicy policy_;
  std::vector<std::vector<std::string>> ignores_;
  std::string root_real_;
  std::vector<FileEntry> out_;
};

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

void sort_entries(std::vector<FileEntry>& v) {
  std::sort(v.begin(), v.end(),
            [](const FileEntry& a, const FileEntry& b) { return path_less(a.name, b.name); });
}

}  // namespace

Result<std::vector<FileEntry>> enumerate_model(const std::string& model_path_in,
                                               const std::vector<std::string>& ignores,
                                               SymlinkPolicy symlinks) {
  std::string model_path = strip_trailing_slashes(model_path_in);
  struct stat lst {};
  if (::lstat(model_path.c_str(), &lst) != 0)
    return fail(ErrorCode::kNotFound,
                fmt::format("model path '{}' does not exist: {}", model_path_in, std::strerror(errno)));
  if (S_ISLNK(lst.st_mode) && symlinks == SymlinkPolicy::kReject)
    return fail(symlink_error(model_path));
  struct stat st {};
  if (::stat(model_path.c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound, fmt::format("model path '{}' is a broken symlink", model_path));
  Walker w(model_path, ignores, symlinks);
  if (S_ISDIR(st.st_mode)) {
    if (auto r = w.walk_dir("", model_path); !r) return fail(r.error());
  } else if (S_ISREG(st.st_mode)) {
    if (auto r = w.visit("", model_path); !r) return fail(r.error());
  } else {
    return fail(special_file_error(model_path));
  }
  auto files = w.take();
  sort_entries(files);
  return files;
}

Result<std::vector<FileEntry>> enumerate_listed(const std::string& model_path_in,
                                                const std::vector<std::string>& paths,
                                                const std::vector<std::string>& ignores,
                                                SymlinkPolicy symlinks) {
  std::string model_path = strip_trailing_slashes(model_path_in);
  Walker w(model_path, ignores, symlinks);
  std::vector<FileEntry> out;
  for (const auto& p : paths) {
    if (p != "." && w.ignored(p)) continue;
    std::string os_path = p == "." ? model_path : model_path + "/" + p;
    struct stat st {};
    if (::stat(os_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // reported missing
    if (::lstat(os_path.c_str(), &st) != 0) continue;  // missing: the comparison reports it
    Walker one(model_path, {}, symlinks);
    if (auto r = one.visit(p == "." ? "" : p, os_path); !r) return fail(r.error());
    for (auto& e : one.take()) out.push_back(std::move(e));
  }
  sort_entries(out);
  return out;
}

}  // namespace modelsign::hashing
