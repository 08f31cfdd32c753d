#!/usr/bin/env bash
# CPack's Debian package: name, version, architecture, Depends computed from the binary,
# and its files. Installed by the composite action's install step (action.yml, with the
# .deb as its `package` input: apt-get), then used to sign and verify, then removed: only
# in CI as root, never on a developer's machine.
# Usage: deb_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1 SRC=$2
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

# The Python package's companion, python3-modelsign, when the build has the Python package.
pydeb=""
if grep -q '^set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME "python3-modelsign")$' "$BUILD/CPackConfig.cmake"; then
  pydeb="$W/out/python3-modelsign_${version}_amd64.deb"
  [ -f "$pydeb" ] || { ls "$W/out"; fail "no python3-modelsign_${version}_amd64.deb"; }
  grep -q 'dist-packages/modelsign/' <<<"$contents" && fail "the Python package is in modelsign, not python3-modelsign"
  [ "$(dpkg-deb -f "$pydeb" Section)" = python ] || fail "python3-modelsign: Section"
  pydepends=$(dpkg-deb -f "$pydeb" Depends)
  echo "python3-modelsign Depends: $pydepends"
  for dep in "python3 (>= 3." "python3 (<< 3." "modelsign (= $version)" libssl3; do
    grep -qF "$dep" <<<"$pydepends" || fail "python3-modelsign: Depends lacks $dep"
  done
  pycontents=$(dpkg-deb -c "$pydeb" | awk '{print $6}')
  for f in __init__.py _api.py _errors.py __main__.py py.typed _native.pyi; do
    grep -qx "./usr/lib/python3/dist-packages/modelsign/$f" <<<"$pycontents" || fail "python3-modelsign lacks $f"
  done
  grep -qE '^\./usr/lib/python3/dist-packages/modelsign/_native\.cpython-[0-9]+-.*\.so$' <<<"$pycontents" \
    || fail "python3-modelsign lacks the native module"
  [ "$(grep -vc 'dist-packages/modelsign\|/$' <<<"$pycontents")" = 0 ] || fail "python3-modelsign holds other files"
  echo "ok: python3-modelsign Depends and contents"
fi

# Not from a sanitizer build: its binary needs the sanitizer runtime and options.
if [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ] && [ -z "${MODELSIGN_SANITIZED:-}" ]; then
  if dpkg-query -W modelsign >/dev/null 2>&1; then fail "a modelsign package is already installed"; fi
  sys_path=/usr/sbin:/usr/bin:/sbin:/bin
  if (PATH=$sys_path; command -v modelsign >/dev/null); then fail "a modelsign is already on PATH"; fi
  /usr/bin/python3 -c '
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]
print(next(s["run"] for s in steps if s["name"] == "Install modelsign"))' "$SRC/action.yml" >"$W/install-step.sh"
  trap 'DEBIAN_FRONTEND=noninteractive apt-get remove -y modelsign ${pydeb:+python3-modelsign} >/dev/null 2>&1; rm -rf "$W"' EXIT
  PATH=$sys_path PACKAGE="$deb" SOURCE="$SRC" RUNNER_TEMP="$W" bash -e "$W/install-step.sh" >"$W/apt.log" 2>&1 \
    || { cat "$W/apt.log"; fail "the action's install step"; }
  grep -q "modelsign installed from $deb" "$W/apt.log" || { cat "$W/apt.log"; fail "the action's install step"; }
  dpkg-query -W modelsign >/dev/null 2>&1 || fail "the action's install step did not install the package"
  if [ -n "$pydeb" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pydeb" \
      >"$W/apt-py.log" 2>&1 || { cat "$W/apt-py.log"; fail "apt-get install python3-modelsign"; }
  fi
  mkdir "$W/model" && echo weights >"$W/model/w.bin"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/k.pem" 2>/dev/null
  chmod 600 "$W/k.pem"
  openssl pkey -in "$W/k.pem" -pubout -out "$W/k.pub"
  /usr/bin/modelsign sign key --private-key "$W/k.pem" "$W/model" >/dev/null || fail "installed binary: sign"
  /usr/bin/modelsign verify --public-key "$W/k.pub" "$W/model" >/dev/null || fail "installed binary: verify"
  echo "ok: installed by the action from the .deb, signs and verifies"
  if [ -n "$pydeb" ]; then
    # The installed module, not a build tree's: no PYTHONPATH, run from the work directory.
    (cd "$W" && env -u PYTHONPATH /usr/bin/python3 -c '
import modelsign, sys
assert modelsign.__file__.startswith("/usr/lib/python3/dist-packages/modelsign/"), modelsign.__file__
k = modelsign.generate_signing_key("pk/k.pem", "pk/k.pub")
r = modelsign.ModelSigner("model").sign("py.sig", key=k.private_key)
v = modelsign.ModelSigner("model").verify("py.sig", public_key=k.public_key)
assert v.model_hash == r.model_hash and v.signer == r.signer
assert modelsign.ModelSigner("model").verify_signature("model.sig", public_key="k.pub")
print(modelsign.__version__, r.model_hash)
') || fail "installed Python package: sign and verify"
    /usr/bin/modelsign verify --public-key "$W/pk/k.pub" --signature "$W/py.sig" "$W/model" >/dev/null \
      || fail "the installed binary does not verify the installed Python package's signature"
    echo "ok: python3-modelsign installed with apt-get, signs and verifies"
  fi
else
  echo "not installing the package (only in CI, as root, from a build without sanitizers)"
fi
