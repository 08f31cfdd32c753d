#!/usr/bin/env bash
# The loopback Sigstore stack for tests (tests/sigstore-stack, docs/sigstore.md).
#   sigstore-stack.sh deps             npm ci in tests/sigstore-stack when needed
#   sigstore-stack.sh start STATE_DIR  start the stack; returns once it answers
#   sigstore-stack.sh stop STATE_DIR   stop it (no error when it is not running)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK="$ROOT/tests/sigstore-stack"

die() { echo "sigstore-stack: $*" >&2; exit 1; }

deps() {
  command -v node >/dev/null || die "node is not installed (scripts/install-deps.sh installs it)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' ||
    die "node $(node --version) is too old: @sigstore/mock needs node >= 20.17 (NodeSource's node 20 on Debian 12)"
  # npm ci only when node_modules is missing or was installed from another lock file, so a
  # prepared machine needs no network.
  local stamp="$STACK/node_modules/.lock.sha256" want
  want=$(sha256sum "$STACK/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    (cd "$STACK" && npm ci --no-audit --no-fund --prefer-offline) >&2 || die "npm ci failed in $STACK"
    echo "$want" >"$stamp"
  fi
}

# A throwaway CA and a server certificate for 127.0.0.1 (clients get ca.pem).
make_tls() {
  local d="$1/tls"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/O=modelsign test/CN=sigstore stack test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  rm -f "$d/ca.key" "$d/server.csr" "$d/server.ext"
  chmod 600 "$d/server.key"
}

stop() {
  local dir="$1" pid
  [[ -f "$dir/stack.pid" ]] || return 0
  pid=$(cat "$dir/stack.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/stack.pid" "$dir/stack.json"
}

start() {
  local dir="$1" pid
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  deps
  stop "$dir"
  rm -rf "$dir/tls" "$dir"/*.json "$dir/ca.pem" "$dir/k8s-token"
  make_tls "$dir"
  setsid node "$STACK/stack.mjs" "$dir" >"$dir/stack.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/stack.pid"
  for _ in $(seq 300); do
    [[ -f "$dir/stack.json" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/stack.log" >&2; die "the stack exited during start"; }
    sleep 0.1
  done
  [[ -f "$dir/stack.json" ]] || { stop "$dir"; die "the stack did not become ready in 30 s (log: $dir/stack.log)"; }
  # It answers over TLS with the CA it wrote.
  local issuer
  issuer=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).oidc_issuer)' "$dir/stack.json")
  curl -sSf --cacert "$dir/ca.pem" "$issuer/.well-known/openid-configuration" >/dev/null ||
    { stop "$dir"; die "the stack does not answer at $issuer"; }
  echo "sigstore-stack: ready, state in $dir"
}

case "${1:-}" in
  deps) deps ;;
  start) [[ $# -eq 2 ]] || die "usage: $0 start STATE_DIR"; start "$2" ;;
  stop) [[ $# -eq 2 ]] || die "usage: $0 stop STATE_DIR"; stop "$2" ;;
  *) die "usage: $0 deps | start STATE_DIR | stop STATE_DIR" ;;
esac
