# Sourced by the shell tests that need the loopback Sigstore stack: sets DIR to its state
# directory (from MODELSIGN_SIGSTORE_STACK), or exits 77 (skip) without a stack, 1 in CI.
DIR=${MODELSIGN_SIGSTORE_STACK:-}
if [[ -z "$DIR" || ! -f "$DIR/stack.json" ]]; then
  msg="the Sigstore test stack is not running (MODELSIGN_SIGSTORE_STACK=$DIR)"
  if [[ -n "${CI:-}" ]]; then echo "FAIL: $msg" >&2; exit 1; fi
  echo "SKIP: $msg" >&2; exit 77
fi
