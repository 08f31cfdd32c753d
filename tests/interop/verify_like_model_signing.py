#!/usr/bin/python3
"""Independent re-implementation of model_signing v1.1's `verify key` and
`verify certificate`, for cross-checking modelsign's output.

It follows the checks model_signing performs (bundle media type, public-key
hint, ECDSA over the DSSE PAE with the curve's hash, payload/statement/
predicate types, one subject, root digest, then a files/sha256 re-hash of the
model compared with the signed resources) but shares no code with modelsign:
it runs on Debian's /usr/bin/python3 with python3-cryptography only.

Usage (flags in both spellings, like model_signing):
  verify_like_model_signing.py key --public-key PEM --signature SIG
      [--ignore-paths P]... [--no-ignore-git-paths] [--allow-symlinks]
      [--ignore-unsigned-files] MODEL_PATH
  verify_like_model_signing.py certificate --certificate-chain PEM...
      --signature SIG [same options] MODEL_PATH

Prints "Verification succeeded" (exit 0) or
"Verification failed with error: ..." on stderr (exit 1).
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import sys

from cryptography import exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
PREDICATE_TYPE_V01 = "https://model_signing/Digests/v0.1"
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
CURVE_HASH = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384,
              "secp521r1": hashes.SHA512}


class VerifyError(Exception):
    pass


# --- DSSE -------------------------------------------------------------------

def pae(payload: bytes) -> bytes:
    head = f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} "
    return head.encode() + payload


def pae_v02(payload: bytes) -> bytes:
    # v0.2.0 formatted the payload bytes object into a str ("b'...'") and
    # signed that; repr() of bytes yields exactly that rendering.
    return (f"DSSEV1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} "
            f"{payload!r}").encode("utf-8")


def ec_hash(key) -> hashes.HashAlgorithm:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise VerifyError("Only elliptic curve keys are supported")
    h = CURVE_HASH.get(key.curve.name)
    if h is None:
        raise VerifyError(f"Unsupported key for curve '{key.curve.name}'")
    return h()


def check_dsse(key, envelope: dict, v02_hash: hashes.HashAlgorithm) -> bytes:
    payload = base64.b64decode(envelope["payload"], validate=True)
    sigs = envelope.get("signatures") or []
    if not sigs:
        raise VerifyError("the DSSE envelope has no signature")
    sig = base64.b64decode(sigs[0]["sig"], validate=True)
    try:
        key.verify(sig, pae(payload), ec.ECDSA(ec_hash(key)))
    except exceptions.InvalidSignature:
        try:
            key.verify(sig, pae_v02(payload), ec.ECDSA(v02_hash))
        except exceptions.InvalidSignature:
            raise VerifyError("invalid DSSE signature") from None
    return payload


def pem_hint(key) -> str:
    pem = key.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


# --- key method -------------------------------------------------------------

def verify_key_bundle(bundle: dict, public_key_path: str) -> bytes:
    with open(public_key_path, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    ec_hash(key)
    material = bundle["verificationMaterial"]
    if "publicKey" not in material:
        raise VerifyError("the bundle carries no publicKey (not a key signature)")
    hint = material["publicKey"].get("hint")
    if hint:
        if hint != pem_hint(key):
            raise VerifyError(
                "Key mismatch: The public key hash in the signature's "
                "verification material does not match the provided public key.")
    else:
        print("WARNING: This model's signature uses an older verification "
              "material format. Please re-sign with an updated signer to use "
              "a public key identifier hash.")
    return check_dsse(key, bundle["dsseEnvelope"], ec_hash(key))


# --- certificate method -----------------------------------------------------

PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                      re.DOTALL)


def load_pem_certs(paths) -> list:
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out += [x509.load_pem_x509_certificate(m.group(0))
                    for m in PEM_CERT.finditer(f.read())]
    return out


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except (exceptions.InvalidSignature, ValueError, TypeError):
        return False
    return True


def ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def build_chain(leaf, untrusted, anchors) -> list:
    """Leaf first, ending at a self-signed trust anchor; no partial chains."""
    der = lambda c: c.public_bytes(serialization.Encoding.DER)  # noqa: E731
    anchor_ders = {der(a) for a in anchors}
    path = [leaf]
    while len(path) < 10:
        cur = path[-1]
        if der(cur) in anchor_ders and signed_by(cur, cur):
            return path
        # Trusted issuers are preferred, as OpenSSL does.
        for cand in list(anchors) + list(untrusted):
            if all(der(cand) != der(c) for c in path) and signed_by(cur, cand):
                path.append(cand)
                break
        else:
            raise VerifyError(
                f"certificate chain does not reach a self-signed trust anchor "
                f"(stuck at {cur.subject.rfc4514_string()})")
    raise VerifyError("certificate chain too long")


def check_chain(path: list, at: datetime.datetime) -> None:
    for i, cert in enumerate(path):
        if not cert.not_valid_before <= at <= cert.not_valid_after:
            raise VerifyError(f"certificate {cert.subject.rfc4514_string()} is "
                              f"not valid at {at}")
        for e in cert.extensions:
            if e.critical and isinstance(e.value, x509.UnrecognizedExtension):
                raise VerifyError(f"unhandled critical extension {e.oid}")
        if i == 0:
            continue
        bc = ext(cert, x509.BasicConstraints)
        if bc is None or not bc.ca:
            raise VerifyError(f"issuer {cert.subject.rfc4514_string()} is not a CA")
        # CA certificates below this one, the leaf excluded.
        if bc.path_length is not None and i - 1 > bc.path_length:
            raise VerifyError(f"path length exceeded at {cert.subject.rfc4514_string()}")
        ku = ext(cert, x509.KeyUsage)
        if ku is not None and not ku.key_cert_sign:
            raise VerifyError(f"issuer {cert.subject.rfc4514_string()} lacks keyCertSign")


def verify_certificate_bundle(bundle: dict, chain_paths) -> bytes:
    material = bundle["verificationMaterial"]
    if "x509CertificateChain" not in material:
        raise VerifyError("the bundle carries no x509CertificateChain")
    certs = [x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
             for c in material["x509CertificateChain"]["certificates"]]
    if not certs:
        raise VerifyError("the bundle holds no certificate")
    leaf = certs[0]
    path = build_chain(leaf, certs[1:], load_pem_certs(chain_paths))
    # model_signing evaluates the chain at the leaf's notBefore.
    check_chain(path, leaf.not_valid_before)
    ku = ext(leaf, x509.KeyUsage)
    eku = ext(leaf, x509.ExtendedKeyUsage)
    if not ((ku is not None and ku.digital_signature) or
            (eku is not None and ExtendedKeyUsageOID.CODE_SIGNING in eku)):
        raise VerifyError("Signing certificate cannot be used for signing")
    # v0.2 signed certificate bundles with SHA-256 whatever the curve.
    return check_dsse(leaf.public_key(), bundle["dsseEnvelope"], hashes.SHA256())


# --- statement --------------------------------------------------------------

def signed_resources(payload: bytes) -> tuple:
    """Returns ({name: (algorithm, digest bytes)}, recorded ignore_paths)."""
    st = json.loads(payload)
    if st["_type"] != STATEMENT_TYPE:
        raise VerifyError(f"Expected in-toto {STATEMENT_TYPE} payload, but got {st['_type']}")
    if st["predicateType"] == PREDICATE_TYPE_V01:
        return ({s["name"]: ("sha256", bytes.fromhex(s["digest"]["sha256"]))
                 for s in st["subject"]}, [])
    if st["predicateType"] != PREDICATE_TYPE:
        raise VerifyError(f"Predicate type mismatch, expected {PREDICATE_TYPE}, "
                          f"got {st['predicateType']}")
    if len(st["subject"]) != 1:
        raise VerifyError(f"Expected only one subject, got {st['subject']}")
    predicate = st["predicate"]
    root = hashlib.sha256()
    resources = {}
    for r in predicate["resources"]:
        digest = bytes.fromhex(r["digest"])
        root.update(digest)
        resources[r["name"]] = (r["algorithm"], digest)
    expected = st["subject"][0]["digest"]["sha256"]
    if root.hexdigest() != expected:
        raise VerifyError(f"Manifest is inconsistent. Root digest is {expected}, "
                          f"but the included resources hash to {root.hexdigest()}")
    serialization_args = predicate["serialization"]
    if serialization_args["method"] != "files" or serialization_args["hash_type"] != "sha256":
        raise VerifyError("only files/sha256 signatures verify with the model_signing CLI")
    return resources, serialization_args.get("ignore_paths", [])


# --- model hashing (files / sha256) -----------------------------------------

def parts(rel: str) -> tuple:
    return tuple(p for p in rel.split("/") if p not in ("", "."))


def is_ignored(rel: str, ignores) -> bool:
    p = parts(rel)
    return any(p[:len(i)] == i for i in ignores)


def sha256_file(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def check_entry(path: str, allow_symlinks: bool) -> None:
    if not allow_symlinks and os.path.islink(path):
        raise VerifyError(f"Cannot use '{path}' because it is a symlink.")
    if not (os.path.isfile(path) or os.path.isdir(path)):
        raise VerifyError(f"Cannot use '{path}' as file or directory.")


def hash_model(model: str, ignores, allow_symlinks: bool, only=None) -> dict:
    out = {}
    if only is not None:
        # --ignore-unsigned-files: only the signed names are looked at, so a changed or
        # missing one still fails and extra files are not seen. As model_signing's
        # check_path_within_model (after v1.1.1), no directory on a listed path may be a
        # symlink.
        for name in only:
            full = model if name == "." else os.path.join(model, name)
            if is_ignored(name, ignores):
                continue
            comps = parts(name)
            for i in range(1, len(comps)):
                d = os.path.join(model, *comps[:i])
                if os.path.islink(d):
                    raise VerifyError(f"Cannot use '{d}' because it is a symlink.")
            check_entry(full, allow_symlinks)
            if os.path.isfile(full):
                out[name] = ("sha256", sha256_file(full))
        return out
    check_entry(model, allow_symlinks)
    if os.path.isfile(model):
        return {".": ("sha256", sha256_file(model))}
    for top, dirs, files in os.walk(model, followlinks=False):
        rel_top = os.path.relpath(top, model)
        kept = []
        for d in dirs:
            rel = os.path.normpath(os.path.join(rel_top, d))
            if is_ignored(rel, ignores):
                continue
            check_entry(os.path.join(top, d), allow_symlinks)
            # A symlinked directory is not descended into (as glob("**/*")).
            if not os.path.islink(os.path.join(top, d)):
                kept.append(d)
        dirs[:] = kept
        for name in files:
            rel = os.path.normpath(os.path.join(rel_top, name))
            if is_ignored(rel, ignores):
                continue
            full = os.path.join(top, name)
            check_entry(full, allow_symlinks)
            if os.path.isfile(full):
                out[rel] = ("sha256", sha256_file(full))
    return out


def cli_relative(path: str, model: str):
    """Like model_signing's CLI: resolve, then relative to the resolved model."""
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(model))
    return None if rel == ".." or rel.startswith("../") else parts(rel)


def compare(signed: dict, actual: dict, model: str, ignore_unsigned: bool) -> None:
    name = os.path.basename(os.path.normpath(model))
    diffs = []
    extra = sorted(set(actual) - set(signed))
    missing = sorted(set(signed) - set(actual))
    if extra and not ignore_unsigned:
        diffs.append(f"Extra files found in model '{name}': {', '.join(extra)}")
    if missing:
        diffs.append(f"Missing files in model '{name}': {', '.join(missing)}")
    for n in sorted(set(signed) & set(actual)):
        if signed[n] != actual[n]:
            diffs.append(f"Hash mismatch for '{n}': Expected '{signed[n][1].hex()}', "
                         f"Actual '{actual[n][1].hex()}'")
    if diffs:
        raise VerifyError(f"Signature mismatch: {diffs}")


# --- command line -----------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="method", required=True)

    def common(p):
        p.add_argument("model_path")
        p.add_argument("--signature", required=True)
        p.add_argument("--ignore-paths", "--ignore_paths", action="append", default=[])
        p.add_argument("--no-ignore-git-paths", "--no_ignore_git_paths",
                       dest="ignore_git_paths", action="store_false")
        p.add_argument("--allow-symlinks", "--allow_symlinks", action="store_true")
        p.add_argument("--ignore-unsigned-files", "--ignore_unsigned_files",
                       action="store_true")

    k = sub.add_parser("key")
    common(k)
    k.add_argument("--public-key", "--public_key", required=True)
    c = sub.add_parser("certificate")
    common(c)
    c.add_argument("--certificate-chain", "--certificate_chain", action="append",
                   required=True)
    return ap.parse_args(argv)


def verify(args) -> None:
    with open(args.signature, encoding="utf-8") as f:
        bundle = json.load(f)
    if bundle.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise VerifyError(f"Invalid sigstore bundle, got media type "
                          f"{bundle.get('mediaType')} but expected {BUNDLE_MEDIA_TYPE}")
    if args.method == "key":
        payload = verify_key_bundle(bundle, args.public_key)
    else:
        payload = verify_certificate_bundle(bundle, args.certificate_chain)
    if bundle["dsseEnvelope"]["payloadType"] != PAYLOAD_TYPE:
        raise VerifyError(f"Expected DSSE payload {PAYLOAD_TYPE}, but got "
                          f"{bundle['dsseEnvelope']['payloadType']}")
    signed, recorded_ignores = signed_resources(payload)

    model = args.model_path
    ignores = set()
    for p in args.ignore_paths + [args.signature]:
        rel = cli_relative(p, model)
        if rel is not None:
            ignores.add(rel)
    if args.ignore_git_paths:
        ignores.update((g,) for g in GIT_PATHS)
    for p in recorded_ignores:
        rel = os.path.normpath(p)
        if not (rel == ".." or rel.startswith("../") or os.path.isabs(rel)):
            ignores.add(parts(rel))
    ignores.discard(())  # "." would ignore the whole model
    only = list(signed) if args.ignore_unsigned_files else None
    actual = hash_model(model, ignores, args.allow_symlinks, only)
    compare(signed, actual, model, args.ignore_unsigned_files)


def main(argv) -> int:
    args = parse_args(argv)
    try:
        verify(args)
    except (VerifyError, ValueError, KeyError, TypeError, OSError) as e:
        msg = str(e) if isinstance(e, VerifyError) else f"{type(e).__name__}: {e}"
        print(f"Verification failed with error: {msg}", file=sys.stderr)
        return 1
    print("Verification succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
