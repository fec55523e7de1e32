"""The default engine with its factor rows padded to whole cache lines against unpadded rows.

    python benchmarks/row_layout.py [--data-dir DIR] [--factors 100,200] [--threads 1,2] [--rounds 8] [--no-write]

ML-1M (90% split, seed 0), default settings, 20 epochs. For each K and thread count one fresh
process trains ``--rounds`` times with each layout, alternating fit by fit (so the machine's drift
hits both alike), and keeps each fit's median epoch time; prints the medians over the rounds and the
spread (slowest..fastest) in M updates per second of an epoch, how many rounds the padded rows won,
and the CPU, and writes ``benchmarks/results/row_layout.json`` (rendered into ``docs/benchmarks.md``).
The unpadded layout is ``BlockPlan.padded_rows = False`` (rows of K floats, as NumPy allocates them).
Epochs rather than whole fits: the layout changes only the epochs, and a fit's other 5-10% (grouping,
initial factors) adds the machine's noise, not signal.
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


def worker(path: str, k: int, threads: int, rounds: int) -> None:
    sys.path.insert(0, str(ROOT))
    from mfcore import SGDFactorizer, load_ratings, random_split
    from mfcore.engines.numba_parallel import BlockPlan
    train, _ = random_split(load_ratings(path), 0.1, seed=0)
    speeds = {"padded": [], "unpadded": []}
    for round_ in range(rounds + 1):  # round 0 compiles or loads the kernels, not counted
        for layout in speeds:
            BlockPlan.padded_rows = layout == "padded"
            model = SGDFactorizer(n_factors=k, n_threads=threads, n_epochs=20 if round_ else 1).fit(train)
            if round_:
                speeds[layout].append(len(train) / np.median([epoch.seconds for epoch in model.history_]))
    print(json.dumps(speeds))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--factors", default="100,200")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results as it is")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        path, k, threads, rounds = args.worker
        worker(path, int(k), int(threads), int(rounds))
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
    columns = ["K", "threads", "padded rows M updates/s", "unpadded M updates/s", "ratio", "rounds padded won"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    rows, data = [], {}
    for k in (int(value) for value in args.factors.split(",")):
        for threads in (int(value) for value in args.threads.split(",")):
            done = subprocess.run([sys.executable, __file__, "--worker", str(path), str(k), str(threads),
                                   str(args.rounds)], capture_output=True, text=True, check=True)
            speeds = {layout: [s / 1e6 for s in values]
                      for layout, values in json.loads(done.stdout.splitlines()[-1]).items()}
            padded, unpadded = speeds["padded"], speeds["unpadded"]
            cells = [f"{np.median(v):.1f} ({min(v):.1f}..{max(v):.1f})" for v in (padded, unpadded)]
            won = sum(a > b for a, b in zip(padded, unpadded))
            rows.append([k, threads, *cells, f"{np.median(padded) / np.median(unpadded):.2f}",
                         f"{won} of {len(padded)}"])
            data[f"K={k}@{threads}"] = speeds
            print("| " + " | ".join(str(cell) for cell in rows[-1]) + " |", flush=True)
    if not args.no_write:
        title = (f"numba-parallel, ML-1M, default settings, median epoch of 20, medians of {args.rounds} "
                 "alternating rounds (spread)")
        path = results.write("row_layout", [results.table(title, columns, rows, f"CPU L2: {l2}.")], data)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
