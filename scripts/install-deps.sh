#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and benchmarking modelsign need.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libssl-dev libfmt-dev nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev
  libp11-kit-dev libtss2-dev
  # tests: PKCS#11 and TPM 2.0 backends
  softhsm2 opensc gnutls-bin swtpm swtpm-tools tpm2-tools tpm2-openssl
  # bench/hash_bench.sh: openssl speed/dgst baselines, /usr/bin/time for peak RSS
  openssl time
)

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
