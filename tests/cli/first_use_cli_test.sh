#!/usr/bin/env bash
# First use of the command line (issue "CLI correctness and first use"): one case per
# point, each named after what it proves, run against the real binary. Also: no input
# ends in an abort, and untrusted names are printed escaped.
#
# Usage: first_use_cli_test.sh MODELSIGN_BINARY
# Needs: openssl (CLI), python3.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 MODELSIGN_BINARY" >&2
  exit 2
fi
MODELSIGN=$(realpath "$1")
PYTHON3=${PYTHON3:-/usr/bin/python3}
for tool in openssl "$PYTHON3"; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 1; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
umask 022
unset SIGNING_PRIVATE_KEY MODELSIGN_KEY_PASSWORD MODELSIGN_LOG_LEVEL

PASSED=0
FAILED=()

fail() {
  echo "    assertion failed: $*" >&2
  if [[ -f "$CASE_DIR/out" ]]; then sed 's/^/    stdout: /' "$CASE_DIR/out" | head -20 >&2; fi
  if [[ -f "$CASE_DIR/err" ]]; then sed 's/^/    stderr: /' "$CASE_DIR/err" | head -20 >&2; fi
  exit 1
}
# ms ARGS...: runs modelsign; stdout -> out, stderr -> err, status -> RC.
ms() {
  RC=0
  "$MODELSIGN" "$@" >"$CASE_DIR/out" 2>"$CASE_DIR/err" || RC=$?
}
expect_rc() { [[ $RC -eq $1 ]] || fail "exit code $RC, expected $1"; }
out_has() { grep -qF -- "$1" "$CASE_DIR/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$CASE_DIR/err" || fail "stderr lacks '$1'"; }
err_lacks() { ! grep -qF -- "$1" "$CASE_DIR/err" || fail "stderr contains '$1'"; }
# json_check PYTHON_ASSERTIONS: stdout is one JSON object j; the assertions hold; and
# its exit_code is the process's.
json_check() {
  "$PYTHON3" - "$CASE_DIR/out" "$RC" "$1" <<'EOF' || fail "JSON check failed: $1"
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="strict").read()
j = json.loads(text)
assert isinstance(j, dict), j
assert j["schema_version"] == 1, j
assert isinstance(j["ok"], bool), j
assert j["exit_code"] == int(sys.argv[2]), (j["exit_code"], sys.argv[2])
assert j["ok"] == (j["exit_code"] == 0), j
if not j["ok"]:
    assert j["error"]["code"] and j["error"]["message"], j
exec(sys.argv[3])
EOF
}
new_model() {
  mkdir -p "$1/sub"
  printf 'weights' >"$1/weights.bin"
  printf '{"layers": 2}' >"$1/config.json"
  printf 'tokens' >"$1/sub/tokenizer.txt"
}
run_case() {
  local name=$1
  CASE_DIR="$WORK/cases/$name"
  mkdir -p "$CASE_DIR"
  local rc=0
  set +e
  (
    set -e
    cd "$CASE_DIR"
    "case_$name"
  ) 2>"$CASE_DIR/log"
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    echo "PASS $name"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name"
    sed 's/^/  /' "$CASE_DIR/log"
    FAILED+=("$name")
  fi
}

# --- shared keys and a small PKI (root -> intermediate -> leaf) --------------------------
SHARED="$WORK/shared"
mkdir -p "$SHARED"
"$MODELSIGN" keygen --private-key "$SHARED/k.pem" --public-key "$SHARED/k.pub" >/dev/null
"$MODELSIGN" keygen --private-key "$SHARED/other.pem" --public-key "$SHARED/other.pub" >/dev/null
(
  cd "$SHARED"
  cat >ext.cnf <<'EOF'
[ ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
EOF
  gen() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }
  gen root.key; gen int.key; gen leaf.key
  openssl req -x509 -new -key root.key -subj "/CN=First Use Root" -days 30 -out root.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -key int.key -subj "/CN=First Use Intermediate" -out int.csr 2>/dev/null
  openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 \
    -extfile ext.cnf -extensions ca -out int.pem 2>/dev/null
  openssl req -new -key leaf.key -subj "/CN=First Use Signer" -out leaf.csr 2>/dev/null
  openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 30 \
    -extfile ext.cnf -extensions leaf -out leaf.pem 2>/dev/null
  openssl verify -CAfile root.pem -untrusted int.pem leaf.pem >/dev/null
)

# --- 1. every spelling of a negated flag means "off" ---------------------------------------

case_negated_underscore_flag_keeps_unsigned_files_failing() {
  new_model m
  ms sign key --private-key "$SHARED/k.pem" m
  expect_rc 0
  echo evil >m/evil.py
  for spelling in --no-ignore-unsigned-files --no_ignore_unsigned_files; do
    ms verify key --public-key "$SHARED/k.pub" "$spelling" m
    expect_rc 1
    err_has "evil.py"
    ms verify key --public-key "$SHARED/k.pub" --ignore-unsigned-files "$spelling" m
    expect_rc 1
  done
  for spelling in --ignore-unsigned-files --ignore_unsigned_files; do
    ms verify key --public-key "$SHARED/k.pub" "$spelling" m
    expect_rc 0
  done
}
run_case negated_underscore_flag_keeps_unsigned_files_failing

# --- 2. --json: one object for every outcome ------------------------------------------------

case_json_is_printed_and_parses_for_every_outcome() {
  new_model m
  ms sign key --private-key "$SHARED/k.pem" --json m
  expect_rc 0
  json_check 'assert j["signature"] == "m.sig" and sorted(j["files"]) == ["config.json", "sub/tokenizer.txt", "weights.bin"] and j["file_count"] == 3, j'
  ms verify key --public-key "$SHARED/k.pub" --json m
  expect_rc 0
  json_check 'assert j["result"] == "Verification succeeded" and len(j["files"]) == 3, j'
  # A tampered model: the three lists.
  echo changed >m/weights.bin
  rm m/config.json
  echo new >m/new.txt
  ms verify key --public-key "$SHARED/k.pub" --json m
  expect_rc 1
  json_check 'assert (j["error"]["code"], j["extra"], j["missing"], j["changed"]) == ("mismatch", ["new.txt"], ["config.json"], ["weights.bin"]), j'
  # Another key.
  ms verify key --public-key "$SHARED/other.pub" --json m
  expect_rc 1
  json_check 'assert j["error"]["code"] == "verification", j'
  # A missing signature, a missing model, usage errors (before and after the subcommand).
  ms verify key --public-key "$SHARED/k.pub" --json --signature nowhere.sig m
  expect_rc 1
  json_check 'assert j["error"]["code"] == "not-found", j'
  ms digest --json nowhere
  expect_rc 1
  json_check 'pass'
  ms digest --json m
  expect_rc 0
  json_check 'assert j["root_digest"].startswith("sha256:") and j["resources"], j'
  ms verify key --json --no-such-flag m
  expect_rc 2
  json_check 'assert j["error"]["code"] == "usage", j'
  ms --json verify key m
  expect_rc 2
  json_check 'assert j["error"]["code"] == "usage" and "public key" in j["error"]["message"], j'
  ms --json sign key --private-key "$SHARED/k.pem"
  expect_rc 2
  json_check 'assert j["error"]["code"] == "usage", j'
  ms --json keygen --private-key keys/new.pem --public-key keys/new.pub
  expect_rc 0
  json_check 'assert len(j["public_key_hint"]) == 64, j'
}
run_case json_is_printed_and_parses_for_every_outcome

# --- 3. global options before or after the subcommand; MODELSIGN_LOG_LEVEL -------------------

case_global_options_before_or_after_subcommand_and_log_level_env() {
  new_model m
  ms sign key --private-key "$SHARED/k.pem" m --log-level debug
  expect_rc 0
  err_has "DEBUG: signing key: $SHARED/k.pem"
  err_has "public key hint"
  err_has "thread(s)"
  err_has " ms"
  ms --json verify key --public-key "$SHARED/k.pub" m
  expect_rc 0
  json_check 'assert j["ok"]'
  ms verify key --log-level debug --public-key "$SHARED/k.pub" m
  expect_rc 0
  err_has "DEBUG: public key source: the PEM file"
  err_has "DEBUG: verifying with the public key"
  err_has "thread(s)"
  RC=0
  MODELSIGN_LOG_LEVEL=debug "$MODELSIGN" digest m >out 2>err || RC=$?
  expect_rc 0
  err_has "DEBUG: hashed 3 files"
  ms digest m
  err_lacks "DEBUG"
  RC=0
  MODELSIGN_LOG_LEVEL=chatty "$MODELSIGN" digest m >out 2>err || RC=$?
  expect_rc 2
}
run_case global_options_before_or_after_subcommand_and_log_level_env

# --- 4. every missing required input is a usage error (exit 2) ------------------------------

case_every_missing_required_input_exits_2() {
  new_model m
  local cases=(
    ""
    "sign"
    "sign key"
    "sign key m"
    "sign key --private-key $SHARED/k.pem"
    "sign certificate --private-key $SHARED/k.pem m"
    "sign certificate --signing-certificate $SHARED/leaf.pem m"
    "sign pkcs11-key m"
    "sign pkcs11-certificate --signing-certificate $SHARED/leaf.pem m"
    "sign tpm2-key m"
    "sign tpm2-certificate --signing-certificate $SHARED/leaf.pem m"
    "verify"
    "verify key m"
    "verify key --public-key $SHARED/k.pub"
    "verify certificate"
    "digest"
    "keygen"
    "keygen --public-key x.pub"
    "keygen --public-key-from $SHARED/k.pem"
    "keygen --tpm2"
    "pkcs11"
    "tpm2"
  )
  for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    ms $c
    [[ $RC -eq 2 ]] || fail "modelsign $c: exit code $RC, expected 2"
    grep -q . err || fail "modelsign $c: nothing on stderr"
  done
}
run_case every_missing_required_input_exits_2

# --- 5. typos get a suggestion ---------------------------------------------------------------

case_typos_get_did_you_mean_suggestions() {
  new_model m
  ms verfy key --public-key "$SHARED/k.pub" m
  expect_rc 2
  err_has "did you mean 'verify'?"
  ms verify key --public-kye "$SHARED/k.pub" m
  expect_rc 2
  err_has "did you mean '--public-key'?"
  err_lacks "not expected: m"
  ms sign kye m
  expect_rc 2
  err_has "did you mean 'key'?"
}
run_case typos_get_did_you_mean_suggestions

# --- 6. "Signing succeeded: PATH" ----------------------------------------------------------

case_signing_succeeded_names_the_signature_path() {
  new_model m
  ms sign key --private-key "$SHARED/k.pem" m
  expect_rc 0
  [[ $(cat out) == "Signing succeeded: m.sig" ]] || fail "stdout: $(cat out)"
  ms sign key --private-key "$SHARED/k.pem" --signature sigs/../elsewhere.sig m
  expect_rc 1  # sigs/ does not exist
  ms sign key --private-key "$SHARED/k.pem" --signature elsewhere.sig m
  expect_rc 0
  [[ $(cat out) == "Signing succeeded: elsewhere.sig" ]] || fail "stdout: $(cat out)"
}
run_case signing_succeeded_names_the_signature_path

# --- 7. keys in CI ----------------------------------------------------------------------------

case_ci_keys_env_literal_newlines_empty_stdin_and_insecure_permissions() {
  new_model m
  # One line with literal \n sequences, as some secret stores deliver a PEM.
  local oneline
  oneline=$(awk '{printf "%s\\n", $0}' "$SHARED/k.pem")
  [[ $oneline != *$'\n'* ]] || fail "test setup: newline left"
  RC=0
  SIGNING_PRIVATE_KEY=$oneline "$MODELSIGN" sign key m >out 2>err || RC=$?
  expect_rc 0
  ms verify key --public-key "$SHARED/k.pub" m
  expect_rc 0
  # Empty is not "not set".
  RC=0
  SIGNING_PRIVATE_KEY= "$MODELSIGN" sign key m >out 2>err || RC=$?
  expect_rc 2
  err_has "set but empty"
  ms sign key m
  expect_rc 2
  err_has "not set"
  # sign certificate reads SIGNING_PRIVATE_KEY too.
  RC=0
  SIGNING_PRIVATE_KEY=$(cat "$SHARED/leaf.key") "$MODELSIGN" sign certificate \
    --signing-certificate "$SHARED/leaf.pem" --certificate-chain "$SHARED/int.pem" m >out 2>err || RC=$?
  expect_rc 0
  ms verify certificate --certificate-chain "$SHARED/root.pem" m
  expect_rc 0
  # --private-key - reads standard input.
  RC=0
  "$MODELSIGN" sign key --private-key - m <"$SHARED/k.pem" >out 2>err || RC=$?
  expect_rc 0
  ms verify key --public-key "$SHARED/k.pub" m
  expect_rc 0
  RC=0
  "$MODELSIGN" sign key --private-key - m </dev/null >out 2>err || RC=$?
  expect_rc 1
  err_has "standard input"
  # A secret mounted 0644: refused by default, accepted (with a warning) on request.
  cp "$SHARED/k.pem" mounted.pem
  chmod 644 mounted.pem
  ms sign key --private-key mounted.pem m
  expect_rc 1
  err_has "chmod 600"
  err_has "--allow-insecure-key-permissions"
  ms sign key --private-key mounted.pem --allow-insecure-key-permissions m
  expect_rc 0
  err_has "WARNING"
  err_has "mode 0644"
}
run_case ci_keys_env_literal_newlines_empty_stdin_and_insecure_permissions

# --- 8. key mistakes ----------------------------------------------------------------------------

case_key_mistakes_are_named_and_keygen_explains_and_derives() {
  new_model m
  cp "$SHARED/k.pub" pub-as-private.pem
  ms sign key --private-key pub-as-private.pem m
  expect_rc 1
  err_has "is a public key"
  err_lacks "chmod"
  # A private key as --public-key: its public half, with a warning.
  ms sign key --private-key "$SHARED/k.pem" m
  expect_rc 0
  ms verify key --public-key "$SHARED/k.pem" m
  expect_rc 0
  err_has "is a private key"
  # An encrypted key without a terminal names --password-file.
  printf 'pw-123456\n' >pw.txt
  ms keygen --private-key enc.pem --public-key enc.pub --password-file pw.txt
  expect_rc 0
  RC=0
  setsid "$MODELSIGN" sign key --private-key enc.pem m </dev/null >out 2>err || RC=$?
  expect_rc 1
  err_has "--password-file"
  # ... and on a terminal, asks without echo.
  "$PYTHON3" - "$MODELSIGN" <<'EOF' || fail "terminal prompt"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "sign", "key", "--private-key", "enc.pem", "m"])
out = b""
while b"password" not in out:
    out += os.read(fd, 1024)
os.write(fd, b"pw-123456\n")
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, out
assert b"Signing succeeded" in out, out
assert b"pw-123456" not in out, "the password was echoed"
EOF
  # keygen: parent directories 0700, the hint explained, a public key derived.
  ms keygen --private-key a/b/new.pem --public-key a/b/new.pub
  expect_rc 0
  [[ $(stat -c %a a) == 700 && $(stat -c %a a/b) == 700 ]] || fail "directory modes"
  out_has "the hint is the SHA-256 of the public key PEM"
  ms keygen --public-key-from a/b/new.pem --public-key derived.pub
  expect_rc 0
  cmp -s derived.pub a/b/new.pub || fail "derived public key differs"
}
run_case key_mistakes_are_named_and_keygen_explains_and_derives

# --- 9. a chain without the intermediate ---------------------------------------------------------

case_chain_without_intermediate_warns_at_signing_and_names_it_at_verification() {
  new_model m
  ms sign certificate --private-key "$SHARED/leaf.key" --signing-certificate "$SHARED/leaf.pem" m
  expect_rc 0
  err_has "WARNING"
  err_has "intermediate"
  ms verify certificate --certificate-chain "$SHARED/root.pem" m
  expect_rc 1
  err_has "lacks the intermediate that issued 'CN=First Use Signer'"
  err_lacks "unable to get local issuer certificate"
  ms sign certificate --private-key "$SHARED/leaf.key" --signing-certificate "$SHARED/leaf.pem" \
    --certificate-chain "$SHARED/int.pem" m
  expect_rc 0
  err_lacks "WARNING"
  ms verify certificate --certificate-chain "$SHARED/root.pem" m
  expect_rc 0
}
run_case chain_without_intermediate_warns_at_signing_and_names_it_at_verification

# --- 10. the right hint for the mismatch ------------------------------------------------------------

case_ignore_unsigned_hint_only_for_extra_files_and_another_model_is_named() {
  new_model m
  ms sign key --private-key "$SHARED/k.pem" m
  expect_rc 0
  echo x >m/extra.txt
  ms verify key --public-key "$SHARED/k.pub" m
  expect_rc 1
  err_has "use --ignore-unsigned-files"
  echo changed >m/weights.bin
  ms verify key --public-key "$SHARED/k.pub" m
  expect_rc 1
  err_lacks "--ignore-unsigned-files"
  # Another model entirely, with this model's signature.
  mkdir other
  echo a >other/a.bin
  echo b >other/b.bin
  ms verify key --public-key "$SHARED/k.pub" --signature m.sig other
  expect_rc 1
  err_has "this signature belongs to another model"
  err_lacks "--ignore-unsigned-files"
}
run_case ignore_unsigned_hint_only_for_extra_files_and_another_model_is_named

# --- 11. --ignore-paths that matches nothing -----------------------------------------------------

case_ignore_paths_matching_nothing_warns_with_the_usual_mistake() {
  new_model m
  ms digest --ignore-paths weights.bin m
  expect_rc 0
  err_has "matches nothing in the model"
  err_has "relative to the current directory"
  err_has "did you mean --ignore-paths 'm/weights.bin'"
  ms digest --ignore-paths m/weights.bin m
  expect_rc 0
  err_lacks "WARNING"
}
run_case ignore_paths_matching_nothing_warns_with_the_usual_mistake

# --- 12. --help a newcomer can use ----------------------------------------------------------------

case_help_groups_options_shows_defaults_exit_codes_examples() {
  for c in "sign key" "sign certificate" "verify key" "verify certificate" "digest" "keygen"; do
    # shellcheck disable=SC2086
    ms $c --help
    expect_rc 0
    for want in "Model selection" "Key" "Output" "Advanced" "Exit codes: 0" "Examples:" "default"; do
      [[ $c == keygen && ($want == "Model selection" || $want == "Advanced" || $want == "Output") ]] && continue
      [[ $c == digest && ($want == "Key") ]] && continue
      grep -qF -- "$want" out || fail "$c --help lacks '$want'"
    done
    [[ $(grep -c "modelsign $c\|modelsign " out) -ge 2 ]] || fail "$c --help: fewer than 2 examples"
    for parser_syntax in "{false}" "Excludes:" "Needs:"; do
      ! grep -qF -- "$parser_syntax" out || fail "$c --help shows '$parser_syntax'"
    done
    # One spelling per name in the option column (the footer says --flag_name works too).
    ! grep -qE -- '^ +(-[a-z], )?--[a-z0-9-]*_' out || fail "$c --help lists underscore spellings"
  done
  ms digest --threads 0 m
  expect_rc 2
  err_has "at least 1"
  err_lacks "[1 -"
}
run_case help_groups_options_shows_defaults_exit_codes_examples

# --- no input ends in an abort (non-UTF-8 names, thread creation failing) --------------------------

case_non_utf8_names_and_failed_threads_never_abort() {
  mkdir $'m\xff'
  echo a >$'m\xff/a'
  ms sign key --private-key "$SHARED/k.pem" $'m\xff'
  expect_rc 1
  err_has "not valid UTF-8"
  ms digest --json $'m\xff'
  expect_rc 0
  json_check 'pass'
  new_model m1
  ms digest --ignore-paths $'m1/\xff' m1
  expect_rc 0
  ms verify key --json --public-key "$SHARED/k.pub" --signature $'sig\xfe.sig' m1
  expect_rc 1
  json_check 'assert j["error"]["code"] == "not-found", j'
  err_has 'sig\xfe.sig'
  mkdir many
  for i in $(seq 1 300); do echo "$i" >"many/f$i"; done
  # Thread creation and allocations fail at various points under these limits: the
  # result is a digest (fewer threads) or a failure line, never an abort. AddressSanitizer
  # reserves terabytes of address space at start-up, so a sanitizer build cannot run under
  # an address-space limit at all: that pass leaves this part to the normal pass.
  local limits="300000 150000 100000 70000 50000"
  [[ -n ${MODELSIGN_SANITIZED:-} ]] && limits=""
  for limit in $limits; do
    RC=0
    (ulimit -v $limit && exec "$MODELSIGN" digest --threads 300 many) >out 2>err || RC=$?
    [[ $RC -eq 0 || $RC -eq 1 ]] || fail "digest --threads 300 under ulimit -v $limit: exit $RC"
    if [[ $RC -eq 1 ]]; then grep -q "failed" err || fail "no failure line under ulimit -v $limit"; fi
  done
}
run_case non_utf8_names_and_failed_threads_never_abort

# --- untrusted names are printed escaped ------------------------------------------------------------

case_control_characters_in_names_cannot_fake_a_result_line() {
  new_model m
  ms sign key --private-key "$SHARED/k.pem" m
  expect_rc 0
  : >"m/x"$'\n'"Verification succeeded"$'\n'
  ms verify key --public-key "$SHARED/k.pub" m
  expect_rc 1
  ! grep -qx "Verification succeeded" err out || fail "a file name printed a fake result line"
  err_has 'x\nVerification succeeded\n'
  ms verify key --public-key "$SHARED/k.pub" --log-level debug --ignore-paths "m/x"$'\n'"Verification succeeded"$'\n' m
  expect_rc 0
  [[ $(cat out err | grep -cx "Verification succeeded") -eq 1 ]] || fail "not exactly one result line"
}
run_case control_characters_in_names_cannot_fake_a_result_line

echo "${PASSED} passed, ${#FAILED[@]} failed"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  printf 'failed: %s\n' "${FAILED[@]}"
  exit 1
fi
