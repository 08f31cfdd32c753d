#!/usr/bin/env bash
# scripts/demo.sh, scripts/test.sh and .ci/run, run in the README's order on a stand-in
# project (same option names, two trivial tests, stubbed dependency install and demo
# body), so what is tested is the scripts' own logic, in seconds.
# Regression: demo.sh once configured build/ with MODELSIGN_BUILD_TESTS=OFF (cached), and
# test.sh then printed "No tests were found!!!" and exited 0.
# Usage: scripts_ci_test.sh SOURCE_DIR
set -euo pipefail
SRC=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# A stand-in tree: the real scripts, a tiny CMake project with the same options.
make_tree() {  # DIR
  mkdir -p "$1/scripts" "$1/.ci" "$1/softhsm-fixtures"
  cp "$SRC/scripts/test.sh" "$SRC/scripts/demo.sh" "$SRC/scripts/test-sanitizers.sh" "$1/scripts/"
  cp "$SRC/.ci/run" "$1/.ci/run"
  printf '#!/usr/bin/env bash\nexit 0\n' >"$1/scripts/install-deps.sh"
  printf '#!/usr/bin/env bash\nexit 0\n' >"$1/scripts/sigstore-stack.sh"
  printf '#!/usr/bin/env bash\necho "demo ran with $1"\n' >"$1/softhsm-fixtures/sign-verify-demo.sh"
  cat >"$1/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(standin NONE)
option(MODELSIGN_BUILD_TESTS "" ON)
option(MODELSIGN_BUILD_BENCH "" ON)
option(MODELSIGN_WERROR "" OFF)
option(MODELSIGN_SANITIZE "" OFF)
enable_testing()
add_custom_target(modelsign_cli)
if(MODELSIGN_BUILD_TESTS AND NOT EXISTS ${CMAKE_SOURCE_DIR}/NO_TESTS)
  add_test(NAME standin.one COMMAND ${CMAKE_COMMAND} -E true)
  add_test(NAME standin.two COMMAND ${CMAKE_COMMAND} -E true)
  set_tests_properties(standin.two PROPERTIES LABELS pkcs11)
endif()
EOF
}

# 1. README order: demo, then test. The tests must run.
T=$WORK/order
make_tree "$T"
(cd "$T" && bash scripts/demo.sh) >"$WORK/demo.log" 2>&1 || fail "demo.sh failed: $(cat "$WORK/demo.log")"
if (cd "$T" && bash scripts/test.sh) >"$WORK/test.log" 2>&1 && grep -q "tests failed out of 2" "$WORK/test.log"; then
  pass "demo.sh then test.sh runs the tests"
else
  fail "demo.sh then test.sh: $(tail -3 "$WORK/test.log")"
fi

# 2. A tree configured without tests beforehand: test.sh turns them back on.
T=$WORK/preconfigured
make_tree "$T"
cmake -S "$T" -B "$T/build" -DMODELSIGN_BUILD_TESTS=OFF >/dev/null
if (cd "$T" && bash scripts/test.sh) >"$WORK/test2.log" 2>&1 && grep -q "out of 2" "$WORK/test2.log"; then
  pass "test.sh sets MODELSIGN_BUILD_TESTS=ON itself"
else
  fail "test.sh on a tests-off tree: $(tail -3 "$WORK/test2.log")"
fi

# 3. No test at all: test.sh fails.
T=$WORK/empty
make_tree "$T"
touch "$T/NO_TESTS"
if (cd "$T" && bash scripts/test.sh) >"$WORK/test3.log" 2>&1; then
  fail "test.sh passed although no test ran: $(tail -3 "$WORK/test3.log")"
else
  pass "test.sh fails when no test ran (--no-tests=error)"
fi

# 4. .ci/run: below the floor fails, at the floor passes.
T=$WORK/floor
make_tree "$T"
if (cd "$T" && MODELSIGN_MIN_TESTS=3 bash .ci/run) >"$WORK/ci.log" 2>&1; then
  fail ".ci/run passed with 2 tests under a floor of 3"
elif grep -q "fewer than the floor" "$WORK/ci.log"; then
  pass ".ci/run fails below the test-count floor"
else
  fail ".ci/run failed for another reason: $(tail -3 "$WORK/ci.log")"
fi
if (cd "$T" && MODELSIGN_MIN_TESTS=2 bash .ci/run) >"$WORK/ci2.log" 2>&1; then
  pass ".ci/run passes at the floor"
else
  fail ".ci/run at the floor: $(tail -3 "$WORK/ci2.log")"
fi
# 5. .ci/run's second pass: the suite again from a sanitizer build tree, counted too.
if grep -q "CI: sanitizer pass: 2 tests ran" "$WORK/ci2.log" && [[ -d $T/build-asan ]] &&
   grep -q "MODELSIGN_SANITIZE:BOOL=ON" "$T/build-asan/CMakeCache.txt"; then
  pass ".ci/run runs the suite again with MODELSIGN_SANITIZE=ON"
else
  fail ".ci/run's sanitizer pass did not run: $(tail -3 "$WORK/ci2.log")"
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
