"""The default engine and native LibMF on 2 threads, alone and beside a process that keeps one core busy.

    python benchmarks/noisy_neighbor.py [--data-dir DIR] [--rounds 6] [--busy-ms 5] [--idle-ms 5] [--no-write]

A shared machine's other tenants slow one core now and then; an engine whose threads wait for each
other goes as slowly as the slower thread. The neighbour here is a process pinned to the last core
that spins for ``--busy-ms`` and sleeps for ``--idle-ms``, over and over (half a core at the
defaults). ML-1M (90% split, seed 0), K=100, 20 epochs / iterations, 2 threads. Ours: the defaults,
``fit_seconds_`` of one fit in a fresh process after a warm-up fit on 1000 ratings (as
``benchmarks/engines.py``), and the same with every thread kept to its own user blocks
(``numba_parallel.TAKE_OTHERS_BLOCKS = False``, the same factors); LibMF: one ``mf_train`` in a
fresh process (``benchmarks/native_libmf.py``, LibMF's default parameters: its speed does not depend
on them), all from the initial factors to the last iteration. Rounds alternate the three, alone
and with the neighbour; prints medians and the spread (slowest..fastest) and writes
``benchmarks/results/noisy_neighbor.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import native_libmf
import results

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")
THREADS, K, EPOCHS = 2, 100, 20


def spin(core: int, busy: float, idle: float) -> None:
    """Keep ``core`` busy for ``busy`` seconds, then idle for ``idle``, until killed."""
    os.sched_setaffinity(0, {core})
    while True:
        start = time.perf_counter()
        while time.perf_counter() - start < busy:
            pass
        time.sleep(idle)


def ours(path: str, take_others: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from mfcore import SGDFactorizer, load_ratings, random_split
    from mfcore.engines import numba_parallel
    numba_parallel.TAKE_OTHERS_BLOCKS = take_others
    train, _ = random_split(load_ratings(path), 0.1, seed=0)
    SGDFactorizer(n_factors=K, n_threads=THREADS, n_epochs=1).fit(train.take(np.arange(1000)))
    model = SGDFactorizer(n_factors=K, n_threads=THREADS, n_epochs=EPOCHS).fit(train)
    print(json.dumps({"seconds": model.fit_seconds_}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--busy-ms", type=float, default=5.0)
    parser.add_argument("--idle-ms", type=float, default=5.0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results as it is")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--spin", nargs=3, type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        ours(args.worker[0], args.worker[1] == "1")
        return 0
    if args.spin:
        spin(int(args.spin[0]), args.spin[1] / 1e3, args.spin[2] / 1e3)
        return 0
    path = args.data_dir / "ml-1m" / "ratings.dat"
    ready = native_libmf.split_and_build(path)
    if ready is None:
        return 2
    executable, train, test = ready
    cores = sorted(os.sched_getaffinity(0))
    cpu = results.cpu_info()
    print(f"CPU: {cpu['model']}, {cpu['vector_unit']}, {len(cores)} cores; neighbour on core {cores[-1]}: "
          f"{args.busy_ms:g} ms busy, {args.idle_ms:g} ms idle")
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        train_file, test_file = Path(folder) / "train.bin", Path(folder) / "test.bin"
        native_libmf.write_problem(train_file, train.users, train.items, train.values, train.n_users, train.n_items)
        native_libmf.write_problem(test_file, test.users, test.items, test.values, train.n_users, train.n_items)
        for _ in range(args.rounds):
            for neighbour in (False, True):
                spinner = (subprocess.Popen([sys.executable, __file__, "--spin", str(cores[-1]), str(args.busy_ms),
                                             str(args.idle_ms)]) if neighbour else None)
                try:
                    for side, take_others in (("ours", "1"), ("owners", "0")):
                        done = subprocess.run([sys.executable, __file__, "--worker", str(path), take_others],
                                              capture_output=True, text=True, check=True)
                        seconds.setdefault(f"{side}/{neighbour}", []).append(
                            json.loads(done.stdout.splitlines()[-1])["seconds"])
                    run = native_libmf.run(executable, train_file, test_file, k=K, iters=EPOCHS, threads=THREADS,
                                           scale=train.scale)
                    seconds.setdefault(f"libmf/{neighbour}", []).append(run["seconds"])
                finally:
                    if spinner is not None:
                        spinner.kill()
                        spinner.wait()
    sides = {"ours": "ours", "owners": "ours, threads kept to their own blocks", "libmf": "native LibMF"}
    columns = ["neighbour", *(f"{name} M updates/s" for name in sides.values()), "ratio ours / LibMF",
               *(f"{name}: time beside the neighbour / alone" for name in sides.values())]
    rows = []
    speed = {key: [len(train) * EPOCHS / s / 1e6 for s in values] for key, values in seconds.items()}
    for neighbour in (False, True):
        cells = [f"{np.median(v):.1f} ({min(v):.1f}..{max(v):.1f})" for v in (speed[f"{side}/{neighbour}"]
                                                                              for side in sides)]
        ratio = np.median(speed[f"ours/{neighbour}"]) / np.median(speed[f"libmf/{neighbour}"])
        slow = [f"{np.median(seconds[f'{side}/True']) / np.median(seconds[f'{side}/False']):.2f}" if neighbour
                else "-" for side in sides]
        rows.append(["half a core busy" if neighbour else "none", *cells, f"{ratio:.2f}", *slow])
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if not args.no_write:
        title = (f"ML-1M, K=100, 20 epochs, 2 threads, medians of {args.rounds} alternating rounds (spread); "
                 f"neighbour: {args.busy_ms:g} ms busy, {args.idle_ms:g} ms idle on one core")
        written = results.write("noisy_neighbor", [results.table(title, columns, rows)], {"seconds": seconds})
        print(f"wrote {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
