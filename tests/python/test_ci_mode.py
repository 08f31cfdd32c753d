"""method="auto" without a key argument and sign_trained_model(ci_mode=True): the method
from the environment and the CI outputs and audit log, compared with what `modelsign sign
MODEL_PATH` does in the same environment. Keyless cases need the Sigstore stack
(test_keyless.py)."""

import json
import logging
import os

import pytest

import modelsign
from conftest import make_model, run_cli

# Everything the method choice and the CI outputs read: cleared so that the job running
# the tests (a real GitHub Actions runner, say) does not leak into them.
CI_ENV = ("SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
          "SIGNING_PRIVATE_KEY", "GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
          "MODELSIGN_AUDIT_LOG", "MODELSIGN_CI_DOTENV", "MODELSIGN_K8S_TOKEN_FILE")


@pytest.fixture
def clean_env(monkeypatch):
    for name in CI_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def cli_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CI_ENV}
    env.update(extra)
    return env


def test_auto_without_any_method_raises_the_cli_error(model, clean_env):
    with pytest.raises(modelsign.NotFoundError) as e:
        modelsign.ModelSigner(model).sign()
    assert e.value.code == "not-found"
    assert "No OIDC token available: SIGSTORE_ID_TOKEN is not set" in e.value.message
    assert "Private key not found" in e.value.message
    # The command line prints the same text.
    p = run_cli("sign", model, check=False, env=cli_env())
    assert p.returncode == 2
    assert f"Error: {e.value.message}\n" in p.stderr
    assert not os.path.exists(f"{model}.sig")
    with pytest.raises(modelsign.NotFoundError, match="no signing method available"):
        modelsign.sign_trained_model(model)
    assert not os.path.exists(f"{model}.sig")


def test_auto_picks_the_key_in_signing_private_key_and_says_why(model, keypair, clean_env, caplog):
    clean_env.setenv("SIGNING_PRIVATE_KEY", keypair[0].read_text())
    with caplog.at_level(logging.INFO, logger="modelsign"):
        r = modelsign.ModelSigner(model).sign()
    assert r.method == "key"
    assert r.method_reason == "no OIDC identity is available, and SIGNING_PRIVATE_KEY holds a private key"
    assert ("modelsign", logging.INFO,
            f"signing method: key ({r.method_reason})") in caplog.record_tuples
    assert modelsign.ModelSigner(model).verify(public_key=keypair[1]).signer == r.signer


def test_auto_with_keyless_arguments_but_a_key_chosen_is_an_argument_error(model, keypair, clean_env):
    clean_env.setenv("SIGNING_PRIVATE_KEY", keypair[0].read_text())
    with pytest.raises(modelsign.ArgumentError, match="ca_file apply to keyless signing"):
        modelsign.ModelSigner(model).sign(ca_file="ca.pem")
    assert not os.path.exists(f"{model}.sig")


def _ci_files(d):
    d.mkdir()
    files = {"GITHUB_OUTPUT": d / "out", "GITHUB_STEP_SUMMARY": d / "summary",
             "MODELSIGN_AUDIT_LOG": d / "audit.log", "MODELSIGN_CI_DOTENV": d / "dotenv"}
    for f in list(files.values())[:2]:
        f.write_text("")
    return {k: str(v) for k, v in files.items()}


def _audit_fields(path):
    line = json.loads(open(path).read().splitlines()[-1])
    for volatile in ("time", "seq", "prev", "host", "ci"):
        line.pop(volatile, None)
    return line


def test_ci_mode_writes_the_outputs_and_audit_line_of_the_cli(tmp_path, keypair, clean_env):
    model = make_model(tmp_path / "m")
    key = keypair[0].read_text()
    cli = _ci_files(tmp_path / "cli")
    py = _ci_files(tmp_path / "py")
    common = {"SIGNING_PRIVATE_KEY": key, "GITLAB_CI": "true", "GITHUB_ACTIONS": "true", "CI": "true"}
    run_cli("sign", model, env=cli_env(**common, **cli))
    cli_sig = (tmp_path / "m.sig").read_text()
    (tmp_path / "m.sig").unlink()
    for k, v in {**common, **py}.items():
        clean_env.setenv(k, v)
    h = modelsign.sign_trained_model(model)
    assert h == run_cli("digest", model).stdout.strip()
    assert (tmp_path / "m.sig").exists()
    # The same text in every CI file (same key, same model, same path).
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "MODELSIGN_CI_DOTENV"):
        assert open(py[name]).read() == open(cli[name]).read(), name
    out = open(py["GITHUB_OUTPUT"]).read().splitlines()
    assert [line.split("=", 1)[0] for line in out] == ["model_hash", "signature_path", "method", "signer"]
    assert f"model_hash={h}" in out and "method=key" in out
    assert json.loads(cli_sig)["verificationMaterial"] == json.loads(
        (tmp_path / "m.sig").read_text())["verificationMaterial"]
    # The audit line: the same facts, and a chain `modelsign audit verify` accepts.
    assert _audit_fields(py["MODELSIGN_AUDIT_LOG"]) == _audit_fields(cli["MODELSIGN_AUDIT_LOG"])
    run_cli("audit", "verify", py["MODELSIGN_AUDIT_LOG"])


def test_ci_mode_records_a_failure_as_the_cli_does(tmp_path, clean_env):
    model = make_model(tmp_path / "m")
    cli = _ci_files(tmp_path / "cli")
    py = _ci_files(tmp_path / "py")
    p = run_cli("sign", model, check=False, env=cli_env(**cli))
    assert p.returncode == 2
    for k, v in py.items():
        clean_env.setenv(k, v)
    with pytest.raises(modelsign.NotFoundError):
        modelsign.sign_trained_model(model)
    line = _audit_fields(py["MODELSIGN_AUDIT_LOG"])
    assert line == _audit_fields(cli["MODELSIGN_AUDIT_LOG"])
    assert line["result"] == "failure" and "no signing method available" in line["error"]
    assert open(py["GITHUB_OUTPUT"]).read() == ""  # outputs only after success
    # A key that does not open: the failure is recorded with the method chosen.
    clean_env.setenv("SIGNING_PRIVATE_KEY", "not a key")
    with pytest.raises(modelsign.Error):
        modelsign.sign_trained_model(model)
    line = _audit_fields(py["MODELSIGN_AUDIT_LOG"])
    assert line["result"] == "failure" and line["method"] == "key"
    assert not (tmp_path / "m.sig").exists()
    run_cli("audit", "verify", py["MODELSIGN_AUDIT_LOG"])


def test_ci_mode_with_a_key_argument_and_an_explicit_audit_log(tmp_path, keypair, clean_env):
    model = make_model(tmp_path / "m")
    log = tmp_path / "explicit.log"
    out = tmp_path / "out"
    out.write_text("")
    clean_env.setenv("GITHUB_OUTPUT", str(out))
    h = modelsign.sign_trained_model(model, key=keypair[0], audit_log=log, threads=2)
    assert f"model_hash={h}\n" in out.read_text()
    assert json.loads(log.read_text())["method_reason"] == "key= was given"
    with pytest.raises(modelsign.ArgumentError):
        modelsign.sign_trained_model(model, ci_mode=False, key=keypair[0], audit_log=log)
    with pytest.raises(TypeError):
        modelsign.sign_trained_model(model, key=keypair[0], no_such_option=1)
