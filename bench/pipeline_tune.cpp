// Runs compute_manifest with explicit HashingOptions, to choose the pipeline's defaults
// by measurement (see docs/performance.md).
//
//   modelsign_pipeline_tune MODEL [--threads N] [--mmap-threshold B] [--mmap-window B]
//                           [--read-buffer B] [--io-depth N] [--cold-read auto|buffered|readahead|direct]
//                           [--runs N]
//
// Prints, per run, wall time, CPU time (user + sys of the whole process), throughput and
// throughput per CPU-second. The last figure is what the pipeline controls; wall-clock
// throughput also depends on whatever else the machine runs.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/encoding.h"
#include "modelsign/manifest.h"

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::uint64_t parse(const char* s) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s) {
    std::fprintf(stderr, "not a number: %s\n", s);
    std::exit(2);
  }
  std::uint64_t scale = 1;
  std::string_view suffix(end);
  if (suffix == "K" || suffix == "k") scale = 1 << 10;
  else if (suffix == "M") scale = 1 << 20;
  else if (!suffix.empty()) {
    std::fprintf(stderr, "bad suffix: %s\n", s);
    std::exit(2);
  }
  return static_cast<std::uint64_t>(v) * scale;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s MODEL [--threads N] [--mmap-threshold B] [--mmap-window B] "
                 "[--read-buffer B] [--io-depth N] [--cold-read auto|buffered|readahead|direct] "
                 "[--runs N]\n",
                 argv[0]);
    return 2;
  }
  std::string model = argv[1];
  modelsign::HashingOptions h;
  int runs = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--cold-read") {
      std::string_view m = argv[i + 1];
      using modelsign::ColdRead;
      h.cold_read = m == "buffered" ? ColdRead::kBuffered
                    : m == "readahead" ? ColdRead::kReadahead
                    : m == "direct"    ? ColdRead::kDirect
                                       : ColdRead::kAuto;
      continue;
    }
    std::uint64_t v = parse(argv[i + 1]);
    if (k == "--threads") h.threads = static_cast<unsigned>(v);
    else if (k == "--mmap-threshold") h.mmap_threshold = v;
    else if (k == "--mmap-window") h.mmap_window = v;
    else if (k == "--read-buffer") h.read_buffer = v;
    else if (k == "--io-depth") h.io_depth = static_cast<unsigned>(v);
    else if (k == "--runs") runs = static_cast<int>(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  modelsign::SerializationOptions ser;
  for (int r = 0; r < runs; ++r) {
    double c0 = cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto m = modelsign::compute_manifest(model, ser, h);
    auto t1 = std::chrono::steady_clock::now();
    double c1 = cpu_seconds();
    if (!m) {
      std::fprintf(stderr, "%s\n", m.error().describe().c_str());
      return 1;
    }
    std::uint64_t bytes = 0;
    for (const auto& res : m->resources) bytes += res.end - res.start;
    double wall = std::chrono::duration<double>(t1 - t0).count();
    double cpu = c1 - c0;
    std::printf("wall %.3f s  cpu %.3f s  %.0f MB/s  %.0f MB/cpu-s  %s\n", wall, cpu,
                static_cast<double>(bytes) / wall / 1e6, static_cast<double>(bytes) / cpu / 1e6,
                modelsign::to_hex(m->root_digest()).substr(0, 16).c_str());
  }
  return 0;
}
