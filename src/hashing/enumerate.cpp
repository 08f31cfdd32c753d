#include "hashing/enumerate.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
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

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

namespace {

// "m//" -> "m", "/" stays "/": the model path as enumeration and messages use it.
std::string_view without_trailing_slashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

}  // namespace

std::string display_path(std::string_view model_path_in, const FileEntry& f) {
  const std::string_view model_path = without_trailing_slashes(model_path_in);
  if (f.name == ".") return std::string(model_path);
  std::string p;
  p.reserve(model_path.size() + 1 + f.name.size());
  p.append(model_path).append("/").append(f.name);
  return p;
}

bool under_any(std::string_view path, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (p.empty()) continue;
    if (path == p || (path.size() > p.size() && path.starts_with(p) && path[p.size()] == '/'))
      return true;
  }
  return false;
}

namespace {

// A relative path whose components are all real names (no "", "." or "..").
bool plain_relative(std::string_view rel) {
  if (rel.empty() || rel.front() == '/') return false;
  for (const auto& c : split_components(rel))
    if (c == "." || c == "..") return false;
  return rel.find("//") == std::string_view::npos && rel.back() != '/';
}

int openat2_beneath(int dirfd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<__u64>(static_cast<unsigned>(flags | O_CLOEXEC));
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
  return fd < 0 ? -errno : static_cast<int>(fd);
}

// O_NOFOLLOW|O_DIRECTORY reports a symlink as ENOTDIR; say ELOOP as openat2 does.
int link_errno(int dir, const std::string& name, int e) {
  struct stat st {};
  if (e == ENOTDIR && ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return ELOOP;
  return e;
}

}  // namespace

int open_beneath_openat2(int root_fd, std::string_view rel, int flags, bool follow_last) {
  if (!plain_relative(rel)) return -EINVAL;
  if (!follow_last) return openat2_beneath(root_fd, std::string(rel), flags);
  size_t slash = rel.rfind('/');
  std::string last(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  UniqueFd parent;
  if (slash != std::string_view::npos) {
    int p = openat2_beneath(root_fd, std::string(rel.substr(0, slash)), O_PATH | O_DIRECTORY);
    if (p < 0) return p;
    parent = UniqueFd(p);
  }
  int fd = ::openat(parent ? parent.get() : root_fd, last.c_str(), flags | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int open_beneath_walk(int root_fd, std::string_view rel, int flags, bool follow_last) {
  if (!plain_relative(rel)) return -EINVAL;
  auto comps = split_components(rel);
  UniqueFd cur;
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    int dir = cur ? cur.get() : root_fd;
    int fd = ::openat(dir, comps[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -link_errno(dir, comps[i], errno);
    cur = UniqueFd(fd);
  }
  int last_flags = flags | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW);
  int dir = cur ? cur.get() : root_fd;
  int fd = ::openat(dir, comps.back().c_str(), last_flags);
  if (fd < 0) return -link_errno(dir, comps.back(), errno);
  // O_PATH|O_NOFOLLOW opens a symlink itself. Like openat2 under RESOLVE_NO_SYMLINKS,
  // give that only to a caller that asked for O_NOFOLLOW.
  if (!follow_last && (flags & O_PATH) != 0 && (flags & O_NOFOLLOW) == 0) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
      ::close(fd);
      return -ELOOP;
    }
  }
  return fd;
}

int open_beneath(int root_fd, std::string_view rel, int flags, bool follow_last) {
  // 0 = not tried yet, 1 = openat2 works, 2 = fall back (old kernel or seccomp policy).
  static std::atomic<int> mode{0};
  if (mode.load(std::memory_order_relaxed) != 2) {
    int fd = open_beneath_openat2(root_fd, rel, flags, follow_last);
    if (fd != -ENOSYS && fd != -EPERM) {
      mode.store(1, std::memory_order_relaxed);
      return fd;
    }
    // Refused by the kernel or a seccomp policy: stop trying unless it has worked
    // before (then answer this one call by the walk, which reports a real EPERM too).
    int expected = 0;
    mode.compare_exchange_strong(expected, 2, std::memory_order_relaxed);
  }
  return open_beneath_walk(root_fd, rel, flags, follow_last);
}

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// All names of an open directory except "." and ".."; fails on a read error rather than
// returning a partial listing. Takes ownership of `fd`.
Result<std::vector<std::string>> read_names(UniqueFd fd, const std::string& shown) {
  DirPtr dir(::fdopendir(fd.get()));
  if (!dir)
    return fail(ErrorCode::kIo, fmt::format("cannot read directory '{}': {}", shown, std::strerror(errno)));
  fd.release();
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* d = ::readdir(dir.get());
    if (d == nullptr) {
      if (errno != 0)
        return fail(ErrorCode::kIo,
                    fmt::format("cannot list directory '{}': {}; refusing to continue with a "
                                "partial listing",
                                shown, std::strerror(errno)));
      break;
    }
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    names.emplace_back(d->d_name);
  }
  return names;
}

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

// procfs and sysfs files report size 0 (or a fixed size) whatever they hold. The
// manifest hashes exactly the reported size, so an empty-looking file with content is
// refused instead of being signed as empty.
Result<void> check_empty_is_empty(int dirfd, const std::string& name, bool follow,
                                  const std::string& shown) {
  UniqueFd fd(::openat(dirfd, name.c_str(),
                       O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW)));
  if (!fd)
    return fail(ErrorCode::kIo, fmt::format("cannot open '{}': {}", shown, std::strerror(errno)));
  char c;
  ssize_t n = ::read(fd.get(), &c, 1);
  if (n < 0)
    return fail(ErrorCode::kIo, fmt::format("cannot read '{}': {}", shown, std::strerror(errno)));
  if (n > 0)
    return fail(ErrorCode::kUnsupported,
                fmt::format("'{}' reports a size of 0 bytes but has content (a procfs or sysfs "
                            "file?); only regular files whose size is what they hold can be "
                            "signed: copy it into a regular file",
                            shown));
  return {};
}

// Directories of a model are walked by several threads when there are several CPUs:
// listing and classifying 100,000 small files is a third of a warm run's CPU time, and
// on one thread it would leave the other cores idle. A worker that meets a subdirectory
// or a long listing offers it to a shared queue and does the work itself when the queue
// is full, so open directories stay bounded (the queue's length plus, per worker, the
// depth it recursed to).
constexpr size_t kWalkBatch = 256;        // names of one directory per task
constexpr size_t kWalkTasksPerThread = 4;  // queue length per worker

struct WalkTask {
  std::shared_ptr<UniqueFd> dir;                          // the open directory
  std::shared_ptr<const std::vector<std::string>> names;  // null: list `dir` first
  std::string rel, os_path;
  size_t begin = 0, end = 0;  // the names this task classifies
};

class WalkQueue {
 public:
  explicit WalkQueue(size_t limit) : limit_(limit) {}

  // Queues `t` (moving from it) unless the queue is full or the walk failed.
  bool offer(WalkTask& t) {
    std::lock_guard l(mu_);
    if (stopped_.load(std::memory_order_relaxed) || queue_.size() >= limit_) return false;
    queue_.push_back(std::move(t));
    cv_.notify_one();
    return true;
  }
  // The next task; none once every task is done or the walk failed.
  std::optional<WalkTask> take() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return stopped_.load(std::memory_order_relaxed) || !queue_.empty() || busy_ == 0; });
    if (stopped_.load(std::memory_order_relaxed) || queue_.empty()) {
      cv_.notify_all();
      return std::nullopt;
    }
    WalkTask t = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    return t;
  }
  void done_one() {
    std::lock_guard l(mu_);
    if (--busy_ == 0 && queue_.empty()) cv_.notify_all();
  }
  // The first failure is reported; the others stop as soon as they look.
  void fail(Error e) {
    std::lock_guard l(mu_);
    if (!error_) error_ = std::move(e);
    stopped_.store(true, std::memory_order_relaxed);
    queue_.clear();
    cv_.notify_all();
  }
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }
  std::optional<Error> error() {
    std::lock_guard l(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WalkTask> queue_;
  size_t busy_ = 0;
  const size_t limit_;
  std::atomic<bool> stopped_{false};
  std::optional<Error> error_;
};

// One list that every walking thread adds to in batches, so the entries are held once
// (per-thread lists joined at the end would hold them twice at the peak).
class SharedListing {
 public:
  void add(std::vector<FileEntry>& batch) {
    std::lock_guard l(mu_);
    std::move(batch.begin(), batch.end(), std::back_inserter(files_));
    batch.clear();
  }
  std::vector<FileEntry> take() { return std::move(files_); }

 private:
  std::mutex mu_;
  std::vector<FileEntry> files_;
};

// What one walking thread found, and the queue it shares work through and the list it
// adds to (none when the walk runs on one thread).
struct Listing {
  static constexpr size_t kBatch = 256;
  std::vector<FileEntry> files;
  WalkQueue* queue = nullptr;
  SharedListing* shared = nullptr;
  void add(FileEntry e) {
    files.push_back(std::move(e));
    if (shared != nullptr && files.size() >= kBatch) shared->add(files);
  }
};

class Walker {
 public:
  Walker(std::string model, const std::vector<std::string>& ignores, SymlinkPolicy policy)
      : model_(std::move(model)), policy_(policy) {
    // Component-wise prefixes, compared as joined strings (no allocation per file).
    for (const auto& i : ignores) {
      auto comps = split_components(i);
      if (comps.empty()) continue;
      std::string joined = comps[0];
      for (size_t k = 1; k < comps.size(); ++k) joined += "/" + comps[k];
      ignores_.push_back(std::move(joined));
    }
    root_real_ = realpath_or_empty(model_);
  }

  // `rel` is made of real names joined by single slashes, so a string prefix that ends
  // at a slash is a component prefix.
  bool ignored(const std::string& rel) const { return under_any(rel, ignores_); }

  // Classify the entry `name` of the directory `dirfd` (already known not to be
  // ignored); `os_path` is its path for messages and symlink policy checks. Adds files
  // to `into`. Directories are opened relative to `dirfd` without following links, so a
  // directory swapped for a symlink is never walked through.
  Result<void> visit(const std::string& rel, const std::string& os_path, int dirfd,
                     const std::string& name, Listing& into) const {
    struct stat lst {};
    if (::fstatat(dirfd, name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return fail(special_file_error(os_path));
      return fail(ErrorCode::kIo, fmt::format("cannot stat '{}': {}", os_path, std::strerror(errno)));
    }
    struct stat st = lst;
    bool via_link = false;
    if (S_ISLNK(lst.st_mode)) {
      if (policy_ == SymlinkPolicy::kReject) return fail(symlink_error(os_path));
      via_link = true;
      if (::fstatat(dirfd, name.c_str(), &st, 0) != 0) {
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
        // model_signing neither descends into a directory symlink nor records anything
        // for it, so files behind it would be covered by no signature. Following it
        // would give manifests model_signing cannot verify; skipping it lets anything
        // in. Refuse, at signing and at verification alike.
        return fail(ErrorCode::kUnsupported,
                    fmt::format("Cannot use '{}': it is a symlink to a directory ('{}'), whose "
                                "files a model_signing signature cannot cover. Replace it with "
                                "a real directory, remove it, or add it to --ignore-paths.",
                                os_path, target));
      }
    }
    if (S_ISDIR(st.st_mode)) {
      UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd)
        return fail(ErrorCode::kPermission,
                    fmt::format("cannot read directory '{}': {} (model_signing would skip it "
                                "silently; modelsign refuses to sign a partial model)",
                                os_path, std::strerror(errno)));
      if (into.queue != nullptr) {
        WalkTask t{std::make_shared<UniqueFd>(std::move(fd)), nullptr, rel, os_path};
        if (into.queue->offer(t)) return {};
        fd = std::move(*t.dir);
      }
      return walk_dir(rel, os_path, std::move(fd), into);
    }
    if (!S_ISREG(st.st_mode)) return fail(special_file_error(os_path));
    if (st.st_size == 0)
      if (auto r = check_empty_is_empty(dirfd, name, via_link, os_path); !r) return r;
    FileEntry e;
    e.name = rel.empty() ? "." : rel;
    e.via_symlink = via_link;
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.dev = st.st_dev;
    e.ino = st.st_ino;
    e.mtime_ns = mtime_ns(st);
    into.add(std::move(e));
    return {};
  }

  Result<void> walk_dir(const std::string& rel, const std::string& os_path, UniqueFd fd,
                        Listing& into) const {
    auto keep = std::make_shared<UniqueFd>(::dup(fd.get()));  // read_names closes its descriptor
    if (!*keep)
      return fail(ErrorCode::kIo, fmt::format("cannot read directory '{}': {}", os_path, std::strerror(errno)));
    auto names = read_names(std::move(fd), os_path);
    if (!names) return fail(names.error());
    const size_t n = names->size();
    WalkTask all{std::move(keep), std::make_shared<const std::vector<std::string>>(std::move(*names)), rel,
                 os_path, 0, n};
    return walk_names(all, into);
  }

  // Classify names [begin, end) of a listed directory: the first batch here, the rest
  // offered to other workers; what the queue does not take is done here too.
  Result<void> walk_names(const WalkTask& t, Listing& into) const {
    const size_t first_end = std::min(t.end, t.begin + kWalkBatch);
    size_t offered_end = first_end;
    if (into.queue != nullptr)
      while (offered_end < t.end) {
        WalkTask batch{t.dir, t.names, t.rel, t.os_path, offered_end, std::min(t.end, offered_end + kWalkBatch)};
        if (!into.queue->offer(batch)) break;
        offered_end = std::min(t.end, offered_end + kWalkBatch);
      }
    if (auto r = classify(t, t.begin, first_end, into); !r) return r;
    return classify(t, offered_end, t.end, into);
  }

  // Walk the model directory `fd`, on `threads` threads.
  Result<std::vector<FileEntry>> walk(const std::string& os_path, UniqueFd fd, unsigned threads) const {
    Listing main;
    if (threads <= 1) {
      if (auto r = walk_dir("", os_path, std::move(fd), main); !r) return fail(r.error());
      return std::move(main.files);
    }
    WalkQueue queue(kWalkTasksPerThread * threads);
    WalkTask root{std::make_shared<UniqueFd>(std::move(fd)), nullptr, "", os_path};
    queue.offer(root);
    SharedListing shared;
    std::vector<Listing> listings(threads);
    auto worker = [&](Listing& into) {
      into.queue = &queue;
      into.shared = &shared;
      while (auto t = queue.take()) {
        try {
          Result<void> r = t->names ? walk_names(*t, into) : walk_dir(t->rel, t->os_path, std::move(*t->dir), into);
          if (!r) queue.fail(r.error());
        } catch (const std::exception& e) {
          queue.fail(Error(ErrorCode::kIo, fmt::format("cannot list the model: {}", e.what())));
        }
        queue.done_one();
      }
      try {
        shared.add(into.files);
      } catch (const std::exception& e) {
        queue.fail(Error(ErrorCode::kIo, fmt::format("cannot list the model: {}", e.what())));
      }
    };
    {
      std::vector<std::jthread> pool;
      for (unsigned k = 1; k < threads; ++k) {
        try {
          pool.emplace_back(worker, std::ref(listings[k]));
        } catch (const std::system_error&) {
          break;  // fewer threads: slower, the same listing
        }
      }
      worker(listings[0]);
    }
    if (auto e = queue.error()) return fail(*e);
    return shared.take();
  }

 private:
  Result<void> classify(const WalkTask& t, size_t begin, size_t end, Listing& into) const {
    for (size_t k = begin; k < end; ++k) {
      if (into.queue != nullptr && into.queue->stopped()) return {};  // another worker failed
      const std::string& n = (*t.names)[k];
      std::string child_rel = t.rel.empty() ? n : t.rel + "/" + n;
      if (ignored(child_rel)) continue;
      std::string child_os = t.os_path + "/" + n;
      if (!is_valid_utf8(n))
        return fail(ErrorCode::kUnsupported,
                    fmt::format("file name '{}' is not valid UTF-8; model_signing cannot "
                                "represent it. Rename it or add it to --ignore-paths.",
                                child_os));
      if (auto r = visit(child_rel, child_os, t.dir->get(), n, into); !r) return r;
    }
    return {};
  }

  std::string model_;
  SymlinkPolicy policy_;
  std::vector<std::string> ignores_;
  std::string root_real_;
};

// Depth-first listing for list_present; `fd` is an open directory.
Result<void> list_dir(UniqueFd fd, const std::string& rel, const std::string& shown,
                      const std::vector<std::string>& skip, std::vector<std::string>& out) {
  UniqueFd keep(::dup(fd.get()));
  if (!keep)
    return fail(ErrorCode::kIo, fmt::format("cannot read directory '{}': {}", shown, std::strerror(errno)));
  auto names = read_names(std::move(fd), shown);
  if (!names) return fail(names.error());
  for (const auto& n : *names) {
    std::string child = rel.empty() ? n : rel + "/" + n;
    if (under_any(child, skip)) continue;
    struct stat st {};
    if (::fstatat(keep.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      return fail(ErrorCode::kIo, fmt::format("cannot stat '{}/{}': {}", shown, n, std::strerror(errno)));
    }
    if (!S_ISDIR(st.st_mode)) {
      out.push_back(std::move(child));
      continue;
    }
    UniqueFd sub(::openat(keep.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub)
      return fail(ErrorCode::kPermission,
                  fmt::format("cannot read directory '{}/{}': {}", shown, n, std::strerror(errno)));
    if (auto r = list_dir(std::move(sub), child, shown + "/" + n, skip, out); !r) return r;
  }
  return {};
}

void sort_entries(std::vector<FileEntry>& v) {
  std::sort(v.begin(), v.end(),
            [](const FileEntry& a, const FileEntry& b) { return path_less(a.name, b.name); });
}

}  // namespace

Result<std::vector<FileEntry>> enumerate_model(const std::string& model_path_in,
                                               const std::vector<std::string>& ignores,
                                               SymlinkPolicy symlinks, unsigned threads) {
  std::string model_path = std::string(without_trailing_slashes(model_path_in));
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
  std::vector<FileEntry> files;
  if (S_ISDIR(st.st_mode)) {
    UniqueFd root(::open(model_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root)
      return fail(ErrorCode::kPermission, fmt::format("cannot read directory '{}': {}", model_path,
                                                      std::strerror(errno)));
    auto listed = w.walk(model_path, std::move(root), threads);
    if (!listed) return fail(listed.error());
    files = std::move(*listed);
  } else if (S_ISREG(st.st_mode)) {
    Listing one;
    if (auto r = w.visit("", model_path, AT_FDCWD, model_path, one); !r) return fail(r.error());
    files = std::move(one.files);
  } else {
    return fail(special_file_error(model_path));
  }
  sort_entries(files);
  return files;
}

Result<std::vector<FileEntry>> enumerate_listed(const std::string& model_path_in,
                                                const std::vector<std::string>& paths,
                                                const std::vector<std::string>& ignores,
                                                SymlinkPolicy symlinks) {
  std::string model_path = std::string(without_trailing_slashes(model_path_in));
  Walker w(model_path, ignores, symlinks);
  std::vector<FileEntry> out;
  UniqueFd root;
  for (const auto& p : paths) {
    if (p != "." && w.ignored(p)) continue;
    if (p == ".") {
      struct stat st {};
      if (::stat(model_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // reported missing
      if (::lstat(model_path.c_str(), &st) != 0) continue;  // missing: the comparison reports it
      Listing one;
      if (auto r = w.visit("", model_path, AT_FDCWD, model_path, one); !r) return fail(r.error());
      for (auto& e : one.files) out.push_back(std::move(e));
      continue;
    }
    if (!root) {
      root = UniqueFd(::open(model_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) continue;  // no model directory: every listed file is reported missing
    }
    // Only the listed path is looked at, so each of its directories is checked here:
    // none may be a symlink (a linked directory is outside what was signed).
    size_t slash = p.rfind('/');
    std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
    UniqueFd parent;
    if (slash != std::string::npos) {
      int fd = open_beneath(root.get(), p.substr(0, slash), O_PATH | O_DIRECTORY, false);
      if (fd == -ENOENT || fd == -ENOTDIR) continue;  // missing
      if (fd == -ELOOP || fd == -EXDEV)
        return fail(ErrorCode::kUnsupported,
                    fmt::format("Cannot use '{}/{}': a directory on its path is a symlink; the "
                                "signed files must be inside the model itself",
                                model_path, p));
      if (fd < 0)
        return fail(ErrorCode::kIo, fmt::format("cannot open the directory of '{}/{}': {}",
                                                model_path, p, std::strerror(-fd)));
      parent = UniqueFd(fd);
    }
    int dirfd = parent ? parent.get() : root.get();
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode) &&
        !(::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)))
      continue;  // a directory where a file was signed: reported missing
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // missing
    Listing one;
    if (auto r = w.visit(p, model_path + "/" + p, dirfd, name, one); !r) return fail(r.error());
    for (auto& e : one.files) out.push_back(std::move(e));
  }
  sort_entries(out);
  return out;
}

Result<std::vector<std::string>> list_present(const std::string& model_path_in, const std::string& rel,
                                              const std::vector<std::string>& skip) {
  std::string model_path = std::string(without_trailing_slashes(model_path_in));
  std::vector<std::string> out;
  UniqueFd root(::open(model_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return out;  // a single-file model has nothing under it
  if (!rel.empty() && under_any(rel, skip)) return out;
  UniqueFd start;
  if (rel.empty()) {
    start = std::move(root);
  } else {
    // O_NOFOLLOW: an ignored path that is itself a symlink is reported, not skipped.
    int fd = open_beneath(root.get(), rel, O_PATH | O_NOFOLLOW, false);
    if (fd < 0) return out;  // absent (or behind a symlink, which the walk reports)
    UniqueFd path_fd(fd);
    struct stat st {};
    if (::fstat(path_fd.get(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      out.push_back(rel);
      return out;
    }
    start = UniqueFd(::openat(path_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!start)
      return fail(ErrorCode::kPermission, fmt::format("cannot read directory '{}/{}': {}", model_path,
                                                      rel, std::strerror(errno)));
  }
  std::string shown = rel.empty() ? model_path : model_path + "/" + rel;
  if (auto r = list_dir(std::move(start), rel, shown, skip, out); !r) return fail(r.error());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return path_less(a, b); });
  return out;
}

}  // namespace modelsign::hashing
