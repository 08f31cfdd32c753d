// Keyless verification overhead beyond hashing: what `verify sigstore` adds to a
// verification (trusted-root parsing, bundle parsing, Rekor/TSA/Fulcio/SCT checks, the
// DSSE signature, identity policy), measured on an upstream production bundle.
// Usage: modelsign_keyless_bench FIXTURE_DIR [ITERATIONS]   (target: median < 50 ms)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_timing.h"
#include "bundle/bundle.h"
#include "modelsign/verify.h"
#include "verify/sigstore_verifier.h"

using namespace modelsign;
using modelsign::bench::median;
using modelsign::bench::ms_since;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  int n = argc > 2 ? std::max(1, std::atoi(argv[2])) : 50;
  std::ifstream in(dir + "/model.sig", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string sig = ss.str();
  SigstorePolicy p;
  p.identity = "stefanb@us.ibm.com";
  p.issuer = "https://sigstore.verify.ibm.com/oauth2";

  std::vector<double> keyless, full, root_only;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto b = bundle::parse_bundle(sig);
    auto tr = std::chrono::steady_clock::now();
    auto root = verify::load_trusted_root(p);
    root_only.push_back(ms_since(tr));
    std::vector<std::string> warnings;
    if (!b || !root) return 1;
    auto r = verify::verify_sigstore(*b, p, *root, &warnings);
    keyless.push_back(ms_since(t0));
    if (!r) {
      std::fprintf(stderr, "verification failed: %s\n", r.error().message.c_str());
      return 1;
    }
    VerifyOptions o;
    o.method = VerifyMethod::kSigstore;
    o.sigstore = p;
    o.serialization.ignore_paths = {"model.sig", "ignore-me"};
    t0 = std::chrono::steady_clock::now();
    auto v = verify_model(dir, sig, o);
    full.push_back(ms_since(t0));
    if (!v) {
      std::fprintf(stderr, "verify_model failed: %s\n", v.error().message.c_str());
      return 1;
    }
  }
  double k = median(keyless);
  std::printf("keyless checks (root + bundle + tlog + TSA + chain + SCT + DSSE + identity): median %.2f ms over %d runs\n",
              k, n);
  std::printf("  of which parsing the built-in trusted root:                                median %.2f ms\n",
              median(root_only));
  std::printf("whole verify_model on the 2-file fixture:                                   median %.2f ms\n",
              median(full));
  std::printf("target < 50 ms: %s\n", k < 50.0 ? "met" : "MISSED");
  return k < 50.0 ? 0 : 1;
}
