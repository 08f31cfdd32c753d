#!/usr/bin/env bash
# The whole suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer (every
# UB report is fatal, leaks included). Skips only what cannot mean anything under a
# sanitizer: the slow 20 GiB test and the tests that measure memory (ASan's shadow memory
# and quarantine inflate RSS and address space), labelled `slow` and `memory`.
# Extra arguments go to ctest. BUILD_DIR (default: build-asan) chooses the build tree.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}

bash scripts/install-deps.sh
# Build type "Sanitize" (no flags of its own): MODELSIGN_SANITIZE adds -Og -g1, which
# compiles in half the time of -O2 -g and still reports file:line.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Sanitize -DMODELSIGN_SANITIZE=ON -DMODELSIGN_WERROR=ON \
  -DMODELSIGN_BUILD_TESTS=ON -DMODELSIGN_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"

# Child processes (the CLI run by the shell tests) inherit these. halt_on_error: the first
# report fails the test.
asan_common=halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Leaks inside third-party libraries that we cannot free, each explained in the file.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
export MODELSIGN_SANITIZED=1

# Two runs. PKCS#11 modules (libsoftokn3, SoftHSM) and libcrypto have no frame pointers,
# so ASan's fast unwinder stops inside them and a leak report would not show whose call
# it came from; the PKCS#11 tests get the full (slower) unwinder, so that a suppression
# can name our call site instead of hiding every OpenSSL allocation.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0 failed=0
run() {  # ASAN_OPTIONS CTEST_ARGS...: adds the run's counts; a run without a summary counts as failed
  local opts=$1
  shift
  ASAN_OPTIONS=${ASAN_OPTIONS:-$opts} ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error \
    --timeout 900 "$@" 2>&1 | tee "$log" || true
  local counts
  counts=$(sed -n 's/.*tests passed, \([0-9][0-9]*\) tests failed out of \([0-9][0-9]*\).*/\1 \2/p' "$log" | tail -1)
  if [[ -z $counts ]]; then
    failed=$((failed + 1))
    return
  fi
  failed=$((failed + ${counts% *}))
  passed=$((passed + ${counts#* } - ${counts% *}))
}
run "$asan_common" -LE 'slow|memory|pkcs11' "$@"
run "$asan_common:fast_unwind_on_malloc=0" -L pkcs11 -LE 'slow|memory' "$@"
echo "sanitizer pass: $passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
