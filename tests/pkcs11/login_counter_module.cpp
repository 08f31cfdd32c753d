// A thin PKCS#11 module for tests: forwards every call to $MODELSIGN_TEST_REAL_MODULE
// (default SoftHSM; initialisation arguments pass through) and appends one line
// to $MODELSIGN_TEST_LOGIN_LOG for each C_Login (user type and result), so a test can
// count logins exactly. $MODELSIGN_TEST_DROP_FUNCTION=C_GetMechanismList leaves that
// entry of the function list empty, as a module that lacks the function would.
#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

CK_FUNCTION_LIST* real = nullptr;
CK_FUNCTION_LIST shim;
char real_path[4096];  // the module `real` came from

CK_RV counting_login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  CK_RV rv = real->C_Login(h, user, pin, len);
  if (const char* path = std::getenv("MODELSIGN_TEST_LOGIN_LOG")) {
    int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      char line[64];
      int n = std::snprintf(line, sizeof(line), "C_Login user=%lu rv=0x%lx\n", user, rv);
      if (n > 0) (void)!::write(fd, line, static_cast<size_t>(n));
      ::close(fd);
    }
  }
  return rv;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == nullptr) return CKR_ARGUMENTS_BAD;
  const char* env = std::getenv("MODELSIGN_TEST_REAL_MODULE");
  const char* lib = env != nullptr ? env : "/usr/lib/softhsm/libsofthsm2.so";
  // One test process may use it for one token implementation, then another.
  if (real == nullptr || std::strcmp(lib, real_path) != 0) {
    if (std::strlen(lib) >= sizeof(real_path)) return CKR_GENERAL_ERROR;
    void* h = ::dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return CKR_GENERAL_ERROR;
    CK_C_GetFunctionList get = nullptr;
    void* sym = ::dlsym(h, "C_GetFunctionList");
    std::memcpy(&get, &sym, sizeof(get));
    if (get == nullptr || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
    std::strcpy(real_path, lib);
  }
  shim = *real;
  shim.C_Login = counting_login;
  if (const char* drop = std::getenv("MODELSIGN_TEST_DROP_FUNCTION");
      drop != nullptr && std::strcmp(drop, "C_GetMechanismList") == 0)
    shim.C_GetMechanismList = nullptr;
  *out = &shim;
  return CKR_OK;
}
