// Timing helpers the keyless benchmarks share: milliseconds since a start point, and the
// median of a set of runs (the figure they report).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace modelsign::bench {

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace modelsign::bench
