#include "pkcs11/p11_module.h"
#include "pkcs11/p11_call.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <map>

#include "modelsign/log.h"

namespace modelsign::pkcs11 {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// model_signing's rule (spec §10.3), applied to the file name: the first occurrence of
// the name is followed by the end or a '.'; "softhsm2" matches "libsofthsm2.so".
bool name_matches(std::string_view file_name, std::string_view module_name) {
  std::string f = lower(file_name), n = lower(module_name);
  auto pos = f.find(n);
  if (pos == std::string::npos) return false;
  auto end = pos + n.size();
  return end == f.size() || f[end] == '.';
}

std::string take_string(char* s) {
  if (s == nullptr) return {};
  std::string out(s);
  std::free(s);
  return out;
}

std::string p11_kit_reason() {
  const char* m = p11_kit_message();
  return m != nullptr && *m != '\0' ? m : "no reason given";
}

struct Registered {
  std::string name, filename;
};

std::vector<Registered> registered_modules() {
  std::vector<Registered> out;
  CK_FUNCTION_LIST** mods = p11_kit_modules_load(nullptr, 0);
  if (mods == nullptr) return out;
  for (CK_FUNCTION_LIST** m = mods; *m != nullptr; ++m)
    out.push_back({take_string(p11_kit_module_get_name(*m)),
                   take_string(p11_kit_module_get_filename(*m))});
  p11_kit_modules_release(mods);
  return out;
}

}  // namespace

std::vector<std::string> module_search_dirs() {
  std::vector<std::string> dirs = {"/usr/lib64/pkcs11", "/usr/lib/pkcs11"};
#ifdef MODELSIGN_PKCS11_MULTIARCH
  dirs.push_back(std::string("/usr/lib/") + MODELSIGN_PKCS11_MULTIARCH + "/pkcs11");
#endif
  if (std::find(dirs.begin(), dirs.end(), "/usr/lib/x86_64-linux-gnu/pkcs11") == dirs.end())
    dirs.push_back("/usr/lib/x86_64-linux-gnu/pkcs11");
  dirs.push_back("/usr/lib/softhsm");
  return dirs;
}

Result<std::string> resolve_module(const KeyUri& u, std::string_view option) {
  std::string path = u.module_path, name = u.module_name;
  if (path.empty() && name.empty() && !option.empty()) {
    if (option.find('/') != std::string_view::npos)
      path = std::filesystem::absolute(std::filesystem::path(option)).lexically_normal().string();
    else
      name = std::string(option);
  }
  std::vector<std::string> dirs;
  if (!path.empty()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return path;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      if (name.empty())
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("PKCS#11 module-path '{}' is a directory: add module-name=NAME to "
                                "the URI to pick the module in it, or give the module's file",
                                path));
      dirs.push_back(path);
    } else {
      return fail(ErrorCode::kNotFound,
                  fmt::format("PKCS#11 module not found: '{}' does not exist (paths tried: {}). "
                              "Install the module or correct module-path",
                              path, path));
    }
  } else if (!name.empty()) {
    dirs = module_search_dirs();
  } else {
    return std::string();
  }

  std::vector<std::string> tried;
  for (const auto& dir : dirs) {
    tried.push_back(dir + "/");
    std::error_code ec;
    std::vector<std::filesystem::path> entries;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::string fname = e.path().filename().string();
      if (fname.starts_with(".")) continue;
      entries.push_back(e.path());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& p : entries)
      if (name_matches(p.filename().string(), name) && std::filesystem::is_regular_file(p))
        return p.string();
  }
  // Then the modules registered with p11-kit, by their registered name or file name.
  std::vector<std::string> names;
  for (const auto& r : registered_modules()) {
    names.push_back(r.name);
    if (lower(r.name) == lower(name) ||
        name_matches(std::filesystem::path(r.filename).filename().string(), name))
      return r.filename;
  }
  tried.push_back("the p11-kit registry");
  return fail(ErrorCode::kNotFound,
              fmt::format("PKCS#11 module '{}' not found (paths tried: {}; modules registered "
                          "with p11-kit: {}). Give its file with module-path=/path/to/module.so, "
                          "or install it",
                          name, fmt::join(tried, ", "),
                          names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
}

// ---------------------------------------------------------------- Modules

namespace {
std::mutex g_cache_mu;
std::map<std::string, std::weak_ptr<Modules>>& cache() {
  static auto* c = new std::map<std::string, std::weak_ptr<Modules>>();
  return *c;
}
}  // namespace

CK_RV Modules::initialize(CK_FUNCTION_LIST* f) {
  if (init_args_.empty()) return p11_kit_module_initialize(f);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  args.pReserved = init_args_.data();
  return CK_CALL(f, C_Initialize, &args);
}

Result<std::shared_ptr<Modules>> Modules::open(const std::string& path, const std::string& init_args) {
  if (path.empty() && !init_args.empty())
    return fail(ErrorCode::kInvalidArgument,
                "PKCS#11 initialisation arguments need a module: name it with "
                "module-path=/path/to/module.so");
  const std::string key = init_args.empty() ? path : path + '\n' + init_args;
  std::lock_guard lock(g_cache_mu);
  if (auto existing = cache()[key].lock()) return existing;

  std::shared_ptr<Modules> m(new Modules());
  m->path_ = path;
  m->init_args_ = init_args;
  m->pid_ = getpid();
  if (path.empty()) {
    m->registry_ = p11_kit_modules_load_and_initialize(0);
    if (m->registry_ == nullptr)
      return fail(ErrorCode::kBackend,
                  fmt::format("cannot load the PKCS#11 modules registered with p11-kit: {}. "
                              "Name a module with module-path=/path/to/module.so in the URI",
                              p11_kit_reason()));
    for (CK_FUNCTION_LIST** f = m->registry_; *f != nullptr; ++f) {
      m->lists_.push_back(*f);
      m->filenames_.push_back(take_string(p11_kit_module_get_filename(*f)));
    }
    if (m->lists_.empty())
      return fail(ErrorCode::kNotFound,
                  "no PKCS#11 module is registered with p11-kit (see `p11-kit list-modules`): "
                  "name the module with module-path=/path/to/module.so in the URI");
    log::debug("pkcs11: loaded {} module(s) registered with p11-kit", m->lists_.size());
  } else {
    m->single_ = p11_kit_module_load(path.c_str(), 0);
    if (m->single_ == nullptr)
      return fail(ErrorCode::kBackend,
                  fmt::format("cannot load the PKCS#11 module '{}': {}. Check that it is a "
                              "PKCS#11 library for this architecture",
                              path, p11_kit_reason()));
    CK_RV rv = m->initialize(m->single_);
    if (rv != CKR_OK) {
      p11_kit_module_release(m->single_);
      m->single_ = nullptr;
      return fail(ck_error(ErrorCode::kBackend,
                           fmt::format("the PKCS#11 module '{}' failed to initialise: {}", path,
                                       p11_kit_strerror(rv)),
                           rv));
    }
    m->lists_.push_back(m->single_);
    m->filenames_.push_back(path);
    log::debug("pkcs11: loaded module {}", path);
  }
  cache()[key] = m;
  return m;
}

Modules::~Modules() {
  // p11-kit skips C_Finalize when the module was initialised by another process (a
  // forked parent), so this is safe in a child too.
  if (single_ != nullptr) {
    p11_kit_module_finalize(single_);
    p11_kit_module_release(single_);
  }
  if (registry_ != nullptr) p11_kit_modules_finalize_and_release(registry_);
}

Result<void> Modules::ensure_initialized() {
  std::lock_guard lock(mu_);
  if (pid_ == getpid()) return {};
  // A forked child: p11-kit notices the fork and calls the module's C_Initialize again;
  // the parent's sessions and login are not ours to use or close.
  std::vector<CK_FUNCTION_LIST*> kept;
  std::vector<std::string> kept_names;
  for (std::size_t i = 0; i < lists_.size(); ++i) {
    CK_RV rv = init_args_.empty() ? CK_CALL(lists_[i], C_Initialize, nullptr) : initialize(lists_[i]);
    if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      kept.push_back(lists_[i]);
      kept_names.push_back(filenames_[i]);
      continue;
    }
    if (single_ != nullptr)
      return fail(ck_error(ErrorCode::kBackend,
                           fmt::format("the PKCS#11 module '{}' failed to initialise again in a "
                                       "child process: {}",
                                       filenames_[i], p11_kit_strerror(rv)),
                           rv));
    log::warning("pkcs11: module {} failed to initialise in a child process ({}); skipping it",
                 filenames_[i], rv_name(rv));
  }
  lists_ = std::move(kept);
  filenames_ = std::move(kept_names);
  pid_ = getpid();
  log::debug("pkcs11: re-initialised {} in process {}", describe(), pid_);
  return {};
}

Result<std::vector<CK_FUNCTION_LIST*>> Modules::lists() {
  auto ok = ensure_initialized();
  if (!ok) return fail(ok.error());
  std::lock_guard lock(mu_);
  return lists_;
}

std::string Modules::filename(CK_FUNCTION_LIST* f) const {
  for (std::size_t i = 0; i < lists_.size(); ++i)
    if (lists_[i] == f) return filenames_[i];
  return "?";
}

std::string Modules::describe() const {
  if (path_.empty()) return "the modules registered with p11-kit";
  return fmt::format("module {}", path_);
}

}  // namespace modelsign::pkcs11
