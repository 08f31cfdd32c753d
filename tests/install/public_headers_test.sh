#!/usr/bin/env bash
# The public headers (include/modelsign/*.h) are the API and nothing of a backend: each
# compiles on its own with only include/ on the path, and all of them together compile
# with OpenSSL's headers made unavailable (every <openssl/...> a program could find is
# replaced by an #error). No header pulls in OpenSSL, tpm2-tss, p11-kit, libcurl or
# nlohmann/json, directly or through another header.
# Usage: public_headers_test.sh CXX SOURCE_DIR
set -euo pipefail
CXX=$1
SRC=$2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mapfile -t headers < <(cd "$SRC/include" && ls modelsign/*.h)
((${#headers[@]} >= 8)) || fail "expected the public headers under $SRC/include/modelsign, found ${#headers[@]}"

# 1. Each header alone: self-contained, and its transitive includes name no backend.
for h in "${headers[@]}"; do
  printf '#include <%s>\n' "$h" >"$W/one.cpp"
  "$CXX" -std=c++23 -fsyntax-only -I"$SRC/include" "$W/one.cpp" 2>"$W/err" ||
    fail "$h does not compile on its own: $(head -5 "$W/err")"
  "$CXX" -std=c++23 -I"$SRC/include" -M "$W/one.cpp" >"$W/deps" 2>"$W/err" ||
    fail "cannot list the includes of $h: $(head -5 "$W/err")"
  if leaked=$(tr ' \\' '\n\n' <"$W/deps" | grep -E '/(openssl|tss2|p11-kit|curl|nlohmann)/'); then
    fail "$h includes backend headers: $(echo "$leaked" | head -5 | tr '\n' ' ')"
  fi
done

# 2. All of them in one translation unit with OpenSSL unavailable: a poisoned copy of
# every openssl/ directory on the compiler's search path comes first.
mkdir -p "$W/poison/openssl"
mapfile -t dirs < <("$CXX" -x c++ -E -v - </dev/null 2>&1 |
  sed -n '/#include <...> search starts here:/,/End of search list./p' | sed -n 's/^ *\(\/.*\)$/\1/p')
poisoned=0
for d in "${dirs[@]}"; do
  [[ -d "$d/openssl" ]] || continue
  for f in "$d"/openssl/*.h; do
    n=$(basename "$f")
    printf '#error "a public modelsign header includes <openssl/%s>"\n' "$n" >"$W/poison/openssl/$n"
    poisoned=$((poisoned + 1))
  done
done
((poisoned > 50)) || fail "found only $poisoned OpenSSL headers to make unavailable; is libssl-dev installed?"
echo '#include <openssl/evp.h>' >"$W/probe.cpp"
if "$CXX" -std=c++23 -fsyntax-only -I"$W/poison" "$W/probe.cpp" 2>/dev/null; then
  fail "the poisoned include directory does not hide OpenSSL"
fi
for h in "${headers[@]}"; do printf '#include <%s>\n' "$h"; done >"$W/all.cpp"
echo 'int main() { return 0; }' >>"$W/all.cpp"
"$CXX" -std=c++23 -fsyntax-only -I"$W/poison" -I"$SRC/include" "$W/all.cpp" 2>"$W/err" ||
  fail "the public headers need OpenSSL's: $(grep -m5 -E 'error' "$W/err")"
echo "ok: ${#headers[@]} public headers, none includes a backend header ($poisoned OpenSSL headers hidden)"
