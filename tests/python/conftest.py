"""Fixtures for the Python package's tests: models, keys, a throw-away PKI, SoftHSM
tokens and swtpm simulators (the same fixture scripts the C++ tests use)."""

import os
import shlex
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("MODELSIGN_SOURCE_DIR", Path(__file__).resolve().parents[2]))
CLI = os.environ.get("MODELSIGN_CLI", str(SOURCE_DIR / "build" / "modelsign"))


def pytest_configure(config):
    config.addinivalue_line("markers", "pkcs11: needs SoftHSM (softhsm-fixtures)")
    config.addinivalue_line("markers", "tpm2: needs swtpm (tests/tpm2/swtpm.sh)")


def run_cli(*args, check=True, env=None, cwd=None):
    """Runs the modelsign binary; returns the CompletedProcess (text)."""
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"modelsign {' '.join(map(str, args))} failed ({p.returncode}):\n"
                             f"{p.stdout}{p.stderr}")
    return p


def make_model(path: Path) -> Path:
    (path / "sub").mkdir(parents=True)
    (path / "model.bin").write_bytes(b"weights " * 1000)
    (path / "config.json").write_text('{"layers": 2}\n')
    (path / "sub" / "tensor.bin").write_bytes(os.urandom(70000))
    return path


@pytest.fixture
def model(tmp_path):
    return make_model(tmp_path / "model")


@pytest.fixture
def keypair(tmp_path):
    import modelsign
    k = modelsign.generate_signing_key(tmp_path / "keys" / "signer.pem", tmp_path / "keys" / "signer.pub")
    return Path(k.private_key), Path(k.public_key)


def _openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path, keypair):
    """A root CA, an intermediate CA and a code-signing leaf for `keypair`."""
    d = tmp_path / "pki"
    d.mkdir()
    priv, pub = keypair
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "30", "-subj", "/CN=modelsign test root", "-keyout", d / "root.key",
             "-out", d / "root.pem", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                              "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=modelsign test intermediate", "-keyout", d / "int.key", "-out", d / "int.csr")
    _openssl("x509", "-req", "-in", d / "int.csr", "-CA", d / "root.pem", "-CAkey", d / "root.key",
             "-days", "30", "-extfile", d / "ca.ext", "-out", d / "int.pem")
    (d / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                "extendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\n"
                                "authorityKeyIdentifier=keyid\n")
    _openssl("x509", "-new", "-subj", "/CN=modelsign test signer", "-force_pubkey", pub,
             "-CA", d / "int.pem", "-CAkey", d / "int.key", "-days", "30", "-extfile", d / "leaf.ext",
             "-out", d / "leaf.pem")
    return {"key": priv, "leaf": d / "leaf.pem", "intermediate": d / "int.pem", "root": d / "root.pem"}


@pytest.fixture
def softhsm(monkeypatch):
    """A private SoftHSM token with an ec-p256 key and its certificate; the environment
    (SOFTHSM2_CONF ...) is set for this process and its children."""
    out = subprocess.run([str(SOURCE_DIR / "softhsm-fixtures" / "softhsm-setup.sh"), "--keys", "ec-p256",
                          "--cert"], check=True, capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MODELSIGN_PKCS11_PIN", raising=False)
    yield env
    subprocess.run([str(SOURCE_DIR / "softhsm-fixtures" / "softhsm-teardown.sh"),
                    env["MODELSIGN_SOFTHSM_DIR"]], check=False)


@pytest.fixture
def swtpm(tmp_path):
    """A private swtpm; yields its TCTI string."""
    script = SOURCE_DIR / "tests" / "tpm2" / "swtpm.sh"
    state = tmp_path / "swtpm"
    tcti = subprocess.run(["bash", str(script), "start", str(state)], check=True, capture_output=True,
                          text=True).stdout.strip()
    yield tcti
    subprocess.run(["bash", str(script), "stop", str(state)], check=False)
