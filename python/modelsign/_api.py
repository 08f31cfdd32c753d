"""The modelsign Python API: ModelSigner, sign_trained_model, generate_signing_key."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import ArgumentError, Error, NotFoundError

PathLike = Union[str, "os.PathLike[str]"]
Secret = Union[str, bytes, bytearray]
#: An OIDC identity token: its text, or a file holding it (an os.PathLike such as pathlib.Path).
IdentityToken = Union[str, bytes, bytearray, "os.PathLike[str]"]
#: Called while hashing with (bytes hashed so far, total bytes); may raise to cancel.
ProgressCallback = Callable[[int, int], Any]

#: The environment variable the CI platforms' secret stores use for the PEM private key.
PRIVATE_KEY_ENV = "SIGNING_PRIVATE_KEY"
_KEY_PASSWORD_ENV = "MODELSIGN_KEY_PASSWORD"
_TPM_AUTH_ENV = "MODELSIGN_TPM_AUTH"
_PKCS11_PIN_ENV = "MODELSIGN_PKCS11_PIN"
_AUDIT_LOG_ENV = "MODELSIGN_AUDIT_LOG"
#: Where generate_signing_key() writes by default, and so where verification looks for a
#: public key when none is given.
DEFAULT_PRIVATE_KEY = os.path.join("keys", "signing_key.pem")
DEFAULT_PUBLIC_KEY = os.path.join("keys", "signing_key.pub")

SIGN_METHODS = ("auto", "key", "certificate", "pkcs11", "tpm2", "sigstore")


_log = logging.getLogger("modelsign")

#: The Python method names and the command line's (the CI outputs and the audit log use
#: the command line's, so that a pipeline reads the same values from either).
_CLI_METHOD = {("key", False): "key", ("key", True): "certificate",
               ("certificate", False): "certificate", ("certificate", True): "certificate",
               ("pkcs11", False): "pkcs11-key", ("pkcs11", True): "pkcs11-certificate",
               ("tpm2", False): "tpm2-key", ("tpm2", True): "tpm2-certificate",
               ("sigstore", False): "sigstore", ("sigstore", True): "sigstore"}
_PY_METHOD = {"key": "key", "certificate": "certificate", "pkcs11-key": "pkcs11",
              "pkcs11-certificate": "pkcs11", "tpm2-key": "tpm2", "tpm2-certificate": "tpm2",
              "sigstore": "sigstore"}
#: The arguments that only keyless signing takes.
_KEYLESS_ARGS = ("identity_token", "trust_config", "use_staging", "ca_file", "oauth")


def _choose_method_from_environment(options: Dict[str, Any]) -> Tuple[str, str]:
    """method='auto' with no key argument: the environment decides, in the order and with
    the error text of ``modelsign sign MODEL_PATH`` (an OIDC identity, then
    $SIGNING_PRIVATE_KEY). Returns (method, reason)."""
    if options.get("identity_token") is not None:
        return "sigstore", "identity_token was given"
    c = _native.choose_sign_method(False, False, False, options.get("certificate") is not None)
    return _PY_METHOD[c["method"]], c["reason"]


# ---- argument checks -----------------------------------------------------------------------

def _path(value: Any, name: str, *, optional: bool = False) -> Optional[str]:
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)):
        p = os.fspath(value)
        if isinstance(p, str) and p != "" and "\0" not in p:
            return p
        raise ArgumentError(f"{name} must be a non-empty path without NUL characters, got {value!r}",
                            code="invalid-argument")
    raise ArgumentError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}",
                        code="invalid-argument")


def _paths(value: Any, name: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, os.PathLike)):
        # A lone string would otherwise be taken as a sequence of one-letter paths.
        return [_path(value, name)]  # type: ignore[list-item]
    try:
        items = list(value)
    except TypeError:
        raise ArgumentError(f"{name} must be a path or a sequence of paths, got "
                            f"{type(value).__name__}", code="invalid-argument") from None
    return [_path(v, f"{name}[{i}]") for i, v in enumerate(items)]  # type: ignore[misc]


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ArgumentError(f"{name} must be True or False, got {type(value).__name__}",
                            code="invalid-argument")
    return value


def _str(value: Any, name: str, *, optional: bool = True) -> Optional[str]:
    if value is None and optional:
        return None
    if not isinstance(value, str) or value == "" or "\0" in value:
        raise ArgumentError(f"{name} must be a non-empty string, got {type(value).__name__}",
                            code="invalid-argument")
    return value


def _secret(value: Any, name: str) -> Optional[Secret]:
    if value is None or isinstance(value, (str, bytes, bytearray)):
        return value
    raise ArgumentError(f"{name} must be str, bytes or bytearray, got {type(value).__name__}",
                        code="invalid-argument")


def _progress(value: Any) -> Any:
    if value is not None and not callable(value):
        raise ArgumentError(f"progress must be callable(done_bytes, total_bytes), got "
                            f"{type(value).__name__}", code="invalid-argument")
    return value


def _explain_key_error(e: Error, reference: str) -> Error:
    """Turns a PEM key failure into advice about the usual mistakes (as the CLI does)."""
    if not reference.startswith("env:"):
        try:
            with open(reference, "rb") as f:
                head = f.read(8192)
        except OSError:
            head = b""
        if b"-----BEGIN PUBLIC KEY-----" in head and b"PRIVATE KEY-----" not in head:
            return ArgumentError(f"'{reference}' is a public key; key= needs the private key (the "
                                 "public key is for verify(public_key=...))", code="invalid-argument")
        if e.code == "permission" and "chmod" in e.message:
            e.message += ("; for a key mounted read-only as a CI or Kubernetes secret, pass "
                          "allow_insecure_key_permissions=True")
            e.args = (e.message,)
    return e


def _key_args(method: str, o: Dict[str, Any]) -> "_native.KeyArgs":
    """The key of a key, certificate, pkcs11 or tpm2 signature (or the key Fulcio certifies)."""
    k = _native.KeyArgs()
    if method in ("key", "certificate"):
        if o["pkcs11_uri"] is not None or o["tpm2_key"] is not None:
            raise ArgumentError(f"method='{method}' signs with key=; pkcs11_uri and tpm2_key "
                                "belong to the pkcs11 and tpm2 methods", code="invalid-argument")
        ref = _path(o["key"], "key", optional=True)
        if ref is None:
            if os.environ.get(PRIVATE_KEY_ENV):
                ref = "env:" + PRIVATE_KEY_ENV
            else:
                state = "not set" if PRIVATE_KEY_ENV not in os.environ else "set but empty"
                raise NotFoundError(
                    f"Private key not found: looked at key= (not given) and the environment "
                    f"variable {PRIVATE_KEY_ENV} ({state}); pass key='path/to/key.pem' or set "
                    f"{PRIVATE_KEY_ENV} to the PEM text of the key", code="not-found")
        k.reference = ref
        k.secret = _secret(o["password"], "password")
        k.secret_file = _path(o["password_file"], "password_file", optional=True) or ""
        k.secret_env = _KEY_PASSWORD_ENV
        if _bool(o["allow_insecure_key_permissions"], "allow_insecure_key_permissions"):
            k.params = {"allow_insecure_permissions": "1"}
    elif method == "pkcs11":
        k.reference = _str(o["pkcs11_uri"], "pkcs11_uri", optional=False)  # type: ignore[assignment]
        if not k.reference.startswith("pkcs11:"):
            raise ArgumentError("pkcs11_uri must be a 'pkcs11:' URI, e.g. "
                                "'pkcs11:token=prod;object=model-key'", code="invalid-argument")
        module = _path(o["pkcs11_module"], "pkcs11_module", optional=True)
        if module:
            k.params = {"module": module}
        k.secret = _secret(o["pin"], "pin")
        k.secret_file = _path(o["pin_file"], "pin_file", optional=True) or ""
        k.secret_env = _PKCS11_PIN_ENV
    else:  # tpm2
        k.reference = _str(o["tpm2_key"], "tpm2_key", optional=False)  # type: ignore[assignment]
        params = {}
        if _str(o["tcti"], "tcti"):
            params["tcti"] = o["tcti"]
        k.params = params
        k.secret = _secret(o["tpm2_auth"], "tpm2_auth")
        k.secret_file = _path(o["tpm2_auth_file"], "tpm2_auth_file", optional=True) or ""
        k.secret_env = _TPM_AUTH_ENV
    return k


# ---- results -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignResult:
    """What sign() did."""

    signature_path: str
    model_hash: str          #: "sha256:<hex>", the root digest of the signed manifest
    model_name: str
    method: str              #: "key", "certificate", "pkcs11", "tpm2" or "sigstore"
    signer: str              #: the key's hint, the certificate's subject, or the keyless identity
    key: str                 #: where the key lives (never a secret); keyless: "ephemeral key"
    files: List[str] = field(repr=False)
    bundle: str = field(repr=False)  #: the signature file's JSON text
    #: Keyless: the identity (certificate SAN) and OIDC issuer, and the Rekor log index.
    identity: Optional[str] = None
    issuer: Optional[str] = None
    rekor_log_index: Optional[int] = None
    #: method="auto": why that method (the environment's OIDC identity, $SIGNING_PRIVATE_KEY, ...)
    method_reason: Optional[str] = None


@dataclass(frozen=True)
class VerifyResult:
    """What verify() established."""

    signature_path: str
    model_hash: str
    model_name: str
    method: str
    signer: str
    files: List[str] = field(repr=False)
    warnings: List[str] = field(default_factory=list)
    recorded_ignore_paths: List[str] = field(default_factory=list)
    ignored_files: List[str] = field(default_factory=list)
    unsigned_files: List[str] = field(default_factory=list)
    sigstore: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class GeneratedKey:
    """The files generate_signing_key() wrote."""

    private_key: str
    public_key: str
    key_type: str
    hint: str  #: SHA-256 of the public key PEM; signatures made with the key carry it


# ---- the signer ----------------------------------------------------------------------------

class ModelSigner:
    """Hashes, signs and verifies one model (a directory or a single file).

    Args:
        model_path: the model directory or file.
        ignore_paths: paths to leave out, relative to the current directory (as on the
            command line) or absolute.
        ignore_git_paths: leave out .git, .gitattributes, .github and .gitignore at the
            model root (default True).
        allow_symlinks: False refuses symlinks (default); True follows those that stay
            inside the model; "external" follows any (model_signing's --allow_symlinks).
        threads: hashing threads (default: online CPUs).
    """

    def __init__(self, model_path: PathLike, *, ignore_paths: Iterable[PathLike] = (),
                 ignore_git_paths: bool = True, allow_symlinks: Union[bool, str] = False,
                 threads: Optional[int] = None) -> None:
        self.model_path = _path(model_path, "model_path")
        self.ignore_paths = _paths(ignore_paths, "ignore_paths")
        self.ignore_git_paths = _bool(ignore_git_paths, "ignore_git_paths")
        if not (isinstance(allow_symlinks, bool) or allow_symlinks == "external"):
            raise ArgumentError("allow_symlinks must be False, True or 'external', got "
                                f"{allow_symlinks!r}", code="invalid-argument")
        self.allow_symlinks = allow_symlinks
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)):
            raise ArgumentError(f"threads must be an int or None, got {type(threads).__name__}",
                                code="invalid-argument")
        if threads is not None and not 1 <= threads <= 4096:
            raise ArgumentError(f"threads must be between 1 and 4096, got {threads}",
                                code="invalid-argument")
        self.threads = threads

    def __repr__(self) -> str:
        return f"ModelSigner({self.model_path!r})"

    def _model(self) -> "_native.ModelArgs":
        if not os.path.lexists(self.model_path):
            raise NotFoundError(f"model '{self.model_path}' not found: pass the model directory "
                                "or file", code="not-found")
        m = _native.ModelArgs()
        m.model_path = self.model_path
        m.ignore_paths = self.ignore_paths
        m.ignore_git_paths = self.ignore_git_paths
        m.symlinks = 2 if self.allow_symlinks == "external" else 1 if self.allow_symlinks else 0
        m.threads = self.threads or 0
        return m

    # -- hashing --

    def compute_model_hash(self, *, progress: Optional[ProgressCallback] = None) -> str:
        """The model's root digest, ``"sha256:<hex>"``: what ``modelsign digest`` prints."""
        return self.generate_model_manifest(progress=progress)["hashes"]["sha256"]

    def generate_model_manifest(self, *, progress: Optional[ProgressCallback] = None) -> Dict[str, Any]:
        """The manifest: ``{"model_name", "hashes": {"sha256": root}, "files": [{"name",
        "digest"}...], "serialization": {...}}``, files in model_signing order."""
        return _native.compute_manifest(self._model(), _progress(progress))

    # -- signing --

    def sign(self, signature_path: Optional[PathLike] = None, *, method: str = "auto",
             key: Optional[PathLike] = None, password: Optional[Secret] = None,
             password_file: Optional[PathLike] = None,
             allow_insecure_key_permissions: bool = False,
             pkcs11_uri: Optional[str] = None, pkcs11_module: Optional[PathLike] = None,
             pin: Optional[Secret] = None, pin_file: Optional[PathLike] = None,
             tpm2_key: Optional[str] = None, tcti: Optional[str] = None,
             tpm2_auth: Optional[Secret] = None, tpm2_auth_file: Optional[PathLike] = None,
             certificate: Optional[PathLike] = None, chain: Iterable[PathLike] = (),
             identity_token: Optional[IdentityToken] = None, trust_config: Optional[PathLike] = None,
             use_staging: bool = False, ca_file: Optional[PathLike] = None, oauth: bool = False,
             progress: Optional[ProgressCallback] = None) -> SignResult:
        """Signs the model and writes the signature (default: ``<model_path>.sig``).

        method: "key" (PEM private key: ``key``, else $SIGNING_PRIVATE_KEY), "certificate"
        (``key`` + ``certificate`` + ``chain``), "pkcs11" (``pkcs11_uri``), "tpm2"
        (``tpm2_key``), "sigstore" (keyless), or "auto": the method the key argument
        implies; with no key argument, the environment decides as ``modelsign sign
        MODEL_PATH`` does (an OIDC identity: $SIGSTORE_ID_TOKEN or GitHub Actions' ambient
        credentials -> "sigstore"; else $SIGNING_PRIVATE_KEY -> "key"; else NotFoundError).
        ``certificate``/``chain`` with pkcs11 or tpm2 make a certificate signature.

        Keyless ("sigstore"): ``identity_token`` (the token text, or a pathlib.Path to a
        file holding it; default: $SIGSTORE_ID_TOKEN, then GitHub Actions' or a Kubernetes
        token), ``trust_config`` (a ClientTrustConfig JSON file; default: Sigstore's TUF
        repository, ``use_staging`` for staging), ``ca_file`` (CA certificates for the
        services' TLS, e.g. a private deployment), ``oauth=True`` to allow the interactive
        browser login (off: a library call never opens a browser). ``key``, ``pkcs11_uri``
        or ``tpm2_key`` have Fulcio certify that key instead of an ephemeral one.

        The signature file is written atomically: an interrupted or failed call leaves no
        signature behind.
        """
        options = dict(key=key, password=password, password_file=password_file,
                       allow_insecure_key_permissions=allow_insecure_key_permissions,
                       pkcs11_uri=pkcs11_uri, pkcs11_module=pkcs11_module, pin=pin,
                       pin_file=pin_file, tpm2_key=tpm2_key, tcti=tcti, tpm2_auth=tpm2_auth,
                       tpm2_auth_file=tpm2_auth_file, certificate=certificate, chain=chain,
                       identity_token=identity_token, trust_config=trust_config,
                       use_staging=use_staging, ca_file=ca_file, oauth=oauth)
        return self._sign(signature_path, method, options, progress, None)

    def _sign(self, signature_path: Optional[PathLike], method: str, o: Dict[str, Any],
              progress: Optional[ProgressCallback],
              record: Optional["_native.RecordSpec"]) -> SignResult:
        """sign(); with `record` (CI mode) the audit line and the CI outputs are written
        by the command line's code."""
        if not isinstance(method, str) or method not in SIGN_METHODS:
            raise ArgumentError(f"method must be one of {', '.join(SIGN_METHODS)}; got {method!r}",
                                code="invalid-argument")
        sig = _path(signature_path, "signature_path", optional=True)
        reason = f"method='{method}' was given"
        if method == "auto":
            given = [m for m, arg in (("pkcs11", o["pkcs11_uri"]), ("tpm2", o["tpm2_key"]),
                                      ("key", o["key"])) if arg is not None]
            if len(given) > 1:
                raise ArgumentError("give one of key, pkcs11_uri and tpm2_key", code="invalid-argument")
            if given:
                method = given[0]
                reason = f"{ {'key': 'key', 'pkcs11': 'pkcs11_uri', 'tpm2': 'tpm2_key'}[method]}= was given"
                if method == "key" and o["certificate"] is not None:
                    method = "certificate"
                    reason = "key= was given with certificate="
            else:
                try:
                    method, reason = _choose_method_from_environment(o)
                except Error as e:
                    if record is not None:  # recorded as the command line records it
                        _native.record_choice_failure(self.model_path, sig or "", record, e.code,
                                                      e.message)
                    raise
                # Said at INFO (shown by logging.basicConfig(level=logging.INFO)): which
                # method signs, and why, as the command line prints it.
                _log.info("signing method: %s (%s)", method, reason)
        cert = _path(o["certificate"], "certificate", optional=True)
        chain_files = _paths(o["chain"], "chain")
        if chain_files and cert is None:
            raise ArgumentError("chain needs certificate (the signing certificate)",
                                code="invalid-argument")
        if record is not None:
            record.method = _CLI_METHOD[(method, cert is not None)]
            record.method_reason = reason
        if method == "sigstore":
            return self._sign_keyless(sig, o, progress, record, reason)
        keyless_given = [a for a in _KEYLESS_ARGS if o[a] not in (None, False)]
        if keyless_given:
            raise ArgumentError(f"{', '.join(keyless_given)} apply to keyless signing "
                                f"(method='sigstore') only, and the method is '{method}' ({reason})",
                                code="invalid-argument")
        if method in ("key", "certificate"):
            if method == "key" and cert is not None:
                raise ArgumentError("certificate= makes a certificate signature: use "
                                    "method='certificate' (or leave method='auto')",
                                    code="invalid-argument")
            if method == "certificate" and cert is None:
                raise ArgumentError("method='certificate' needs certificate= (the signing "
                                    "certificate, PEM)", code="invalid-argument")
        k = _key_args(method, o)
        certs = [cert, *chain_files] if cert is not None else []
        try:
            r = _native.sign(self._model(), sig or "", k, certs, _progress(progress), record)
        except Error as e:
            if method in ("key", "certificate") and e.code in ("permission", "malformed"):
                raise _explain_key_error(e, k.reference) from None
            raise
        return SignResult(signature_path=r["signature_path"], model_hash=r["model_hash"],
                          model_name=r["model_name"], method=method,
                          signer=r["signer"], key=r["key"], files=r["files"], bundle=r["bundle"],
                          method_reason=reason)

    def _sign_keyless(self, sig: Optional[str], o: Dict[str, Any],
                      progress: Optional[ProgressCallback],
                      record: Optional["_native.RecordSpec"], reason: str) -> SignResult:
        """Keyless signing: a Fulcio certificate for the OIDC identity, a Rekor entry."""
        if o["certificate"] is not None:
            raise ArgumentError("keyless signing (method='sigstore') gets its certificate from "
                                "Fulcio; certificate= and chain= do not apply", code="invalid-argument")
        given = [m for m, arg in (("pkcs11", o["pkcs11_uri"]), ("tpm2", o["tpm2_key"]),
                                  ("key", o["key"])) if arg is not None]
        if len(given) > 1:
            raise ArgumentError("give at most one of key, pkcs11_uri and tpm2_key (the key Fulcio "
                                "certifies)", code="invalid-argument")
        k = _key_args(given[0], o) if given else None
        a = _native.KeylessArgs()
        token = o["identity_token"]
        if isinstance(token, os.PathLike):
            a.identity_token_file = _path(token, "identity_token")  # type: ignore[assignment]
        elif token is not None:
            if not isinstance(token, (str, bytes, bytearray)) or len(token) == 0:
                raise ArgumentError("identity_token must be the token (str, bytes or bytearray) or a "
                                    f"path to a file holding it (os.PathLike), got {type(token).__name__}",
                                    code="invalid-argument")
            a.identity_token = token
        a.trust_config = _path(o["trust_config"], "trust_config", optional=True) or ""
        a.use_staging = _bool(o["use_staging"], "use_staging")
        if a.trust_config and a.use_staging:
            raise ArgumentError("give trust_config or use_staging, not both", code="invalid-argument")
        a.ca_file = _path(o["ca_file"], "ca_file", optional=True) or ""
        a.oauth = _bool(o["oauth"], "oauth")
        r = _native.sign_keyless(self._model(), sig or "", a, k, _progress(progress), record)
        return SignResult(signature_path=r["signature_path"], model_hash=r["model_hash"],
                          model_name=r["model_name"], method="sigstore", signer=r["signer"],
                          key=r["key"], files=r["files"], bundle=r["bundle"],
                          identity=r["identity"], issuer=r["issuer"],
                          rekor_log_index=r["rekor_log_indexes"][0] if r["rekor_log_indexes"] else None,
                          method_reason=reason)

    # -- verification --

    def verify(self, signature_path: Optional[PathLike] = None, *,
               public_key: Optional[PathLike] = None,
               certificate_chain: Union[PathLike, Iterable[PathLike], None] = None,
               identity: Optional[str] = None, identity_provider: Optional[str] = None,
               identity_regex: bool = False, trust_config: Optional[PathLike] = None,
               trusted_root: Optional[PathLike] = None, use_staging: bool = False,
               pkcs11_uri: Optional[str] = None, tpm2_key: Optional[str] = None,
               tcti: Optional[str] = None, use_system_trust_store: bool = False,
               ignore_unsigned_files: bool = False, strict_ignored: bool = False,
               progress: Optional[ProgressCallback] = None) -> VerifyResult:
        """Verifies the model against its signature (default: ``<model_path>.sig``).

        The verification material decides the method: ``public_key`` (PEM file), or
        ``pkcs11_uri`` / ``tpm2_key`` (the public key read from the token or TPM);
        ``certificate_chain`` (PEM files that include the root); ``identity`` +
        ``identity_provider`` (keyless Sigstore, offline). With none of them, the public
        key generate_signing_key() writes by default (keys/signing_key.pub) is used.

        Raises VerificationError (with ``missing``/``extra``/``changed`` when the model
        differs from what was signed) when verification fails, and another modelsign.Error
        when it could not be attempted (missing model, signature or key; bad arguments).
        """
        sig = _path(signature_path, "signature_path", optional=True)
        chain_files = _paths(certificate_chain, "certificate_chain")
        given = [name for name, v in (("public_key", public_key), ("pkcs11_uri", pkcs11_uri),
                                      ("tpm2_key", tpm2_key), ("identity", identity))
                 if v is not None]
        if chain_files or _bool(use_system_trust_store, "use_system_trust_store"):
            given.append("certificate_chain")
        if len(given) > 1:
            raise ArgumentError(f"give one kind of verification material, got {', '.join(given)}",
                                code="invalid-argument")
        k = _native.KeyArgs()
        s = _native.SigstoreArgs()
        if identity is not None:
            method = "sigstore"
            s.identity = _str(identity, "identity")
            s.issuer = _str(identity_provider, "identity_provider", optional=False)
            s.identity_regex = _bool(identity_regex, "identity_regex")
            if trust_config is not None and trusted_root is not None:
                raise ArgumentError("give trust_config or trusted_root, not both",
                                    code="invalid-argument")
            s.trust_config = _path(trust_config, "trust_config", optional=True) or ""
            s.trusted_root = _path(trusted_root, "trusted_root", optional=True) or ""
            s.use_staging = _bool(use_staging, "use_staging")
        elif chain_files or use_system_trust_store:
            method = "certificate"
        else:
            method = "key"
            if pkcs11_uri is not None:
                k.reference = _str(pkcs11_uri, "pkcs11_uri")
                if not k.reference.startswith("pkcs11:"):
                    raise ArgumentError("pkcs11_uri must be a 'pkcs11:' URI", code="invalid-argument")
                k.secret_env = _PKCS11_PIN_ENV
            elif tpm2_key is not None:
                k.reference = _str(tpm2_key, "tpm2_key")
                if _str(tcti, "tcti"):
                    k.params = {"tcti": tcti}
                k.secret_env = _TPM_AUTH_ENV
            else:
                ref = _path(public_key, "public_key", optional=True)
                if ref is None:
                    if not os.path.exists(DEFAULT_PUBLIC_KEY):
                        raise ArgumentError(
                            "no verification material: pass public_key= (PEM file), "
                            "certificate_chain=, identity= with identity_provider=, pkcs11_uri= or "
                            f"tpm2_key= (or have the default public key {DEFAULT_PUBLIC_KEY} in "
                            "the current directory)", code="invalid-argument")
                    ref = DEFAULT_PUBLIC_KEY
                if ref.startswith(("pkcs11:", "handle:", "tpm2:", "env:")):
                    raise ArgumentError("public_key must be a PEM file; use pkcs11_uri= or tpm2_key= "
                                        "for keys in a token or TPM", code="invalid-argument")
                k.reference = ref
        r = _native.verify(self._model(), sig or "", method, k, s, chain_files,
                           bool(use_system_trust_store), _bool(ignore_unsigned_files, "ignore_unsigned_files"),
                           _bool(strict_ignored, "strict_ignored"), _progress(progress))
        return VerifyResult(**r)

    def verify_signature(self, signature_path: Optional[PathLike] = None, **kw: Any) -> bool:
        """True when the signature verifies; False when it does not (wrong key, changed or
        missing files, a malformed signature). Takes verify()'s arguments; errors that
        prevent verifying at all (missing model or signature, bad arguments) still raise."""
        from ._errors import VerificationError
        try:
            self.verify(signature_path, **kw)
        except VerificationError:
            return False
        return True


# ---- module-level functions ---------------------------------------------------------------

_SIGNER_ARGS = ("ignore_paths", "ignore_git_paths", "allow_symlinks", "threads")


def sign_trained_model(model_dir: PathLike, ci_mode: bool = True, **kw: Any) -> str:
    """Signs a freshly trained model into ``<model_dir>.sig`` and returns its hash.

    With ci_mode=True (the default) the method comes from the environment as for
    ``modelsign sign MODEL_PATH`` (an OIDC identity -> keyless; $SIGNING_PRIVATE_KEY ->
    key; a key argument picks its method), and what that command leaves is left too, by
    the same code: the CI outputs (model_hash, signature_path, method, signer,
    rekor_log_index) in $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, GitLab's dotenv file
    (``ci_dotenv=``, else $MODELSIGN_CI_DOTENV under GitLab CI) and the audit log line
    (``audit_log=``, else $MODELSIGN_AUDIT_LOG), success or failure.

    Other keyword arguments go to ModelSigner (ignore_paths, ignore_git_paths,
    allow_symlinks, threads) and to ModelSigner.sign().
    """
    path = _path(model_dir, "model_dir")
    ci = _bool(ci_mode, "ci_mode")
    signer = ModelSigner(path, **{k: kw.pop(k) for k in _SIGNER_ARGS if k in kw})  # type: ignore[arg-type]
    if not ci:
        for name in ("audit_log", "ci_dotenv"):
            if name in kw:
                raise ArgumentError(f"{name} is for ci_mode=True", code="invalid-argument")
        return signer.sign(**kw).model_hash
    record = _native.RecordSpec()
    record.audit_log = _path(kw.pop("audit_log", None) or os.environ.get(_AUDIT_LOG_ENV) or None,
                             "audit_log", optional=True) or ""
    record.ci_dotenv = _path(kw.pop("ci_dotenv", None), "ci_dotenv", optional=True) or ""
    signature_path = kw.pop("signature_path", None)
    method = kw.pop("method", "auto")
    progress = kw.pop("progress", None)
    # The same keyword arguments as sign(), checked by its signature.
    options = _sign_options(**kw)
    return signer._sign(signature_path, method, options, progress, record).model_hash


def _sign_options(*, key: Optional[PathLike] = None, password: Optional[Secret] = None,
                  password_file: Optional[PathLike] = None,
                  allow_insecure_key_permissions: bool = False,
                  pkcs11_uri: Optional[str] = None, pkcs11_module: Optional[PathLike] = None,
                  pin: Optional[Secret] = None, pin_file: Optional[PathLike] = None,
                  tpm2_key: Optional[str] = None, tcti: Optional[str] = None,
                  tpm2_auth: Optional[Secret] = None, tpm2_auth_file: Optional[PathLike] = None,
                  certificate: Optional[PathLike] = None, chain: Iterable[PathLike] = (),
                  identity_token: Optional[IdentityToken] = None,
                  trust_config: Optional[PathLike] = None, use_staging: bool = False,
                  ca_file: Optional[PathLike] = None, oauth: bool = False) -> Dict[str, Any]:
    return dict(locals())


def generate_signing_key(private_key: PathLike = DEFAULT_PRIVATE_KEY,
                         public_key: Optional[PathLike] = DEFAULT_PUBLIC_KEY,
                         key_type: str = "ec-p256", password: Optional[Secret] = None) -> GeneratedKey:
    """Creates a PEM key pair: the private key with mode 0600 (encrypted when a password is
    given), the public key beside it. Missing directories are made with mode 0700;
    existing files are never overwritten. key_type: ec-p256, ec-p384 or ec-p521."""
    priv = _path(private_key, "private_key")
    pub = _path(public_key, "public_key", optional=True)
    kt = _str(key_type, "key_type", optional=False)
    pw = _secret(password, "password")
    for p in (priv, pub):
        if p is not None and os.path.lexists(p):
            raise ArgumentError(f"refusing to overwrite the existing file '{p}'",
                                code="invalid-argument")
    for p in (priv, pub):
        d = os.path.dirname(p) if p else ""
        if d:
            os.makedirs(d, mode=0o700, exist_ok=True)
    key = _native.generate_pem_key(priv, kt, pw)
    if pub is not None:
        try:
            fd = os.open(pub, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(key["public_key_pem"])
        except OSError as e:
            os.unlink(priv)  # half a key pair is of no use
            cls = NotFoundError if e.errno == errno.ENOENT else ArgumentError
            raise cls(f"cannot write the public key '{pub}': {e.strerror}",
                      code="not-found" if cls is NotFoundError else "io") from e
    return GeneratedKey(private_key=priv, public_key=pub or "", key_type=key["key_type"],
                        hint=key["hint"])


def public_key_of(reference: str, *, tcti: Optional[str] = None,
                  password: Optional[Secret] = None) -> str:
    """The PEM public key of a private key: a PEM file, a pkcs11: URI or a TPM key."""
    k = _native.KeyArgs()
    k.reference = _str(reference, "reference", optional=False)  # type: ignore[assignment]
    if tcti:
        k.params = {"tcti": _str(tcti, "tcti")}
    k.secret = _secret(password, "password")
    return _native.public_key(k)["pem"]
