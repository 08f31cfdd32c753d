#!/usr/bin/env bash
# Sign and verify a model on any CI system (docs/ci.md, "Generic CI").
#
#   MODEL_PATH=model SIGNING_PRIVATE_KEY="$(cat key.pem)" PUBLIC_KEY=key.pub ./sign-model.sh
#   MODEL_PATH=model SIGSTORE_ID_TOKEN="$TOKEN" IDENTITY=... IDENTITY_PROVIDER=... ./sign-model.sh
#
# The method is chosen by modelsign: an OIDC token in SIGSTORE_ID_TOKEN signs keyless,
# else the PEM key in SIGNING_PRIVATE_KEY. The outputs are written as KEY=value lines to
# $OUTPUTS (default modelsign.env) for the next step of the pipeline.
# Keyless with a private Sigstore deployment (default: Sigstore production):
# SIGSTORE_TRUST_CONFIG (its ClientTrustConfig JSON) and SIGSTORE_CA_FILE (its TLS CA).
set -euo pipefail

if ! command -v modelsign >/dev/null; then
  echo "modelsign is not installed: not on PATH; install the Debian package" \
    "(apt-get install ./modelsign_<version>_amd64.deb) or run 'cmake --install' on a build" >&2
  exit 127
fi
model=${MODEL_PATH:?set MODEL_PATH to the model directory or file}
outputs=${OUTPUTS:-modelsign.env}
audit_log=${MODELSIGN_AUDIT_LOG:-modelsign-audit.log}
trust=()
if [ -n "${SIGSTORE_TRUST_CONFIG:-}" ]; then trust=(--trust-config "$SIGSTORE_TRUST_CONFIG"); fi

sign=(modelsign sign "$model" --ci-dotenv "$outputs" --audit-log "$audit_log" "${trust[@]}")
if [ -n "${SIGSTORE_CA_FILE:-}" ]; then sign+=(--ca-file "$SIGSTORE_CA_FILE"); fi
"${sign[@]}"

verify=(modelsign verify "$model" --audit-log "$audit_log" "${trust[@]}")
if [ -n "${PUBLIC_KEY:-}" ]; then verify+=(--public-key "$PUBLIC_KEY"); fi
if [ -n "${IDENTITY:-}" ]; then verify+=(--identity "$IDENTITY" --identity-provider "${IDENTITY_PROVIDER:?}"); fi
"${verify[@]}"

modelsign audit verify "$audit_log"
cat "$outputs"
