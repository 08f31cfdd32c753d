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


def timed(fn, runs):
    fn()  # warm-up: page cache and first-call costs
    times, value = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


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
        cli_t, cli_h = timed(lambda: subprocess.run([CLI, "digest", str(model)], check=True,
                                                    capture_output=True, text=True).stdout.strip(),
                             args.runs)
        py_t, py_h = timed(signer.compute_model_hash, args.runs)
        hl_t, hl_h = timed(lambda: hashlib_root(model), max(1, args.runs // 2))

    mb = size / 1e6
    print(f"model: {mb:.0f} MB in {args.files if args.model is None else 'its'} files; "
          f"median of {args.runs} warm runs; {os.cpu_count()} CPUs")
    print(f"  modelsign digest (CLI)            {cli_t:8.3f} s  {mb / cli_t:8.0f} MB/s")
    print(f"  ModelSigner.compute_model_hash()  {py_t:8.3f} s  {mb / py_t:8.0f} MB/s")
    print(f"  hashlib, file by file             {hl_t:8.3f} s  {mb / hl_t:8.0f} MB/s")
    ratio = py_t / cli_t
    print(f"python/CLI time ratio: {ratio:.3f} ({'within' if abs(ratio - 1) <= 0.05 else 'OUTSIDE'} 5 %)")
    print(f"hashlib/python time ratio: {hl_t / py_t:.2f} (modelsign from Python is {hl_t / py_t:.1f}x faster)")
    if not (cli_h == py_h == hl_h):
        print(f"DIGESTS DIFFER: cli {cli_h}, python {py_h}, hashlib {hl_h}", file=sys.stderr)
        return 1
    print(f"all three give {py_h}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
