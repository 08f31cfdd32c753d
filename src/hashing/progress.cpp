#include "hashing/progress.h"

#include <cstdio>
#include <fmt/format.h>
#include <string>

namespace modelsign::hashing {

std::string human_bytes(double b) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, kUnits[u]);
}

Progress::Progress(std::uint64_t total, const std::atomic<std::uint64_t>* done)
    : total_(total), done_(done), start_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!finished_) {
      cv_.wait_for(lock, std::chrono::milliseconds(250));
      if (!finished_) draw(false);
    }
  });
}

Progress::~Progress() { finish(); }

void Progress::finish() {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  draw(true);
}

void Progress::draw(bool final_line) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::uint64_t done = done_->load(std::memory_order_relaxed);
  double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  std::string eta = "--";
  if (rate > 0 && done < total_) eta = fmt::format("{:.0f}s", static_cast<double>(total_ - done) / rate);
  std::string line = fmt::format("\r[{}] {} / {}  {}/s  ETA {}\x1b[K", bar,
                                 human_bytes(static_cast<double>(done)),
                                 human_bytes(static_cast<double>(total_)), human_bytes(rate), eta);
  if (final_line) line = "\r\x1b[K";  // clear the bar; the result line follows on stdout
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace modelsign::hashing
