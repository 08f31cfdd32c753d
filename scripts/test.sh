#!/usr/bin/env bash
# Installs the dependencies, builds with warnings as errors and runs every test.
# Extra arguments go to ctest, e.g. `scripts/test.sh -LE slow` skips the slow tests.
# BUILD_DIR (default: build) chooses the build tree; CTEST_PARALLEL_LEVEL is honoured.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}

bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DMODELSIGN_WERROR=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 "$@"
