#!/usr/bin/env bash
# Scale benchmark: digest, sign and verify of models of many tiny files (0-15 bytes), where
# per-file costs dominate. Prints, side by side per size, wall time and peak RSS per file
# of each command and the verify/sign ratio of wall time and of CPU time (target: at most
# 1.5, and a per-file cost that stays flat as the file count grows). Each command runs
# --runs times; the fastest wall time, the CPU time of that run and the largest peak RSS
# are shown, so that other load on the machine disturbs the figures less (the CPU ratio
# least). The load average before the first and after the last size is printed.
#
# usage: bench/scale_bench.sh [--sizes LIST] [--threads N] [--runs N]
#   --sizes LIST  comma-separated file counts, k/M suffixes allowed (default 1k,10k,100k,1M)
#   --threads N   hashing threads (default: online CPUs)
#   --runs N      runs of each command per size (default 3)
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
runs=3
while (($#)); do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --threads) threads="--threads $2"; shift ;;
    --runs) runs=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# measure OUT CMD...: runs CMD under /usr/bin/time $runs times; sets SECS (fastest wall
# time, to the millisecond), CPU (user + system seconds of that run, to 10 ms) and
# RSS_KB (largest peak RSS).
measure() {
  local out=$1; shift
  SECS=""; CPU=""; RSS_KB=0
  local i s u y k
  for ((i = 0; i < runs; i++)); do
    local t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o "$work/time" "$@" >"$out" 2>"$work/stderr" || {
      echo "failed: $*" >&2; cat "$work/stderr" >&2; exit 1; }
    s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    read -r u y k <"$work/time"
    if [[ -z $SECS ]] || awk -v a="$s" -v b="$SECS" 'BEGIN { exit !(a < b) }'; then
      SECS=$s
      CPU=$(awk -v u="$u" -v y="$y" 'BEGIN { printf "%.2f", u + y }')
    fi
    if ((k > RSS_KB)); then RSS_KB=$k; fi
  done
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; fastest of $runs runs"
printf '%-8s | %8s %8s %8s | %9s %9s %9s | %11s %10s\n' files digest_s sign_s verify_s \
  'dig_B/f' 'sign_B/f' 'ver_B/f' 'verify/sign' '(cpu)'
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
  s_s=$SECS; s_cpu=$CPU; s_kb=$RSS_KB
  measure "$work/out" "$bin" verify key $threads --public-key "$work/key.pub" --signature "$sig" "$model"
  v_s=$SECS; v_cpu=$CPU; v_kb=$RSS_KB
  awk -v n="$n" -v ds="$d_s" -v ss="$s_s" -v vs="$v_s" -v dk="$d_kb" -v sk="$s_kb" -v vk="$v_kb" \
      -v sc="$s_cpu" -v vc="$v_cpu" 'BEGIN {
    ratio = ss > 0 ? vs / ss : 0
    # CPU times come in 10 ms steps: below 50 ms the ratio says nothing.
    cpu_ratio = sc >= 0.05 ? sprintf("%.2f", vc / sc) : "n/a"
    printf "%-8d | %8.3f %8.3f %8.3f | %9.0f %9.0f %9.0f | %11.2f %10s\n", n, ds, ss, vs,
      dk * 1024 / n, sk * 1024 / n, vk * 1024 / n, ratio, cpu_ratio }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(peak RSS per file includes the process baseline, which dominates at 1k files;"
echo " signature sizes: $(ls -l "$work"/*.sig | awk '{printf "%s ", $5}')bytes)"
