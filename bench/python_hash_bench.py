#!/usr/bin/env python3
"""Hashing from Python: ModelSigner.compute_model_hash() against `modelsign digest` on the
same model (the package should be within 5 % of the CLI), and against hashing in pure
Python with hashlib, one file after another in 64 KiB reads (how a Python signing script
without modelsign hashes a model). All three must give the same root digest.

usage: python_hash_bench.py [--size-mb N] [--files N] [--runs N] [--model DIR]
environment: MODELSIGN_CLI (default build/modelsign); the package is imported from
PYTHONPATH (default build/python). Warm page cache: every figure is taken after a
warm-up pass over the same files.
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = os.environ.get("MODELSIGN_CLI", str(REPO / "build" / "modelsign"))
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(REPO / "build" / "python"))

import modelsign  # noqa: E402


def make_model(root: Path, size_mb: int, files: int) -> None:
    """`files` files sharing `size_mb` MiB, one of them half the total (a weights file)."""
    root.mkdir(parents=True, exist_ok=True)
    total = size_mb << 20
    sizes = [total // 2] + [max(1, (total - total // 2) // max(1, files - 1))] * (files - 1)
    chunk = os.urandom(1 << 20)
    for i, size in enumerate(sizes):
        sub = root / f"layer{i % 8}"
        sub.mkdir(exist_ok=True)
        with open(sub / f"part{i:05d}.bin", "wb") as f:
            left = size
            while left > 0:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n


def hashlib_root(model: Path) -> str:
    """The model_signing manifest root with hashlib: per-file SHA-256, files in
    component-wise path order, then SHA-256 over the concatenated digests."""
    names = []
    for dirpath, dirnames, filenames in os.walk(model):
        dirnames[:] = [d for d in dirnames if not (dirpath == str(model) and d in (".git", ".github"))]
        for fn in filenames:
            rel = os.path.relpath(os.path.join(dirpath, fn), model)
            if rel not in (".gitattributes", ".gitignore"):
                names.append(rel)
    names.sort(key=lambda p: p.split(os.sep))
    root = hashlib.sha256()
    for rel in names:
        h = hashlib.sha256()
        with open(model / rel, "rb") as f:
            while True:
                block = f.read(65536)
                if not block:
                    break
                h.update(block)
        root.update(h.digest())
    return "sha256:" + root.hexdigest()


def cli_digest(model):
    return subprocess.run([CLI, "digest", str(model)], check=True, capture_output=True,
                          text=True).stdout.strip()


def measure(fns, runs):
    """Wall and CPU seconds (medians) of each function, run in turn so that a change in
    the machine's load affects all of them alike; one warm-up round first."""
    for fn in fns.values():
        fn()
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    values = {}
    for _ in range(runs):
        for k, fn in fns.items():
            c0 = os.times()
            t0 = time.perf_counter()
            values[k] = fn()
            t1 = time.perf_counter()
            c1 = os.times()
            wall[k].append(t1 - t0)
            # This process's threads plus waited-for children (the CLI).
            cpu[k].append(sum(c1[:4]) - sum(c0[:4]))
    med = statistics.median
    return {k: (med(wall[k]), med(cpu[k])) for k in fns}, values


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--files", type=int, default=64)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--model", type=Path, help="an existing model to hash instead of a generated one")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="modelsign-pybench-") as tmp:
        model = args.model
        if model is None:
            model = Path(tmp) / "model"
            make_model(model, args.size_mb, args.files)
        size = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
        signer = modelsign.ModelSigner(model)
        times, values = measure({"cli": lambda: cli_digest(model),
                                 "python": signer.compute_model_hash,
                                 "hashlib": lambda: hashlib_root(model)}, args.runs)

    mb = size / 1e6
    print(f"model: {mb:.0f} MB in {args.files if args.model is None else 'its'} files; "
          f"median of {args.runs} warm runs, taken in turn; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    labels = {"cli": "modelsign digest (CLI)", "python": "ModelSigner.compute_model_hash()",
              "hashlib": "hashlib, file by file (1 thread)"}
    print(f"  {'':34s} {'wall':>8s} {'MB/s':>8s} {'CPU s':>8s}")
    for k, label in labels.items():
        w, c = times[k]
        print(f"  {label:34s} {w:8.3f} {mb / w:8.0f} {c:8.3f}")
    def ratio_of(a, b):  # CPU times under the clock's 10 ms tick can be 0 on tiny models
        return f"{a / b:.3f}" if b > 0 else "n/a"

    ratio = times["python"][0] / times["cli"][0]
    print(f"python/CLI wall-time ratio: {ratio:.3f} ({'within' if abs(ratio - 1) <= 0.05 else 'OUTSIDE'} 5 %); "
          f"CPU-time ratio {ratio_of(times['python'][1], times['cli'][1])}")
    print(f"hashlib/python wall-time ratio: {ratio_of(times['hashlib'][0], times['python'][0])} "
          f"(CPU-time ratio {ratio_of(times['hashlib'][1], times['python'][1])})")
    if len(set(values.values())) != 1:
        print(f"DIGESTS DIFFER: {values}", file=sys.stderr)
        return 1
    print(f"all three give {values['python']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
