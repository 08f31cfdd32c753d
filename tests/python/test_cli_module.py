"""`python -m modelsign` is the command line."""

import subprocess
import sys

import modelsign
from conftest import run_cli


def pym(*args, **kw):
    return subprocess.run([sys.executable, "-m", "modelsign", *map(str, args)], capture_output=True,
                          text=True, **kw)


def test_python_m_modelsign_runs_the_cli(model, keypair):
    assert pym("digest", model).stdout == run_cli("digest", model).stdout
    r = pym("sign", "key", "--private-key", keypair[0], model)
    assert r.returncode == 0 and r.stdout.startswith("Signing succeeded: "), r.stderr
    assert modelsign.ModelSigner(model).verify_signature(public_key=keypair[1])
    r = pym("verify", "key", "--public-key", keypair[1], model)
    assert (r.returncode, r.stdout) == (0, "Verification succeeded\n")


def test_python_m_modelsign_exit_codes_and_messages(model):
    r = pym("sign", "key", "--private-key", "/nonexistent/key.pem", model)
    assert r.returncode == 1 and "key.pem" in r.stderr
    r = pym("frobnicate")
    assert r.returncode == 2
    r = pym("--version")
    assert r.returncode == 0 and modelsign.__version__ in r.stdout


def test_python_m_modelsign_output_to_a_closed_pipe_is_an_error(model):
    # stdout closed: the result is lost, so the command must not report success.
    r = subprocess.run(f"{sys.executable} -m modelsign digest {model} >&-", shell=True,
                       capture_output=True, text=True)
    assert r.returncode != 0
