"""Failures give the documented exceptions with useful content, never a crash."""

import os
import pathlib

import pytest

import modelsign
from modelsign import ModelSigner


@pytest.fixture
def signed(model, keypair):
    priv, pub = keypair
    ModelSigner(model).sign(key=priv)
    return model, pub


def test_wrong_key_is_a_verification_error(signed, tmp_path):
    model, _ = signed
    other = modelsign.generate_signing_key(tmp_path / "o.pem", tmp_path / "o.pub")
    with pytest.raises(modelsign.VerificationError) as e:
        ModelSigner(model).verify(public_key=other.public_key)
    assert e.value.code == "verification"
    assert e.value.missing == e.value.extra == e.value.changed == []
    assert ModelSigner(model).verify_signature(public_key=other.public_key) is False


def test_tampered_model_lists_changed_missing_and_extra_files(signed):
    model, pub = signed
    (model / "model.bin").write_bytes(b"tampered")
    (model / "config.json").unlink()
    (model / "new.txt").write_text("extra")
    with pytest.raises(modelsign.VerificationError) as e:
        ModelSigner(model).verify(public_key=pub)
    err = e.value
    assert err.code == "mismatch"
    assert err.changed == ["model.bin"]
    assert err.missing == ["config.json"]
    assert err.extra == ["new.txt"]
    assert "model.bin" in str(err)
    assert ModelSigner(model).verify_signature(public_key=pub) is False


def test_missing_model(tmp_path, keypair):
    missing = tmp_path / "nope"
    for call in (lambda s: s.compute_model_hash(), lambda s: s.sign(key=keypair[0]),
                 lambda s: s.verify(tmp_path / "x.sig", public_key=keypair[1])):
        with pytest.raises(modelsign.NotFoundError) as e:
            call(ModelSigner(missing))
        assert isinstance(e.value, FileNotFoundError) and "nope" in str(e.value)


def test_missing_signature_raises_rather_than_returning_false(model, keypair):
    with pytest.raises(modelsign.NotFoundError, match="signature file"):
        ModelSigner(model).verify_signature(public_key=keypair[1])


def test_malformed_signature_is_a_verification_failure(model, keypair, tmp_path):
    sig = tmp_path / "bad.sig"
    sig.write_text('{"mediaType": 1')
    with pytest.raises(modelsign.MalformedSignatureError):
        ModelSigner(model).verify(sig, public_key=keypair[1])
    assert ModelSigner(model).verify_signature(sig, public_key=keypair[1]) is False


def test_missing_and_wrong_keys(model, keypair, tmp_path):
    with pytest.raises(modelsign.NotFoundError):
        ModelSigner(model).sign(key=tmp_path / "absent.pem")
    with pytest.raises(modelsign.Error) as e:
        ModelSigner(model).sign(key=keypair[1])  # a public key
    assert "public key" in str(e.value)
    assert not pathlib.Path(f"{model}.sig").exists()
    with pytest.raises(modelsign.NotFoundError):
        ModelSigner(model).verify(public_key=tmp_path / "absent.pub")


def test_no_private_key_anywhere(model, monkeypatch):
    monkeypatch.delenv("SIGNING_PRIVATE_KEY", raising=False)
    with pytest.raises(modelsign.NotFoundError, match="SIGNING_PRIVATE_KEY"):
        ModelSigner(model).sign(method="key")


@pytest.mark.parametrize("kwargs", [
    {"ignore_paths": 5}, {"ignore_git_paths": "yes"}, {"allow_symlinks": 1}, {"threads": "4"},
    {"threads": 0}, {"threads": True}])
def test_bad_constructor_arguments(model, kwargs):
    with pytest.raises(modelsign.ArgumentError) as e:
        ModelSigner(model, **kwargs)
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)


@pytest.mark.parametrize("bad", [None, 42, b"bytes", ""])
def test_bad_model_path(bad):
    with pytest.raises(modelsign.ArgumentError):
        ModelSigner(bad)


@pytest.mark.parametrize("kwargs", [
    {"method": "magic"}, {"method": 3}, {"key": 5}, {"key": "k.pem", "password": 1234},
    {"method": "pkcs11", "pkcs11_uri": "token=x"}, {"method": "pkcs11"}, {"method": "tpm2"},
    {"key": "a", "pkcs11_uri": "pkcs11:x"}, {"method": "certificate", "key": "k.pem"},
    {"key": "k.pem", "progress": 3}, {"key": "k.pem", "chain": ["c.pem"]},
    {"method": "key", "key": "k.pem", "certificate": "c.pem"}])
def test_bad_sign_arguments(model, kwargs):
    with pytest.raises(modelsign.ArgumentError):
        ModelSigner(model).sign(**kwargs)
    assert not pathlib.Path(f"{model}.sig").exists()


def test_bad_verify_arguments(signed, tmp_path, monkeypatch):
    model, pub = signed
    with pytest.raises(modelsign.ArgumentError):
        ModelSigner(model).verify(public_key=pub, certificate_chain=pub)
    with pytest.raises(modelsign.ArgumentError):
        ModelSigner(model).verify(public_key=pub, strict_ignored="no")
    with pytest.raises(TypeError):
        ModelSigner(model).verify(public_key=pub, no_such_option=1)
    monkeypatch.chdir(tmp_path)  # no keys/signing_key.pub here
    with pytest.raises(modelsign.ArgumentError, match="no verification material"):
        ModelSigner(model).verify()


def test_no_method_in_the_environment_raises_not_found(model, keypair, monkeypatch):
    for name in ("SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                 "SIGNING_PRIVATE_KEY", "MODELSIGN_AUDIT_LOG", "GITHUB_OUTPUT", "MODELSIGN_K8S_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for kwargs in ({"method": "auto"}, {}):
        with pytest.raises(modelsign.NotFoundError, match="no signing method available"):
            ModelSigner(model).sign(**kwargs)
    with pytest.raises(modelsign.NotFoundError, match="No OIDC token available"):
        modelsign.sign_trained_model(model)
    with pytest.raises(modelsign.AuthenticationError, match="No OIDC token available"):
        ModelSigner(model).sign(method="sigstore", trust_config=keypair[1])
    assert not pathlib.Path(f"{model}.sig").exists()
    # method="auto" with a key argument signs with that key.
    assert modelsign.sign_trained_model(model, ci_mode=False, key=keypair[0]).startswith("sha256:")


def test_unwritable_signature_location_fails_before_hashing(model, keypair, tmp_path):
    with pytest.raises(modelsign.Error) as e:
        ModelSigner(model).sign(tmp_path / "no-dir" / "m.sig", key=keypair[0])
    assert "no-dir" in str(e.value)


def test_generate_signing_key_never_overwrites(tmp_path):
    k = modelsign.generate_signing_key(tmp_path / "a.pem", tmp_path / "a.pub")
    before = pathlib.Path(k.private_key).read_bytes()
    with pytest.raises(modelsign.ArgumentError, match="overwrite"):
        modelsign.generate_signing_key(tmp_path / "a.pem", tmp_path / "b.pub")
    assert pathlib.Path(k.private_key).read_bytes() == before
    with pytest.raises(modelsign.UnsupportedError):
        modelsign.generate_signing_key(tmp_path / "r.pem", tmp_path / "r.pub", key_type="rsa-2048")
    with pytest.raises(modelsign.ArgumentError):
        modelsign.generate_signing_key(tmp_path / "x.pem", tmp_path / "x.pub", key_type="dsa")


def test_exceptions_form_one_hierarchy():
    for cls in (modelsign.ArgumentError, modelsign.NotFoundError, modelsign.UnsupportedError,
                modelsign.KeyProviderError, modelsign.AuthenticationError, modelsign.VerificationError,
                modelsign.MalformedSignatureError, modelsign.HashingError):
        assert issubclass(cls, modelsign.Error)
