"""Every key method through Python, and signatures crossing between Python and the CLI."""

import json
import os

import pytest

import modelsign
from conftest import run_cli


def cli_verify_ok(*args):
    assert run_cli("verify", *args).stdout == "Verification succeeded\n"


def test_pem_key_python_signature_verifies_with_the_cli(model, keypair):
    priv, pub = keypair
    r = modelsign.ModelSigner(model).sign(key=priv)
    assert r.method == "key" and r.signature_path == f"{model}.sig"
    assert r.model_hash == run_cli("digest", model).stdout.strip()
    assert sorted(r.files) == ["config.json", "model.bin", "sub/tensor.bin"]
    assert json.loads(r.bundle)["mediaType"].startswith("application/vnd.dev.sigstore.bundle")
    cli_verify_ok("key", "--public-key", pub, model)


def test_pem_key_cli_signature_verifies_in_python(model, keypair, tmp_path):
    priv, pub = keypair
    sig = tmp_path / "cli.sig"
    run_cli("sign", "key", "--private-key", priv, "--signature", sig, model)
    signer = modelsign.ModelSigner(model)
    v = signer.verify(sig, public_key=pub)
    assert v.method == "key" and v.model_hash == signer.compute_model_hash()
    assert signer.verify_signature(sig, public_key=pub) is True


def test_encrypted_pem_key_with_password(model, tmp_path):
    k = modelsign.generate_signing_key(tmp_path / "enc.pem", tmp_path / "enc.pub", key_type="ec-p384",
                                       password=bytearray(b"s3cret pass"))
    assert b"ENCRYPTED" in (tmp_path / "enc.pem").read_bytes()
    with pytest.raises(modelsign.AuthenticationError):
        modelsign.ModelSigner(model).sign(key=k.private_key)
    modelsign.ModelSigner(model).sign(key=k.private_key, password="s3cret pass")
    cli_verify_ok("key", "--public-key", k.public_key, model)


def test_key_from_the_signing_private_key_environment_variable(model, keypair, monkeypatch):
    priv, pub = keypair
    monkeypatch.setenv("SIGNING_PRIVATE_KEY", priv.read_text())
    r = modelsign.ModelSigner(model).sign(method="key")
    assert r.key == "$SIGNING_PRIVATE_KEY"
    cli_verify_ok("key", "--public-key", pub, model)


def test_certificate_python_and_cli_both_ways(model, pki, tmp_path):
    signer = modelsign.ModelSigner(model)
    r = signer.sign(method="certificate", key=pki["key"], certificate=pki["leaf"],
                    chain=[pki["intermediate"]])
    assert "modelsign test signer" in r.signer
    cli_verify_ok("certificate", "--certificate-chain", pki["root"], model)
    assert signer.verify(certificate_chain=pki["root"]).method == "certificate"
    sig = tmp_path / "cli-cert.sig"
    run_cli("sign", "certificate", "--private-key", pki["key"], "--signing-certificate", pki["leaf"],
            "--certificate-chain", pki["intermediate"], "--signature", sig, model)
    assert signer.verify_signature(sig, certificate_chain=[pki["root"]])


def test_certificate_with_an_untrusted_root_fails(model, pki, tmp_path):
    signer = modelsign.ModelSigner(model)
    signer.sign(key=pki["key"], certificate=pki["leaf"], chain=[pki["intermediate"]])
    other = tmp_path / "other-root.pem"
    os.system(f"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
              f"-subj /CN=other -keyout {tmp_path}/o.key -out {other} 2>/dev/null")
    with pytest.raises(modelsign.VerificationError):
        signer.verify(certificate_chain=other)


@pytest.mark.pkcs11
def test_softhsm_key_both_ways(model, softhsm, tmp_path):
    uri = softhsm["MODELSIGN_PKCS11_URI_EC_P256"]
    pub = softhsm["MODELSIGN_PKCS11_PUB_EC_P256"]
    signer = modelsign.ModelSigner(model)
    r = signer.sign(method="pkcs11", pkcs11_uri=uri)
    assert r.method == "pkcs11"
    cli_verify_ok("key", "--public-key", pub, model)
    cli_verify_ok("key", "--pkcs11-uri", uri, model)
    sig = tmp_path / "cli-p11.sig"
    run_cli("sign", "pkcs11-key", "--pkcs11-uri", uri, "--signature", sig, model)
    assert signer.verify(sig, public_key=pub).signer
    assert signer.verify_signature(sig, pkcs11_uri=uri)
    # The PIN as an argument instead of the URI's pin-source.
    bare = uri.split("?")[0]
    with pytest.raises(modelsign.AuthenticationError):
        signer.sign(tmp_path / "nopin.sig", pkcs11_uri=bare)
    assert not (tmp_path / "nopin.sig").exists()
    signer.sign(tmp_path / "pin.sig", pkcs11_uri=bare, pin=open(softhsm["MODELSIGN_PKCS11_PIN_FILE"]).read().strip())
    cli_verify_ok("key", "--public-key", pub, "--signature", tmp_path / "pin.sig", model)


@pytest.mark.pkcs11
def test_softhsm_certificate(model, softhsm):
    signer = modelsign.ModelSigner(model)
    signer.sign(pkcs11_uri=softhsm["MODELSIGN_PKCS11_URI_EC_P256"],
                certificate=softhsm["MODELSIGN_PKCS11_CERT_EC_P256"])
    cli_verify_ok("certificate", "--certificate-chain", softhsm["MODELSIGN_PKCS11_CA"], model)
    assert signer.verify_signature(certificate_chain=softhsm["MODELSIGN_PKCS11_CA"])


@pytest.mark.pkcs11
def test_softhsm_wrong_pin_carries_the_backend_code(model, softhsm, tmp_path):
    bare = softhsm["MODELSIGN_PKCS11_URI_EC_P256"].split("?")[0]
    with pytest.raises(modelsign.AuthenticationError) as e:
        modelsign.ModelSigner(model).sign(tmp_path / "x.sig", pkcs11_uri=bare, pin="0000")
    assert e.value.backend == "CKR_PIN_INCORRECT" and e.value.backend_code == 0xA0
    assert "0000" not in str(e.value)
    assert not (tmp_path / "x.sig").exists()


@pytest.mark.tpm2
def test_swtpm_key_both_ways(model, swtpm, tmp_path):
    pub = tmp_path / "tpm.pub"
    run_cli("keygen", "--tpm2", "--persistent", "0x81000010", "--tcti", swtpm, "--public-key", pub)
    signer = modelsign.ModelSigner(model)
    r = signer.sign(method="tpm2", tpm2_key="handle:0x81000010", tcti=swtpm)
    assert r.method == "tpm2"
    cli_verify_ok("key", "--public-key", pub, model)
    sig = tmp_path / "cli-tpm.sig"
    run_cli("sign", "tpm2-key", "--tpm2-key", "handle:0x81000010", "--tcti", swtpm, "--signature", sig, model)
    assert signer.verify(sig, public_key=pub).signer
    assert signer.verify_signature(sig, tpm2_key="handle:0x81000010", tcti=swtpm)
    assert modelsign.public_key_of("handle:0x81000010", tcti=swtpm) == pub.read_text()
