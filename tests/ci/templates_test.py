#!/usr/bin/python3
"""Runs the shipped CI templates locally in a simulated CI environment.

GitHub: the workflow .github/workflows/sign-model.yml with the composite action.yml, its
${{ }} expressions evaluated, its shell steps run with GITHUB_ACTIONS, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY and GitHub's ambient OIDC variables (which `id-token: write` gives
every step). GitLab: the .modelsign-sign and .modelsign-verify jobs with GITLAB_CI and the
job's SIGSTORE_ID_TOKEN. Generic: templates/generic/sign-model.sh. Each run's outputs
file, step summary, audit log and signature are then checked; the signature is verified
independently with `modelsign verify`.

  key      signing_method=private_key (SIGNING_PRIVATE_KEY), pkcs11 (a SoftHSM token) and
           tpm2 (a swtpm); the ambient OIDC variables are set too, and the explicit method
           must win. No network.
  keyless  signing_method=oidc against the loopback Sigstore stack (tests/sigstore-stack):
           GitHub's token endpoint of the stack, a token minted by the stack as GitLab's
           SIGSTORE_ID_TOKEN, the stack trusted through its trust config and TLS CA (the
           templates' private-deployment settings). The stack's state dir comes from
           MODELSIGN_SIGSTORE_STACK; without it the run is skipped (77), or fails when CI is set.

Usage: templates_test.py SOURCE_DIR MODELSIGN key|keyless
"""
import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import yaml

SRC, MODELSIGN, SUITE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
failures = []
transcript = []  # every step's stdout and stderr: no secret may appear in it


def check(what, cond, detail=""):
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" ({detail})"))
    if not cond:
        failures.append(what)


# ---- GitHub expressions: the subset the templates use ----
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\)|,)|(?P<id>[A-Za-z_][A-Za-z0-9_.\-]*))")


def evaluate(expr, ctx):
    out, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse expression at {expr[pos:]!r}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(repr(m.group("str")[1:-1].replace("''", "'")))
        elif m.group("op") is not None:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(m.group("op"), m.group("op")))
        else:
            name = m.group("id")
            if name in ("format", "fromJSON", "contains"):
                out.append("_" + name)
            elif name in ("true", "false"):
                out.append(name.capitalize())
            else:
                out.append(f"_get({name!r})")

    def get(path):
        cur = ctx
        for part in path.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return ""
            cur = cur[part]
        return cur

    def fmt(f, *args):
        return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), f)

    env = {"_get": get, "_format": fmt, "_fromJSON": json.loads, "_contains": lambda a, b: b in a}
    return eval("".join(out), env)  # noqa: S307 - our own templates, our own tokens only


def substitute(value, ctx):
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{\{(.*?)\}\}", value.strip())
    if whole:
        v = evaluate(whole.group(1), ctx)
        return "" if v is None else v
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), ctx)), value)


def read_outputs(path):
    """KEY=value lines, and GitHub's KEY<<DELIMITER blocks."""
    if not os.path.exists(path):
        return {}
    outs, lines, i = {}, open(path).read().split("\n"), 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^([A-Za-z0-9_\-]+)<<(.+)$", line)
        if m:
            key, delim, val = m.group(1), m.group(2), []
            i += 1
            while lines[i] != delim:
                val.append(lines[i])
                i += 1
            outs[key] = "\n".join(val)
        elif "=" in line:
            k, v = line.split("=", 1)
            outs[k] = v
        i += 1
    return outs


def run_shell(script, env, cwd, argv=None):
    r = subprocess.run(argv or ["bash", "-e", "-c", script], env=env, cwd=cwd, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    transcript.extend([r.stdout, r.stderr])
    return r


def base_env(work):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "ACTIONS_", "SIGSTORE_", "MODELSIGN_"))
           and k not in ("CI", "SIGNING_PRIVATE_KEY")}
    env["PATH"] = os.path.dirname(MODELSIGN) + os.pathsep + env.get("PATH", "")
    env["CI"] = "true"
    env["HOME"] = work
    return env


@contextlib.contextmanager
def workspace(prefix, how):
    """A checked-out repository: the model, and what `how` needs committed next to it."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        os.makedirs(os.path.join(work, "model"))
        with open(os.path.join(work, "model", "weights.bin"), "wb") as f:
            f.write(os.urandom(4096))
        with open(os.path.join(work, "model", "config.json"), "w") as f:
            f.write('{"layers": 2}\n')
        how.setup(work)
        yield work
    finally:
        shutil.rmtree(work)


# ---- How the pipeline signs: a key from the CI secret, or keyless against the stack ----
class KeySigning:
    """SIGNING_PRIVATE_KEY holds a throwaway P-256 key; keys/signing_key.pub is committed."""
    method = "key"
    github_method = "private_key"

    def __init__(self):
        d = tempfile.mkdtemp(prefix="key-")
        try:
            key, pub = os.path.join(d, "k.pem"), os.path.join(d, "k.pub")
            subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-out", key], check=True, capture_output=True)
            subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True, capture_output=True)
            self.pem, self.pub = open(key).read(), open(pub).read()
        finally:
            shutil.rmtree(d)
        self.secrets = [self.pem.strip().splitlines()[1]]

    def setup(self, work):
        os.makedirs(os.path.join(work, "keys"))
        with open(os.path.join(work, "keys", "signing_key.pub"), "w") as f:
            f.write(self.pub)

    def signer_ok(self, signer, identity):
        return re.fullmatch(r"[0-9a-f]{16,}", signer or "") is not None

    def verify_args(self, identity):
        return ["key", "--public-key", "keys/signing_key.pub"]

    def github(self):
        # What `permissions: id-token: write` gives every step, pointing nowhere: the
        # explicit key method must still win over keyless.
        return ({"ACTIONS_ID_TOKEN_REQUEST_URL": "https://127.0.0.1:1/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "x"},
                {"SIGNING_PRIVATE_KEY": self.pem}, {}, "octo/model/.github/workflows/sign-model.yml@refs/heads/main")


class Pkcs11Signing:
    """signing_method=pkcs11 as on a self-hosted runner with an HSM: a SoftHSM token whose
    module the runner's environment names; the PIN is the secret MODELSIGN_PKCS11_PIN."""
    method = "pkcs11-key"
    github_method = "pkcs11"

    def __init__(self):
        out = subprocess.run(["bash", os.path.join(SRC, "softhsm-fixtures", "softhsm-setup.sh"), "--keys", "ec-p256"],
                             check=True, capture_output=True, text=True).stdout
        self.env = dict(re.findall(r"^export (\w+)='(.*)'$", out, re.M))
        self.uri = self.env["MODELSIGN_PKCS11_URI_EC_P256"].split("?")[0]  # the PIN comes from the secret
        self.pin = open(self.env["MODELSIGN_PKCS11_PIN_FILE"]).read().strip()
        self.secrets = []  # a 4-digit test PIN would match unrelated text

    def close(self):
        subprocess.run(["bash", os.path.join(SRC, "softhsm-fixtures", "softhsm-teardown.sh"),
                        self.env["MODELSIGN_SOFTHSM_DIR"]], capture_output=True)

    def setup(self, work):
        pass

    def signer_ok(self, signer, identity):
        return bool(signer)

    def verify_args(self, identity):
        return ["key", "--public-key", self.env["MODELSIGN_PKCS11_PUB_EC_P256"]]  # exported when generated

    def github(self):
        runner = {k: self.env[k] for k in ("SOFTHSM2_CONF", "MODELSIGN_PKCS11_MODULE")}
        # id-token: write applies on self-hosted runners too: the explicit method must win.
        runner.update(ACTIONS_ID_TOKEN_REQUEST_URL="https://127.0.0.1:1/token", ACTIONS_ID_TOKEN_REQUEST_TOKEN="x")
        return (runner, {"MODELSIGN_PKCS11_PIN": self.pin}, {"PKCS11_URI": self.uri},
                "octo/model/.github/workflows/sign-model.yml@refs/heads/main")


class Tpm2Signing:
    """signing_method=tpm2 as on a self-hosted runner with a TPM: a private swtpm, and a
    TPM-wrapped key file made by `modelsign keygen --tpm2` on that runner."""
    method = "tpm2-key"
    github_method = "tpm2"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tpm-")
        self.swtpm = os.path.join(SRC, "tests", "tpm2", "swtpm.sh")
        tcti = subprocess.run(["bash", self.swtpm, "start", os.path.join(self.dir, "swtpm")], check=True,
                              capture_output=True, text=True).stdout.strip()
        self.runner = {"TSS2_TCTI": tcti, "TPM2TOOLS_TCTI": tcti}
        self.key, self.pub = os.path.join(self.dir, "model.tss2.pem"), os.path.join(self.dir, "model.pub")
        subprocess.run([MODELSIGN, "keygen", "--tpm2", "--key-file", self.key, "--public-key", self.pub],
                       env=dict(os.environ, **self.runner), check=True, capture_output=True)
        self.secrets = []

    def close(self):
        subprocess.run(["bash", self.swtpm, "stop", os.path.join(self.dir, "swtpm")], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def setup(self, work):
        pass

    def signer_ok(self, signer, identity):
        return bool(signer)

    def verify_args(self, identity):
        return ["key", "--public-key", self.pub]

    def github(self):
        runner = dict(self.runner, ACTIONS_ID_TOKEN_REQUEST_URL="https://127.0.0.1:1/token",
                      ACTIONS_ID_TOKEN_REQUEST_TOKEN="x")
        return runner, {}, {"TPM2_KEY": self.key}, "octo/model/.github/workflows/sign-model.yml@refs/heads/main"


class KeylessSigning:
    """The loopback Sigstore stack as a private Sigstore deployment."""
    method = "sigstore"
    github_method = "oidc"

    def __init__(self, state_dir):
        self.dir = state_dir
        self.stack = json.load(open(os.path.join(state_dir, "stack.json")))
        self.issuer = self.stack["oidc_issuer"]
        self.tls = ssl.create_default_context(cafile=os.path.join(state_dir, "ca.pem"))
        self.secrets = [self.stack["github_request_token"]]

    def token(self, sub):
        url = self.stack["base_url"] + "/control/token?" + urllib.parse.urlencode({"sub": sub})
        with urllib.request.urlopen(url, context=self.tls, timeout=30) as r:
            t = r.read().decode()
        self.secrets.append(t)
        return t

    def setup(self, work):
        # Committed to the repository, as a private deployment's users would.
        os.makedirs(os.path.join(work, "sigstore"))
        for f in ("trust_config.json", "ca.pem"):
            shutil.copy(os.path.join(self.dir, f), os.path.join(work, "sigstore", f))

    def signer_ok(self, signer, identity):
        return signer == identity

    def verify_args(self, identity):
        return ["sigstore", "--trust-config", os.path.join(self.dir, "trust_config.json"), "--identity", identity,
                "--identity-provider", self.issuer]

    def github(self):
        # The identity the stack's Fulcio certifies for its GitHub token: the token names the
        # workflow file, so the simulated run's github.workflow_ref does too.
        workflow_ref = self.stack["github_identity"].removeprefix("https://github.com/")
        return ({"ACTIONS_ID_TOKEN_REQUEST_URL": self.stack["github_token_url"],
                 "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.stack["github_request_token"]},
                {}, {"SIGSTORE_TRUST_CONFIG": "sigstore/trust_config.json", "SIGSTORE_CA_FILE": "sigstore/ca.pem",
                     "SIGSTORE_OIDC_ISSUER": self.issuer}, workflow_ref)

    def pipeline_env(self):
        """The private-deployment variables of the GitLab template and the generic script."""
        return {"SIGSTORE_TRUST_CONFIG": "sigstore/trust_config.json", "SIGSTORE_CA_FILE": "sigstore/ca.pem"}


def check_signed(where, how, work, outs, identity):
    """The outputs of a sign step, and the signature verified independently."""
    check(f"{where}: model_hash output", re.fullmatch(r"sha256:[0-9a-f]{64}", outs.get("model_hash", "")), outs)
    check(f"{where}: signature_path output", outs.get("signature_path") == "model.sig", outs)
    check(f"{where}: method output is {how.method}", outs.get("method") == how.method, outs)
    check(f"{where}: signer output", how.signer_ok(outs.get("signer"), identity), (outs, identity))
    if how.method == "sigstore":
        check(f"{where}: Rekor log index output", re.fullmatch(r"[0-9]+", outs.get("rekor_log_index", "")), outs)
    else:
        check(f"{where}: no Rekor log index for a key", "rekor_log_index" not in outs, outs)
    r = subprocess.run([MODELSIGN, "verify"] + how.verify_args(identity) + ["--signature", "model.sig", "model"],
                       cwd=work, capture_output=True, text=True)
    check(f"{where}: the signature verifies independently", r.returncode == 0, r.stderr)


def check_records(where, how, work, ci_facts, outs):
    """The audit log (a sign and a verify line), and no secret in any log or file."""
    r = subprocess.run([MODELSIGN, "audit", "verify", "modelsign-audit.log"], cwd=work, capture_output=True, text=True)
    check(f"{where}: audit log intact (2 lines)", r.returncode == 0 and " 2 line(s)" in r.stdout,
          r.stdout + r.stderr)
    sign = json.loads(open(os.path.join(work, "modelsign-audit.log")).read().splitlines()[0])
    check(f"{where}: audit line has the CI facts", all(sign["ci"].get(k) == v for k, v in ci_facts.items()), sign["ci"])
    check(f"{where}: audit line has the signer and the Rekor log index",
          sign["signer"]["summary"] == outs.get("signer")
          and str(sign["rekor_log_index"] if sign["rekor_log_index"] is not None else "") == outs.get("rekor_log_index", ""),
          sign)
    files = [os.path.join(work, f) for f in os.listdir(work) if os.path.isfile(os.path.join(work, f))]
    text = "".join(transcript) + "".join(open(f, errors="replace").read() for f in files)
    check(f"{where}: no secret in the logs, outputs, summary or audit log", not any(s in text for s in how.secrets))


# ---- GitHub Actions ----
def run_composite(action, inputs_given, step_env, ctx, env, work):
    """Runs action.yml's steps; returns (ok, the action's outputs, the run step's raw outputs, stderr)."""
    inputs = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
    inputs.update({k: str(v) for k, v in inputs_given.items()})
    actx = dict(ctx, inputs=inputs, steps={}, github=dict(ctx["github"], action_path=SRC))
    raw = {}
    for step in action["runs"]["steps"]:
        senv = dict(env, **step_env)
        senv.update({k: str(substitute(v, actx)) for k, v in step.get("env", {}).items()})
        out = os.path.join(work, ".gh_output_" + str(len(os.listdir(work))))
        open(out, "w").close()
        senv["GITHUB_OUTPUT"] = out
        r = run_shell(step["run"], senv, work)
        if r.returncode != 0:
            return False, {}, {}, r.stderr
        raw = read_outputs(out)
        if "id" in step:
            actx["steps"][step["id"]] = {"outputs": raw}
    outputs = {k: substitute(v["value"], actx) for k, v in action.get("outputs", {}).items()}
    return True, outputs, raw, ""


def github(how):
    where = f"github ({how.github_method})"
    with workspace("gh-", how) as work:
        wf = yaml.safe_load(open(os.path.join(SRC, ".github", "workflows", "sign-model.yml")))
        action = yaml.safe_load(open(os.path.join(SRC, "action.yml")))
        on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
        check(f"{where}: signs on push to main", on["push"]["branches"] == ["main"])
        options = on["workflow_dispatch"]["inputs"]["signing_method"]["options"]
        check(f"{where}: signing_method oidc|private_key|pkcs11|tpm2", options == ["oidc", "private_key", "pkcs11", "tpm2"])
        check(f"{where}: permissions", wf["permissions"] == {"id-token": "write", "contents": "read"})
        job = wf["jobs"]["sign"]
        names = [s.get("name", s.get("uses")) for s in job["steps"]]
        check(f"{where}: verifies before it uploads",
              names.index("Verify before upload") < names.index("Upload the model and its signature"))
        summary = os.path.join(work, "step_summary.md")
        open(summary, "w").close()
        ambient, secrets, variables, workflow_ref = how.github()
        env = base_env(work)
        env.update(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=summary, GITHUB_WORKSPACE=work, RUNNER_TEMP=work,
                   GITHUB_SHA="0123456789abcdef", GITHUB_REPOSITORY="octo/model", GITHUB_REF="refs/heads/main",
                   GITHUB_RUN_ID="99", GITHUB_SERVER_URL="https://github.com", GITHUB_WORKFLOW_REF=workflow_ref,
                   **ambient)
        ctx = {"inputs": {"signing_method": how.github_method}, "vars": variables, "secrets": secrets,
               "github": {"server_url": "https://github.com", "repository": "octo/model", "ref": "refs/heads/main",
                          "workflow_ref": workflow_ref},
               "steps": {}, "env": {}}
        ctx["env"] = {k: str(substitute(v, ctx)) for k, v in job.get("env", {}).items()}
        env.update(ctx["env"])
        sign_raw = {}
        for step in job["steps"]:
            name = step.get("name", step.get("uses"))
            step_env = {k: str(substitute(v, ctx)) for k, v in step.get("env", {}).items()}
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout"):
                continue
            if uses == "./":
                given = {k: substitute(v, ctx) for k, v in step.get("with", {}).items()}
                ok, outs, raw, err = run_composite(action, given, step_env, ctx, env, work)
                check(f"{where}: step '{name}' succeeds", ok, err.strip()[-600:])
                if not ok:
                    return
                if step.get("id") == "sign":
                    sign_raw = raw
                if "id" in step:
                    ctx["steps"][step["id"]] = {"outputs": outs}
            elif uses.startswith("actions/upload-artifact"):
                paths = [p for p in substitute(step["with"]["path"], ctx).split("\n") if p.strip()]
                check(f"{where}: every artifact path exists", all(os.path.exists(os.path.join(work, p)) for p in paths),
                      paths)
            else:
                out = os.path.join(work, ".gh_output_" + step["id"])
                open(out, "w").close()
                r = run_shell(step["run"], dict(env, GITHUB_OUTPUT=out, **step_env), work)
                check(f"{where}: step '{name}' succeeds", r.returncode == 0, r.stderr)
                ctx["steps"][step["id"]] = {"outputs": read_outputs(out)}
        identity = "https://github.com/" + workflow_ref
        # The outputs file modelsign appended to, and the action's outputs built from it.
        check_signed(where, how, work, sign_raw, identity)
        outs = ctx["steps"]["sign"]["outputs"]
        check(f"{where}: the action's outputs carry the outputs file",
              [outs.get(k.replace("_", "-"), "") for k in ("model_hash", "signature_path", "method", "signer",
                                                         "rekor_log_index")]
              == [sign_raw.get(k, "") for k in ("model_hash", "signature_path", "method", "signer", "rekor_log_index")],
              (outs, sign_raw))
        text = open(summary).read()
        first = text.split("\n### ")[0]  # the sign step's table; the verify step's follows
        rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \| <code>(.*)</code> \|$", first, re.M)}
        check(f"{where}: step summary table has the sign outputs",
              first.startswith("### modelsign: signed model") and sign_raw and rows == sign_raw, text)
        check(f"{where}: step summary has the verify table", "\n### modelsign: verified model" in text, text)
        check_records(where, how, work, {"platform": "github-actions", "commit_sha": "0123456789abcdef"}, sign_raw)


# ---- GitLab CI ----
def gitlab(how):
    with workspace("gl-", how) as work:
        tpl = yaml.safe_load(open(os.path.join(SRC, "templates", "gitlab", "modelsign.gitlab-ci.yml")))
        job = tpl[".modelsign-sign"]
        check("gitlab: id_tokens SIGSTORE_ID_TOKEN aud sigstore", job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"] == "sigstore")
        dotenv = job["artifacts"]["reports"]["dotenv"]
        env = base_env(work)
        env.update({k: str(v) for k, v in job.get("variables", {}).items()})
        env.update(GITLAB_CI="true", CI_PROJECT_DIR=work, CI_COMMIT_SHA="feedbeef", CI_PROJECT_PATH="group/model",
                   CI_JOB_URL="https://gitlab.example/group/model/-/jobs/5", MODEL_PATH="model")
        identity = "project_path:group/model:ref_type:branch:ref:main"
        if how.method == "key":
            # A job that `extends: .modelsign-sign` and signs with its key; GitLab still sets
            # the job's ID token.
            env.update(SIGSTORE_ID_TOKEN="eyJhbGciOi.x.y", MODELSIGN_METHOD="key", SIGNING_PRIVATE_KEY=how.pem)
            verify_flags = "--public-key keys/signing_key.pub"
        else:
            # The job's ID token (the template leaves the method to be chosen from it).
            env.update(SIGSTORE_ID_TOKEN=how.token(identity), **how.pipeline_env())
            verify_flags = f"--identity {identity} --identity-provider {how.issuer}"
        r = run_shell("\n".join(job.get("before_script", []) + job["script"]), env, work)
        check("gitlab: the sign job succeeds", r.returncode == 0, r.stderr)
        outs = read_outputs(os.path.join(work, dotenv))
        check_signed("gitlab", how, work, outs, identity)
        paths = [os.path.expandvars(p.replace("$MODEL_PATH", "model")) for p in job["artifacts"]["paths"]]
        check("gitlab: every artifact path exists", all(os.path.exists(os.path.join(work, p)) for p in paths), paths)
        vjob = tpl[".modelsign-verify"]
        venv = dict(base_env(work), **{k: str(v) for k, v in vjob.get("variables", {}).items()})
        venv.update(GITLAB_CI="true", CI_COMMIT_SHA="feedbeef", MODEL_PATH="model", MODELSIGN_VERIFY_FLAGS=verify_flags)
        if how.method != "key":
            venv.update(how.pipeline_env())
        r = run_shell("\n".join(vjob.get("before_script", []) + vjob["script"]), venv, work)
        check("gitlab: the verify job succeeds", r.returncode == 0, r.stderr)
        check_records("gitlab", how, work, {"platform": "gitlab-ci", "commit_sha": "feedbeef"}, outs)


# ---- Generic ----
def generic(how):
    with workspace("generic-", how) as work:
        env = dict(base_env(work), MODEL_PATH="model")
        identity = "release-bot@example.com"
        if how.method == "key":
            env.update(SIGNING_PRIVATE_KEY=how.pem, PUBLIC_KEY="keys/signing_key.pub")
        else:
            env.update(SIGSTORE_ID_TOKEN=how.token(identity), IDENTITY=identity, IDENTITY_PROVIDER=how.issuer,
                       **how.pipeline_env())
        r = run_shell("", env, work, ["bash", os.path.join(SRC, "templates", "generic", "sign-model.sh")])
        check("generic: the script succeeds", r.returncode == 0, r.stderr)
        outs = read_outputs(os.path.join(work, "modelsign.env"))
        check_signed("generic", how, work, outs, identity)
        check_records("generic", how, work, {"platform": "generic"}, outs)


def not_installed():
    """Without modelsign on PATH, the templates say so and what to do (docs/ci.md, Troubleshooting)."""
    work = tempfile.mkdtemp(prefix="noinstall-")
    try:
        env = {"PATH": "/usr/bin:/bin", "HOME": work, "CI": "true", "MODEL_PATH": "model"}
        tpl = yaml.safe_load(open(os.path.join(SRC, "templates", "gitlab", "modelsign.gitlab-ci.yml")))
        for where, argv, script in (
                ("generic", ["bash", os.path.join(SRC, "templates", "generic", "sign-model.sh")], ""),
                ("gitlab", None, "\n".join(tpl[".modelsign-sign"]["before_script"]))):
            r = run_shell(script, env, work, argv)
            check(f"{where}: without modelsign, the job stops and says so",
                  r.returncode != 0 and "modelsign is not installed" in r.stderr, r.stderr)
    finally:
        shutil.rmtree(work)


if SUITE == "key":
    key = KeySigning()
    github(key)
    gitlab(key)
    generic(key)
    not_installed()
    for make in (Pkcs11Signing, Tpm2Signing):  # the self-hosted runner methods
        hardware = make()
        try:
            github(hardware)
        finally:
            hardware.close()
elif SUITE == "keyless":
    state = os.environ.get("MODELSIGN_SIGSTORE_STACK", "")
    if not state or not os.path.exists(os.path.join(state, "stack.json")):
        msg = f"the Sigstore test stack is not running (MODELSIGN_SIGSTORE_STACK={state})"
        if os.environ.get("CI"):
            print("FAIL: " + msg)
            sys.exit(1)
        print("SKIP: " + msg)
        sys.exit(77)
    keyless = KeylessSigning(state)
    github(keyless)
    gitlab(keyless)
    generic(keyless)
else:
    sys.exit(f"unknown suite {SUITE!r}: key or keyless")
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
