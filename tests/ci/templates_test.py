#!/usr/bin/python3
"""Runs the shipped CI templates locally in a simulated CI environment.

GitHub: the workflow .github/workflows/sign-model.yml (workflow_dispatch,
signing_method=private_key) with the composite action.yml, its ${{ }} expressions
evaluated, its shell steps run with GITHUB_ACTIONS, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY (and GitHub's ambient OIDC variables, which id-token: write sets:
the explicit key method must win). GitLab: the .modelsign-sign job with GITLAB_CI and
the job's SIGSTORE_ID_TOKEN. Generic: templates/generic/sign-model.sh. Each run's
outputs and signature are then checked.

Usage: templates_test.py SOURCE_DIR MODELSIGN
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC, MODELSIGN = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
failures = []


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


def run_shell(script, env, cwd):
    r = subprocess.run(["bash", "-e", "-c", script], env=env, cwd=cwd, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r


def base_env(work):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "ACTIONS_", "SIGSTORE_", "MODELSIGN_"))
           and k not in ("CI", "SIGNING_PRIVATE_KEY")}
    env["PATH"] = os.path.dirname(MODELSIGN) + os.pathsep + env.get("PATH", "")
    env["CI"] = "true"
    env["HOME"] = work
    return env


def make_key():
    """A throwaway P-256 key: (PEM private key text, PEM public key text)."""
    d = tempfile.mkdtemp(prefix="key-")
    try:
        key, pub = os.path.join(d, "k.pem"), os.path.join(d, "k.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True, capture_output=True)
        return open(key).read(), open(pub).read()
    finally:
        shutil.rmtree(d)


PEM, PUB = make_key()  # the private key exists only as the CI secret


def make_workspace(work):
    os.makedirs(os.path.join(work, "model"))
    with open(os.path.join(work, "model", "weights.bin"), "wb") as f:
        f.write(os.urandom(4096))
    with open(os.path.join(work, "model", "config.json"), "w") as f:
        f.write('{"layers": 2}\n')
    os.makedirs(os.path.join(work, "keys"))
    with open(os.path.join(work, "keys", "signing_key.pub"), "w") as f:
        f.write(PUB)
    return PEM


def independent_verify(work, sig):
    r = subprocess.run([MODELSIGN, "verify", "key", "--public-key", "keys/signing_key.pub", "--signature", sig,
                        "model"], cwd=work, capture_output=True, text=True)
    return r.returncode == 0, r.stderr


# ---- GitHub Actions ----
def run_composite(action, inputs_given, step_env, ctx, env, work):
    inputs = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
    inputs.update({k: str(v) for k, v in inputs_given.items()})
    actx = dict(ctx, inputs=inputs, steps={}, github=dict(ctx["github"], action_path=SRC))
    for step in action["runs"]["steps"]:
        senv = dict(env, **step_env)
        senv.update({k: str(substitute(v, actx)) for k, v in step.get("env", {}).items()})
        out = os.path.join(work, ".gh_output_" + str(len(os.listdir(work))))
        open(out, "w").close()
        senv["GITHUB_OUTPUT"] = out
        r = run_shell(step["run"], senv, work)
        if r.returncode != 0:
            return False, {}, r.stderr
        if "id" in step:
            actx["steps"][step["id"]] = {"outputs": read_outputs(out)}
    outputs = {k: substitute(v["value"], actx) for k, v in action.get("outputs", {}).items()}
    return True, outputs, ""


def github(pem):
    work = tempfile.mkdtemp(prefix="gh-")
    try:
        make_workspace(work)
        wf = yaml.safe_load(open(os.path.join(SRC, ".github", "workflows", "sign-model.yml")))
        action = yaml.safe_load(open(os.path.join(SRC, "action.yml")))
        on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
        check("github: signs on push to main", on["push"]["branches"] == ["main"])
        options = on["workflow_dispatch"]["inputs"]["signing_method"]["options"]
        check("github: signing_method oidc|private_key|pkcs11|tpm2", options == ["oidc", "private_key", "pkcs11", "tpm2"])
        check("github: permissions", wf["permissions"] == {"id-token": "write", "contents": "read"})
        job = wf["jobs"]["sign"]
        names = [s.get("name", s.get("uses")) for s in job["steps"]]
        check("github: verifies before it uploads",
              names.index("Verify before upload") < names.index("Upload the model and its signature"))
        summary = os.path.join(work, "step_summary.md")
        open(summary, "w").close()
        env = base_env(work)
        env.update(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=summary, GITHUB_WORKSPACE=work, RUNNER_TEMP=work,
                   GITHUB_SHA="0123456789abcdef", GITHUB_REPOSITORY="octo/model", GITHUB_REF="refs/heads/main",
                   GITHUB_RUN_ID="99", GITHUB_SERVER_URL="https://github.com",
                   # What `permissions: id-token: write` gives every step: the explicit key
                   # method must still win over keyless.
                   ACTIONS_ID_TOKEN_REQUEST_URL="https://127.0.0.1:1/token", ACTIONS_ID_TOKEN_REQUEST_TOKEN="x")
        ctx = {"inputs": {"signing_method": "private_key"}, "vars": {}, "secrets": {"SIGNING_PRIVATE_KEY": pem},
               "github": {"server_url": "https://github.com", "repository": "octo/model", "ref": "refs/heads/main"},
               "steps": {}, "env": {}}
        ctx["env"] = {k: str(substitute(v, ctx)) for k, v in job.get("env", {}).items()}
        env.update(ctx["env"])
        for step in job["steps"]:
            name = step.get("name", step.get("uses"))
            step_env = {k: str(substitute(v, ctx)) for k, v in step.get("env", {}).items()}
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout"):
                continue
            if uses == "./":
                given = {k: substitute(v, ctx) for k, v in step.get("with", {}).items()}
                ok, outs, err = run_composite(action, given, step_env, ctx, env, work)
                check(f"github: step '{name}' succeeds", ok, err.strip()[-400:])
                if not ok:
                    return
                if "id" in step:
                    ctx["steps"][step["id"]] = {"outputs": outs}
            elif uses.startswith("actions/upload-artifact"):
                paths = [p for p in substitute(step["with"]["path"], ctx).split("\n") if p.strip()]
                check("github: every artifact path exists", all(os.path.exists(os.path.join(work, p)) for p in paths),
                      paths)
            else:
                out = os.path.join(work, ".gh_output_" + step["id"])
                open(out, "w").close()
                r = run_shell(step["run"], dict(env, GITHUB_OUTPUT=out, **step_env), work)
                check(f"github: step '{name}' succeeds", r.returncode == 0, r.stderr)
                ctx["steps"][step["id"]] = {"outputs": read_outputs(out)}
        outs = ctx["steps"]["sign"]["outputs"]
        check("github: model-hash output", re.fullmatch(r"sha256:[0-9a-f]{64}", outs.get("model-hash", "")), outs)
        check("github: signature-path output", outs.get("signature-path") == "model.sig", outs)
        check("github: method output is key", outs.get("method") == "key", outs)
        check("github: signer output", bool(outs.get("signer")), outs)
        text = open(summary).read()
        check("github: step summary table", "| model_hash | <code>sha256:" in text, text)
        ok, err = independent_verify(work, "model.sig")
        check("github: the signature verifies", ok, err)
        r = subprocess.run([MODELSIGN, "audit", "verify", "modelsign-audit.log"], cwd=work, capture_output=True,
                           text=True)
        check("github: audit log (sign + verify) intact", r.returncode == 0 and "2 line(s)" in r.stdout, r.stdout)
    finally:
        shutil.rmtree(work)


# ---- GitLab CI ----
def gitlab(pem):
    work = tempfile.mkdtemp(prefix="gl-")
    try:
        make_workspace(work)
        tpl = yaml.safe_load(open(os.path.join(SRC, "templates", "gitlab", "modelsign.gitlab-ci.yml")))
        job = tpl[".modelsign-sign"]
        check("gitlab: id_tokens SIGSTORE_ID_TOKEN aud sigstore", job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"] == "sigstore")
        dotenv = job["artifacts"]["reports"]["dotenv"]
        env = base_env(work)
        env.update({k: str(v) for k, v in job.get("variables", {}).items()})
        # A job that `extends: .modelsign-sign` and signs with its key; GitLab still sets
        # the job's ID token.
        env.update(GITLAB_CI="true", CI_PROJECT_DIR=work, CI_COMMIT_SHA="feedbeef", CI_PROJECT_PATH="group/model",
                   CI_JOB_URL="https://gitlab.example/group/model/-/jobs/5", SIGSTORE_ID_TOKEN="eyJhbGciOi.x.y",
                   MODELSIGN_METHOD="key", SIGNING_PRIVATE_KEY=pem, MODEL_PATH="model")
        script = "\n".join(job.get("before_script", []) + job["script"])
        r = run_shell(script, env, work)
        check("gitlab: the job succeeds", r.returncode == 0, r.stderr)
        outs = read_outputs(os.path.join(work, dotenv)) if os.path.exists(os.path.join(work, dotenv)) else {}
        check("gitlab: dotenv model_hash", re.fullmatch(r"sha256:[0-9a-f]{64}", outs.get("model_hash", "")), outs)
        check("gitlab: dotenv signature_path/method",
              outs.get("signature_path") == "model.sig" and outs.get("method") == "key", outs)
        paths = [os.path.expandvars(p.replace("$MODEL_PATH", "model")) for p in job["artifacts"]["paths"]]
        check("gitlab: every artifact path exists", all(os.path.exists(os.path.join(work, p)) for p in paths), paths)
        ok, err = independent_verify(work, "model.sig")
        check("gitlab: the signature verifies", ok, err)
        audit = json.loads(open(os.path.join(work, "modelsign-audit.log")).read().splitlines()[-1])
        check("gitlab: audit line has the CI facts",
              audit["ci"].get("platform") == "gitlab-ci" and audit["ci"].get("commit_sha") == "feedbeef", audit["ci"])
        vjob = tpl[".modelsign-verify"]
        venv = dict(base_env(work), GITLAB_CI="true", MODEL_PATH="model",
                    MODELSIGN_VERIFY_FLAGS="--public-key keys/signing_key.pub")
        r = run_shell("\n".join(vjob.get("before_script", []) + vjob["script"]), venv, work)
        check("gitlab: the verify job succeeds", r.returncode == 0, r.stderr)
    finally:
        shutil.rmtree(work)


# ---- Generic ----
def generic(pem):
    work = tempfile.mkdtemp(prefix="generic-")
    try:
        make_workspace(work)
        env = dict(base_env(work), MODEL_PATH="model", SIGNING_PRIVATE_KEY=pem, PUBLIC_KEY="keys/signing_key.pub")
        r = subprocess.run(["bash", os.path.join(SRC, "templates", "generic", "sign-model.sh")], env=env, cwd=work,
                           capture_output=True, text=True)
        check("generic: the script succeeds", r.returncode == 0, r.stderr)
        outs = read_outputs(os.path.join(work, "modelsign.env")) if r.returncode == 0 else {}
        check("generic: outputs", outs.get("method") == "key" and outs.get("signature_path") == "model.sig", outs)
        ok, err = independent_verify(work, "model.sig")
        check("generic: the signature verifies", ok, err)
    finally:
        shutil.rmtree(work)


def github(pem):
    work = tempfile.mkdtemp(prefix="gh-")
    try:
        make_workspace(work)
        wf = yaml.safe_load(open(os.path.join(SRC, ".github", "workflows", "sign-model.yml")))
        action = yaml.safe_load(open(os.path.join(SRC, "action.yml")))
        on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
        check("github: signs on push to main", on["push"]["branches"] == ["main"])
        options = on["workflow_dispatch"]["inputs"]["signing_method"]["options"]
        check("github: signing_method oidc|private_key|pkcs11|tpm2", options == ["oidc", "private_key", "pkcs11", "tpm2"])
        check("github: permissions", wf["permissions"] == {"id-token": "write", "contents": "read"})
        job = wf["jobs"]["sign"]
        names = [s.get("name", s.get("uses")) for s in job["steps"]]
        check("github: verifies before it uploads",
              names.index("Verify before upload") < names.index("Upload the model and its signature"))
        summary = os.path.join(work, "step_summary.md")
        open(summary, "w").close()
        env = base_env(work)
        env.update(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=summary, GITHUB_WORKSPACE=work, RUNNER_TEMP=work,
                   GITHUB_SHA="0123456789abcdef", GITHUB_REPOSITORY="octo/model", GITHUB_REF="refs/heads/main",
                   GITHUB_RUN_ID="99", GITHUB_SERVER_URL="https://github.com",
                   # What `permissions: id-token: write` gives every step: the explicit key
                   # method must still win over keyless.
                   ACTIONS_ID_TOKEN_REQUEST_URL="https://127.0.0.1:1/token", ACTIONS_ID_TOKEN_REQUEST_TOKEN="x")
        ctx = {"inputs": {"signing_method": "private_key"}, "vars": {}, "secrets": {"SIGNING_PRIVATE_KEY": pem},
               "github": {"server_url": "https://github.com", "repository": "octo/model", "ref": "refs/heads/main"},
               "steps": {}, "env": {}}
        ctx["env"] = {k: str(substitute(v, ctx)) for k, v in job.get("env", {}).items()}
        env.update(ctx["env"])
        for step in job["steps"]:
            name = step.get("name", step.get("uses"))
            step_env = {k: str(substitute(v, ctx)) for k, v in step.get("env", {}).items()}
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout"):
                continue
            if uses == "./":
                given = {k: substitute(v, ctx) for k, v in step.get("with", {}).items()}
                ok, outs, err = run_composite(action, given, step_env, ctx, env, work)
                check(f"github: step '{name}' succeeds", ok, err.strip()[-400:])
                if not ok:
                    return
                if "id" in step:
                    ctx["steps"][step["id"]] = {"outputs": outs}
            elif uses.startswith("actions/upload-artifact"):
                paths = [p for p in substitute(step["with"]["path"], ctx).split("\n") if p.strip()]
                check("github: every artifact path exists", all(os.path.exists(os.path.join(work, p)) for p in paths),
                      paths)
            else:
                out = os.path.join(work, ".gh_output_" + step["id"])
                open(out, "w").close()
                r = run_shell(step["run"], dict(env, GITHUB_OUTPUT=out, **step_env), work)
                check(f"github: step '{name}' succeeds", r.returncode == 0, r.stderr)
                ctx["steps"][step["id"]] = {"outputs": read_outputs(out)}
        outs = ctx["steps"]["sign"]["outputs"]
        check("github: model-hash output", re.fullmatch(r"sha256:[0-9a-f]{64}", outs.get("model-hash", "")), outs)
        check("github: signature-path output", outs.get("signature-path") == "model.sig", outs)
        check("github: method output is key", outs.get("method") == "key", outs)
        check("github: signer output", bool(outs.get("signer")), outs)
        text = open(summary).read()
        check("github: step summary table", "| model_hash | <code>sha256:" in text, text)
        ok, err = independent_verify(work, "model.sig")
        check("github: the signature verifies", ok, err)
        r = subprocess.run([MODELSIGN, "audit", "verify", "modelsign-audit.log"], cwd=work, capture_output=True,
                           text=True)
        check("github: audit log (sign + verify) intact", r.returncode == 0 and "2 line(s)" in r.stdout, r.stdout)
    finally:
        shutil.rmtree(work)


# ---- GitLab CI ----
def gitlab(pem):
    work = tempfile.mkdtemp(prefix="gl-")
    try:
        make_workspace(work)
        tpl = yaml.safe_load(open(os.path.join(SRC, "templates", "gitlab", "modelsign.gitlab-ci.yml")))
        job = tpl[".modelsign-sign"]
        check("gitlab: id_tokens SIGSTORE_ID_TOKEN aud sigstore", job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"] == "sigstore")
        dotenv = job["artifacts"]["reports"]["dotenv"]
        env = base_env(work)
        env.update({k: str(v) for k, v in job.get("variables", {}).items()})
        # A job that `extends: .modelsign-sign` and signs with its key; GitLab still sets
        # the job's ID token.
        env.update(GITLAB_CI="true", CI_PROJECT_DIR=work, CI_COMMIT_SHA="feedbeef", CI_PROJECT_PATH="group/model",
                   CI_JOB_URL="https://gitlab.example/group/model/-/jobs/5", SIGSTORE_ID_TOKEN="eyJhbGciOi.x.y",
                   MODELSIGN_METHOD="key", SIGNING_PRIVATE_KEY=pem, MODEL_PATH="model")
        script = "\n".join(job.get("before_script", []) + job["script"])
        r = run_shell(script, env, work)
        check("gitlab: the job succeeds", r.returncode == 0, r.stderr)
        outs = read_outputs(os.path.join(work, dotenv)) if os.path.exists(os.path.join(work, dotenv)) else {}
        check("gitlab: dotenv model_hash", re.fullmatch(r"sha256:[0-9a-f]{64}", outs.get("model_hash", "")), outs)
        check("gitlab: dotenv signature_path/method",
              outs.get("signature_path") == "model.sig" and outs.get("method") == "key", outs)
        paths = [os.path.expandvars(p.replace("$MODEL_PATH", "model")) for p in job["artifacts"]["paths"]]
        check("gitlab: every artifact path exists", all(os.path.exists(os.path.join(work, p)) for p in paths), paths)
        ok, err = independent_verify(work, "model.sig")
        check("gitlab: the signature verifies", ok, err)
        audit = json.loads(open(os.path.join(work, "modelsign-audit.log")).read().splitlines()[-1])
        check("gitlab: audit line has the CI facts",
              audit["ci"].get("platform") == "gitlab-ci" and audit["ci"].get("commit_sha") == "feedbeef", audit["ci"])
        vjob = tpl[".modelsign-verify"]
        venv = dict(base_env(work), GITLAB_CI="true", MODEL_PATH="model",
                    MODELSIGN_VERIFY_FLAGS="--public-key keys/signing_key.pub")
        r = run_shell("\n".join(vjob.get("before_script", []) + vjob["script"]), venv, work)
        check("gitlab: the verify job succeeds", r.returncode == 0, r.stderr)
    finally:
        shutil.rmtree(work)


# ---- Generic ----
def generic(pem):
    work = tempfile.mkdtemp(prefix="generic-")
    try:
        make_workspace(work)
        env = dict(base_env(work), MODEL_PATH="model", SIGNING_PRIVATE_KEY=pem, PUBLIC_KEY="keys/signing_key.pub")
        r = subprocess.run(["bash", os.path.join(SRC, "templates", "generic", "sign-model.sh")], env=env, cwd=work,
                           capture_output=True, text=True)
        check("generic: the script succeeds", r.returncode == 0, r.stderr)
        outs = read_outputs(os.path.join(work, "modelsign.env")) if r.returncode == 0 else {}
        check("generic: outputs", outs.get("method") == "key" and outs.get("signature_path") == "model.sig", outs)
        ok, err = independent_verify(work, "model.sig")
        check("generic: the signature verifies", ok, err)
    finally:
        shutil.rmtree(work)


pem = PEM
github(pem)
gitlab(pem)
generic(pem)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
