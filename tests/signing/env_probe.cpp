// LD_PRELOAD probe for tests: when the process exits, a child process (which inherits
// the environment as any child would) copies its /proc/self/environ to the file named
// by MODELSIGN_TEST_ENV_DUMP.
#include <cstdlib>

namespace {
__attribute__((destructor)) void dump_environment_of_a_child() {
  if (std::getenv("MODELSIGN_TEST_ENV_DUMP") == nullptr) return;
  ::unsetenv("LD_PRELOAD");  // the shell and cat must not run this probe again
  (void)!std::system("cat /proc/self/environ > \"$MODELSIGN_TEST_ENV_DUMP\"");
}
}  // namespace
