#!/usr/bin/env bash
# Debian 12 packages the build and the tests need. Additive: every area appends its own.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config
  libssl-dev libfmt-dev nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev
  # CLI end-to-end tests: openssl CLI for the test PKI, and the independent verifier
  # (tests/interop/verify_like_model_signing.py) on /usr/bin/python3
  openssl python3 python3-cryptography
  # TPM 2.0 provider (tpm2-tss ESYS) and its tests: swtpm, tpm2-tools, tpm2-openssl
  libtss2-dev swtpm swtpm-tools tpm2-tools tpm2-openssl
)

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
