#include "common/signal_cleanup.h"

#include <climits>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace modelsign::signal_cleanup {

namespace {

constexpr int kSlots = 8;
char g_paths[kSlots][PATH_MAX];
volatile std::sig_atomic_t g_used[kSlots];
std::mutex g_mu;  // registration only; the handler reads g_used/g_paths lock-free
int g_registered = 0;
struct sigaction g_old_int, g_old_term;

extern "C" void on_signal(int sig) {
  remove_registered_files();
  // Default action: the process ends "killed by sig", as without the handler.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  ::sigaction(SIGINT, &sa, &g_old_int);
  ::sigaction(SIGTERM, &sa, &g_old_term);
}

void uninstall() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
}

}  // namespace

void remove_registered_files() noexcept {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i] != 0) ::unlink(g_paths[i]);
}

RemoveOnSignal::RemoveOnSignal(const std::string& path) {
  if (path.size() >= PATH_MAX) return;
  std::lock_guard<std::mutex> lock(g_mu);
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i] != 0) continue;
    std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // path complete before it is used
    g_used[i] = 1;
    slot_ = i;
    if (g_registered++ == 0) install();
    return;
  }
}

RemoveOnSignal::~RemoveOnSignal() {
  if (slot_ < 0) return;
  std::lock_guard<std::mutex> lock(g_mu);
  g_used[slot_] = 0;
  if (--g_registered == 0) uninstall();
}

DeferSignals::DeferSignals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGHUP);
  ::pthread_sigmask(SIG_BLOCK, &s, &old_);
}

DeferSignals::~DeferSignals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

}  // namespace modelsign::signal_cleanup
