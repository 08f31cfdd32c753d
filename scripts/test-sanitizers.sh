#!/usr/bin/env bash
# The whole suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer
# (every UB report is fatal). Skips only what cannot mean anything under a sanitizer:
# the slow 20 GiB test and the tests that measure memory (ASan's shadow memory and
# quarantine inflate RSS and address space), labelled `slow` and `memory`.
# Extra arguments go to ctest. BUILD_DIR (default: build-asan) chooses the build tree.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}

bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELSIGN_SANITIZE=ON \
  -DMODELSIGN_WERROR=ON -DMODELSIGN_BUILD_TESTS=ON -DMODELSIGN_BUILD_BENCH=OFF
cmake --build "$BUILD_DIR" -j"$(nproc)"

# halt_on_error: the first report fails the test. Child processes (the CLI run by the
# shell tests) inherit these.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export MODELSIGN_SANITIZED=1
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error --timeout 900 \
  -LE 'slow|memory' "$@"
