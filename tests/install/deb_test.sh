#!/usr/bin/env bash
# CPack's Debian package: name, version, architecture, Depends computed from the binary,
# and its files. Installed with apt-get (then used to sign and verify, then removed) only
# in CI as root, never on a developer's machine.
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail
BUILD=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
(cd "$W" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$W/out" >"$W/cpack.log" 2>&1) \
  || { cat "$W/cpack.log"; fail "cpack"; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD/CPackConfig.cmake")
deb="$W/out/modelsign_${version}_amd64.deb"
[ -f "$deb" ] || { ls "$W/out"; fail "no modelsign_${version}_amd64.deb"; }
echo "ok: $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Package)" = modelsign ] || fail "Package"
[ "$(dpkg-deb -f "$deb" Architecture)" = amd64 ] || fail "Architecture"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Every shared library the binary loads comes from a package in Depends.
for lib in libc6 libssl3 libp11-kit0 libtss2-esys libtss2-tctildr libcurl4 libfmt libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib"
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/modelsign ./usr/share/man/man1/modelsign.1 ./usr/share/bash-completion/completions/modelsign \
         ./usr/include/modelsign/sign.h; do
  grep -qx "$f" <<<"$contents" || fail "$f not in the package"
done
grep -q '/pkgconfig/modelsign.pc$' <<<"$contents" || fail "modelsign.pc not in the package"
grep -q '/cmake/modelsign/modelsignConfig.cmake$' <<<"$contents" || fail "CMake package not in the package"
echo "ok: Depends and contents"

# Not from a sanitizer build: its binary needs the sanitizer runtime and options.
if [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ] && [ -z "${MODELSIGN_SANITIZED:-}" ]; then
  if dpkg-query -W modelsign >/dev/null 2>&1; then fail "a modelsign package is already installed"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" >"$W/apt.log" 2>&1 \
    || { cat "$W/apt.log"; fail "apt-get install"; }
  trap 'DEBIAN_FRONTEND=noninteractive apt-get remove -y modelsign >/dev/null 2>&1; rm -rf "$W"' EXIT
  mkdir "$W/model" && echo weights >"$W/model/w.bin"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/k.pem" 2>/dev/null
  chmod 600 "$W/k.pem"
  openssl pkey -in "$W/k.pem" -pubout -out "$W/k.pub"
  /usr/bin/modelsign sign key --private-key "$W/k.pem" "$W/model" >/dev/null || fail "installed binary: sign"
  /usr/bin/modelsign verify --public-key "$W/k.pub" "$W/model" >/dev/null || fail "installed binary: verify"
  echo "ok: installed with apt-get, signs and verifies"
else
  echo "not installing the package (only in CI, as root, from a build without sanitizers)"
fi
