# Sourced by scripts that need a private SoftHSM token for one run (the demo, the
# benchmark, the CLI tests):
#
#   . softhsm-fixtures/lib.sh
#   softhsm_begin demo          # $WORK: a new temporary directory; both removed on exit
#   softhsm_token --keys ec-p256  # softhsm-setup.sh's variables exported, $HSM_DIR set
#
# softhsm_begin installs an EXIT trap that tears the token down and removes $WORK; a
# script with cleanup of its own calls softhsm_cleanup from its trap instead.
SOFTHSM_FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HSM_DIR=""

softhsm_cleanup() {
  if [ -n "$HSM_DIR" ]; then "$SOFTHSM_FIXTURES/softhsm-teardown.sh" "$HSM_DIR"; fi
  HSM_DIR=""
  if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}

# softhsm_begin NAME: $WORK=$TMPDIR/modelsign-NAME.XXXXXX and the EXIT trap.
softhsm_begin() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelsign-$1.XXXXXX")
  trap softhsm_cleanup EXIT
}

# softhsm_token [softhsm-setup.sh options]: a new token; the PIN comes only from what
# the caller passes (MODELSIGN_PKCS11_PIN is unset).
softhsm_token() {
  local env
  env=$("$SOFTHSM_FIXTURES/softhsm-setup.sh" "$@")
  eval "$env"
  HSM_DIR=$MODELSIGN_SOFTHSM_DIR
  unset MODELSIGN_PKCS11_PIN
}
