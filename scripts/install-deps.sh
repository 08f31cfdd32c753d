#!/usr/bin/env bash
# Debian 12 packages the build and the tests need. Additive: every area appends its own.
# Runs apt only when something is missing, so it is quick on a prepared machine.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config
  libssl-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # PKCS#11 provider and its tests (SoftHSM2 token, p11-kit, OpenSC/GnuTLS tools)
  libp11-kit-dev p11-kit softhsm2 opensc gnutls-bin
  # the second PKCS#11 implementation every PKCS#11 test runs on: NSS softoken and certutil
  libnss3 libnss3-tools
  # TPM 2.0 provider (tpm2-tss ESYS) and its tests: swtpm, tpm2-tools, tpm2-openssl
  libtss2-dev swtpm swtpm-tools tpm2-tools tpm2-openssl openssl
  # Sigstore transport
  libcurl4-openssl-dev
  # test scripts (JSON and base64 checks), the test PKI (openssl CLI) and the independent
  # verifier (tests/interop/verify_like_model_signing.py) on Debian's python3
  python3 python3-cryptography
  # the Python package (python/, built by CMake with pybind11; tests with pytest; pip
  # install . through scikit-build in a venv)
  python3-dev python3-pybind11 pybind11-dev python3-pytest python3-skbuild python3-venv
  python3-setuptools python3-wheel python3-pip
  # bench/hash_bench.sh: /usr/bin/time for peak RSS, fio for the disk's sequential speed
  time fio
  # io_uring for reading uncached model data (optional at build time)
  liburing-dev
  # the loopback Sigstore stack (tests/sigstore-stack): node >= 20.17 with its npm (Debian 12's
  # own nodejs is 18: add NodeSource's node 20 repository first), curl for its readiness probe
  nodejs curl
  # CI templates: parsed (python3-yaml) and linted (yamllint) by tests/ci; the Debian
  # package: built by CPack (dpkg-dev: dpkg-shlibdeps) and inspected with dpkg-deb
  python3-yaml yamllint dpkg-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
