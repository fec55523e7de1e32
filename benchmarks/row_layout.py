"""The default engine with its factor rows padded to whole cache lines against unpadded rows.

    python benchmarks/row_layout.py [--data-dir DIR] [--factors 100,200] [--threads 1,2] [--rounds 4] [--no-write]

ML-1M (90% split, seed 0), default settings, 20 epochs. Each round trains three times with each layout in a
fresh process (alternating, so the machine's drift hits both alike) and keeps the median speed
(``updates_per_second_``: from the initial factors to the last epoch);
prints medians and the spread (slowest..fastest) in M updates per second and the CPU, and writes
``benchmarks/results/row_layout.json`` (rendered into ``docs/benchmarks.md``). The unpadded
layout is ``BlockPlan.padded_rows = False`` (rows of K floats, as NumPy allocates them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import results

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")


def worker(path: str, k: int, threads: int, padded: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from mfcore import SGDFactorizer, load_ratings, random_split
    from mfcore.engines.numba_parallel import BlockPlan
    BlockPlan.padded_rows = padded
    train, _ = random_split(load_ratings(path), 0.1, seed=0)
    SGDFactorizer(n_factors=k, n_threads=threads, n_epochs=1).fit(train)  # compile or load the kernels
    speeds = [SGDFactorizer(n_factors=k, n_threads=threads).fit(train).updates_per_second_ for _ in range(3)]
    print(json.dumps({"updates_per_second": float(np.median(speeds))}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--factors", default="100,200")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results as it is")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        path, k, threads, padded = args.worker
        worker(path, int(k), int(threads), padded == "1")
        return 0
    path = args.data_dir / "ml-1m" / "ratings.dat"
    if not path.exists():
        print(f"error: {path} not found (set --data-dir or MF_SHARED_DATA)", file=sys.stderr)
        return 2
    cpu = results.cpu_info()
    sys.path.insert(0, str(ROOT))
    from mfcore.engines.numba_parallel import l2_cache_bytes
    l2 = f"{l2_cache_bytes() >> 10} KiB L2"
    print(f"CPU: {cpu['model']}, {cpu['vector_unit']}, {cpu['cores']} cores, {l2}")
    columns = ["K", "threads", "padded rows M updates/s", "unpadded M updates/s", "ratio"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    rows, data = [], {}
    for k in (int(value) for value in args.factors.split(",")):
        for threads in (int(value) for value in args.threads.split(",")):
            speeds = {True: [], False: []}
            for _ in range(args.rounds):
                for padded in (True, False):
                    done = subprocess.run([sys.executable, __file__, "--worker", str(path), str(k), str(threads),
                                           "1" if padded else "0"], capture_output=True, text=True, check=True)
                    speeds[padded].append(json.loads(done.stdout.splitlines()[-1])["updates_per_second"] / 1e6)
            cells = [f"{np.median(v):.1f} ({min(v):.1f}..{max(v):.1f})" for v in (speeds[True], speeds[False])]
            ratio = np.median(speeds[True]) / np.median(speeds[False])
            rows.append([k, threads, *cells, f"{ratio:.2f}"])
            data[f"K={k}@{threads}"] = {"padded": speeds[True], "unpadded": speeds[False]}
            print("| " + " | ".join(str(cell) for cell in rows[-1]) + " |", flush=True)
    if not args.no_write:
        title = (f"numba-parallel, ML-1M, default settings, 20 epochs, medians of {args.rounds} alternating "
                 "rounds (spread)")
        path = results.write("row_layout", [results.table(title, columns, rows, f"CPU L2: {l2}.")], data)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
