// Loading PKCS#11 modules through p11-kit, once per process, and again in a forked
// child (PKCS#11: a forked child must not use the parent's sessions; it initialises the
// library itself).
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/p11_uri.h"

namespace modelsign::pkcs11 {

// Module search directories for module-name: model_signing's (spec §10.3) first, then
// Debian's.
std::vector<std::string> module_search_dirs();

// Which module a URI names: its module-path (a file, or a directory searched for
// module-name), its module-name, or else `option` (the provider's "module" setting: a
// path, or a name). Returns "" when no module is named: use every module registered
// with p11-kit.
Result<std::string> resolve_module(const KeyUri& u, std::string_view option);

class Modules {
 public:
  // Loads and initialises the module at `path`, or every module registered with p11-kit
  // when `path` is empty. Shared while in use: opening the same path (with the same
  // init_args) again reuses it. `init_args`, when not empty, is passed to the module's
  // C_Initialize as CK_C_INITIALIZE_ARGS.pReserved (NSS's softoken reads its database
  // directory from there); only with a module path.
  static Result<std::shared_ptr<Modules>> open(const std::string& path,
                                               const std::string& init_args = {});
  Modules(const Modules&) = delete;
  Modules& operator=(const Modules&) = delete;
  ~Modules();

  // The initialised function lists (re-initialised first if this is a forked child).
  Result<std::vector<CK_FUNCTION_LIST*>> lists();
  std::string filename(CK_FUNCTION_LIST* f) const;
  // "module /usr/lib/softhsm/libsofthsm2.so" or "the modules registered with p11-kit".
  std::string describe() const;
  const std::string& path() const { return path_; }
  // Re-initialise in a forked child; a no-op in the process that loaded the modules.
  Result<void> ensure_initialized();

 private:
  Modules() = default;
  // C_Initialize with init_args_ (when set) or p11-kit's defaults.
  CK_RV initialize(CK_FUNCTION_LIST* f);
  std::string path_;
  std::string init_args_;
  CK_FUNCTION_LIST* single_ = nullptr;
  CK_FUNCTION_LIST** registry_ = nullptr;
  std::vector<CK_FUNCTION_LIST*> lists_;
  std::vector<std::string> filenames_;
  pid_t pid_ = 0;
  std::mutex mu_;
};

}  // namespace modelsign::pkcs11
