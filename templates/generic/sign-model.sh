#!/usr/bin/env bash
# Sign and verify a model on any CI system (docs/ci.md, "Generic CI").
#
#   MODEL_PATH=model SIGNING_PRIVATE_KEY="$(cat key.pem)" PUBLIC_KEY=key.pub ./sign-model.sh
#   MODEL_PATH=model SIGSTORE_ID_TOKEN="$TOKEN" IDENTITY=... IDENTITY_PROVIDER=... ./sign-model.sh
#
# The method is chosen by modelsign: an OIDC token in SIGSTORE_ID_TOKEN signs keyless,
# else the PEM key in SIGNING_PRIVATE_KEY. The outputs are written as KEY=value lines to
# $OUTPUTS (default modelsign.env) for the next step of the pipeline.
set -euo pipefail

model=${MODEL_PATH:?set MODEL_PATH to the model directory or file}
outputs=${OUTPUTS:-modelsign.env}
audit_log=${MODELSIGN_AUDIT_LOG:-modelsign-audit.log}

modelsign sign "$model" --ci-dotenv "$outputs" --audit-log "$audit_log"

verify=(modelsign verify "$model" --audit-log "$audit_log")
if [ -n "${PUBLIC_KEY:-}" ]; then verify+=(--public-key "$PUBLIC_KEY"); fi
if [ -n "${IDENTITY:-}" ]; then verify+=(--identity "$IDENTITY" --identity-provider "${IDENTITY_PROVIDER:?}"); fi
"${verify[@]}"

modelsign audit verify "$audit_log"
cat "$outputs"
