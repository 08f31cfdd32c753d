// Defaults of the hashing pipeline chosen from the machine: CPUs and the model's disk.
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "modelsign/manifest.h"

namespace modelsign {

unsigned default_threads() {
  // The affinity mask, not the online CPUs: under taskset or a container's cpuset, more
  // threads than allowed CPUs only take turns.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

unsigned default_io_depth(const std::string& model_path) {
  constexpr unsigned kUnknown = 16;
  struct stat st {};
  if (::stat(model_path.c_str(), &st) != 0 || ::major(st.st_dev) == 0) return kUnknown;  // tmpfs, overlay, NFS
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dev = fs::canonical(fs::path("/sys/dev/block") /
                                   (std::to_string(::major(st.st_dev)) + ":" + std::to_string(::minor(st.st_dev))),
                               ec);
  if (ec) return kUnknown;
  // A partition's queue settings are its disk's.
  if (fs::exists(dev / "partition", ec)) dev = dev.parent_path();
  std::ifstream rot(dev / "queue" / "rotational");
  int rotational = -1;
  if (!(rot >> rotational)) return kUnknown;
  // One head: a deeper queue on one sequential stream gains nothing.
  if (rotational == 1) return 4;
  // NVMe reaches its rated sequential speed at queue depth 32 or more.
  if (dev.filename().string().starts_with("nvme")) return 64;
  return 32;
}

}  // namespace modelsign
