#!/usr/bin/env bash
# Scale benchmark: digest, sign and verify of models of many tiny files (0-15 bytes), where
# per-file costs dominate. Prints, side by side per size, wall time and peak RSS per file
# of each command and the verify/sign time ratio (target: at most 1.5, and a per-file cost
# that stays flat as the file count grows).
#
# usage: bench/scale_bench.sh [--sizes LIST] [--threads N]
#   --sizes LIST  comma-separated file counts, k/M suffixes allowed (default 1k,10k,100k,1M)
#   --threads N   hashing threads (default: online CPUs)
#
# environment:
#   MODELSIGN_BIN         the modelsign binary       (default: build/modelsign)
#   MODELSIGN_BENCH_GEN   the model generator        (default: build/bench/modelsign_bench_gen)
#   MODELSIGN_BENCH_DIR   where models are generated; kept and reused between runs.
#                         Without it a temporary directory is used and deleted at exit.
#
# Models are generated once and read warm (the figures measure modelsign, not the disk).
# The 1M model holds a million inodes; generating it takes minutes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
bin=${MODELSIGN_BIN:-$repo/build/modelsign}
gen=${MODELSIGN_BENCH_GEN:-$repo/build/bench/modelsign_bench_gen}
sizes=1k,10k,100k,1M
threads=""
while (($#)); do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --threads) threads="--threads $2"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for tool in "$bin" "$gen" /usr/bin/time; do
  [[ -x $tool ]] || { echo "missing $tool: build first (cmake --build build)" >&2; exit 1; }
done

if [[ -n ${MODELSIGN_BENCH_DIR:-} ]]; then
  root=$MODELSIGN_BENCH_DIR
  mkdir -p "$root"
else
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; [[ -n ${MODELSIGN_BENCH_DIR:-} ]] || rm -rf "$root"' EXIT

count_of() {  # 1k -> 1000, 1M -> 1000000
  local s=$1
  case $s in
    *k|*K) echo $(( ${s%?} * 1000 )) ;;
    *m|*M) echo $(( ${s%?} * 1000000 )) ;;
    *) echo "$s" ;;
  esac
}

"$bin" keygen --private-key "$work/key.pem" --public-key "$work/key.pub" >/dev/null

# measure OUT CMD...: runs CMD under /usr/bin/time; sets SECS and RSS_KB.
measure() {
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$out" 2>"$work/stderr" || {
    echo "failed: $*" >&2; cat "$work/stderr" >&2; exit 1; }
  read -r SECS RSS_KB <"$work/time"
}

printf '%-8s | %8s %8s %8s | %9s %9s %9s | %s\n' files digest_s sign_s verify_s \
  'dig_B/f' 'sign_B/f' 'ver_B/f' 'verify/sign'
IFS=, read -ra list <<<"$sizes"
for s in "${list[@]}"; do
  n=$(count_of "$s")
  model="$root/tiny-$n"
  if [[ ! -f "$model.done" ]]; then
    rm -rf "$model"
    "$gen" tiny "$model" "$n"
    touch "$model.done"
  fi
  sig="$work/tiny-$n.sig"
  # Warm the cache (and the dentry cache) once, untimed.
  "$bin" digest $threads "$model" >/dev/null
  measure "$work/out" "$bin" digest $threads "$model"
  d_s=$SECS; d_kb=$RSS_KB
  measure "$work/out" "$bin" sign key $threads --private-key "$work/key.pem" --signature "$sig" "$model"
  s_s=$SECS; s_kb=$RSS_KB
  measure "$work/out" "$bin" verify key $threads --public-key "$work/key.pub" --signature "$sig" "$model"
  v_s=$SECS; v_kb=$RSS_KB
  awk -v n="$n" -v ds="$d_s" -v ss="$s_s" -v vs="$v_s" -v dk="$d_kb" -v sk="$s_kb" -v vk="$v_kb" 'BEGIN {
    ratio = ss > 0 ? vs / ss : 0
    printf "%-8d | %8.2f %8.2f %8.2f | %9.0f %9.0f %9.0f | %.2f\n", n, ds, ss, vs,
      dk * 1024 / n, sk * 1024 / n, vk * 1024 / n, ratio }'
done
echo "(peak RSS per file includes the process baseline, which dominates at 1k files;"
echo " signature sizes: $(ls -l "$work"/*.sig | awk '{printf "%s ", $5}')bytes)"
