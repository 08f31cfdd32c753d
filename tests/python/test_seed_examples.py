"""The Python examples of the model-signing guide this package replaces, run as written
with only the import changed (`from model.src.model_signing import ...` -> `from
modelsign import ...`)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import make_model, run_cli

VERIFY_EXAMPLE = '''
from modelsign import ModelSigner

# Verify a signed model
signer = ModelSigner('model/quantized')
if signer.verify_signature('model/quantized.sig'):
    print("✓ Signature valid")
else:
    print("✗ Signature invalid")
'''

INTEGRITY_EXAMPLE = '''
from modelsign import ModelSigner

# Generate and compare hashes
signer = ModelSigner('model/quantized')
current_hash = signer.compute_model_hash()

# Load previous hash from manifest
manifest = signer.generate_model_manifest()
stored_hash = manifest['hashes']['sha256']

if current_hash == stored_hash:
    print("✓ Model integrity verified")
else:
    print("✗ Model has been modified")
'''

DEBUG_EXAMPLE = '''
import logging
logging.basicConfig(level=logging.DEBUG)

from modelsign import ModelSigner
signer = ModelSigner('model/quantized')
# ... rest of operations
'''

RELEASE_SCRIPT = '''
#!/usr/bin/env python3
"""Release pipeline for signed models."""

import os
import sys
from pathlib import Path

from modelsign import sign_trained_model

def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "model/quantized"
    
    # Sign model
    print(f"Signing model in {model_dir}...")
    model_hash = sign_trained_model(model_dir, ci_mode=True)
    
    # Verify signature exists
    sig_path = f"{model_dir}.sig"
    if not Path(sig_path).exists():
        print(f"Error: Signature file not found at {sig_path}")
        return 1
    
    print(f"✓ Model signed successfully")
    print(f"✓ Model hash: {model_hash}")
    print(f"✓ Signature: {sig_path}")
    
    # Set outputs for CI
    if os.getenv("GITHUB_ACTIONS"):
        print(f"::set-output name=model_hash::{model_hash}")
        print(f"::set-output name=signature_path::{sig_path}")
    
    return 0

if __name__ == "__main__":
    exit(main())
'''


def run_py(code, cwd, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env=env)


@pytest.fixture
def project(tmp_path):
    """A project directory as the guide lays it out: model/quantized and keys/."""
    make_model(tmp_path / "model" / "quantized")
    # "Generate keys locally" with the defaults (keys/signing_key.pem, keys/signing_key.pub).
    r = run_py("import modelsign; modelsign.generate_signing_key()", tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "keys" / "signing_key.pem").stat().st_mode & 0o077 == 0
    return tmp_path


def sign_with_cli(project):
    run_cli("sign", "key", "--private-key", "keys/signing_key.pem", "model/quantized", cwd=project)


def test_verify_example_accepts_a_signed_model_and_rejects_a_changed_one(project):
    sign_with_cli(project)
    r = run_py(VERIFY_EXAMPLE, project)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "✓ Signature valid\n"
    (project / "model" / "quantized" / "config.json").write_text('{"layers": 3}\n')
    r = run_py(VERIFY_EXAMPLE, project)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "✗ Signature invalid\n"


def test_integrity_example_and_its_failure_after_a_byte_changes(project):
    r = run_py(INTEGRITY_EXAMPLE, project)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "✓ Model integrity verified\n"
    # The hash equals `modelsign digest`.
    code = "from modelsign import ModelSigner; print(ModelSigner('model/quantized').compute_model_hash())"
    mine = run_py(code, project).stdout
    assert mine == run_cli("digest", "model/quantized", cwd=project).stdout
    # "Load previous hash from manifest": a manifest kept from before a byte changed.
    saved = run_py("import json; from modelsign import ModelSigner; "
                   "print(json.dumps(ModelSigner('model/quantized').generate_model_manifest()))", project)
    (project / "manifest.json").write_text(saved.stdout)
    blob = project / "model" / "quantized" / "sub" / "tensor.bin"
    data = bytearray(blob.read_bytes())
    data[1234] ^= 1
    blob.write_bytes(bytes(data))
    kept = INTEGRITY_EXAMPLE.replace(
        "manifest = signer.generate_model_manifest()",
        "import json; manifest = json.load(open('manifest.json'))")
    r = run_py(kept, project)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "✗ Model has been modified\n"


def test_debug_example_sends_the_library_debug_output_to_logging(project):
    r = run_py(DEBUG_EXAMPLE + "signer.compute_model_hash()\n", project)
    assert r.returncode == 0, r.stderr
    assert "DEBUG:modelsign:hashing 'model/quantized' with" in r.stderr
    assert "DEBUG:modelsign:hashed 3 files of 'model/quantized'" in r.stderr
    # Without the debug configuration: silent.
    r = run_py(DEBUG_EXAMPLE.replace("logging.basicConfig(level=logging.DEBUG)", "") +
               "signer.compute_model_hash()\n", project)
    assert r.returncode == 0 and r.stderr == ""


def test_release_script_with_github_actions_writes_the_outputs(project):
    outputs = project / "github_output"
    outputs.write_text("")
    (project / "release.py").write_text(RELEASE_SCRIPT)
    # The key secret the guide's workflow sets; no OIDC identity (the job running the tests
    # may have one), so CI mode signs with the key.
    env = {k: v for k, v in os.environ.items()
           if k not in ("SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                        "MODELSIGN_AUDIT_LOG", "GITHUB_STEP_SUMMARY", "GITLAB_CI")}
    r = subprocess.run([sys.executable, "release.py"], cwd=project, capture_output=True, text=True,
                       env=dict(env, GITHUB_ACTIONS="true", CI="true", GITHUB_OUTPUT=str(outputs),
                                SIGNING_PRIVATE_KEY=(project / "keys" / "signing_key.pem").read_text()))
    assert r.returncode == 0, r.stderr
    digest = run_cli("digest", "model/quantized", cwd=project).stdout.strip()
    assert f"::set-output name=model_hash::{digest}" in r.stdout
    # The outputs file the GitHub runner reads, written as `modelsign sign` writes it.
    assert outputs.read_text().splitlines()[:3] == [f"model_hash={digest}",
                                                    "signature_path=model/quantized.sig", "method=key"]
    run_cli("verify", "key", "--public-key", "keys/signing_key.pub", "model/quantized", cwd=project)


def test_release_script_signs_with_the_key_method(project):
    (project / "release.py").write_text(
        RELEASE_SCRIPT.replace("ci_mode=True", "ci_mode=False, key='keys/signing_key.pem'"))
    r = subprocess.run([sys.executable, "release.py"], cwd=project, capture_output=True, text=True,
                       env=dict(os.environ, GITHUB_ACTIONS="true"))
    assert r.returncode == 0, r.stderr
    digest = run_cli("digest", "model/quantized", cwd=project).stdout.strip()
    assert r.stdout.splitlines() == [
        "Signing model in model/quantized...",
        "✓ Model signed successfully",
        f"✓ Model hash: {digest}",
        "✓ Signature: model/quantized.sig",
        f"::set-output name=model_hash::{digest}",
        "::set-output name=signature_path::model/quantized.sig",
    ]
    run_cli("verify", "key", "--public-key", "keys/signing_key.pub", "model/quantized", cwd=project)
