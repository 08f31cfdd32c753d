// HashingOptions::observer: the embedding hooks the Python package relies on (progress
// counts and cancellation from another thread).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "hashing/pipeline.h"
#include "modelsign/manifest.h"
#include "test_util.h"

namespace modelsign::testing {
namespace {

TEST(HashObserver, CountsEveryByteAndTheTotal) {
  TempDir dir;
  write_file(dir / "a.bin", std::string(300000, 'a'));
  write_file(dir / "b.bin", std::string(5, 'b'));
  HashingOptions h;
  h.observer = std::make_shared<HashObserver>();
  auto m = compute_manifest(dir.str(), SerializationOptions{}, h);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(h.observer->total.load(), 300005u);
  EXPECT_EQ(h.observer->done.load(), 300005u);
}

TEST(HashObserver, CancelStopsHashingWithAnError) {
  TempDir dir;
  for (char c = 'a'; c < 'i'; ++c) write_file(dir / std::string(1, c), std::string(1 << 20, 'x'));
  HashingOptions h;
  h.threads = 1;
  h.mmap_window = 64 << 10;  // several windows per file: the flag is seen inside a file
  h.observer = std::make_shared<HashObserver>();
  auto observer = h.observer;
  // Cancel from the hashing thread itself, after the first window of the first file.
  hashing::ScopedAfterFirstChunk hook = [observer](const std::string&) { observer->cancel.store(true); };
  auto m = compute_manifest(dir.str(), SerializationOptions{}, h);
  ASSERT_FALSE(m.has_value()) << "a cancelled hash must not give a manifest";
  EXPECT_EQ(m.error().message, kHashingCancelled);
  EXPECT_LT(observer->done.load(), 8u << 20);
}

}  // namespace
}  // namespace modelsign::testing
