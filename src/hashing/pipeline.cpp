#include "hashing/pipeline.h"

#include <fcntl.h>
#ifdef MODELSIGN_HAVE_LIBURING
#include <liburing.h>
#endif
#include <openssl/evp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csetjmp>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "crypto/openssl_util.h"
#include "hashing/progress.h"
#include "modelsign/log.h"

namespace modelsign::hashing {

namespace detail {
std::function<void(const std::string& name)> g_after_first_chunk;
}  // namespace detail

namespace {

// Bytes all workers together keep mapped at once (see hash_units).
constexpr std::uint64_t kMappedBudget = 64 << 20;
constexpr std::uint64_t kMinWindow = 1 << 20;
// Request size for big units that are not cached (see read_range).
constexpr size_t kColdReadSize = 1 << 20;
// Bytes of O_DIRECT buffers all workers together hold at once (see ColdPlan).
constexpr std::uint64_t kColdBudget = 32 << 20;
// O_DIRECT offsets, lengths and buffers are aligned to this (the largest logical block
// size in common use; a device with bigger blocks fails with EINVAL and is read buffered).
constexpr std::uint64_t kDirectAlign = 4096;
// Small units read ahead of the workers once the cache is found cold.
constexpr size_t kReadAheadUnits = 32;
// Claims after a read that missed the cache during which workers keep reading ahead.
constexpr size_t kColdSpan = 512;

// ---- SIGBUS: a file truncated under a mapping faults on access. The faulting worker
// jumps back to its window loop and reports "file changed while hashing".
thread_local sigjmp_buf* t_sigbus_jmp = nullptr;
struct sigaction g_previous_sigbus {};

void sigbus_handler(int sig, siginfo_t* info, void* ctx) {
  if (t_sigbus_jmp != nullptr) siglongjmp(*t_sigbus_jmp, 1);
  // Not ours: restore the previous disposition and re-raise.
  if ((g_previous_sigbus.sa_flags & SA_SIGINFO) != 0 && g_previous_sigbus.sa_sigaction != nullptr) {
    g_previous_sigbus.sa_sigaction(sig, info, ctx);
    return;
  }
  sigaction(SIGBUS, &g_previous_sigbus, nullptr);
  raise(sig);
}

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = sigbus_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
}

// Hash memory that is not in the CPU's caches (mapped page cache, a buffer the disk has
// just written by DMA) a page at a time, each page after asking the CPU to fetch the
// next one. SHA-256 consumes memory far more slowly than memory delivers it, but the
// hardware prefetcher stops at every 4 KiB page boundary, so without this each page
// began with a wait for memory: a fifth of the CPU time of hashing a cached model
// through mmap (docs/performance.md).
constexpr size_t kPrefetchPiece = 4096;
constexpr size_t kCacheLine = 64;

void prefetched_update(EVP_MD_CTX* ctx, const unsigned char* data, size_t len) {
  for (size_t off = 0; off < len; off += kPrefetchPiece) {
    const size_t n = std::min(kPrefetchPiece, len - off);
    const size_t ahead_end = std::min(len, off + n + kPrefetchPiece);
    for (size_t p = off + n; p < ahead_end; p += kCacheLine) __builtin_prefetch(data + p, 0, 3);
    EVP_DigestUpdate(ctx, data + off, n);
  }
}

// Hash mapped memory; false if the mapping faulted (the file shrank under it).
[[gnu::noinline]] bool guarded_update(EVP_MD_CTX* ctx, const unsigned char* data, size_t len) {
  sigjmp_buf jb;
  if (sigsetjmp(jb, 1) != 0) {
    t_sigbus_jmp = nullptr;
    return false;
  }
  t_sigbus_jmp = &jb;
  prefetched_update(ctx, data, len);
  t_sigbus_jmp = nullptr;
  return true;
}

Error changed(const FileEntry& f, std::string_view how) {
  return Error(ErrorCode::kFileChanged,
               fmt::format("file changed while hashing: {} ({}); make sure nothing writes to the "
                           "model while it is signed or verified, then run again",
                           f.name, how));
}

Result<void> check_same(const FileEntry& f, const struct stat& st) {
  if (st.st_ino != f.ino || st.st_dev != f.dev) return fail(changed(f, "it was replaced"));
  if (static_cast<std::uint64_t>(st.st_size) != f.size)
    return fail(changed(f, fmt::format("size {} became {}", f.size, st.st_size)));
  if (mtime_ns(st) != f.mtime_ns) return fail(changed(f, "it was modified"));
  return {};
}

constexpr int kOpenFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY;  // never block on a FIFO swapped in

// Open a listed file: by name beneath the model directory when there is one (no
// symlinked directory on the way), else (a single-file model) by its path. The last
// component is followed only for a symlink the policy allowed at enumeration.
int open_entry(int root_fd, const std::string& model_path, const FileEntry& f, int flags) {
  if (root_fd < 0 || f.name == ".") {
    int fd = ::open(display_path(model_path, f).c_str(), flags | O_CLOEXEC | (f.via_symlink ? 0 : O_NOFOLLOW));
    return fd < 0 ? -errno : fd;
  }
  return open_beneath(root_fd, f.name, flags, f.via_symlink);
}

Error open_error(const std::string& model_path, const FileEntry& f, int neg_errno) {
  if (neg_errno == -ENOENT) return changed(f, "it was removed");
  if (neg_errno == -ELOOP || neg_errno == -ENOTDIR || neg_errno == -EXDEV)
    return changed(f, "it, or a directory on its path, was replaced by a symlink or a file");
  return Error(ErrorCode::kIo,
               fmt::format("cannot open '{}': {}", display_path(model_path, f), std::strerror(-neg_errno)));
}

// How a worker reads a big unit that is not cached: `depth` requests of `chunk` bytes in
// flight (O_DIRECT), or that much read ahead (readahead).
struct ColdPlan {
  ColdRead how = ColdRead::kBuffered;
  size_t depth = 1;
  size_t chunk = kColdReadSize;
};

// Page-aligned anonymous memory for O_DIRECT reads, unmapped when done so that it never
// adds to the memory held by the mapped windows for longer than one cold range.
class AnonBuffer {
 public:
  explicit AnonBuffer(size_t n) : n_(n) {
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p_ = p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
  }
  ~AnonBuffer() {
    if (p_ != nullptr) ::munmap(p_, n_);
  }
  AnonBuffer(const AnonBuffer&) = delete;
  AnonBuffer& operator=(const AnonBuffer&) = delete;
  unsigned char* get() const { return p_; }

 private:
  unsigned char* p_ = nullptr;
  size_t n_;
};

// Sets O_DIRECT on a descriptor for as long as it lives (check_eof's 1-byte read needs
// it cleared again).
class DirectMode {
 public:
  explicit DirectMode(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {
    ok_ = flags_ >= 0 && ::fcntl(fd, F_SETFL, flags_ | O_DIRECT) == 0;
  }
  ~DirectMode() {
    if (ok_) ::fcntl(fd_, F_SETFL, flags_);
  }
  DirectMode(const DirectMode&) = delete;
  DirectMode& operator=(const DirectMode&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  int flags_;
  bool ok_ = false;
};

// Whether every page of [off, off + len) of `fd` is in the page cache. cachestat(2)
// (Linux 6.5) answers without mapping anything; older kernels, or a seccomp policy that
// refuses it, get the same answer from mincore(2) on a mapping that is never touched.
bool range_cached(int fd, std::uint64_t off, std::uint64_t len, std::uint64_t page) {
  if (len == 0) return true;
  const std::uint64_t first = off / page * page;
  const std::uint64_t pages = (off + len - first + page - 1) / page;
  static std::atomic<bool> no_cachestat{false};
  if (!no_cachestat.load(std::memory_order_relaxed)) {
    struct {
      std::uint64_t off, len;
    } range{first, pages * page};
    struct {
      std::uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
    } cs{};
    constexpr long kSysCachestat = 451;  // the same on every architecture
    if (::syscall(kSysCachestat, fd, &range, &cs, 0) == 0) return cs.nr_cache >= pages;
    if (errno != ENOSYS && errno != EPERM) return false;
    no_cachestat.store(true, std::memory_order_relaxed);
  }
  void* addr = ::mmap(nullptr, pages * page, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(first));
  if (addr == MAP_FAILED) return false;
  std::vector<unsigned char> in_core(pages);
  bool all = ::mincore(addr, pages * page, in_core.data()) == 0 &&
             std::all_of(in_core.begin(), in_core.end(), [](unsigned char c) { return (c & 1) != 0; });
  ::munmap(addr, pages * page);
  return all;
}

class Hasher {
 public:
  Hasher(int root_fd, const std::string& model_path, const std::vector<FileEntry>& files, HashAlgorithm hash,
         const HashingOptions& opt, const ColdPlan& plan, std::atomic<std::uint64_t>* done,
         const std::atomic<bool>* stop)
      : root_fd_(root_fd), model_path_(model_path), files_(files), opt_(opt), plan_(plan), done_(done), stop_(stop) {
    md_.reset(EVP_MD_fetch(nullptr, hash == HashAlgorithm::kSha256 ? "SHA256" : "BLAKE2B-512", nullptr));
    ctx_.reset(EVP_MD_CTX_new());
    buffer_.resize(std::max<std::uint64_t>(opt.read_buffer, 4096));
    page_ = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  }

  Result<Bytes> hash(const WorkUnit& u) {
    const FileEntry& f = files_[u.file];
    int opened = open_entry(root_fd_, model_path_, f, kOpenFlags);
    if (opened < 0) return fail(open_error(model_path_, f, opened));
    UniqueFd fd(opened);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      return fail(ErrorCode::kIo, fmt::format("cannot stat '{}': {}", path_of(f), std::strerror(errno)));
    if (!S_ISREG(st.st_mode)) return fail(changed(f, "it is no longer a regular file"));
    if (auto r = check_same(f, st); !r) return fail(r.error());

    // One context per worker, re-initialised per unit: no allocation per file.
    eof_seen_ = false;
    EVP_MD_CTX* ctx = ctx_.get();
    if (ctx == nullptr || EVP_DigestInit_ex2(ctx, md_.get(), nullptr) != 1)
      return fail(ErrorCode::kInternal, "cannot initialise the hash");

    std::uint64_t len = u.end - u.start;
    Result<void> r = len >= opt_.mmap_threshold ? hash_mapped(fd.get(), f, u, ctx)
                                                : hash_read(fd.get(), f, u, ctx);
    if (!r) return fail(r.error());

    // Detect truncation/growth/rewrite during hashing, and replacement of the path. One
    // stat of the name covers both: same dev and inode means the same file as the open
    // descriptor, so its size and mtime are the descriptor's. (What was hashed came
    // through the descriptor opened beneath the model; this only looks for a change.)
    struct stat now {};
    int at = f.via_symlink ? 0 : AT_SYMLINK_NOFOLLOW;
    int src = root_fd_ >= 0 && f.name != "." ? ::fstatat(root_fd_, f.name.c_str(), &now, at)
                                             : ::fstatat(AT_FDCWD, path_of(f).c_str(), &now, at);
    if (src != 0) return fail(changed(f, "it was removed"));
    if (auto c = check_same(f, now); !c) return fail(c.error());
    // The manifest covers the size stat reported; a file that holds more than that
    // (procfs, sysfs) is refused, not cut short.
    if (u.end == f.size && !eof_seen_)
      if (auto e = check_eof(fd.get(), f); !e) return fail(e.error());

    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    if (EVP_DigestFinal_ex(ctx, out, &out_len) != 1)
      return fail(ErrorCode::kInternal, "cannot finish the hash");
    return Bytes(out, out + out_len);
  }

  // Whether a read since the last call had to wait for the disk (see first_read).
  bool take_missed() { return std::exchange(missed_, false); }

  // Start reading a unit that will be hashed soon (cold cache only; see hash_units).
  // Failures are ignored: hash() reports them when the unit's turn comes.
  void read_ahead(const WorkUnit& u) const {
    const FileEntry& f = files_[u.file];
    int opened = open_entry(root_fd_, model_path_, f, kOpenFlags);
    if (opened < 0) return;
    UniqueFd fd(opened);
    if (fd.get() >= 0)
      ::posix_fadvise(fd.get(), static_cast<off_t>(u.start), static_cast<off_t>(u.end - u.start),
                      POSIX_FADV_WILLNEED);
  }

 private:
  Error holds_more(const FileEntry& f) const {
    return Error(ErrorCode::kFileChanged,
                 fmt::format("'{}' holds more than the {} bytes its size says (a procfs or sysfs "
                             "file?); only regular files whose size is what they hold can be "
                             "signed or verified",
                             path_of(f), f.size));
  }

  // One byte past the size the file had at enumeration must be its end.
  Result<void> check_eof(int fd, const FileEntry& f) {
    unsigned char probe;
    ssize_t n;
    do {
      n = ::pread(fd, &probe, 1, static_cast<off_t>(f.size));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
      return fail(ErrorCode::kIo, fmt::format("cannot read '{}': {}", path_of(f), std::strerror(errno)));
    if (n > 0) return fail(holds_more(f));
    return {};
  }

  // The first read of a unit does not wait for the disk (RWF_NOWAIT): if its data is not
  // cached it fails with EAGAIN, which tells the pool the cache is cold. It costs nothing
  // when the cache is warm.
  ssize_t first_read(int fd, size_t want, std::uint64_t pos) {
    if (nowait_) {
      iovec iov{buffer_.data(), want};
      ssize_t n = ::preadv2(fd, &iov, 1, static_cast<off_t>(pos), RWF_NOWAIT);
      if (n >= 0 || (errno != EAGAIN && errno != EOPNOTSUPP)) return n;
      if (errno == EAGAIN) missed_ = true;
      else nowait_ = false;  // the file system cannot say; read as before
    }
    return ::pread(fd, buffer_.data(), want, static_cast<off_t>(pos));
  }

  Result<void> hash_read(int fd, const FileEntry& f, const WorkUnit& u, EVP_MD_CTX* ctx) {
    std::uint64_t pos = u.start;
    bool first = true;
    const bool last_unit = u.end == f.size;
    while (pos < u.end) {
      std::uint64_t left = u.end - pos;
      // The file's last chunk asks for one byte more: getting exactly what is left
      // proves the end, which spares check_eof's extra read for most files.
      bool probe = last_unit && left < buffer_.size();
      size_t want = static_cast<size_t>(probe ? left + 1 : std::min<std::uint64_t>(buffer_.size(), left));
      ssize_t n = first ? first_read(fd, want, pos)
                        : ::pread(fd, buffer_.data(), want, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(ErrorCode::kIo, fmt::format("cannot read '{}': {}", path_of(f), std::strerror(errno)));
      }
      if (n == 0) return fail(changed(f, "it became shorter"));
      if (static_cast<std::uint64_t>(n) > left) return fail(holds_more(f));
      if (probe && static_cast<std::uint64_t>(n) == left) eof_seen_ = true;
      EVP_DigestUpdate(ctx, buffer_.data(), static_cast<size_t>(n));
      pos += static_cast<std::uint64_t>(n);
      done_->fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      if (first && detail::g_after_first_chunk) detail::g_after_first_chunk(f.name);
      first = false;
      if (stop_->load(std::memory_order_relaxed)) return fail(ErrorCode::kInternal, "cancelled");
    }
    return {};
  }

  // Whether a mapped window is in the page cache, judged by its first, middle and last
  // page: a window is normally cached whole or not at all, and mincore on three pages
  // costs next to nothing next to hashing the window.
  bool resident(void* addr, size_t len) const {
    auto* p = static_cast<unsigned char*>(addr);
    for (size_t off : {size_t{0}, len / 2 / page_ * page_, (len - 1) / page_ * page_}) {
      unsigned char in_core = 0;
      if (::mincore(p + off, 1, &in_core) != 0 || (in_core & 1) == 0) return false;
    }
    return true;
  }

  static bool shrank(int fd, std::uint64_t end) {
    struct stat st {};
    return ::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < end;
  }

#ifdef MODELSIGN_HAVE_LIBURING
  // Hash [pos, end) of a big unit from O_DIRECT reads with plan_.depth of them in flight,
  // in file order. Reads stop at the start of a window (a multiple of `window`) that is
  // all in the page cache: a file whose first part was evicted (the oldest pages go
  // first) is read from the disk only where it must be. Returns how far it got: `end`,
  // the start of such a window (`at_cached`), or less when the file system or the kernel
  // refuses (then direct_ok_ is cleared) or a read came back short, and the caller reads
  // the rest with read(), which reports a file that became shorter.
  struct DirectEnd {
    std::uint64_t pos;
    bool at_cached = false;
  };
  Result<DirectEnd> read_direct(int fd, const FileEntry& f, std::uint64_t pos, std::uint64_t end,
                                std::uint64_t window, EVP_MD_CTX* ctx) {
    DirectMode direct(fd);
    if (!direct.ok()) {
      direct_ok_ = false;
      return DirectEnd{pos};
    }
    const size_t depth = plan_.depth, chunk = plan_.chunk;
    AnonBuffer buf(depth * chunk);
    io_uring ring{};
    if (buf.get() == nullptr || ::io_uring_queue_init(static_cast<unsigned>(depth), &ring, 0) < 0) {
      direct_ok_ = false;  // io_uring refused (seccomp, old kernel): read()'s readahead instead
      return DirectEnd{pos};
    }
    struct Ring {
      io_uring* r;
      ~Ring() { ::io_uring_queue_exit(r); }
    } ring_guard{&ring};

    struct Slot {
      std::uint64_t off = 0;
      size_t len = 0;
      int res = 0;
      bool done = false;
    };
    std::vector<Slot> slots(depth);
    size_t head = 0, queued = 0, pending = 0;  // slots [head, head + queued) are in use
    std::uint64_t next = pos / kDirectAlign * kDirectAlign;
    const std::uint64_t last = (end + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    auto reap = [&](bool wait) -> bool {
      io_uring_cqe* cqe = nullptr;
      int rc = wait ? ::io_uring_wait_cqe(&ring, &cqe) : ::io_uring_peek_cqe(&ring, &cqe);
      if (rc == -EINTR || rc == -EAGAIN) return true;
      if (rc < 0) return false;
      Slot& s = slots[static_cast<size_t>(::io_uring_cqe_get_data64(cqe))];
      s.res = cqe->res;
      s.done = true;
      --pending;
      ::io_uring_cqe_seen(&ring, cqe);
      return true;
    };
    // Wait for every read still in flight before `buf` goes away. (Should waiting itself
    // fail, unmapping is still safe: the kernel holds its own references to the pages of
    // an O_DIRECT read until it completes.)
    auto drain = [&] {
      while (pending > 0)
        if (!reap(true)) break;
    };
    std::uint64_t hashed = pos;
    std::uint64_t stop_at = end;  // lowered to the start of a cached window
    std::uint64_t limit = last;   // where submissions stop
    std::optional<Error> error;
    while (hashed < stop_at) {
      bool added = false;
      while (queued < depth && next < limit) {
        if (next % window == 0 && next > pos && range_cached(fd, next, std::min(window, end - next), page_)) {
          stop_at = limit = next;
          break;
        }
        size_t i = (head + queued) % depth;
        // Requests end at window boundaries, where the next window's residency is checked.
        size_t len = static_cast<size_t>(std::min({std::uint64_t{chunk}, limit - next, window - next % window}));
        io_uring_sqe* sqe = ::io_uring_get_sqe(&ring);
        if (sqe == nullptr) break;
        ::io_uring_prep_read(sqe, fd, buf.get() + i * chunk, static_cast<unsigned>(len), next);
        ::io_uring_sqe_set_data64(sqe, i);
        slots[i] = Slot{next, len, 0, false};
        next += len;
        ++queued;
        ++pending;
        added = true;
      }
      if (added && ::io_uring_submit(&ring) < 0) {
        error = Error(ErrorCode::kIo, fmt::format("cannot read '{}': io_uring submission failed", path_of(f)));
        break;
      }
      Slot& s = slots[head];
      bool lost = false;
      while (!s.done)
        if (!reap(true)) {
          lost = true;
          break;
        }
      if (lost) {
        error = Error(ErrorCode::kIo, fmt::format("cannot read '{}': io_uring completion failed", path_of(f)));
        break;
      }
      if (s.res < 0) {
        // EINVAL: the file system or device does not take these aligned O_DIRECT reads.
        if (s.res == -EINVAL) direct_ok_ = false;
        else if (s.res != -EAGAIN && s.res != -EINTR)
          error = Error(ErrorCode::kIo, fmt::format("cannot read '{}': {}", path_of(f), std::strerror(-s.res)));
        break;
      }
      const std::uint64_t got = s.off + static_cast<std::uint64_t>(s.res);
      const std::uint64_t to = std::min(got, stop_at);
      if (to > hashed) {
        size_t len = static_cast<size_t>(to - hashed);
        prefetched_update(ctx, buf.get() + head * chunk + (hashed - s.off), len);
        done_->fetch_add(len, std::memory_order_relaxed);
        hashed = to;
      }
      head = (head + 1) % depth;
      --queued;
      if (got < std::min<std::uint64_t>(s.off + s.len, end)) break;  // short: read() goes on
      if (stop_->load(std::memory_order_relaxed)) {
        error = Error(ErrorCode::kInternal, "cancelled");
        break;
      }
    }
    drain();
    if (error) return fail(*error);
    return DirectEnd{hashed, stop_at < end && hashed == stop_at};
  }
#endif

  // Hash from `pos` of a big unit that is not cached: O_DIRECT reads with several in
  // flight where the plan says so and the system allows it, up to the next window that
  // is cached (returns where that starts) or `end`; else read() to `end` in requests
  // large enough for the kernel's readahead to reach its full window.
  Result<std::uint64_t> read_range(int fd, const FileEntry& f, std::uint64_t pos, std::uint64_t end,
                                   std::uint64_t window, EVP_MD_CTX* ctx) {
    missed_ = true;  // the cache is cold: small units after this one are read ahead
#ifdef MODELSIGN_HAVE_LIBURING
    if (plan_.how == ColdRead::kDirect && direct_ok_) {
      auto r = read_direct(fd, f, pos, end, window, ctx);
      if (!r) return fail(r.error());
      if (r->at_cached) return r->pos;
      pos = r->pos;
    }
#else
    (void)window;
#endif
    if (pos >= end) return end;
    if (cold_buffer_.empty()) cold_buffer_.resize(kColdReadSize);
    // kReadahead: ask for the next depth x chunk bytes ahead of the reader, a chunk at a
    // time, on top of the kernel's own readahead.
    const std::uint64_t ahead = plan_.how == ColdRead::kReadahead ? plan_.depth * plan_.chunk : 0;
    std::uint64_t asked = pos;
    while (pos < end) {
      if (ahead > 0 && asked < end && asked < pos + ahead) {
        std::uint64_t upto = std::min(end, asked + std::max<std::uint64_t>(plan_.chunk, pos + ahead - asked));
        ::readahead(fd, static_cast<off_t>(asked), static_cast<size_t>(upto - asked));
        asked = upto;
      }
      size_t want = static_cast<size_t>(std::min<std::uint64_t>(cold_buffer_.size(), end - pos));
      ssize_t n = ::pread(fd, cold_buffer_.data(), want, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(ErrorCode::kIo, fmt::format("cannot read '{}': {}", path_of(f), std::strerror(errno)));
      }
      if (n == 0) return fail(changed(f, "it became shorter"));
      EVP_DigestUpdate(ctx, cold_buffer_.data(), static_cast<size_t>(n));
      pos += static_cast<std::uint64_t>(n);
      done_->fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      if (stop_->load(std::memory_order_relaxed)) return fail(ErrorCode::kInternal, "cancelled");
    }
    return end;
  }

  Result<void> hash_mapped(int fd, const FileEntry& f, const WorkUnit& u, EVP_MD_CTX* ctx) {
    std::uint64_t window = std::max<std::uint64_t>(opt_.mmap_window / page_ * page_, page_);
    std::uint64_t pos = u.start;
    bool first = true;
    while (pos < u.end) {
      // Windows end at multiples of `window` in the file, where cold reads look again.
      std::uint64_t map_off = pos / page_ * page_;
      std::uint64_t map_end = std::min<std::uint64_t>((map_off / window + 1) * window, u.end);
      size_t map_len = static_cast<size_t>(map_end - map_off);
      void* addr = ::mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(map_off));
      if (addr == MAP_FAILED)
        return fail(ErrorCode::kIo, fmt::format("cannot map '{}': {}", path_of(f), std::strerror(errno)));
      // SEQUENTIAL keeps a model bigger than RAM from pushing the rest of the page cache
      // out. (Advice values are not flags: SEQUENTIAL|WILLNEED would be WILLNEED alone.)
      ::madvise(addr, map_len, MADV_SEQUENTIAL);
      const auto* base = static_cast<const unsigned char*>(addr) + (pos - map_off);
      size_t len = static_cast<size_t>(map_end - pos);
      // A window that is not cached is read, with what follows it, by read_range: with
      // several O_DIRECT reads in flight up to the next window that is cached, or with
      // read() to the unit's end, whose readahead keeps the disk busy ahead of us and
      // fills the cache with large folios. (Asking for mapped pages, madvise/fadvise
      // WILLNEED, fills it with 4 KiB pages, which cost a fifth of the CPU time of a cold
      // run and made the next, warm run 15% slower; switching a read() stream back and
      // forth would restart its readahead.) A file that shrank keeps to the mapped path,
      // which reports it (SIGBUS).
      bool mapped = resident(addr, map_len) || shrank(fd, map_end);
      bool faulted = mapped && !guarded_update(ctx, base, len);
      ::munmap(addr, map_len);
      if (faulted) return fail(changed(f, "it was truncated while mapped"));
      if (mapped) {
        done_->fetch_add(len, std::memory_order_relaxed);
        pos = map_end;
      } else {
        auto r = read_range(fd, f, pos, u.end, window, ctx);
        if (!r) return fail(r.error());
        pos = *r;
      }
      if (first && detail::g_after_first_chunk) detail::g_after_first_chunk(f.name);
      first = false;
      if (stop_->load(std::memory_order_relaxed)) return fail(ErrorCode::kInternal, "cancelled");
    }
    return {};
  }

  // The path of a file for messages (and for opening a single-file model).
  std::string path_of(const FileEntry& f) const { return display_path(model_path_, f); }

  int root_fd_;
  const std::string& model_path_;
  const std::vector<FileEntry>& files_;
  const HashingOptions& opt_;
  const ColdPlan& plan_;
  std::atomic<std::uint64_t>* done_;
  const std::atomic<bool>* stop_;
  bool nowait_ = true;
  bool direct_ok_ = true;  // cleared when O_DIRECT or io_uring is refused
  bool eof_seen_ = false;  // the unit's last read found the file's end (see hash_read)
  bool missed_ = false;
  ossl::UniquePtr<EVP_MD> md_;
  ossl::UniquePtr<EVP_MD_CTX> ctx_;
  std::vector<unsigned char> buffer_;
  std::vector<unsigned char> cold_buffer_;  // for read_range, allocated on first use
  std::uint64_t page_ = 4096;
};

// The model directory every listed file is opened beneath; none (an invalid descriptor)
// for a single-file model.
Result<UniqueFd> open_model_root(const std::string& model_path, const std::vector<FileEntry>& files) {
  UniqueFd root;
  if (std::any_of(files.begin(), files.end(), [](const FileEntry& f) { return f.name != "."; })) {
    root = UniqueFd(::open(model_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root)
      return fail(ErrorCode::kIo, fmt::format("cannot open the model directory '{}': {}", model_path,
                                              std::strerror(errno)));
  }
  return root;
}

// Work order: big units first, largest first, so a big file never starts last and
// leaves the other cores idle; then the rest in path order (the units' order), which
// is how a model is usually laid out on disk, so a cold cache reads it with few seeks.
// "Big" is at least 1/(32 x threads) of the work, which bounds the idle tail to ~3%.
std::vector<size_t> work_order(const std::vector<WorkUnit>& units, std::uint64_t total, unsigned threads) {
  const std::uint64_t big = std::max<std::uint64_t>(total / (32 * std::uint64_t{threads}), 1);
  std::vector<size_t> order(units.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto small_begin = std::stable_partition(order.begin(), order.end(), [&](size_t i) {
    return units[i].end - units[i].start >= big;
  });
  std::stable_sort(order.begin(), small_begin, [&](size_t a, size_t b) {
    return units[a].end - units[a].start > units[b].end - units[b].start;
  });
  return order;
}

// Uncached big units: io_depth reads in flight over the workers that read big units at
// the same time, in chunks that keep all O_DIRECT buffers within kColdBudget.
ColdPlan cold_plan(const std::string& model_path, const std::vector<WorkUnit>& units,
                   const HashingOptions& opt, unsigned threads) {
  ColdPlan plan;
#ifdef MODELSIGN_HAVE_LIBURING
  plan.how = opt.cold_read == ColdRead::kAuto ? ColdRead::kDirect : opt.cold_read;
#else
  plan.how = opt.cold_read == ColdRead::kAuto || opt.cold_read == ColdRead::kDirect
                 ? ColdRead::kBuffered
                 : opt.cold_read;
#endif
  size_t big_units = static_cast<size_t>(std::count_if(units.begin(), units.end(), [&](const WorkUnit& u) {
    return u.end - u.start >= opt.mmap_threshold;
  }));
  const size_t readers = std::clamp<size_t>(big_units, 1, threads);
  const size_t io_depth = opt.io_depth != 0 ? opt.io_depth : default_io_depth(model_path);
  plan.depth = std::max<size_t>(io_depth / readers, 1);
  plan.chunk = static_cast<size_t>(std::clamp<std::uint64_t>(
      kColdBudget / (readers * plan.depth) / kDirectAlign * kDirectAlign, kDirectAlign, kColdReadSize));
  return plan;
}

// Small files are read whole with one request each, so a cold cache would see only
// `threads` requests in flight and wait on the disk's latency, not its bandwidth. When
// a read finds its data not cached, the workers ask the kernel to read ahead the next
// kReadAheadUnits small units in work order, for the next kColdSpan claims: misses
// keep it on while the disk is behind, and a warm cache never pays for it. `ahead_` is
// the end of what was asked for, so each unit is asked for once.
class ReadAhead {
 public:
  ReadAhead(const std::vector<WorkUnit>& units, const std::vector<size_t>& order, std::uint64_t mmap_threshold)
      : units_(units), order_(order), mmap_threshold_(mmap_threshold) {}

  // Before hashing the k-th unit in work order.
  void before(const Hasher& h, size_t k) {
    if (k >= cold_until_.load(std::memory_order_relaxed)) return;
    size_t limit = std::min(order_.size(), k + 1 + kReadAheadUnits);
    size_t from = ahead_.load(std::memory_order_relaxed);
    while (from < limit && !ahead_.compare_exchange_weak(from, limit)) {
    }
    for (size_t j = std::max(from, k + 1); j < limit; ++j) {
      const WorkUnit& u = units_[order_[j]];
      if (u.end - u.start < mmap_threshold_) h.read_ahead(u);  // mapped ones read ahead by window
    }
  }
  // After the k-th unit's read missed the cache.
  void missed(size_t k) { cold_until_.store(k + kColdSpan, std::memory_order_relaxed); }

 private:
  const std::vector<WorkUnit>& units_;
  const std::vector<size_t>& order_;
  const std::uint64_t mmap_threshold_;
  std::atomic<size_t> cold_until_{0};
  std::atomic<size_t> ahead_{0};
};

// Runs `worker` on the calling thread and on up to threads - 1 more; returns how many ran.
template <class Worker>
size_t run_workers(unsigned threads, const Worker& worker) {
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::exception& e) {
      // Fewer threads only make hashing slower; the digests do not depend on them.
      try {
        log::warning("started {} of {} hashing threads ({}); continuing with those", t, threads, e.what());
      } catch (const std::exception&) {
      }
      break;
    }
  }
  worker();
  const size_t started = pool.size() + 1;
  pool.clear();  // joins
  return started;
}

}  // namespace

Result<std::vector<Bytes>> hash_units(const std::string& model_path, const std::vector<FileEntry>& files,
                                      const std::vector<WorkUnit>& units, HashAlgorithm hash,
                                      const HashingOptions& options) {
  install_sigbus_handler();
  std::vector<Bytes> digests(units.size());
  std::vector<std::optional<Error>> errors(units.size());
  if (units.empty()) return digests;

  auto root = open_model_root(model_path, files);
  if (!root) return fail(root.error());

  unsigned threads = options.threads;
  if (threads == 0) threads = default_threads();
  threads = static_cast<unsigned>(std::min<size_t>(threads, units.size()));

  std::uint64_t total = 0;
  for (const auto& u : units) total += u.end - u.start;
  const std::vector<size_t> order = work_order(units, total, threads);

  // Every worker maps one window at a time and mapped file pages count in its RSS, so
  // the windows share a fixed budget: memory stays bounded on machines with many cores.
  HashingOptions opt = options;
  opt.mmap_window = std::min<std::uint64_t>(
      options.mmap_window, std::max<std::uint64_t>(kMappedBudget / threads, kMinWindow));
  const ColdPlan plan = cold_plan(model_path, units, opt, threads);

  // An observer sees the byte count, and its cancel flag is the workers' stop flag.
  std::atomic<std::uint64_t> own_done{0};
  std::atomic<bool> own_stop{false};
  std::atomic<std::uint64_t>& done = opt.observer ? opt.observer->done : own_done;
  std::atomic<bool>& stop = opt.observer ? opt.observer->cancel : own_stop;
  if (opt.observer) opt.observer->total.fetch_add(total);
  std::atomic<size_t> next{0};
  ReadAhead read_ahead(units, order, opt.mmap_threshold);

  auto work = [&] {
    Hasher h(root->get(), model_path, files, hash, opt, plan, &done, &stop);
    while (!stop.load(std::memory_order_relaxed)) {
      size_t k = next.fetch_add(1);
      if (k >= order.size()) break;
      read_ahead.before(h, k);
      size_t i = order[k];
      auto d = h.hash(units[i]);
      if (h.take_missed()) read_ahead.missed(k);
      if (d) {
        digests[i] = std::move(*d);
      } else {
        errors[i] = d.error();
        stop.store(true);
      }
    }
  };

  // An exception must not leave a thread (that would terminate the process): out of
  // memory in a worker becomes an error like any other.
  // Recording the failure must not allocate (memory may be what ran out).
  std::atomic<bool> thrown{false};
  auto worker = [&] {
    try {
      work();
    } catch (...) {
      thrown.store(true);
      stop.store(true);
    }
  };
  std::optional<Progress> progress;
  if (opt.progress) progress.emplace(total, &done);
  const size_t started = run_workers(threads, worker);
  if (progress) progress->finish();
  if (thrown.load())
    return fail(ErrorCode::kIo, fmt::format("hashing failed: a hashing thread ran out of memory or "
                                            "resources (with {} threads; try fewer with --threads)",
                                            started));

  // Report the real failure (not a "cancelled" from another worker), first in unit order.
  for (auto& e : errors)
    if (e && e->message != "cancelled") return fail(*e);
  // Stopped with no error of its own: the observer cancelled (units may be missing).
  if (stop.load()) return fail(ErrorCode::kInternal, kHashingCancelled);
  return digests;
}

}  // namespace modelsign::hashing
