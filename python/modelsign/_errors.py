"""The exceptions of the modelsign package: one hierarchy under :class:`Error`."""

from __future__ import annotations

from typing import Sequence


class Error(Exception):
    """Base class of every error modelsign raises.

    Attributes:
        code: the library's error code, e.g. ``"not-found"``, ``"auth"``, ``"mismatch"``.
        message: what was expected, what was found and what to do.
        backend: the backend's name for the error (``"CKR_PIN_INCORRECT"``,
            ``"TPM_RC_AUTH_FAIL"``), or ``""``.
        backend_code: the backend's numeric code (CK_RV, TSS2_RC, OpenSSL), or 0.
    """

    def __init__(self, message: str, *, code: str = "internal", backend: str = "",
                 backend_code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.backend = backend
        self.backend_code = backend_code

    def __str__(self) -> str:
        return self.message


class ArgumentError(Error, TypeError, ValueError):
    """An argument has the wrong type or an unusable value (also a TypeError and a ValueError)."""


class NotFoundError(Error, FileNotFoundError):
    """A model, key, signature, certificate or token does not exist."""

    def __init__(self, message: str, **kw) -> None:
        Error.__init__(self, message, **kw)

    def __str__(self) -> str:
        return self.message


class UnsupportedError(Error):
    """A key type, format or method this build of modelsign does not provide."""


class KeyProviderError(Error):
    """A key could not be used: permissions, PKCS#11 token or TPM failures.

    ``backend`` and ``backend_code`` carry the token's or TPM's own error.
    """


class AuthenticationError(KeyProviderError):
    """Wrong or missing PIN, password or TPM authorisation, or a locked key."""


class VerificationError(Error):
    """The signature does not verify, or the model differs from what was signed.

    Attributes:
        missing: files that were signed but are not in the model.
        extra: files in the model that the signature does not cover.
        changed: files whose contents differ from the signed digests.
    """

    def __init__(self, message: str, *, missing: Sequence[str] = (), extra: Sequence[str] = (),
                 changed: Sequence[str] = (), **kw) -> None:
        super().__init__(message, **kw)
        self.missing = list(missing)
        self.extra = list(extra)
        self.changed = list(changed)


class MalformedSignatureError(VerificationError):
    """The signature file is not a valid bundle (or breaks a size limit)."""


class ServiceError(Error):
    """Keyless signing: a Sigstore service (Fulcio, Rekor, a timestamp authority, the OIDC
    token endpoint) could not be reached or failed, after the retries."""


class HashingError(Error):
    """The model could not be read or hashed (I/O error, a file changed while hashed)."""


_BY_CODE = {
    "invalid-argument": ArgumentError,
    "not-found": NotFoundError,
    "permission": KeyProviderError,
    "io": HashingError,
    "file-changed": HashingError,
    "unsupported": UnsupportedError,
    "malformed": Error,
    "malformed-signature": MalformedSignatureError,
    "verification": VerificationError,
    "mismatch": VerificationError,
    "auth": AuthenticationError,
    "locked": AuthenticationError,
    "backend": KeyProviderError,
    "internal": Error,
    "service": ServiceError,
}


def _from_native(code: str, message: str, backend: str, backend_code: int, lists: dict) -> Error:
    """Builds the exception for a library error (called by modelsign._native)."""
    cls = _BY_CODE.get(code, Error)
    if issubclass(cls, VerificationError):
        return cls(message, code=code, backend=backend, backend_code=backend_code,
                   missing=lists.get("missing", ()), extra=lists.get("extra", ()),
                   changed=lists.get("changed", ()))
    return cls(message, code=code, backend=backend, backend_code=backend_code)
