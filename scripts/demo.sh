#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install the dependencies, build modelsign,
# then sign and verify a sample model with a key generated inside a private SoftHSM
# token made for this run (removed afterwards). Nothing machine-wide is configured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Its own build tree: the options below (no tests) must not leak into build/, which
# scripts/test.sh uses.
BUILD_DIR=${DEMO_BUILD_DIR:-build-demo}

bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DMODELSIGN_BUILD_TESTS=OFF -DMODELSIGN_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target modelsign_cli >/dev/null
exec bash softhsm-fixtures/sign-verify-demo.sh "$BUILD_DIR/modelsign" "$@"
