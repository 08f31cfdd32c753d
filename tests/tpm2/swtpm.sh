#!/usr/bin/env bash
# A private software TPM for tests: one swtpm per state directory, reached through a
# unix socket inside that directory, so nothing is shared with the machine or with
# other tests (one swtpm serves one connection at a time).
#
#   swtpm.sh start DIR      start swtpm on DIR (created if missing; must not be in use),
#                           print the TCTI string on stdout
#   swtpm.sh stop DIR       stop the swtpm of DIR, wait until it is gone, delete DIR
#   swtpm.sh run CMD...     start a swtpm in a fresh temp dir, export the TCTI variables
#                           (TPM2TOOLS_TCTI, TSS2_TCTI, TPM2OPENSSL_TCTI), run CMD, stop
#                           the swtpm whatever CMD did; exits with CMD's status
set -euo pipefail

die() { echo "swtpm.sh: $*" >&2; exit 1; }

# A --daemon swtpm is re-parented and may linger as a zombie: a zombie is gone.
gone() {
    local pid=$1
    [ ! -d "/proc/$pid" ] || grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"
}

start() {
    local dir=$1
    command -v swtpm >/dev/null || die "swtpm is not installed (Debian: apt-get install swtpm swtpm-tools)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -e "$dir/pid" ] && die "$dir already has a swtpm (pid file present)"
    swtpm socket --tpm2 --tpmstate dir="$dir" \
        --server type=unixio,path="$dir/sock" \
        --ctrl type=unixio,path="$dir/sock.ctrl" \
        --flags not-need-init,startup-clear \
        --pid file="$dir/pid" --log file="$dir/log" --daemon
    local i
    for i in $(seq 200); do
        [ -S "$dir/sock" ] && [ -s "$dir/pid" ] && break
        sleep 0.025
    done
    [ -S "$dir/sock" ] && [ -s "$dir/pid" ] || die "swtpm did not come up in $dir (see $dir/log)"
    echo "swtpm:path=$dir/sock"
}

stop() {
    local dir=$1 pid="" i
    [ -d "$dir" ] || return 0
    [ -s "$dir/pid" ] && pid=$(cat "$dir/pid")
    if [ -S "$dir/sock.ctrl" ]; then
        swtpm_ioctl --unix "$dir/sock.ctrl" -s >/dev/null 2>&1 || true
    fi
    if [ -n "$pid" ]; then
        for i in $(seq 200); do
            gone "$pid" && break
            sleep 0.025
        done
        # Last resort for a swtpm that ignored the shutdown request: this pid only.
        if ! gone "$pid"; then
            kill "$pid" 2>/dev/null || true
            for i in $(seq 200); do gone "$pid" && break; sleep 0.025; done
        fi
        gone "$pid" || die "swtpm pid $pid did not stop"
    fi
    # The state directory holds the TPM's seeds: never leave it behind.
    rm -rf "$dir"
}

RUN_DIR=""
run() {
    [ $# -gt 0 ] || die "run: no command given"
    local tcti rc=0
    RUN_DIR=$(mktemp -d -t swtpm.XXXXXX)
    trap 'stop "$RUN_DIR"' EXIT
    tcti=$(start "$RUN_DIR")
    export TPM2TOOLS_TCTI="$tcti" TSS2_TCTI="$tcti" TPM2OPENSSL_TCTI="$tcti"
    "$@" || rc=$?
    return "$rc"
}

case "${1:-}" in
    start) [ $# -eq 2 ] || die "usage: swtpm.sh start DIR"; start "$2" ;;
    stop) [ $# -eq 2 ] || die "usage: swtpm.sh stop DIR"; stop "$2" ;;
    run) shift; run "$@" ;;
    *) die "usage: swtpm.sh start DIR | stop DIR | run CMD..." ;;
esac
