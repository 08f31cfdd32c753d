"""modelsign: sign and verify machine-learning models (OpenSSF Model Signing format).

The Python face of the modelsign library, the same code the ``modelsign`` command runs:
PEM, X.509 certificate, PKCS#11 and TPM 2.0 keys, keyless Sigstore signing, the method
chosen from the CI environment, multi-threaded hashing. Messages go to
the ``logging`` logger ``"modelsign"``. See docs/python.md.

    >>> from modelsign import ModelSigner
    >>> signer = ModelSigner("model/quantized")
    >>> signer.sign(key="keys/signing_key.pem")
    >>> signer.verify_signature(public_key="keys/signing_key.pub")
    True
"""

from ._api import (
    DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
    PRIVATE_KEY_ENV,
    GeneratedKey,
    ModelSigner,
    SignResult,
    VerifyResult,
    generate_signing_key,
    public_key_of,
    sign_trained_model,
)
from ._errors import (
    ArgumentError,
    AuthenticationError,
    Error,
    HashingError,
    KeyProviderError,
    MalformedSignatureError,
    NotFoundError,
    ServiceError,
    UnsupportedError,
    VerificationError,
)
from ._native import __version__

__all__ = [
    "ModelSigner", "SignResult", "VerifyResult", "GeneratedKey",
    "sign_trained_model", "generate_signing_key", "public_key_of",
    "DEFAULT_PRIVATE_KEY", "DEFAULT_PUBLIC_KEY", "PRIVATE_KEY_ENV",
    "Error", "ArgumentError", "NotFoundError", "UnsupportedError", "KeyProviderError",
    "AuthenticationError", "VerificationError", "MalformedSignatureError", "HashingError",
    "ServiceError",
    "__version__",
]
