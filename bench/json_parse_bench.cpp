// Parse cost of adversarial JSON through the strict parser: n and 4n values of each shape,
// timed in one run, with the ratio of the two (linear cost: ~4; quadratic: ~16).
// Usage: modelsign_json_parse_bench [n] [--callback N]
//   n           values in the small case (default 1000000)
//   --callback  also time nlohmann's callback parser (what src/bundle/json.cpp used before
//               the SAX handler) on N and 4N sibling objects, for comparison.
// Not a ctest test: timings on a shared machine are not pass/fail material.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "bundle/json.h"
#include "bundle/limits.h"

using modelsign::bundle::Json;

namespace {

std::string siblings(std::size_t n) {  // [{},{},...]
  std::string s = "[";
  s.reserve(3 * n + 2);
  for (std::size_t i = 0; i < n; ++i) s += i ? ",{}" : "{}";
  return s + "]";
}

std::string wide_object(std::size_t n) {  // {"k0":0,"k1":0,...}
  std::string s = "{";
  for (std::size_t i = 0; i < n; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  return s + "}";
}

std::string deep(std::size_t n) { return std::string(n, '['); }  // stops at the depth limit

std::string long_string(std::size_t n) { return "[\"" + std::string(n, 'A') + "\"]"; }

double seconds(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double strict(const std::string& text) {
  return seconds([&] {
    auto r = modelsign::bundle::parse_strict(text, "input", modelsign::limits::kMaxStatementJsonValues,
                                             modelsign::limits::kMaxBundleBytes);
    (void)r;
  });
}

// The former parser: nlohmann's callback API with the same checks.
double callback(const std::string& text) {
  return seconds([&] {
    std::vector<std::set<std::string>> keys;
    auto cb = [&](int depth, Json::parse_event_t ev, Json& parsed) {
      if (ev == Json::parse_event_t::object_start) keys.emplace_back();
      if (ev == Json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
      if (ev == Json::parse_event_t::key && !keys.empty()) keys.back().insert(parsed.get<std::string>());
      return static_cast<std::size_t>(depth) <= modelsign::limits::kMaxJsonDepth;
    };
    try {
      Json j = Json::parse(text.begin(), text.end(), cb, true, false);
      (void)j;
    } catch (const Json::exception&) {
    }
  });
}

void row(const char* shape, std::size_t n, const std::function<std::string(std::size_t)>& make,
         double (*parse)(const std::string&)) {
  std::string a = make(n), b = make(4 * n);
  double ta = parse(a), tb = parse(b);
  std::printf("%-26s n=%-9zu %10.4f s   4n=%-9zu %10.4f s   ratio %6.2f\n", shape, n, ta, 4 * n, tb,
              ta > 0 ? tb / ta : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 1'000'000, old_n = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--callback") == 0 && i + 1 < argc) old_n = std::strtoull(argv[++i], nullptr, 10);
    else n = std::strtoull(argv[i], nullptr, 10);
  }
  std::printf("strict SAX parser (src/bundle/json.cpp); ratio ~4 means linear\n");
  row("siblings [{},{},...]", n, siblings, strict);
  row("wide object {\"k0\":0,...}", n, wide_object, strict);
  row("long string [\"AAA...\"]", 10 * n, long_string, strict);
  row("deep [[[[ (bytes)", 10 * n, deep, strict);
  if (old_n > 0) {
    std::printf("nlohmann callback parser (before); ratio ~16 means quadratic\n");
    row("siblings [{},{},...]", old_n, siblings, callback);
  }
  return 0;
}
