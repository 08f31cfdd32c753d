// Files to remove if SIGINT or SIGTERM ends the process (a temporary signature file),
// and a way to keep those signals out of a short section that must not be cut (a TPM
// object loaded for one signature, a rename). SIGKILL cannot be handled: the callers
// keep what it would leave behind nameless or short-lived instead.
#pragma once

#include <csignal>
#include <string>

namespace modelsign::signal_cleanup {

// While alive, `path` is unlinked when SIGINT/SIGTERM arrives; the signal then takes
// its default effect (the process ends with it). At most a few paths at once.
class RemoveOnSignal {
 public:
  explicit RemoveOnSignal(const std::string& path);
  ~RemoveOnSignal();
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

 private:
  int slot_ = -1;
};

// While alive, SIGINT/SIGTERM/SIGHUP are held back in this thread and delivered when it
// ends (the default action then ends the process, after the section finished).
class DeferSignals {
 public:
  DeferSignals();
  ~DeferSignals();
  DeferSignals(const DeferSignals&) = delete;
  DeferSignals& operator=(const DeferSignals&) = delete;

 private:
  sigset_t old_{};
};

// Unlinks every registered path now (async-signal-safe): for a process about to _exit.
void remove_registered_files() noexcept;

}  // namespace modelsign::signal_cleanup
