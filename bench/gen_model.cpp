// Writes deterministic synthetic models for bench/hash_bench.sh.
//
//   modelsign_bench_gen llm DIR WEIGHT_BYTES     two weight files + ten small JSON/tokenizer files
//   modelsign_bench_gen many-small DIR COUNT     COUNT files of 16-256 KiB in nested folders
//   modelsign_bench_gen tiny DIR COUNT           COUNT files of 0-15 bytes (bench/scale_bench.sh)
//
// Contents come from xoshiro256** seeded by each file's name, so every run (and every
// machine) produces the same bytes; they are incompressible and never sparse, so neither
// the file system nor the page cache can take a shortcut the real models would not get.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& w : s_) w = splitmix(seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::array<std::uint64_t, 4> s_{};
};

std::uint64_t seed_of(std::string_view name) {  // FNV-1a
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "modelsign_bench_gen: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void make_dirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string prefix = path.substr(0, i);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) die("mkdir " + prefix);
  }
}

void write_all(int fd, const unsigned char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write " + path);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Binary content: the raw generator output.
void write_binary(const std::string& dir, const std::string& rel, std::uint64_t size) {
  std::string path = dir + "/" + rel;
  if (auto slash = path.rfind('/'); slash != std::string::npos) make_dirs(path.substr(0, slash));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  Rng rng(seed_of(rel));
  std::vector<std::uint64_t> buf(1 << 17);  // 1 MiB
  while (size > 0) {
    for (auto& w : buf) w = rng.next();
    size_t n = static_cast<size_t>(std::min<std::uint64_t>(size, buf.size() * sizeof(std::uint64_t)));
    write_all(fd, reinterpret_cast<const unsigned char*>(buf.data()), n, path);
    size -= n;
  }
  if (::close(fd) != 0) die("close " + path);
}

// Text content shaped like a tokenizer/config JSON file: {"word": 123, ...}.
void write_json(const std::string& dir, const std::string& rel, std::uint64_t size) {
  std::string path = dir + "/" + rel;
  Rng rng(seed_of(rel));
  std::string text = "{\n";
  std::uint64_t id = 0;
  while (text.size() + 64 < size) {
    std::uint64_t r = rng.next();
    size_t len = 3 + static_cast<size_t>(r % 12);
    text += "  \"";
    for (size_t i = 0; i < len; ++i) {
      r = r * 6364136223846793005ULL + 1442695040888963407ULL;
      text += static_cast<char>('a' + (r >> 59) % 26);
    }
    text += "\": " + std::to_string(id++) + ",\n";
  }
  text += "  \"_end\": 0\n}\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  write_all(fd, reinterpret_cast<const unsigned char*>(text.data()), text.size(), path);
  if (::close(fd) != 0) die("close " + path);
}

std::uint64_t parse_u64(const char* s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc() || *p != '\0' || v == 0) {
    std::fprintf(stderr, "modelsign_bench_gen: '%s' is not a positive integer\n", s);
    std::exit(2);
  }
  return v;
}

void gen_llm(const std::string& dir, std::uint64_t weight_bytes) {
  make_dirs(dir);
  write_binary(dir, "model-00001-of-00002.safetensors", weight_bytes);
  write_binary(dir, "model-00002-of-00002.safetensors", weight_bytes);
  // The small files of a typical Hugging Face checkpoint, with typical sizes.
  const std::pair<const char*, std::uint64_t> small[] = {
      {"config.json", 700},
      {"generation_config.json", 200},
      {"model.safetensors.index.json", 24'000},
      {"special_tokens_map.json", 600},
      {"tokenizer.json", 9'000'000},
      {"tokenizer_config.json", 50'000},
      {"vocab.json", 2'800'000},
      {"merges.txt", 1'700'000},
      {"added_tokens.json", 1'000},
      {"README.json", 5'000},
  };
  for (const auto& [name, size] : small) write_json(dir, name, size);
}

void gen_many_small(const std::string& dir, std::uint64_t count) {
  make_dirs(dir);
  Rng sizes(seed_of("many-small sizes"));
  for (std::uint64_t i = 0; i < count; ++i) {
    // 100 files per folder, 10 folders per top-level folder.
    char rel[64];
    std::snprintf(rel, sizeof(rel), "part%03llu/group%llu/tensor%05llu.bin",
                  static_cast<unsigned long long>(i / 1000),
                  static_cast<unsigned long long>((i / 100) % 10),
                  static_cast<unsigned long long>(i));
    std::uint64_t size = (16 << 10) + sizes.next() % ((240 << 10) + 1);
    write_binary(dir, rel, size);
  }
}

}  // namespace

// COUNT files of 0-15 bytes, 1000 per folder (shard-00042/file-0042137.bin): the shape
// of the scale benchmark, where per-file costs dominate and reading data does not.
void gen_tiny(const std::string& dir, std::uint64_t count) {
  make_dirs(dir);
  for (std::uint64_t i = 0; i < count; ++i) {
    char folder[32], rel[64];
    std::snprintf(folder, sizeof(folder), "shard-%05llu", static_cast<unsigned long long>(i / 1000));
    if (i % 1000 == 0) make_dirs(dir + "/" + folder);
    std::snprintf(rel, sizeof(rel), "%s/file-%07llu.bin", folder, static_cast<unsigned long long>(i));
    std::string path = dir + "/" + rel;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("open " + path);
    std::string body(i % 16, 'x');
    write_all(fd, reinterpret_cast<const unsigned char*>(body.data()), body.size(), path);
    if (::close(fd) != 0) die("close " + path);
  }
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s llm DIR WEIGHT_BYTES | many-small DIR COUNT | tiny DIR COUNT\n", argv[0]);
    return 2;
  }
  std::string_view kind = argv[1];
  std::string dir = argv[2];
  std::uint64_t n = parse_u64(argv[3]);
  if (kind == "llm") {
    gen_llm(dir, n);
  } else if (kind == "tiny") {
    gen_tiny(dir, n);
  } else if (kind == "many-small") {
    gen_many_small(dir, n);
  } else {
    std::fprintf(stderr, "modelsign_bench_gen: unknown model kind '%s'\n", argv[1]);
    return 2;
  }
  return 0;
}
