#!/usr/bin/env bash
# `modelsign digest` end to end: output format, --hash/--json, both flag spellings,
# ignore handling and exit codes (spec §8, §9.2, §9.5).
# Usage: digest_cli_test.sh MODELSIGN_BINARY TESTDATA_DIR
set -uo pipefail

BIN=$(realpath "$1")
DATA=$2
UPSTREAM=$DATA/model-transparency
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

failures=0
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; failures=$((failures + 1)); }
expect_eq() {  # NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
expect_ne() {
  if [[ "$2" != "$3" ]]; then pass "$1"; else fail "$1: both are [$2]"; fi
}

# Runs the binary with a deadline; sets OUT, ERR, RC.
run() {
  timeout 30 "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

# Runs a digest that must succeed: checks the exit code and the one-line
# "<hash>:<64 hex>" shape after every run, so a rejected flag (exit 2, empty stdout) can
# never pass a comparison of two empty outputs.
# Mutation this catches: a flag spelling dropped from the parser (both runs exit 2).
digest_ok() {  # NAME ARGS...
  local name=$1
  shift
  run digest "$@"
  if [[ $RC -ne 0 ]]; then
    fail "$name: exit code $RC, expected 0 (stderr: $ERR)"
  elif ! [[ "$OUT" =~ ^(sha256|blake2b):[0-9a-f]{64}$ ]]; then
    fail "$name: output is not <hash>:<64 hex>: [$OUT]"
  fi
}

json_get() {  # JSON_TEXT PYTHON_EXPR(j) -> prints the value
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# The upstream sample_model (testdata README §4.1) and its signed subject digest.
M=$TMP/sample_model
for i in 0 1; do
  mkdir -p "$M/d$i"
  for j in 0 1 2; do printf 'This is file f%s%s in d%s.' "$i" "$j" "$i" >"$M/d$i/f$i$j"; done
done
for i in 0 1 2 3; do printf 'This is file f%s in root.' "$i" >"$M/f$i"; done
GOLDEN=$(json_get "$(cat "$UPSTREAM/tests/_signing/testdata/signing/TestPayload/sample_model_folder")" \
  'j["subject"][0]["digest"]["sha256"]')

# ---- output format ----
run digest "$M"
expect_eq "digest exits 0" 0 "$RC"
if [[ "$(cat "$TMP/out")" =~ ^sha256:[0-9a-f]{64}$ ]] && [[ $(wc -l <"$TMP/out") -eq 1 ]]; then
  pass "digest prints exactly one line sha256:<64 hex>"
else
  fail "digest output format: [$(cat "$TMP/out")]"
fi
expect_eq "digest equals the upstream statement's subject digest" "sha256:$GOLDEN" "$OUT"
expect_eq "digest writes nothing to stderr when it succeeds" "" "$ERR"
PLAIN=$OUT

# The signed subject of a model_signing v1.1.0 signature, reproduced by passing the
# signature (and the extra ignored file) as ignore paths, as spec §8 says.
FIX=$UPSTREAM/scripts/tests/v1.1.0-certificate
SIGNED=$(python3 - "$FIX/model.sig" <<'EOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
print(json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))["subject"][0]["digest"]["sha256"])
EOF
)
digest_ok "digest --ignore-paths $FIX/model.sig --ignore-paths $FIX/ignore-me $FIX" --ignore-paths "$FIX/model.sig" --ignore-paths "$FIX/ignore-me" "$FIX"
expect_eq "digest with --ignore-paths reproduces a v1.1.0 signature's subject" "sha256:$SIGNED" "$OUT"
digest_ok "digest $FIX" "$FIX"
expect_ne "digest does not ignore model.sig by itself" "sha256:$SIGNED" "$OUT"

# ---- --hash ----
digest_ok "digest --hash blake2b $M" --hash blake2b "$M"
# Root vector from the testdata README §4.4 (SHA-256 over the BLAKE2b-512 digests).
expect_eq "--hash blake2b prints blake2b:<root>" \
  "blake2b:4544f014961f76d34f138ec7e0d04d6070a048a8068662f1744b8b0e3dde38f5" "$OUT"
digest_ok "digest --hash blake2 $M" --hash blake2 "$M"
expect_eq "--hash blake2 is an alias of blake2b" \
  "blake2b:4544f014961f76d34f138ec7e0d04d6070a048a8068662f1744b8b0e3dde38f5" "$OUT"
digest_ok "digest --hash sha256 $M" --hash sha256 "$M"
expect_eq "--hash sha256 is the default" "$PLAIN" "$OUT"

# ---- --json ----
run digest --json "$M"
expect_eq "--json exits 0" 0 "$RC"
if python3 -c 'import json,sys; json.loads(sys.argv[1])' "$OUT" 2>/dev/null; then
  pass "--json prints valid JSON"
  J=$OUT
  expect_eq "--json model_name" "sample_model" "$(json_get "$J" 'j["model_name"]')"
  expect_eq "--json serialization" "files sha256 False" \
    "$(json_get "$J" '" ".join(str(j["serialization"][k]) for k in ("method","hash_type","allow_symlinks"))')"
  expect_eq "--json lists every resource" 10 "$(json_get "$J" 'len(j["resources"])')"
  expect_eq "--json first resource" "d0/f00 sha256 $(printf 'This is file f00 in d0.' | sha256sum | cut -d' ' -f1)" \
    "$(json_get "$J" '" ".join(j["resources"][0][k] for k in ("name","algorithm","digest"))')"
  expect_eq "--json root_digest equals the plain output" "$PLAIN" "$(json_get "$J" 'j["root_digest"]')"
else
  fail "--json output is not JSON: [$OUT]"
fi
run digest --json --serialization shards --shard-size 8 "$M"
expect_eq "--json shards exits 0" 0 "$RC"
expect_eq "--json shards: shard_size is an integer" "8 int" \
  "$(json_get "$OUT" '"%s %s" % (j["serialization"]["shard_size"], type(j["serialization"]["shard_size"]).__name__)')"
expect_eq "--json shards: 8-byte shards" "d0/f00:0:8 sha256-sharded-8" \
  "$(json_get "$OUT" '" ".join(j["resources"][0][k] for k in ("name","algorithm"))')"

# ---- both flag spellings ----
printf 'x' >"$M/extra.bin"
digest_ok "digest $M" "$M"; WITH_EXTRA=$OUT
expect_ne "an added file changes the digest" "$PLAIN" "$WITH_EXTRA"
digest_ok "digest --ignore-paths $M/extra.bin $M" --ignore-paths "$M/extra.bin" "$M"; A=$OUT
digest_ok "digest --ignore_paths $M/extra.bin $M" --ignore_paths "$M/extra.bin" "$M"; B=$OUT
expect_eq "--ignore-paths ignores the file" "$PLAIN" "$A"
expect_eq "--ignore_paths == --ignore-paths" "$A" "$B"
(cd "$TMP" && timeout 30 "$BIN" digest --ignore-paths sample_model/extra.bin sample_model >"$TMP/cwd_out")
expect_eq "--ignore-paths relative to the current directory: exit 0" 0 "$?"
expect_eq "--ignore-paths is relative to the current directory" "$PLAIN" "$(cat "$TMP/cwd_out")"
digest_ok "digest --ignore-paths $TMP/elsewhere $M" --ignore-paths "$TMP/elsewhere" "$M"
expect_eq "--ignore-paths outside the model is dropped" "$WITH_EXTRA" "$OUT"
rm "$M/extra.bin"

printf 'ignored' >"$M/.gitignore"
digest_ok "digest with a .gitignore" "$M"
expect_eq "git paths are ignored by default" "$PLAIN" "$OUT"
digest_ok "digest --no-ignore-git-paths $M" --no-ignore-git-paths "$M"; A=$OUT
digest_ok "digest --no_ignore_git_paths $M" --no_ignore_git_paths "$M"; B=$OUT
expect_ne "--no-ignore-git-paths counts .gitignore" "$PLAIN" "$A"
expect_eq "--no_ignore_git_paths == --no-ignore-git-paths" "$A" "$B"
digest_ok "digest --ignore_git_paths $M" --ignore_git_paths "$M"
expect_eq "--ignore_git_paths keeps the default" "$PLAIN" "$OUT"
rm "$M/.gitignore"

ln -s f0 "$M/link"
run digest "$M"
expect_eq "a symlink is rejected by default (exit 1)" 1 "$RC"
digest_ok "digest --allow-symlinks $M" --allow-symlinks "$M"; A=$OUT; RA=$RC
digest_ok "digest --allow_symlinks $M" --allow_symlinks "$M"; B=$OUT
expect_eq "--allow-symlinks follows an in-model link" 0 "$RA"
expect_eq "--allow_symlinks == --allow-symlinks" "$A" "$B"
rm "$M/link"

digest_ok "digest --serialization shards --shard-size 8 $M" --serialization shards --shard-size 8 "$M"; A=$OUT
digest_ok "digest --serialization shards --shard_size 8 $M" --serialization shards --shard_size 8 "$M"; B=$OUT
GOLDEN8=$(json_get "$(cat "$UPSTREAM/tests/_signing/testdata/signing/TestPayload/sample_model_folder_small_shards")" \
  'j["subject"][0]["digest"]["sha256"]')
expect_eq "--shard-size 8 equals the upstream small-shards subject" "sha256:$GOLDEN8" "$A"
expect_eq "--shard_size == --shard-size" "$A" "$B"
digest_ok "digest --threads 1 $M" --threads 1 "$M"; A=$OUT
digest_ok "digest --threads 7 $M" --threads 7 "$M"; B=$OUT
expect_eq "--threads does not change the digest" "$A" "$B"
expect_eq "--threads 1 equals the default" "$PLAIN" "$A"
digest_ok "digest --io-depth 1 $M" --io-depth 1 "$M"; A=$OUT
digest_ok "digest --io_depth 64 $M" --io_depth 64 "$M"; B=$OUT
expect_eq "--io-depth does not change the digest" "$A" "$B"
expect_eq "--io-depth 1 equals the default" "$PLAIN" "$A"

# ---- exit codes ----
run digest "$TMP/does-not-exist"
expect_eq "missing model: exit 1" 1 "$RC"
[[ "$ERR" == "Computing digest failed: "* ]] && pass "missing model: 'Computing digest failed:' on stderr" \
  || fail "missing model stderr: [$ERR]"
expect_eq "missing model: nothing on stdout" "" "$OUT"
mkdir -p "$TMP/empty"
run digest "$TMP/empty"
expect_eq "empty model: exit 1" 1 "$RC"
[[ "$ERR" == "Computing digest failed: "*"no file to sign"* ]] && pass "empty model: message" \
  || fail "empty model stderr: [$ERR]"
mkfifo "$TMP/empty/pipe"
run digest "$TMP/empty"
expect_eq "FIFO in model: exit 1 without hanging" 1 "$RC"
for args in "digest --bogus $M" "digest" "digest --hash md5 $M" "digest --serialization tree $M" \
            "digest --threads 0 $M" "digest --io-depth 0 $M" "digest --io-depth 1025 $M" \
            "digest --shard-size 0 $M" "" "nosuchcommand"; do
  # shellcheck disable=SC2086
  run $args
  expect_eq "usage error exits 2: modelsign $args" 2 "$RC"
done
run --help
expect_eq "--help exits 0" 0 "$RC"
run digest --help
expect_eq "digest --help exits 0" 0 "$RC"
run --version
expect_eq "--version exits 0" 0 "$RC"
[[ "$OUT" == "modelsign, version "* ]] && pass "--version output" || fail "--version output: [$OUT]"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
