// Keyless signing overhead beyond hashing: `sign sigstore`'s work (Fulcio certificate,
// TSA timestamp, Rekor entry, each verified, and the keyless verification of the finished
// bundle) measured against the loopback Sigstore stack, next to a plain key signature of
// the same model. Usage (the stack started with scripts/sigstore-stack.sh start DIR):
//   modelsign_keyless_sign_bench STACK_DIR MODEL_DIR [ITERATIONS] [TRUST_CONFIG]
// Target: median overhead < 300 ms.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_timing.h"
#include "keyless.h"

using namespace modelsign;
using modelsign::bench::median;
using modelsign::bench::ms_since;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s STACK_DIR MODEL_DIR [ITERATIONS] [TRUST_CONFIG]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], model = argv[2];
  const int n = argc > 3 ? std::max(1, std::atoi(argv[3])) : 20;
  const std::string trust_path = argc > 4 ? argv[4] : dir + "/trust_config.json";
  auto stack = nlohmann::json::parse(slurp(dir + "/stack.json"));
  auto trust = sigstore::load_trust(slurp(trust_path), trust_path, false);
  if (!trust) {
    std::fprintf(stderr, "%s\n", trust.error().message.c_str());
    return 1;
  }
  auto plan = sigstore::plan_services(trust->config, std::time(nullptr));
  if (!plan) {
    std::fprintf(stderr, "%s\n", plan.error().message.c_str());
    return 1;
  }
  sigstore::HttpOptions ho;
  ho.ca_file = dir + "/ca.pem";
  sigstore::HttpClient http(ho);
  SignOptions opts;
  opts.hashing.threads = 1;

  std::vector<double> plain, keyless;
  for (int i = 0; i < n; ++i) {
    auto signer = sigstore::ephemeral_signer();
    if (!signer) return 1;
    // The token is fetched outside the timed part (a CI job has it in its environment).
    sigstore::HttpRequest tr;
    tr.service = "stack";
    tr.url = stack["base_url"].get<std::string>() + "/control/token?sub=bench&email=bench@example.com";
    auto raw = http.expect(tr, 200);
    if (!raw) {
      std::fprintf(stderr, "%s\n", raw.error().message.c_str());
      return 1;
    }
    auto token = sigstore::check_token(SecretString(std::string_view(raw->body)), "bench", "sigstore",
                                       std::time(nullptr));
    if (!token) return 1;

    auto t0 = std::chrono::steady_clock::now();
    auto p = sign_model(model, **signer, opts);
    plain.push_back(ms_since(t0));
    if (!p) return 1;
    t0 = std::chrono::steady_clock::now();
    auto k = sigstore::sign_keyless(model, **signer, opts, *trust, *plan, *token, http);
    keyless.push_back(ms_since(t0));
    if (!k) {
      std::fprintf(stderr, "%s\n", k.error().message.c_str());
      return 1;
    }
  }
  const double mp = median(plain), mk = median(keyless);
  std::printf("key signature (hash + sign):        median %.1f ms over %d runs\n", mp, n);
  std::printf("keyless (hash + Fulcio/TSA/Rekor):  median %.1f ms (min %.1f, max %.1f)\n", mk,
              *std::min_element(keyless.begin(), keyless.end()), *std::max_element(keyless.begin(), keyless.end()));
  std::printf("keyless overhead beyond hashing:    %.1f ms (ratio %.1fx; target < 300 ms)\n", mk - mp, mk / mp);
  return 0;
}
