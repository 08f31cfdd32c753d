// Progress bar on stderr (bytes done / total, rate, ETA), drawn by its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace modelsign::hashing {

class Progress {
 public:
  Progress(std::uint64_t total, const std::atomic<std::uint64_t>* done);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void finish();

 private:
  void draw(bool final_line);
  std::uint64_t total_;
  const std::atomic<std::uint64_t>* done_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::thread thread_;
};

std::string human_bytes(double bytes);

}  // namespace modelsign::hashing
