#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "modelsign/crypto.h"

namespace modelsign::audit {

namespace {

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::floor<std::chrono::seconds>(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

std::string get(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Never throws: bytes that are not UTF-8 (file names) are replaced.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Error io_error(std::string_view what, const std::string& path) {
  return Error(ErrorCode::kIo, fmt::format("audit log '{}': {}: {}", path, what, std::strerror(errno)));
}

// The seq of a line, or nullopt when the line is not an audit entry.
std::optional<std::int64_t> seq_of(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("seq");
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) { return static_cast<const char*>(std::getenv(name)); };
}

nlohmann::ordered_json ci_facts(const EnvLookup& env) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  const std::string ci = get(env, "CI");
  const bool github = get(env, "GITHUB_ACTIONS") == "true";
  const bool gitlab = !get(env, "GITLAB_CI").empty();
  if (ci.empty() && !github && !gitlab) return j;
  j["ci"] = ci;
  auto put = [&j](const char* key, std::string v) {
    if (!v.empty()) j[key] = std::move(v);
  };
  if (github) {
    j["platform"] = "github-actions";
    put("repository", get(env, "GITHUB_REPOSITORY"));
    put("commit_sha", get(env, "GITHUB_SHA"));
    put("ref", get(env, "GITHUB_REF"));
    put("run_id", get(env, "GITHUB_RUN_ID"));
    const std::string server = get(env, "GITHUB_SERVER_URL"), repo = get(env, "GITHUB_REPOSITORY"),
                      run = get(env, "GITHUB_RUN_ID");
    if (!server.empty() && !repo.empty() && !run.empty())
      j["run_url"] = fmt::format("{}/{}/actions/runs/{}", server, repo, run);
    put("actor", get(env, "GITHUB_ACTOR"));
  } else if (gitlab) {
    j["platform"] = "gitlab-ci";
    put("repository", get(env, "CI_PROJECT_PATH"));
    put("commit_sha", get(env, "CI_COMMIT_SHA"));
    put("ref", get(env, "CI_COMMIT_REF_NAME"));
    put("run_id", get(env, "CI_PIPELINE_ID"));
    put("run_url", get(env, "CI_JOB_URL"));
    put("actor", get(env, "GITLAB_USER_LOGIN"));
  } else {
    j["platform"] = "generic";
  }
  return j;
}

std::string without_pin(std::string_view uri) {
  // pkcs11:path-attributes?query-attributes: ';' separates path attributes, '&' query ones.
  auto keep = [](std::string_view part, char sep) {
    std::string out;
    size_t i = 0;
    while (i <= part.size()) {
      size_t end = part.find(sep, i);
      if (end == std::string_view::npos) end = part.size();
      std::string_view attr = part.substr(i, end - i);
      if (!attr.starts_with("pin-value")) {
        if (!out.empty()) out += sep;
        out += attr;
      }
      i = end + 1;
    }
    return out;
  };
  std::string out;
  if (uri.starts_with("pkcs11:")) {
    out = "pkcs11:";
    uri.remove_prefix(7);
  }
  size_t q = uri.find('?');
  out += keep(uri.substr(0, q), ';');
  if (q != std::string_view::npos) {
    std::string query = keep(uri.substr(q + 1), '&');
    if (!query.empty()) out += "?" + query;
  }
  return out;
}

nlohmann::ordered_json to_json(const Event& e, const EnvLookup& env) {
  nlohmann::ordered_json j;
  j["v"] = kFormatVersion;
  j["time"] = utc_now();
  j["operation"] = e.operation;
  j["result"] = e.ok ? "success" : "failure";
  j["exit_code"] = e.exit_code;
  if (!e.error.empty()) j["error"] = e.error;
  j["model_path"] = e.model_path;
  j["root_digest"] = e.root_digest.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.root_digest);
  j["signature_path"] = e.signature_path;
  j["method"] = e.method;
  if (!e.method_reason.empty()) j["method_reason"] = e.method_reason;
  nlohmann::ordered_json s = nlohmann::ordered_json::object();
  auto put = [&s](const char* key, const std::string& v) {
    if (!v.empty()) s[key] = v;
  };
  put("summary", e.signer.summary);
  put("key_hint", e.signer.key_hint);
  put("certificate_subject", e.signer.certificate_subject);
  put("identity", e.signer.identity);
  put("issuer", e.signer.issuer);
  if (!e.signer.pkcs11_uri.empty()) s["pkcs11_uri"] = without_pin(e.signer.pkcs11_uri);
  put("tpm2_key", e.signer.tpm2_key);
  j["signer"] = std::move(s);
  j["rekor_log_index"] = e.rekor_log_index ? nlohmann::ordered_json(*e.rekor_log_index) : nlohmann::ordered_json(nullptr);
  j["ci"] = ci_facts(env);
  j["host"] = host_name();
  j["modelsign_version"] = e.version;
  return j;
}

std::string line_hash(std::string_view line) { return sha256_hex(line); }

Result<void> append(const std::string& path, nlohmann::ordered_json entry) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (f.fd < 0) return fail(io_error("cannot open for appending", path));
  // The lock covers reading the last line and writing the next: the chain stays linear
  // whatever the number of writers. Released by close.
  while (::flock(f.fd, LOCK_EX) != 0)
    if (errno != EINTR) return fail(io_error("cannot lock", path));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return fail(io_error("cannot stat", path));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("audit log '{}' is not a regular file", path));
  std::int64_t seq = 1;
  std::string prev(kGenesis);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > 0) {
    const std::uint64_t want = std::min<std::uint64_t>(size, kMaxLineBytes + 2);
    std::string tail(static_cast<size_t>(want), '\0');
    const auto off = static_cast<off_t>(size - want);
    size_t got = 0;
    while (got < tail.size()) {
      ssize_t n = ::pread(f.fd, tail.data() + got, tail.size() - got, off + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(io_error("cannot read its last line", path));
      got += static_cast<size_t>(n);
    }
    if (tail.back() != '\n')
      return fail(ErrorCode::kMalformed,
                  fmt::format("audit log '{}' ends in an incomplete line; check it with 'modelsign audit "
                              "verify {}' and repair it before appending",
                              path, path));
    tail.pop_back();
    size_t start = tail.rfind('\n');
    if (start == std::string::npos && want < size)
      return fail(ErrorCode::kMalformed,
                  fmt::format("audit log '{}': its last line is longer than {} bytes", path, kMaxLineBytes));
    std::string_view last = std::string_view(tail).substr(start == std::string::npos ? 0 : start + 1);
    auto j = nlohmann::json::parse(last, nullptr, false);
    auto last_seq = seq_of(j);
    if (!last_seq)
      return fail(ErrorCode::kMalformed,
                  fmt::format("audit log '{}': its last line is not an audit entry; check it with "
                              "'modelsign audit verify {}'",
                              path, path));
    seq = *last_seq + 1;
    prev = line_hash(last);
  }
  nlohmann::ordered_json line;
  line["seq"] = seq;
  line["prev"] = prev;
  for (auto& [k, v] : entry.items())
    if (k != "seq" && k != "prev") line[k] = std::move(v);
  std::string text = dump(line);
  if (text.size() > kMaxLineBytes)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("audit log entry of {} bytes exceeds the {} byte line limit", text.size(), kMaxLineBytes));
  text += '\n';
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(f.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Leave no partial line: cut the file back to where it was (we hold the lock).
      int saved = errno;
      (void)!::ftruncate(f.fd, static_cast<off_t>(size));
      errno = saved;
      return fail(io_error("cannot write", path));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0) return fail(io_error("cannot fsync", path));
  return {};
}

namespace {

// The lines of a log, read again from the start for each pass of verify: a log grows
// with every signature, so it is never held whole; memory stays at the longest line
// allowed plus one read.
class LineReader {
 public:
  struct Line {
    std::string_view text;     // without its newline; empty when too_long
    bool too_long = false;     // longer than kMaxLineBytes (skipped to its end)
    bool has_newline = true;   // false for a last line cut short
  };

  // Reads the file `fd` (not owned), or the text when fd < 0.
  LineReader(int fd, std::string_view text) : fd_(fd), text_(text) { buf_.resize(kMaxLineBytes + 1 + kRead); }

  Result<void> rewind() {
    begin_ = end_ = text_pos_ = 0;
    eof_ = false;
    if (fd_ >= 0 && ::lseek(fd_, 0, SEEK_SET) != 0)
      return fail(ErrorCode::kIo, fmt::format("cannot read the audit log: {}", std::strerror(errno)));
    return {};
  }

  // The next line; nullopt after the last.
  Result<std::optional<Line>> next() {
    bool skipping = false;  // inside a line that is too long: drop bytes up to its newline
    for (;;) {
      const char* b = buf_.data() + begin_;
      const void* nl = std::memchr(b, '\n', end_ - begin_);
      if (nl != nullptr) {
        size_t len = static_cast<size_t>(static_cast<const char*>(nl) - b);
        begin_ += len + 1;
        if (skipping || len > kMaxLineBytes) return Line{{}, true, true};
        return Line{std::string_view(b, len), false, true};
      }
      if (end_ - begin_ > kMaxLineBytes) {
        skipping = true;
        begin_ = end_ = 0;
      }
      if (eof_) {
        if (begin_ == end_ && !skipping) return std::optional<Line>{};
        size_t len = end_ - begin_;
        b = buf_.data() + begin_;
        begin_ = end_;
        if (skipping) return Line{{}, true, false};
        return Line{std::string_view(b, len), false, false};
      }
      // Keep the partial line, then read more after it.
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      auto got = fill(buf_.data() + end_, buf_.size() - end_);
      if (!got) return fail(got.error());
      if (*got == 0) eof_ = true;
      end_ += *got;
    }
  }

 private:
  static constexpr size_t kRead = 64 * 1024;

  Result<size_t> fill(char* out, size_t room) {
    if (fd_ < 0) {
      size_t n = std::min(room, text_.size() - text_pos_);
      std::memcpy(out, text_.data() + text_pos_, n);
      text_pos_ += n;
      return n;
    }
    for (;;) {
      ssize_t n = ::read(fd_, out, room);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR)
        return fail(ErrorCode::kIo, fmt::format("cannot read the audit log: {}", std::strerror(errno)));
    }
  }

  int fd_;
  std::string_view text_;
  size_t text_pos_ = 0;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
};

struct Link {
  std::int64_t seq = 0;
  std::string prev;  // the "prev" the line carries
  std::string hash;  // line_hash of the line itself
};

std::optional<Link> parse_link(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  auto s = seq_of(j);
  auto p = j.is_object() ? j.find("prev") : j.end();
  if (!s || p == j.end() || !p->is_string()) return std::nullopt;
  return Link{*s, p->get<std::string>(), line_hash(line)};
}

// How many lines carry each of a few sequence numbers: what naming a break needs to know
// about the rest of the log, found by one more pass instead of a table of every line.
Result<std::vector<std::size_t>> count_seqs(LineReader& in, const std::vector<std::int64_t>& wanted) {
  std::vector<std::size_t> counts(wanted.size());
  if (auto r = in.rewind(); !r) return fail(r.error());
  for (;;) {
    auto l = in.next();
    if (!l) return fail(l.error());
    if (!*l) return counts;
    auto s = seq_of(nlohmann::json::parse((*l)->text, nullptr, false));
    for (size_t k = 0; k < wanted.size(); ++k)
      if (s && *s == wanted[k]) ++counts[k];
  }
}

// Pass 1: every line is an audit entry (else the first that is not is named, whatever
// the chain says); pass 2: the chain, with the lines before and after each one; pass 3,
// only at a break: the counts that tell an insertion from a removal or a reordering.
Result<Report> verify_lines(LineReader& in) {
  Report r;
  r.head = std::string(kGenesis);
  auto bad = [&r](std::size_t line, std::string problem) {
    r.intact = false;
    r.bad_line = line;
    r.problem = std::move(problem);
    return r;
  };

  std::optional<std::pair<std::size_t, std::string>> unparsed;
  bool incomplete = false;
  std::size_t total = 0;
  if (auto w = in.rewind(); !w) return fail(w.error());
  for (;;) {
    auto l = in.next();
    if (!l) return fail(l.error());
    if (!*l) break;
    const size_t n = ++total;
    incomplete = !(*l)->has_newline;
    if (unparsed) continue;  // only counting now
    if ((*l)->too_long)
      unparsed.emplace(n, fmt::format("line {} is longer than {} bytes: not written by modelsign", n, kMaxLineBytes));
    else if (!parse_link((*l)->text))
      unparsed.emplace(n, fmt::format("line {} is not an audit entry (not JSON, or no seq/prev): it was edited", n));
  }
  r.lines = total;
  if (unparsed) return bad(unparsed->first, std::move(unparsed->second));

  // The chain: links of lines i-2, i-1, i and i+1.
  if (auto w = in.rewind(); !w) return fail(w.error());
  auto read_link = [&in]() -> Result<std::optional<Link>> {
    auto l = in.next();
    if (!l) return fail(l.error());
    if (!*l) return std::optional<Link>{};
    return parse_link((*l)->text);  // parsed in pass 1, so present
  };
  std::optional<Link> before2, before1;
  auto cur = read_link();
  if (!cur) return fail(cur.error());
  for (size_t i = 0; cur->has_value(); ++i) {
    auto next = read_link();
    if (!next) return fail(next.error());
    const Link& c = **cur;
    const size_t n = i + 1;
    const std::int64_t expected_seq = i == 0 ? 1 : before1->seq + 1;
    const std::string expected_prev = i == 0 ? std::string(kGenesis) : before1->hash;
    if (c.seq != expected_seq || c.prev != expected_prev) {
      // The line before was inserted with a number and link that fit: this line, its
      // original successor, repeats that number and links past it.
      if (i >= 1 && c.seq == before1->seq && c.prev == (i >= 2 ? before2->hash : std::string(kGenesis)))
        return bad(n - 1, fmt::format("line {} was inserted: line {} links to {}", n - 1, n,
                                      i >= 2 ? fmt::format("line {}", n - 2) : std::string("the start of the log")));
      auto counts = count_seqs(in, {c.seq, expected_seq, c.seq - 1, 1});
      if (!counts) return fail(counts.error());
      const bool next_continues = next->has_value() && (*next)->seq == expected_seq && (*next)->prev == expected_prev;
      const bool duplicate = (*counts)[0] > 1;
      const bool expected_later = (*counts)[1] > 0;
      // Inserted: the line after it carries on the chain from the line before it, and its
      // number is a copy of another line's or one the chain never reaches.
      const bool has_predecessor = (*counts)[2] > 0;
      if (next_continues && (duplicate || !has_predecessor || !(c.seq > expected_seq && expected_later)))
        return bad(n, fmt::format("line {} was inserted: line {} links to line {}", n, n + 1, n - 1));
      if (c.seq == expected_seq)
        return i == 0 ? bad(1, "line 1 does not start the chain: it was edited")
                      : bad(n - 1, fmt::format("line {} was edited: its hash does not match the prev of line {}",
                                               n - 1, n));
      if (i == 0 && c.seq > 1 && (*counts)[3] == 0)
        return bad(1, fmt::format("the first {} line(s) were removed: the log starts at sequence {}", c.seq - 1, c.seq));
      if (c.seq > expected_seq && !expected_later)
        return bad(n, fmt::format("a line was removed before line {}: sequence {} is missing", n, expected_seq));
      if (c.seq != expected_seq && expected_later)
        return bad(n, fmt::format("line {} is out of order: sequence {} where {} was expected; lines were reordered",
                                  n, c.seq, expected_seq));
      return bad(n, fmt::format("line {} was inserted or edited: sequence {} where {} was expected", n, c.seq,
                                expected_seq));
    }
    before2 = std::move(before1);
    before1 = std::move(**cur);
    cur = std::move(next);
  }
  if (incomplete)
    return bad(total, fmt::format("line {} is incomplete (no newline at the end): a write was cut short "
                                  "or the line was edited",
                                  total));
  if (before1) r.head = before1->hash;
  return r;
}

}  // namespace

Report verify_text(std::string_view text) {
  LineReader in(-1, text);
  auto r = verify_lines(in);  // reading text in memory cannot fail
  return r ? *r : Report{false, 0, 0, r.error().message, std::string(kGenesis)};
}

Result<Report> verify(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0)
    return fail(ErrorCode::kNotFound, fmt::format("audit log '{}' cannot be opened: {}", path, std::strerror(errno)));
  LineReader in(f.fd, {});
  auto r = verify_lines(in);
  if (!r) return fail(ErrorCode::kIo, fmt::format("audit log '{}': {}", path, r.error().message));
  return r;
}

}  // namespace modelsign::audit
