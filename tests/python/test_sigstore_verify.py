"""Keyless (Sigstore) verification from Python, offline, on the upstream fixtures signed
on a Sigstore instance; keyless signing from Python is in test_keyless.py."""

import pytest

import modelsign
from conftest import SOURCE_DIR

FIX = SOURCE_DIR / "tests" / "testdata" / "model-transparency" / "scripts" / "tests"
PROD_ROOT = SOURCE_DIR / "tests" / "testdata" / "sigstore" / "trusted_root.production.json"
ID = "stefanb@us.ibm.com"
ISSUER = "https://sigstore.verify.ibm.com/oauth2"


def signer(version):
    d = FIX / f"{version}-sigstore"
    ignore = [d / "ignore-me"] if (d / "ignore-me").exists() else []
    return modelsign.ModelSigner(d, ignore_paths=ignore), d / "model.sig"


@pytest.mark.parametrize("version", ["v0.3.1", "v1.0.0", "v1.1.0"])
def test_upstream_keyless_signatures_verify_with_the_built_in_root(version):
    s, sig = signer(version)
    r = s.verify(sig, identity=ID, identity_provider=ISSUER)
    assert r.method == "sigstore" and r.signer == ID
    assert r.sigstore["identity"] == ID and r.sigstore["issuer"] == ISSUER
    assert r.sigstore["signing_time"] > 1_600_000_000


def test_trusted_root_file_and_identity_regex():
    s, sig = signer("v1.1.0")
    r = s.verify(sig, identity=r"stefanb@.*\.ibm\.com", identity_regex=True, identity_provider=ISSUER,
                 trusted_root=PROD_ROOT)
    assert r.sigstore["trusted_root"] == str(PROD_ROOT)


def test_other_identity_or_root_fails():
    s, sig = signer("v1.1.0")
    with pytest.raises(modelsign.VerificationError, match="identity mismatch"):
        s.verify(sig, identity="alice@example.com", identity_provider=ISSUER)
    assert s.verify_signature(sig, identity=ID, identity_provider="https://accounts.google.com") is False
    assert s.verify_signature(sig, identity=ID, identity_provider=ISSUER, use_staging=True) is False
    with pytest.raises(modelsign.ArgumentError):
        s.verify(sig, identity=ID)  # no identity_provider
    with pytest.raises(modelsign.NotFoundError):
        s.verify(sig, identity=ID, identity_provider=ISSUER, trusted_root=FIX / "absent.json")
