#!/usr/bin/env bash
# Faults around signing, through the real binary: signatures verify would refuse, lost
# output, a missing output directory, a deleted current directory, kills at the end of
# writing, and keygen write errors.
#
# Usage: faults_cli_test.sh MODELSIGN_BINARY SOURCE_DIR
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 MODELSIGN_BINARY SOURCE_DIR" >&2; exit 2; }
MODELSIGN=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d)
trap 'cd /; rm -rf "$WORK"' EXIT
cd "$WORK"
unset SIGNING_PRIVATE_KEY MODELSIGN_KEY_PASSWORD

FAILED=()
PASSED=0
fail() {
  echo "    assertion failed: $*" >&2
  [[ -f "$CASE_DIR/out" ]] && sed 's/^/    stdout: /' "$CASE_DIR/out" | head -10 >&2
  [[ -f "$CASE_DIR/err" ]] && sed 's/^/    stderr: /' "$CASE_DIR/err" | head -10 >&2
  exit 1
}
ms() { RC=0; "$MODELSIGN" "$@" >"$CASE_DIR/out" 2>"$CASE_DIR/err" || RC=$?; }
expect_rc() { [[ $RC -eq $1 ]] || fail "exit code $RC, expected $1"; }
err_has() { grep -qF -- "$1" "$CASE_DIR/err" || fail "stderr lacks '$1'"; }
run_case() {
  CASE_DIR="$WORK/cases/$1"
  mkdir -p "$CASE_DIR"
  local rc=0
  set +e
  ( set -e; cd "$CASE_DIR"; "case_$1" ) 2>"$CASE_DIR/log"
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then echo "PASS $1"; PASSED=$((PASSED + 1))
  else echo "FAIL $1"; sed 's/^/  /' "$CASE_DIR/log"; FAILED+=("$1"); fi
}

"$MODELSIGN" keygen --private-key "$WORK/key.pem" --public-key "$WORK/key.pub" >/dev/null
KEY=$WORK/key.pem
PUB=$WORK/key.pub
mkdir -p "$WORK/model/sub"
printf 'weights' >"$WORK/model/w.bin"
printf 'tok' >"$WORK/model/sub/t.txt"
"$MODELSIGN" sign key --private-key "$KEY" --signature "$WORK/model.sig" "$WORK/model" >/dev/null

case_sign_refuses_a_model_deeper_than_verify_accepts() {
  local d=deep
  for _ in $(seq 257); do d=$d/d; done
  mkdir -p "$d"
  printf x >"$d/w.bin"
  ms sign key --private-key "$KEY" --signature deep.sig deep
  expect_rc 1
  err_has "Signing failed with error: not signing: verify would refuse this signature"
  err_has "too many components"
  [[ ! -e deep.sig ]] || fail "a signature was written"
}

# Results on stdout that cannot be written are failures (exit 1 and a message).
full_stdout() {  # WHAT ARGS...
  local what=$1; shift
  RC=0
  "$MODELSIGN" "$@" >/dev/full 2>"$CASE_DIR/err" || RC=$?
  expect_rc 1
  err_has "$what failed with error: cannot write the result to standard output: No space left on device"
}
case_digest_to_a_full_device_fails() { full_stdout "Computing digest" digest "$WORK/model"; }
case_digest_json_to_a_full_device_fails() { full_stdout "Computing digest" digest --json "$WORK/model"; }
case_sign_json_to_a_full_device_fails() {
  full_stdout Signing sign key --json --private-key "$KEY" --signature s.sig "$WORK/model"
}
case_verify_json_to_a_full_device_fails() {
  full_stdout Verification verify key --json --public-key "$PUB" --signature "$WORK/model.sig" "$WORK/model"
}

# The output directory is checked before the model is read: hashing the 200 GB sparse
# file would take minutes, so only an early check returns within the timeout.
case_missing_signature_directory_fails_before_hashing() {
  mkdir m
  printf x >m/w.bin
  truncate -s 200G m/huge.bin
  RC=0
  timeout 20 "$MODELSIGN" --log-level debug sign key --private-key "$KEY" \
    --signature "$CASE_DIR/no/such/dir/m.sig" m >"$CASE_DIR/out" 2>"$CASE_DIR/err" || RC=$?
  [[ $RC -ne 124 ]] || fail "sign read the model before checking the output path (timed out)"
  expect_rc 1
  err_has "its directory '$CASE_DIR/no/such/dir' does not exist"
}

case_deleted_current_directory_is_named() {
  mkdir gone
  cd gone
  rmdir ../gone
  ms digest .
  expect_rc 1
  err_has "the current directory was deleted"
  ms verify key --public-key "$PUB" --signature "$WORK/model.sig" .
  expect_rc 1
  err_has "the current directory was deleted"
}

# A signature replaced in place leaves no temporary file; stale ones of ours are removed,
# recent ones (another signer may be writing) and other names are kept.
case_atomic_writes_leave_no_temp_files_and_clean_stale_ones() {
  mkdir o
  : >o/.modelsign-Ab12Cd
  touch -d '2 hours ago' o/.modelsign-Ab12Cd
  : >o/.modelsign-Fresh1
  : >o/.modelsign-not-ours
  touch -d '2 hours ago' o/.modelsign-not-ours
  ms sign key --private-key "$KEY" --signature o/m.sig "$WORK/model"
  expect_rc 0
  ms sign key --private-key "$KEY" --signature o/m.sig "$WORK/model"
  expect_rc 0
  [[ ! -e o/.modelsign-Ab12Cd ]] || fail "a stale temporary file was kept"
  [[ -e o/.modelsign-Fresh1 && -e o/.modelsign-not-ours ]] || fail "a file not ours to remove was removed"
  [[ $(find o -name '.modelsign-*' | wc -l) -eq 2 ]] || fail "temporary files left: $(ls -A o)"
  ms verify key --public-key "$PUB" --signature o/m.sig "$WORK/model"
  expect_rc 0
}

# PKCS#11 keygen on a token whose storage cannot be written (SoftHSM's token directory made
# immutable) says so, instead of a bare CKR_GENERAL_ERROR.
case_pkcs11_keygen_on_an_unwritable_token_says_why() {
  local env store
  env=$("$SRC/softhsm-fixtures/softhsm-setup.sh" --keys ec-p256)
  eval "$env"
  store=$(find "$MODELSIGN_SOFTHSM_DIR" -mindepth 2 -maxdepth 2 -type d | head -1)
  if ! chattr +i "$store" 2>/dev/null; then
    echo "    (skipped: chattr +i is not available here)" >&2
    "$SRC/softhsm-fixtures/softhsm-teardown.sh" "$MODELSIGN_SOFTHSM_DIR"
    return 0
  fi
  ms keygen --pkcs11-uri "pkcs11:token=$MODELSIGN_PKCS11_TOKEN;object=new-key?pin-source=file:$MODELSIGN_PKCS11_PIN_FILE&module-path=$MODELSIGN_PKCS11_MODULE"
  chattr -i "$store"
  "$SRC/softhsm-fixtures/softhsm-teardown.sh" "$MODELSIGN_SOFTHSM_DIR"
  expect_rc 1
  err_has "could not generate a ec-p256 key pair"
  grep -qE "read-only|unable to store the key" "$CASE_DIR/err" || fail "stderr does not say the token cannot store keys"
}

for c in $(declare -F | awk '{print $3}' | grep '^case_' | sed 's/^case_//'); do run_case "$c"; done
echo "passed: $PASSED, failed: ${#FAILED[@]}"
[[ ${#FAILED[@]} -eq 0 ]]
