#!/usr/bin/python3
"""docs/ci.md's troubleshooting section shows the messages modelsign really prints.

Each case provokes one of the four common failures (no OIDC token, private key not found,
signature verification failed, modelsign not installed) and checks that the message the
section quotes for it matches what modelsign (or the shipped template) printed. In a quoted
message, "…" stands for any text, a trailing "..." for the rest of the message, and a
number for any number.

Usage: troubleshooting_test.py SOURCE_DIR MODELSIGN
"""
import base64
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import yaml

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SRC, MODELSIGN = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
failures = []


def check(what, cond, detail=""):
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" ({detail})"))
    if not cond:
        failures.append(what)


def troubleshooting_section():
    text = open(os.path.join(SRC, "docs", "ci.md")).read()
    start = text.index("\n## Troubleshooting\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


SECTION = troubleshooting_section()
# The quoted messages: inline code spans and the lines of fenced blocks.
QUOTED = re.findall(r"`([^`\n]+)`", re.sub(r"```[^\n]*\n(.*?)```", "", SECTION, flags=re.S)) + [
    line for block in re.findall(r"```[^\n]*\n(.*?)```", SECTION, flags=re.S) for line in block.splitlines()]


def pattern(quoted):
    """A quoted message as a regular expression: … any text, a trailing ... the rest, digits any number."""
    rest = quoted.endswith("...")
    body = quoted[:-3].rstrip() if rest else quoted
    parts = []
    for piece in re.split(r"(…|\d+)", body):
        parts.append(".*?" if piece == "…" else r"\d+" if piece.isdigit() else re.escape(piece))
    return "".join(parts) + (".*" if rest else "")


def documented(case, prefix, printed):
    """The section quotes a message starting with `prefix`, and it matches what was printed."""
    quoted = [q for q in QUOTED if q.startswith(prefix)]
    check(f"{case}: docs/ci.md quotes a message starting with '{prefix}'", len(quoted) == 1, (quoted, printed))
    if len(quoted) == 1:
        check(f"{case}: the quoted message is the one printed", re.search(pattern(quoted[0]), printed) is not None,
              f"quoted: {quoted[0]!r}\nprinted: {printed!r}")


W = tempfile.mkdtemp(prefix="troubleshooting-")
CLEAN = {"PATH": os.path.dirname(MODELSIGN) + ":/usr/bin:/bin", "HOME": W}


def run(args, env=None, cwd=W, argv0=MODELSIGN):
    r = subprocess.run([argv0] + args, env=dict(CLEAN, **(env or {})), cwd=cwd, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr.strip()


def write_key(path, key, mode=0o600):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path, mode)


def certificate(subject, key, issuer, issuer_key, not_before, not_after, ca):
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


try:
    os.makedirs(os.path.join(W, "model"))
    with open(os.path.join(W, "model", "a.txt"), "w") as f:
        f.write("weights\n")
    key = ec.generate_private_key(ec.SECP256R1())
    write_key(os.path.join(W, "k.pem"), key)
    other = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(W, "other.pub"), "wb") as f:
        f.write(other.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))

    # ---- "No OIDC token available" ----
    # A private deployment whose services are down (a closed port): no network is used, and
    # an unreachable Sigstore is one of the failures to show.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    url = "https://127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    trust = os.path.join(W, "trust_config.json")
    since = {"start": "2020-01-01T00:00:00Z"}
    with open(trust, "w") as f:
        json.dump({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
                   "trustedRoot": json.load(open(os.path.join(SRC, "src", "root", "builtin",
                                                              "trusted_root.production.json"))),
                   "signingConfig": {
                       "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                       "caUrls": [{"url": url, "majorApiVersion": 1, "validFor": since}], "oidcUrls": [],
                       "rekorTlogUrls": [{"url": url, "majorApiVersion": 1, "validFor": since}], "tsaUrls": [],
                       "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"}}}, f)
    rc, err = run(["sign", "model"], {"GITHUB_ACTIONS": "true"})
    check("no method: exit 2", rc == 2, err)
    documented("no method", "Error: no signing method available.", err)
    rc, err = run(["sign", "sigstore", "--trust-config", trust, "model"], {"GITHUB_ACTIONS": "true"})
    check("sign sigstore without a token: exit 1", rc == 1, err)
    documented("sign sigstore without a token", "Signing failed with error: No OIDC token available.", err)

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    now_s = int(time.time())
    token = ".".join([b64({"alg": "ES256", "typ": "JWT"}),
                      b64({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:octo/model",
                           "aud": "sigstore", "iat": now_s, "exp": now_s + 600}), "c2lnbmF0dXJl"])
    rc, err = run(["sign", "sigstore", "--trust-config", trust, "model"], {"SIGSTORE_ID_TOKEN": token})
    check("Sigstore unreachable: exit 1", rc == 1, err)
    documented("Sigstore unreachable", "Signing failed with error: Fulcio at", err)

    # ---- "Private key not found" ----
    rc, err = run(["sign", "key", "model"])
    check("no key: exit 2", rc == 2, err)
    documented("no key", "Error: Private key not found:", err)
    rc, err = run(["sign", "key", "model"], {"SIGNING_PRIVATE_KEY": "not a key"})
    check("not PEM: exit 1", rc == 1, err)
    documented("not PEM", "Signing failed with error: '$SIGNING_PRIVATE_KEY' is not a PEM private key", err)
    os.chmod(os.path.join(W, "k.pem"), 0o644)
    rc, err = run(["sign", "key", "--private-key", "k.pem", "model"])
    os.chmod(os.path.join(W, "k.pem"), 0o600)
    check("key readable by others: exit 1", rc == 1, err)
    documented("key readable by others", "Signing failed with error: private key file", err)

    # ---- "Signature verification failed" ----
    with open(os.path.join(W, "k.pub"), "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    rc, err = run(["sign", "key", "--private-key", "k.pem", "model"])
    check("sign: exit 0", rc == 0, err)
    rc, err = run(["verify", "--public-key", "other.pub", "model"])
    check("wrong key: exit 1", rc == 1, err)
    documented("wrong key", "Key mismatch:", err)
    sig = open(os.path.join(W, "model.sig")).read()
    with open(os.path.join(W, "cut.sig"), "w") as f:
        f.write(sig[:sig.index('"', sig.index(":") + 3) + 20])  # inside the first string value
    rc, err = run(["verify", "--public-key", "k.pub", "--signature", "cut.sig", "model"])
    check("cut signature: exit 1", rc == 1, err)
    documented("cut signature", "the signature bundle is not valid JSON", err)
    with open(os.path.join(W, "model", "a.txt"), "a") as f:
        f.write("changed\n")
    rc, err = run(["verify", "--public-key", "k.pub", "model"])
    check("changed model: exit 1", rc == 1, err)
    documented("changed model", "Verification failed with error:", err)
    documented("changed model", "Signature mismatch:", err)

    # Clock skew and certificate validity (certificate signatures).
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    write_cert(os.path.join(W, "root.pem"), certificate("Model Root CA", ca_key, "Model Root CA", ca_key,
                                                        now - datetime.timedelta(days=1),
                                                        now + datetime.timedelta(days=1), True))
    write_key(os.path.join(W, "leaf.key"), leaf_key)
    future = certificate("release-signer", leaf_key, "Model Root CA", ca_key, now + datetime.timedelta(hours=1),
                         now + datetime.timedelta(days=1), False)
    write_cert(os.path.join(W, "future.pem"), future)
    rc, err = run(["sign", "certificate", "--private-key", "leaf.key", "--signing-certificate", "future.pem",
                   "--signature", "c.sig", "model"])
    check("certificate not valid yet: exit 1", rc == 1, err)
    documented("certificate not valid yet", "Signing failed with error: the signing certificate", err)
    short = now + datetime.timedelta(seconds=4)
    write_cert(os.path.join(W, "short.pem"), certificate("release-signer", leaf_key, "Model Root CA", ca_key,
                                                         now - datetime.timedelta(minutes=1), short, False))
    rc, err = run(["sign", "certificate", "--private-key", "leaf.key", "--signing-certificate", "short.pem",
                   "--signature", "c.sig", "model"])
    check("short-lived certificate: signs", rc == 0, err)
    time.sleep(max(0.0, (short - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1.5)
    rc, err = run(["verify", "--certificate-chain", "root.pem", "--signature", "c.sig", "model"])
    check("expired certificate: exit 1", rc == 1, err)
    documented("expired certificate", "the signing certificate '…' has expired", err)

    # ---- "model-signing not installed" ----
    r = subprocess.run(["bash", os.path.join(SRC, "templates", "generic", "sign-model.sh")], cwd=W,
                       env={"PATH": "/usr/bin:/bin", "HOME": W, "MODEL_PATH": "model"}, capture_output=True, text=True)
    check("not installed: the generic script stops", r.returncode == 127, r.stderr)
    documented("not installed", "modelsign is not installed: not on PATH;", r.stderr.strip())
    tpl = open(os.path.join(SRC, "templates", "gitlab", "modelsign.gitlab-ci.yml")).read()
    r = subprocess.run(["bash", "-e", "-c", yaml.safe_load(tpl)[".modelsign-sign"]["before_script"][0]], cwd=W,
                       env={"PATH": "/usr/bin:/bin", "HOME": W}, capture_output=True, text=True)
    check("not installed: the GitLab job stops", r.returncode == 1, r.stderr)
    documented("not installed (GitLab)", "modelsign is not installed: not on PATH, and", r.stderr.strip())
finally:
    shutil.rmtree(W)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
