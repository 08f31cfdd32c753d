"""Keyless signing from Python against the loopback Sigstore stack (tests/sigstore-stack):
method="sigstore", method="auto" with an OIDC identity in the environment, and CI mode,
each compared with the command line. The state directory comes from
$MODELSIGN_SIGSTORE_STACK; without a running stack the suite is skipped (exit code 77),
except under CI, where it fails."""

import json
import logging
import os
import socket
import ssl
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import modelsign
from conftest import make_model, run_cli
from test_ci_mode import CI_ENV, cli_env

ID = "alice@example.com"


def _stack_dir():
    d = os.environ.get("MODELSIGN_SIGSTORE_STACK", "")
    if d and (Path(d) / "stack.json").is_file():
        return Path(d)
    msg = f"the Sigstore test stack is not running (MODELSIGN_SIGSTORE_STACK={d})"
    if os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.exit(f"SKIP: {msg}", returncode=77)


class Stack:
    def __init__(self, d, tmp):
        self.dir = d
        info = json.loads((d / "stack.json").read_text())
        self.base = info["base_url"]
        self.issuer = info["oidc_issuer"]
        self.github_url = info["github_token_url"]
        self.github_bearer = info["github_request_token"]
        self.github_identity = info["github_identity"]
        self.ca = d / "ca.pem"
        self.trust_config = d / "trust_config.json"
        self.tls = ssl.create_default_context(cafile=str(self.ca))
        # Rekor v1 only, as the command line's tests use it (with both logs, ANY picks v2):
        # its entries have the log index the CI outputs report.
        c = json.loads(self.trust_config.read_text())
        c["signingConfig"]["rekorTlogUrls"] = [u for u in c["signingConfig"]["rekorTlogUrls"]
                                               if u["majorApiVersion"] == 1]
        self.trust_v1 = tmp / "trust_v1.json"
        self.trust_v1.write_text(json.dumps(c))

    def _call(self, path, data=None):
        req = urllib.request.Request(self.base + path, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.tls, timeout=30) as r:
            return r.read().decode()

    def token(self, query=f"sub=alice&email={ID}"):
        return self._call(f"/control/token?{query}")

    def faults(self, spec):
        self._call("/control/faults", json.dumps(spec).encode())

    def reset(self):
        self._call("/control/reset", b"")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(_stack_dir(), tmp_path_factory.mktemp("stack"))
    s.reset()
    yield s
    s.reset()


@pytest.fixture
def env(monkeypatch):
    for name in CI_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def cli_verify(stack, model, sig, identity, check=True):
    return run_cli("verify", "sigstore", "--trust-config", stack.trust_config, "--identity", identity,
                   "--identity-provider", stack.issuer, "--signature", sig, model, check=check)


def test_keyless_round_trip_verifies_with_the_cli_and_with_python(model, stack, env, caplog):
    token = stack.token()
    r = modelsign.ModelSigner(model).sign(method="sigstore", identity_token=token,
                                          trust_config=stack.trust_v1, ca_file=stack.ca)
    assert ("modelsign", logging.WARNING,
            f"signing as {ID} (issuer {stack.issuer}; identity token from identity_token=); the identity is "
            "recorded publicly in the transparency log") in caplog.record_tuples
    assert r.method == "sigstore" and r.signer == ID and r.identity == ID
    assert r.issuer == stack.issuer
    assert isinstance(r.rekor_log_index, int) and r.rekor_log_index >= 0
    assert r.key == "ephemeral key"
    assert r.signature_path == f"{model}.sig"
    assert r.model_hash == run_cli("digest", model).stdout.strip()
    assert token not in repr(r) and token not in r.bundle
    cli_verify(stack, model, r.signature_path, ID)
    v = modelsign.ModelSigner(model).verify(identity=ID, identity_provider=stack.issuer,
                                            trust_config=stack.trust_config)
    assert v.method == "sigstore" and v.signer == ID
    assert v.sigstore["rekor_log_index"] == r.rekor_log_index
    with pytest.raises(modelsign.VerificationError, match="identity mismatch"):
        modelsign.ModelSigner(model).verify(identity="mallory@example.com", identity_provider=stack.issuer,
                                            trust_config=stack.trust_config)
    assert cli_verify(stack, model, r.signature_path, "mallory@example.com", check=False).returncode == 1


def test_rekor_v2_and_the_stack_trust_config_as_is(model, stack, env):
    r = modelsign.ModelSigner(model).sign(method="sigstore", identity_token=stack.token(),
                                          trust_config=stack.trust_config, ca_file=stack.ca)
    cli_verify(stack, model, r.signature_path, ID)


def test_identity_token_from_a_file_and_from_the_environment(model, stack, env, tmp_path, caplog):
    f = tmp_path / "token"
    f.write_text(stack.token("sub=bob&email=bob@example.com") + "\n")
    f.chmod(0o600)
    r = modelsign.ModelSigner(model).sign(tmp_path / "a.sig", method="sigstore", identity_token=f,
                                          trust_config=stack.trust_v1, ca_file=stack.ca)
    assert r.identity == "bob@example.com"
    assert f"identity token from the identity_token file {f})" in caplog.text
    env.setenv("SIGSTORE_ID_TOKEN", stack.token())
    r = modelsign.ModelSigner(model).sign(tmp_path / "b.sig", method="sigstore",
                                          trust_config=stack.trust_v1, ca_file=stack.ca)
    assert r.identity == ID
    cli_verify(stack, model, tmp_path / "b.sig", ID)


def test_auto_picks_sigstore_with_sigstore_id_token(model, stack, env, keypair, caplog):
    env.setenv("SIGSTORE_ID_TOKEN", stack.token())
    env.setenv("SIGNING_PRIVATE_KEY", keypair[0].read_text())  # the OIDC identity comes first
    with caplog.at_level("INFO", logger="modelsign"):
        r = modelsign.ModelSigner(model).sign(trust_config=stack.trust_v1, ca_file=stack.ca)
    assert r.method == "sigstore" and r.identity == ID
    assert r.method_reason.startswith("an OIDC identity token is in SIGSTORE_ID_TOKEN (SIGNING_PRIVATE_KEY "
                                      "is set too")
    assert any(m.startswith("signing method: sigstore (an OIDC identity token is in SIGSTORE_ID_TOKEN")
               for _, _, m in caplog.record_tuples)
    cli_verify(stack, model, r.signature_path, ID)


def test_auto_picks_sigstore_with_github_ambient_credentials(model, stack, env):
    env.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", stack.github_url)
    env.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", stack.github_bearer)
    r = modelsign.ModelSigner(model).sign(trust_config=stack.trust_v1, ca_file=stack.ca)
    assert r.method == "sigstore" and r.identity == stack.github_identity
    assert "GitHub Actions ambient OIDC credentials" in r.method_reason
    cli_verify(stack, model, r.signature_path, stack.github_identity)


def test_ci_mode_keyless_writes_the_cli_outputs(tmp_path, stack, env):
    model = make_model(tmp_path / "m")
    files = {}
    for who in ("cli", "py"):
        (tmp_path / who).mkdir()
        files[who] = {"GITHUB_OUTPUT": tmp_path / who / "out", "MODELSIGN_AUDIT_LOG": tmp_path / who / "audit"}
        files[who]["GITHUB_OUTPUT"].write_text("")
    token = stack.token()
    run_cli("sign", "--trust-config", stack.trust_v1, "--ca-file", stack.ca, model,
            env=cli_env(SIGSTORE_ID_TOKEN=token, GITHUB_ACTIONS="true",
                        **{k: str(v) for k, v in files["cli"].items()}))
    # The command's keyless signature verifies from Python.
    v = modelsign.ModelSigner(model).verify(identity=ID, identity_provider=stack.issuer,
                                            trust_config=stack.trust_config)
    assert v.sigstore["rekor_log_index"] == int(
        dict(line.split("=", 1) for line in files["cli"]["GITHUB_OUTPUT"].read_text().splitlines())["rekor_log_index"])
    (tmp_path / "m.sig").unlink()
    env.setenv("SIGSTORE_ID_TOKEN", stack.token())
    env.setenv("GITHUB_ACTIONS", "true")
    for k, v in files["py"].items():
        env.setenv(k, str(v))
    h = modelsign.sign_trained_model(model, trust_config=stack.trust_v1, ca_file=stack.ca)

    def outputs(who):
        return dict(line.split("=", 1) for line in files[who]["GITHUB_OUTPUT"].read_text().splitlines())
    cli, py = outputs("cli"), outputs("py")
    assert list(py) == list(cli) == ["model_hash", "signature_path", "method", "signer", "rekor_log_index"]
    for k in ("model_hash", "signature_path", "method", "signer"):
        assert py[k] == cli[k], k
    assert py["model_hash"] == h and py["method"] == "sigstore" and py["signer"] == ID
    assert py["rekor_log_index"].isdigit() and py["rekor_log_index"] != cli["rekor_log_index"]
    line = json.loads(files["py"]["MODELSIGN_AUDIT_LOG"].read_text())
    assert line["result"] == "success" and line["rekor_log_index"] == int(py["rekor_log_index"])
    assert line["signer"]["identity"] == ID and "SIGSTORE_ID_TOKEN" in line["method_reason"]
    for who in ("cli", "py"):
        text = files[who]["GITHUB_OUTPUT"].read_text() + files[who]["MODELSIGN_AUDIT_LOG"].read_text()
        assert token not in text and os.environ["SIGSTORE_ID_TOKEN"] not in text
    cli_verify(stack, model, tmp_path / "m.sig", ID)


def test_keyless_failures_raise_and_leave_no_signature(model, stack, env, tmp_path):
    sig = Path(f"{model}.sig")
    expired = stack.token(f"sub=alice&email={ID}&exp_in=-60")
    with pytest.raises(modelsign.AuthenticationError, match="expired at") as e:
        modelsign.ModelSigner(model).sign(method="sigstore", identity_token=expired,
                                          trust_config=stack.trust_v1, ca_file=stack.ca)
    assert expired not in str(e.value)
    with pytest.raises(modelsign.AuthenticationError, match="No OIDC token available"):
        modelsign.ModelSigner(model).sign(method="sigstore", trust_config=stack.trust_v1, ca_file=stack.ca)
    # Rekor unreachable: a ServiceError naming it.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = json.loads(stack.trust_v1.read_text())
    for u in c["signingConfig"]["rekorTlogUrls"]:
        u["url"] = f"https://127.0.0.1:{port}"
    down = tmp_path / "down.json"
    down.write_text(json.dumps(c))
    with pytest.raises(modelsign.ServiceError, match="Rekor at https://127.0.0.1:"):
        modelsign.ModelSigner(model).sign(method="sigstore", identity_token=stack.token(), trust_config=down,
                                          ca_file=stack.ca)
    # Without the stack's CA the TLS connection is refused.
    with pytest.raises(modelsign.ServiceError):
        modelsign.ModelSigner(model).sign(method="sigstore", identity_token=stack.token(),
                                          trust_config=stack.trust_v1)
    assert not sig.exists()
    with pytest.raises(modelsign.ArgumentError):
        modelsign.ModelSigner(model).sign(method="sigstore", identity_token=42)
    with pytest.raises(modelsign.ArgumentError):
        modelsign.ModelSigner(model).sign(method="sigstore", certificate=tmp_path / "c.pem")
    with pytest.raises(modelsign.ArgumentError):
        modelsign.ModelSigner(model).sign(method="sigstore", trust_config=stack.trust_v1, use_staging=True)
    assert not sig.exists()


def test_the_interpreter_runs_while_keyless_signing_waits_on_the_network(model, stack, env):
    # Two Fulcio failures: the retries (backoff 250 ms, then 500 ms) keep the call busy
    # for most of a second, during which another Python thread must keep running.
    stack.faults({"fulcio": ["500", "500"]})
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)
    t = threading.Thread(target=tick)
    t.start()
    try:
        start = time.monotonic()
        modelsign.ModelSigner(model).sign(method="sigstore", identity_token=stack.token(),
                                          trust_config=stack.trust_v1, ca_file=stack.ca)
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    assert end - start > 0.5
    during = [x for x in ticks if start + 0.1 < x < end - 0.1]
    assert len(during) > 10, f"{len(during)} ticks in {end - start:.2f} s"
