"""Hashing from Python: progress, cancellation (KeyboardInterrupt), the interpreter lock,
and the digest against the CLI's."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import modelsign
from modelsign import ModelSigner
from conftest import run_cli

BIG = 1 << 30  # a sparse file: half a second or more to hash (SHA-256 is at most ~2 GB/s a core), no disk


@pytest.fixture
def big_model(tmp_path):
    m = tmp_path / "big"
    m.mkdir()
    with open(m / "weights.bin", "wb") as f:
        f.truncate(BIG)
    (m / "config.json").write_text("{}")
    return m


def leftovers(directory):
    return [n for n in os.listdir(directory) if n.startswith(".modelsign-") or n.endswith(".sig")]


def test_digest_equals_the_cli_with_options(model, tmp_path, monkeypatch):
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_text("ref")
    (model / "notes.txt").write_text("not signed")
    monkeypatch.chdir(model.parent)
    for kwargs, flags in (({}, []), ({"ignore_git_paths": False}, ["--no-ignore-git-paths"]),
                          ({"ignore_paths": [f"{model.name}/notes.txt"]},
                           ["--ignore-paths", f"{model.name}/notes.txt"]),
                          ({"threads": 1}, ["--threads", "1"])):
        assert ModelSigner(model.name, **kwargs).compute_model_hash() + "\n" == \
            run_cli("digest", *flags, model.name).stdout


def test_manifest_lists_every_file_with_its_digest(model):
    m = ModelSigner(model).generate_model_manifest()
    assert m["model_name"] == "model"
    assert [f["name"] for f in m["files"]] == ["config.json", "model.bin", "sub/tensor.bin"]
    import hashlib
    assert m["files"][1]["digest"] == "sha256:" + hashlib.sha256((model / "model.bin").read_bytes()).hexdigest()
    assert m["serialization"]["method"] == "files" and m["serialization"]["hash_type"] == "sha256"


def test_progress_reaches_the_total(big_model):
    seen = []
    h = ModelSigner(big_model, threads=1).compute_model_hash(progress=lambda d, t: seen.append((d, t)))
    assert h.startswith("sha256:")
    assert seen[-1] == (BIG + 2, BIG + 2)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert len(seen) >= 2  # at least one report while hashing, and the final one


def test_keyboard_interrupt_while_signing_leaves_no_signature(big_model, keypair):
    calls = []

    def interrupt(done, total):
        calls.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ModelSigner(big_model, threads=1).sign(key=keypair[0], progress=interrupt)
    assert calls[0] < BIG  # interrupted while hashing, not after
    assert leftovers(big_model.parent) == []


def test_an_exception_from_the_progress_callback_cancels_and_propagates(big_model):
    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop()

    with pytest.raises(Stop):
        ModelSigner(big_model, threads=1).compute_model_hash(progress=stop)


def test_sigint_stops_a_signing_process_without_a_partial_signature(big_model, keypair):
    script = textwrap.dedent(f"""
        import sys, modelsign
        started = []
        def progress(done, total):
            if not started:
                started.append(1)
                print("started", flush=True)
        modelsign.ModelSigner({str(big_model)!r}, threads=1).sign(key={str(keypair[0])!r},
                                                                  progress=progress)
        print("finished", flush=True)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline() == "started\n"
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode != 0 and "KeyboardInterrupt" in err, err
    assert "finished" not in out
    assert time.monotonic() - t0 < 5
    assert leftovers(big_model.parent) == []


def test_hashing_releases_the_interpreter_lock(big_model):
    signer = ModelSigner(big_model, threads=1)
    t = threading.Thread(target=signer.compute_model_hash)
    t.start()
    spins = 0
    while t.is_alive():
        spins += 1
    t.join()
    assert spins > 1000  # this thread ran Python code the whole time the hash was computed


def test_python_signatures_made_in_threads_at_once(model, keypair, tmp_path):
    errors = []

    def sign(i):
        try:
            ModelSigner(model).sign(tmp_path / f"{i}.sig", key=keypair[0])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=sign, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(4):
        assert ModelSigner(model).verify_signature(tmp_path / f"{i}.sig", public_key=keypair[1])


def test_library_warnings_reach_the_modelsign_logger(model, caplog, monkeypatch):
    monkeypatch.chdir(model.parent)
    with caplog.at_level("WARNING", logger="modelsign"):
        ModelSigner(model.name, ignore_paths=["notes-that-do-not-exist.txt"]).compute_model_hash()
    [rec] = [r for r in caplog.records if r.name == "modelsign"]
    assert rec.levelname == "WARNING" and "matches nothing" in rec.getMessage()
    caplog.clear()
    with caplog.at_level("ERROR", logger="modelsign"):
        ModelSigner(model.name, ignore_paths=["notes-that-do-not-exist.txt"]).compute_model_hash()
    assert [r for r in caplog.records if r.name == "modelsign"] == []
