"""Loader speed and memory: ``load_ratings`` on a big clean CSV, each round in a fresh process.

    python benchmarks/parse.py FILE [--rounds 3] [--baseline REF]

Prints, per round, the wall seconds of ``load_ratings(FILE)`` and the process's peak RSS, then the
medians. With ``--baseline REF`` (a git ref such as ``main``) the loader of that commit runs too, in
alternating rounds, from a temporary checkout of ``mfcore/`` (``git archive``), so the two are compared
under the same machine load. Make a 10M-rating file with
``python -m mfcore sample --users 200000 --items 40000 --ratings 10000000 --seed 1 --out FILE``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from mfcore.data import load_ratings
start = time.perf_counter()
ratings = load_ratings({path!r})
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "ratings": len(ratings), "users": ratings.n_users, "items": ratings.n_items}}))
"""


def one_round(root: Path, path: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD.format(root=str(root), path=str(path))],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def checkout(ref: str, into: Path) -> Path:
    archive = into / "src.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "archive", ref, "mfcore"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="git ref whose loader runs too (e.g. main)")
    args = parser.parse_args()
    size_mb = args.file.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as scratch:
        contenders = {"this branch": ROOT}
        if args.baseline:
            contenders[f"{args.baseline}"] = checkout(args.baseline, Path(scratch))
        results = {name: [] for name in contenders}
        for round_number in range(args.rounds):
            names = list(contenders) if round_number % 2 == 0 else list(contenders)[::-1]
            for name in names:
                row = one_round(contenders[name], args.file)
                results[name].append(row)
                print(f"round {round_number + 1} {name:12} {row['seconds']:7.2f} s  peak {row['peak_mb']:7.0f} MB  "
                      f"{row['ratings']:,} ratings", flush=True)
    print(f"\n{args.file.name}: {size_mb:,.0f} MB")
    for name, rows in results.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        peak = statistics.median(r["peak_mb"] for r in rows)
        print(f"{name:12} median {seconds:6.2f} s ({size_mb / seconds:5.0f} MB/s), peak RSS {peak:6.0f} MB")


if __name__ == "__main__":
    main()
