#!/usr/bin/env bash
# The Python package installed two ways, then used from a clean interpreter:
#   pip     `pip install --no-build-isolation` of a copy of the source tree into a venv
#           made with --system-site-packages (Debian's scikit-build, pybind11, setuptools;
#           no network: --no-index)
#   cmake   `cmake --install BUILD --prefix DIR --component python` of the build tree
# usage: install_test.sh pip|cmake SOURCE_DIR BUILD_DIR WORK_DIR PYTHON
set -euo pipefail
MODE=$1 SRC=$2 BUILD=$3 WORK=$4 PY=$5

fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
case "$MODE" in
pip)
  # A copy: pip builds in the tree it is given, and the source tree stays clean.
  mkdir "$WORK/src"
  cp -r "$SRC"/{CMakeLists.txt,setup.py,pyproject.toml,cmake,include,src,providers,python} "$WORK/src/"
  "$PY" -m venv --system-site-packages "$WORK/venv"
  # This checks that pip can build and install the package, not its speed: -O0 without
  # debug information, as a unity build, compiles the library in a fraction of the Release time.
  options=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DCMAKE_UNITY_BUILD=ON)
  command -v ccache >/dev/null && options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  SKBUILD_CONFIGURE_OPTIONS="${options[*]}" CMAKE_BUILD_PARALLEL_LEVEL=2 PIP_NO_INDEX=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$WORK/venv/bin/pip" install --no-build-isolation --no-index "$WORK/src" >"$WORK/pip.log" 2>&1 \
    || { tail -50 "$WORK/pip.log"; fail "pip install"; }
  RUN=("$WORK/venv/bin/python")
  SCRIPT="$WORK/venv/bin/modelsign"
  expect_under="$WORK/venv/"
  ;;
cmake)
  cmake --install "$BUILD" --prefix "$WORK/prefix" --component python >/dev/null
  site=$(cd "$WORK/prefix" && find . -path '*-packages/modelsign/__init__.py' | head -1)
  [ -n "$site" ] || fail "no modelsign/__init__.py under $WORK/prefix"
  site=$WORK/prefix/$(dirname "$(dirname "$site")")
  ls "$site"/modelsign/_native*.so >/dev/null || fail "no native module installed in $site"
  RUN=(env "PYTHONPATH=$site" "$PY")
  SCRIPT=""
  expect_under="$WORK/prefix/"
  ;;
*) fail "unknown mode $MODE" ;;
esac

# Outside both trees, so nothing but the installed package can be imported.
mkdir -p "$WORK/use/m/sub"
cd "$WORK/use"
printf 'weights\n' > m/w.bin
printf 'more\n' > m/sub/x.bin
"${RUN[@]}" - "$expect_under" <<'PY'
import sys, modelsign
assert modelsign.__file__.startswith(sys.argv[1]), modelsign.__file__
assert modelsign._native.__file__.startswith(sys.argv[1]), modelsign._native.__file__
k = modelsign.generate_signing_key()
s = modelsign.ModelSigner("m")
r = s.sign(key=k.private_key)
assert s.verify_signature(public_key=k.public_key)
print(r.model_hash)
PY
"${RUN[@]}" -m modelsign verify key --public-key keys/signing_key.pub m | grep -qx 'Verification succeeded' \
  || fail "python -m modelsign verify"
if [ -n "$SCRIPT" ]; then
  "$SCRIPT" digest m | grep -q '^sha256:' || fail "the modelsign console script"
fi
echo "ok: $MODE install works"
