# Type stubs of the native module (python/src/native.cpp). Internal: use `modelsign`.
from typing import Any, Callable, Dict, List, Optional, Union

__version__: str

class ModelArgs:
    model_path: str
    ignore_paths: List[str]
    ignore_git_paths: bool
    symlinks: int  # 0 refuse, 1 inside the model, 2 anywhere
    threads: int   # 0: online CPUs
    def __init__(self) -> None: ...

class KeyArgs:
    reference: str
    params: Dict[str, str]
    secret_file: str
    secret_env: str
    secret: Union[str, bytes, bytearray, None]
    def __init__(self) -> None: ...

class SigstoreArgs:
    identity: str
    identity_regex: bool
    issuer: str
    trust_config: str
    trusted_root: str
    use_staging: bool
    def __init__(self) -> None: ...

class KeylessArgs:
    identity_token: Union[str, bytes, bytearray, None]
    identity_token_file: str
    trust_config: str
    use_staging: bool
    offline: bool
    ca_file: str
    use_ambient_credentials: bool
    oauth: bool
    oauth_force_oob: bool
    client_id: str
    def __init__(self) -> None: ...

class RecordSpec:
    audit_log: str
    ci_dotenv: str
    method: str          # the command line's method name: key, certificate, pkcs11-key, sigstore, ...
    method_reason: str
    def __init__(self) -> None: ...

_Progress = Optional[Callable[[int, int], Any]]

def compute_manifest(model: ModelArgs, progress: _Progress) -> Dict[str, Any]: ...
def sign(model: ModelArgs, signature: str, key: KeyArgs, certificate_files: List[str],
         progress: _Progress, record: Optional[RecordSpec] = None) -> Dict[str, Any]: ...
def sign_keyless(model: ModelArgs, signature: str, keyless: KeylessArgs, key: Optional[KeyArgs] = None,
                 progress: _Progress = None, record: Optional[RecordSpec] = None) -> Dict[str, Any]: ...
def choose_sign_method(private_key: bool, pkcs11_uri: bool, tpm2_key: bool,
                       certificate: bool) -> Dict[str, str]: ...
def record_choice_failure(model_path: str, signature: str, record: RecordSpec, code: str,
                          message: str) -> None: ...
def verify(model: ModelArgs, signature: str, method: str, key: KeyArgs, sigstore: SigstoreArgs,
           trust_files: List[str], use_system_trust_store: bool, ignore_unsigned_files: bool,
           strict_ignored: bool, progress: _Progress) -> Dict[str, Any]: ...
def generate_pem_key(private_key: str, key_type: str,
                     password: Union[str, bytes, bytearray, None]) -> Dict[str, str]: ...
def public_key(key: KeyArgs) -> Dict[str, str]: ...
def default_signature_path(model_path: str) -> str: ...
def run_cli(argv: List[str]) -> int: ...
def close_stdout() -> int: ...
def providers() -> List[str]: ...
