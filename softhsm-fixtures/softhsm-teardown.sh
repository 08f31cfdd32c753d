#!/usr/bin/env bash
# Deletes a token directory made by softhsm-setup.sh (SoftHSM has no daemon: deleting
# the directory is all there is to stop). Refuses any directory without the marker file.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: softhsm-teardown.sh DIR (the MODELSIGN_SOFTHSM_DIR printed by softhsm-setup.sh)" >&2
  exit 2
fi
dir="$1"
if [ ! -e "$dir" ]; then exit 0; fi
if [ ! -f "$dir/.modelsign-softhsm" ]; then
  echo "softhsm-teardown.sh: '$dir' was not made by softhsm-setup.sh (no marker file); not deleting it" >&2
  exit 1
fi
rm -rf -- "$dir"
