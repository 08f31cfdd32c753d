#!/usr/bin/env bash
# How long a whole `modelsign sign pkcs11-key` of a small model takes beyond hashing:
# process start-up, module load, login and the one token signature (issue target:
# under 100 ms with SoftHSM). Compares the median wall time of `sign pkcs11-key` with
# that of `digest` (start-up plus hashing of the same model) on a private SoftHSM token.
#
# usage: bench/pkcs11_sign_overhead.sh [MODELSIGN_BINARY (default build/modelsign)] [RUNS (default 30)]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODELSIGN=${1:-$ROOT/build/modelsign}
RUNS=${2:-30}
[ -x "$MODELSIGN" ] || { echo "no modelsign binary at $MODELSIGN (build first)" >&2; exit 1; }

. "$ROOT/softhsm-fixtures/lib.sh"
softhsm_begin bench
softhsm_token --keys ec-p256

# A small model: three files, 64 KiB in all.
mkdir -p "$WORK/model"
head -c 61440 /dev/urandom > "$WORK/model/weights.bin"
printf '{"hidden": 64}\n' > "$WORK/model/config.json"
head -c 4000 /dev/urandom > "$WORK/model/tokenizer.bin"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/key.pem" 2>/dev/null

# Median wall time in ms of RUNS runs of a command.
median_ms() {
  local times=() t0 t1
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "command failed: $*" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
}

URI_REGISTRY="$MODELSIGN_PKCS11_URI_EC_P256"
URI_PATH="$MODELSIGN_PKCS11_URI_EC_P256&module-path=$MODELSIGN_PKCS11_MODULE"
SIG="$WORK/model.sig"

digest=$(median_ms "$MODELSIGN" digest "$WORK/model")
pem=$(median_ms "$MODELSIGN" sign key --private-key "$WORK/key.pem" --signature "$SIG" "$WORK/model")
p11_path=$(median_ms "$MODELSIGN" sign pkcs11-key --pkcs11-uri "$URI_PATH" --signature "$SIG" "$WORK/model")
p11_registry=$(median_ms "$MODELSIGN" sign pkcs11-key --pkcs11-uri "$URI_REGISTRY" --signature "$SIG" "$WORK/model")
"$MODELSIGN" verify key --public-key "$MODELSIGN_PKCS11_PUB_EC_P256" --signature "$SIG" "$WORK/model" >/dev/null

echo "modelsign sign pkcs11-key, small model (3 files, 64 KiB), SoftHSM $(softhsm2-util --version), P-256, median of $RUNS runs"
printf '  %-58s %8s ms\n' "digest (start-up + hashing)" "$digest"
printf '  %-58s %8s ms\n' "sign key, PEM file (reference)" "$pem"
printf '  %-58s %8s ms\n' "sign pkcs11-key, module-path" "$p11_path"
printf '  %-58s %8s ms\n' "sign pkcs11-key, p11-kit registry (all registered modules)" "$p11_registry"
awk -v a="$p11_path" -v b="$p11_registry" -v d="$digest" 'BEGIN {
  printf "  beyond hashing (sign pkcs11-key - digest): %.1f ms with module-path, %.1f ms via the registry (target < 100 ms)\n", a - d, b - d }'
