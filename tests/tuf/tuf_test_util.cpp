#include "tuf_test_util.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "crypto/openssl_util.h"
#include "modelsign/crypto.h"
#include "tuf/canonical_json.h"

namespace modelsign::tuf::test {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256_of(std::string_view bytes) { return sha256_hex(bytes); }

// ---- loopback server ----

LoopbackServer::LoopbackServer(fs::path root) : root_(std::move(root)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe(stop_pipe_) != 0) throw std::runtime_error("pipe");
  thread_ = std::thread([this] { serve(); });
}

LoopbackServer::~LoopbackServer() {
  char c = 'x';
  (void)!::write(stop_pipe_[1], &c, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void LoopbackServer::make_endless(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  endless_.insert(path);
}

void LoopbackServer::make_stalled(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  stalled_.insert(path);
}

void LoopbackServer::clear_faults() {
  std::lock_guard<std::mutex> lock(mu_);
  endless_.clear();
  stalled_.clear();
}

std::string LoopbackServer::url() const { return fmt::format("http://127.0.0.1:{}", port_); }

namespace {
bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}
}  // namespace

void LoopbackServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++requests;
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
    }
    std::string path;
    if (req.starts_with("GET /")) {
      auto end = req.find(' ', 4);
      if (end != std::string::npos) path = req.substr(5, end - 5);
    }
    bool stall = false, endless = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stall = stalled_.contains(path);
      endless = endless_.contains(path);
    }
    if (stall) {
      pollfd stop = {stop_pipe_[0], POLLIN, 0};
      (void)::poll(&stop, 1, 10'000);
    } else if (endless) {
      (void)send_all(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
      std::string chunk(65536, ' ');
      while (send_all(c, chunk)) {
      }
    } else if (!path.empty() && path.find("..") == std::string::npos && fs::is_regular_file(root_ / path)) {
      std::string body = slurp(root_ / path);
      (void)send_all(c, fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                    body.size()) +
                            body);
    } else {
      (void)send_all(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }
}

// ---- keys and signing ----

TestKey make_key(bool ed25519) {
  TestKey k;
  EVP_PKEY* p = ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (p == nullptr) throw std::runtime_error("keygen");
  k.pkey = ossl::UniquePtr<EVP_PKEY>(p);
  Json pub;
  if (ed25519) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(p, raw, &len);
    pub = {{"keytype", "ed25519"}, {"scheme", "ed25519"},
           {"keyval", {{"public", to_hex(std::span<const std::uint8_t>(raw, len))}}}};
  } else {
    ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PUBKEY(bio.get(), p);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    std::string pem(data, static_cast<std::size_t>(n));
    pub = {{"keytype", "ecdsa"}, {"scheme", "ecdsa-sha2-nistp256"}, {"keyval", {{"public", pem}}}};
  }
  k.keyid = sha256_hex(*canonical_json(pub));
  k.public_json = pub;
  return k;
}

std::string sign_hex(const TestKey& key, std::string_view message) {
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  const bool ed = EVP_PKEY_is_a(key.pkey.get(), "ED25519");
  EVP_DigestSignInit_ex(ctx.get(), nullptr, ed ? nullptr : "SHA256", nullptr, nullptr, key.pkey.get(), nullptr);
  std::size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size());
  std::vector<std::uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg, message.size()) != 1) throw std::runtime_error("sign");
  sig.resize(len);
  return to_hex(sig);
}

std::string envelope(const Json& signed_part, const std::vector<const TestKey*>& signers) {
  const std::string canon = *canonical_json(signed_part);
  Json sigs = Json::array();
  for (const TestKey* k : signers) sigs.push_back({{"keyid", k->keyid}, {"sig", sign_hex(*k, canon)}});
  Json doc = {{"signatures", sigs}, {"signed", signed_part}};
  return doc.dump(1);
}

// ---- repository generator ----

RepoGen::RepoGen(fs::path d) : dir(std::move(d)) {
  fs::create_directories(dir / "targets");
  for (const char* role : {"root", "timestamp", "snapshot", "targets"}) roles[role] = RoleSpec{{new_key()}, 1};
  target_files["trusted_root.json"] = R"({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"})";
}

const TestKey* RepoGen::new_key(bool ed25519) {
  keys.push_back(std::make_unique<TestKey>(make_key(ed25519)));
  return keys.back().get();
}

UnixTime RepoGen::expiry(const std::string& role) const {
  auto it = expires.find(role);
  return it != expires.end() ? it->second : now + 30 * 86400;
}

Json RepoGen::role_json(const std::string& role) const {
  Json ids = Json::array();
  for (const TestKey* k : roles.at(role).keys) ids.push_back(k->keyid);
  return {{"keyids", ids}, {"threshold", roles.at(role).threshold}};
}

std::string RepoGen::root_text(std::optional<std::vector<const TestKey*>> signers) {
  Json keys_json = Json::object();
  Json roles_json = Json::object();
  for (const auto& [name, spec] : roles) {
    for (const TestKey* k : spec.keys) keys_json[k->keyid] = k->public_json;
    roles_json[name] = role_json(name);
  }
  Json s = {{"_type", "root"},          {"spec_version", "1.0"},
            {"version", root_version},  {"expires", format_time(expiry("root"))},
            {"consistent_snapshot", consistent_snapshot},
            {"keys", keys_json},        {"roles", roles_json}};
  return envelope(s, signers ? *signers : roles.at("root").keys);
}

void RepoGen::publish_root(std::optional<std::vector<const TestKey*>> signers) {
  write(fmt::format("{}.root.json", root_version), root_text(signers));
}

std::string RepoGen::targets_text(std::optional<std::vector<const TestKey*>> signers) {
  Json targets = Json::object();
  for (const auto& [name, bytes] : target_files)
    targets[name] = {{"length", bytes.size()}, {"hashes", {{"sha256", sha256_of(bytes)}}}};
  Json s = {{"_type", "targets"}, {"spec_version", "1.0"}, {"version", targets_version},
            {"expires", format_time(expiry("targets"))}, {"targets", targets}};
  return envelope(s, signers ? *signers : roles.at("targets").keys);
}

std::string RepoGen::snapshot_text(const std::string& targets_bytes, std::optional<std::uint64_t> tv,
                                   std::optional<std::vector<const TestKey*>> signers) {
  Json meta = {{"version", tv.value_or(targets_version)}};
  if (meta_hashes) {
    meta["length"] = targets_bytes.size();
    meta["hashes"] = {{"sha256", sha256_of(targets_bytes)}};
  }
  Json s = {{"_type", "snapshot"}, {"spec_version", "1.0"}, {"version", snapshot_version},
            {"expires", format_time(expiry("snapshot"))}, {"meta", {{"targets.json", meta}}}};
  return envelope(s, signers ? *signers : roles.at("snapshot").keys);
}

std::string RepoGen::timestamp_text(const std::string& snapshot_bytes, std::optional<std::uint64_t> sv,
                                    std::optional<std::vector<const TestKey*>> signers) {
  Json meta = {{"version", sv.value_or(snapshot_version)}};
  if (meta_hashes) {
    meta["length"] = snapshot_bytes.size();
    meta["hashes"] = {{"sha256", sha256_of(snapshot_bytes)}};
  }
  Json s = {{"_type", "timestamp"}, {"spec_version", "1.0"}, {"version", timestamp_version},
            {"expires", format_time(expiry("timestamp"))}, {"meta", {{"snapshot.json", meta}}}};
  return envelope(s, signers ? *signers : roles.at("timestamp").keys);
}

void RepoGen::publish() {
  for (const auto& [name, bytes] : target_files)
    write(consistent_snapshot ? fmt::format("targets/{}.{}", sha256_of(bytes), name) : "targets/" + name, bytes);
  const std::string t = targets_text();
  write(consistent_snapshot ? fmt::format("{}.targets.json", targets_version) : "targets.json", t);
  const std::string s = snapshot_text(t);
  write(consistent_snapshot ? fmt::format("{}.snapshot.json", snapshot_version) : "snapshot.json", s);
  write("timestamp.json", timestamp_text(s));
}

void RepoGen::write(const std::string& name, const std::string& bytes) const {
  fs::create_directories((dir / name).parent_path());
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string RepoGen::read(const std::string& name) const { return slurp(dir / name); }

}  // namespace modelsign::tuf::test
