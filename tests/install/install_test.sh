#!/usr/bin/env bash
# `cmake --install` into a scratch prefix: every file in place, a program outside the tree
# builds against the installed package (find_package and pkg-config) and signs + verifies,
# and the installed bash completion completes subcommands.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR [CONSUMER_FLAGS]
set -euo pipefail
BUILD=$1
SRC=$2
FLAGS=${3:-}  # -fsanitize=... when the installed libraries are instrumented
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
P=$W/prefix
cmake --install "$BUILD" --prefix "$P" >/dev/null

fail() { echo "FAIL: $*"; exit 1; }
libdir=$(dirname "$(find "$P" -name libmodelsign.a | head -1)")
[ -n "$libdir" ] || fail "libmodelsign.a not installed"
for f in bin/modelsign include/modelsign/sign.h include/modelsign/verify.h include/modelsign/key_provider.h \
         share/man/man1/modelsign.1 share/bash-completion/completions/modelsign; do
  [ -e "$P/$f" ] || fail "$f not installed"
done
for f in libmodelsign_core.a cmake/modelsign/modelsignConfig.cmake cmake/modelsign/modelsignConfigVersion.cmake \
         pkgconfig/modelsign.pc; do
  [ -e "$libdir/$f" ] || fail "$libdir/$f not installed"
done
echo "ok: files installed"

mkdir "$W/model"
echo weights >"$W/model/w.bin"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/key.pem" 2>/dev/null
chmod 600 "$W/key.pem"

# find_package(modelsign)
cmake -S "$SRC/tests/install/consumer" -B "$W/consumer" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" \
  >"$W/configure.log" 2>&1 || { cat "$W/configure.log"; fail "consumer configure"; }
cmake --build "$W/consumer" >"$W/build.log" 2>&1 || { cat "$W/build.log"; fail "consumer build (find_package)"; }
"$W/consumer/consumer" "$W/key.pem" "$W/model" | grep -qx "signed and verified 1 files" || fail "consumer run"
echo "ok: find_package(modelsign) consumer signs and verifies"

# pkg-config
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs modelsign) || fail "pkg-config modelsign"
${CXX:-c++} -std=c++23 -O1 $FLAGS "$SRC/tests/install/consumer/main.cpp" -o "$W/pc_consumer" $flags \
  || fail "consumer build (pkg-config)"
"$W/pc_consumer" "$W/key.pem" "$W/model" | grep -qx "signed and verified 1 files" || fail "pkg-config consumer run"
echo "ok: pkg-config consumer signs and verifies"

# bash completion: `modelsign sign <TAB>` offers the methods, `modelsign verify key --pu<TAB>` the flag.
out=$(bash -c '
  source "$1"
  COMP_WORDS=(modelsign sign ""); COMP_CWORD=2; _modelsign; echo "${COMPREPLY[*]}"
  COMP_WORDS=(modelsign verify key --pu); COMP_CWORD=3; _modelsign; echo "${COMPREPLY[*]}"
  COMP_WORDS=(modelsign au); COMP_CWORD=1; _modelsign; echo "${COMPREPLY[*]}"' _ "$P/share/bash-completion/completions/modelsign")
grep -q "key certificate" <<<"$(sed -n 1p <<<"$out")" || grep -qw "pkcs11-key" <<<"$(sed -n 1p <<<"$out")" \
  || fail "completion of 'sign': $out"
[ "$(sed -n 2p <<<"$out")" = "--public-key" ] || fail "completion of 'verify key --pu': $(sed -n 2p <<<"$out")"
[ "$(sed -n 3p <<<"$out")" = "audit" ] || fail "completion of 'au': $(sed -n 3p <<<"$out")"
echo "ok: bash completion"

# The man page renders.
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww "$P/share/man/man1/modelsign.1" 2>"$W/groff.err" | grep -q "modelsign sign key" \
    || fail "man page does not render"
  [ ! -s "$W/groff.err" ] || { cat "$W/groff.err"; fail "groff warnings"; }
  echo "ok: man page renders"
fi
