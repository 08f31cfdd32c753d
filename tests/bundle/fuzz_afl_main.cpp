// AFL++ driver for the fuzz target (-DMODELSIGN_FUZZ_AFL=ON). With afl-g++-fast or
// afl-clang-fast it runs in persistent mode (many inputs per process, from shared
// memory); with classic afl-g++ (define MODELSIGN_AFL_STDIN: its runtime lacks the
// persistent-mode hooks) it reads one input from stdin per forked process.
#include <cstddef>
#include <cstdint>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

#if !defined(__AFL_FUZZ_TESTCASE_LEN) || defined(MODELSIGN_AFL_STDIN)
#include <vector>
int main() {
  std::vector<std::uint8_t> buf;
  std::uint8_t chunk[65536];
  for (ssize_t n; (n = ::read(0, chunk, sizeof(chunk))) > 0;) buf.insert(buf.end(), chunk, chunk + n);
  LLVMFuzzerTestOneInput(buf.data(), buf.size());
  return 0;
}
#else
__AFL_FUZZ_INIT();

int main() {
  __AFL_INIT();
  const unsigned char* buf = __AFL_FUZZ_TESTCASE_BUF;
  while (__AFL_LOOP(10000)) {
    LLVMFuzzerTestOneInput(buf, static_cast<std::size_t>(__AFL_FUZZ_TESTCASE_LEN));
  }
  return 0;
}
#endif
