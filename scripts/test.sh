#!/usr/bin/env bash
# Installs the dependencies, builds with warnings as errors and runs every test.
# Extra arguments go to ctest, e.g. `scripts/test.sh -LE slow` skips the slow tests.
# BUILD_DIR (default: build) chooses the build tree; CTEST_PARALLEL_LEVEL is honoured.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}

bash scripts/install-deps.sh
# The loopback Sigstore stack's npm packages (npm ci only when missing or the lock changed).
bash scripts/sigstore-stack.sh deps
# Every option the tests rely on is set here: CMake caches options, so a tree configured
# otherwise before (e.g. without tests) would silently build no tests at all. A unity build
# (several source files of a target compiled as one) roughly halves the compile time of the
# test binaries, which share gtest, nlohmann-json and CLI11.
cmake -S . -B "$BUILD_DIR" -DMODELSIGN_WERROR=ON -DMODELSIGN_BUILD_TESTS=ON -DMODELSIGN_BUILD_BENCH=ON \
  -DCMAKE_UNITY_BUILD=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"
# --no-tests=error: a run that finds no test fails instead of passing.
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error --timeout 900 "$@"
