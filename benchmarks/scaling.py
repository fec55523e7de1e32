"""Where the default engine's second thread goes: ``numba-parallel`` on 1 and 2 threads, profiled.

    python benchmarks/scaling.py [--data PATH] [--epochs 5] [--rounds 3] [--l2 1024,2048]

ML-1M at K=100, for each per-core L2 size given (KiB: the grid is cut as on a machine with that L2,
so a 2 MiB-L2 Intel Xeon's grid can be profiled on any machine), each step rule and two schedules
of the same blocks and kernel:

- ``chains`` (the engine): each thread runs the blocks of its user blocks for the whole epoch in one
  compiled call, whichever is ready first, a block waiting only for the blocks before it on its user
  rows and on its item rows;
- ``barrier``: every sub-epoch's blocks handed to the thread pool from Python and waited for (the
  engine's schedule before the chains), each call timed from inside its thread, which splits the
  2-thread time into *work* (the busiest thread per sub-epoch), *imbalance* (busiest minus mean)
  and *dispatch+barrier* (the sub-epoch's wall time beyond its busiest thread: the pool's hand-off,
  thread wake-ups, a thread waiting for a core).

Columns: updates per second over the epochs (medians of alternating rounds), the 1 -> 2 thread
speed-up, and process CPU nanoseconds per update (a thread spinning while it waits counts). Writes
``benchmarks/results/scaling.json``.
"""

from __future__ import annotations

import os
import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

import results

ROOT = Path(__file__).resolve().parents[1]
ML_1M = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data") / "ml-1m" / "ratings.dat"


def barrier_epoch(record: list):
    """The barrier schedule as an epoch kernel: sub-epoch by sub-epoch, its blocks split over the
    threads by ratings (largest first to the least loaded), the pool waited for after each."""
    from mfcore.engines import numba_parallel as engine
    from mfcore.engines.numba_jit import specialized, squared_norms
    from mfcore.engines.threads import shared_pool

    def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, *, bounds, schedule, n_threads=None,
                  adagrad_users=None, adagrad_items=None, n_factors=None, **plan_extras):
        n_threads = engine.effective_threads(ratings.shape[0], n_threads)
        sizes, k = np.diff(bounds), P.shape[1] if n_factors is None else n_factors
        sse, done = np.zeros(len(sizes)), np.zeros(len(sizes), np.int64)
        adaptive = adagrad_users is not None
        if adaptive:
            norms_users, norms_items = squared_norms(P), squared_norms(Q)
        else:
            adagrad_users = adagrad_items = np.ones((1, 2), P.dtype)
            norms_users = norms_items = np.zeros(1, P.dtype)

        def call(cells):  # the cells as a one-sub-epoch schedule, none waiting for another
            n = len(cells)
            return (users, items, ratings, bounds, cells[None, :], np.full((1, n), -1), np.arange(n), n,
                    np.zeros(n, np.int64), np.zeros(n, np.int64), done, 1, mu, bu, bi, P, Q, lr, reg, biased, sse,
                    adaptive, adagrad_users, adagrad_items, norms_users, norms_items, engine.ESTIMATE_STEPS, False,
                    np.zeros(1, np.int64), np.zeros(1, np.int64))

        kernel = specialized(engine.run_blocks_k, engine.run_blocks, call(schedule[0]), k, ratings.shape[0])

        def timed(cells, sub):
            wall, cpu = time.perf_counter(), time.thread_time()
            kernel(*call(cells), k)
            record.append((sub, time.perf_counter() - wall, time.thread_time() - cpu))

        pool = shared_pool(n_threads)
        for cells in schedule:
            loads, shares = np.zeros(n_threads), [[] for _ in range(n_threads)]
            for c in cells[np.argsort(-sizes[cells], kind="stable")]:
                t = int(np.argmin(loads))
                shares[t].append(c)
                loads[t] += sizes[c]
            sub, start = len(record), time.perf_counter()
            for future in [pool.submit(timed, np.asarray(s, np.int64), sub) for s in shares if s]:
                future.result()
            record.append(("sub-epoch", time.perf_counter() - start, threading.get_ident()))
        return float(sse.sum())
    return run_epoch


def profile(train, threads: int, l2_kib: int, step_rule: str, mode: str, epochs: int) -> dict:
    from mfcore import ENGINES, SGDFactorizer
    from mfcore.engines import numba_parallel
    spec = ENGINES["numba-parallel"]
    engine_kernel, record = spec.kernels["per-rating"], []
    saved = numba_parallel.BLOCK_CACHE_BYTES
    numba_parallel.BLOCK_CACHE_BYTES = l2_kib * 1024 // 4
    if mode == "barrier":
        spec.kernels["per-rating"] = barrier_epoch(record)
    try:
        SGDFactorizer(n_epochs=1, n_threads=threads, step_rule=step_rule).fit(train.take(np.arange(200_000)))
        record.clear()
        model = SGDFactorizer(n_epochs=epochs, n_threads=threads, step_rule=step_rule)
        cpu = time.process_time()
        model.fit(train)
        cpu = time.process_time() - cpu
        grid = numba_parallel.grid_size(train.n_users, train.n_items, 100, len(train), threads)
    finally:
        numba_parallel.BLOCK_CACHE_BYTES = saved
        spec.kernels["per-rating"] = engine_kernel
    seconds = sum(r.seconds for r in model.history_)
    row = {"threads": threads, "l2_kib": l2_kib, "grid": grid, "step_rule": step_rule, "mode": mode,
           "epoch_seconds": seconds, "updates_per_second": len(train) * epochs / seconds,
           "cpu_ns_per_update": 1e9 * cpu / (len(train) * epochs)}
    if mode == "barrier":
        calls, subs = [r for r in record if r[0] != "sub-epoch"], [r for r in record if r[0] == "sub-epoch"]
        groups: dict[int, list] = {}
        for sub, wall, _cpu in calls:
            groups.setdefault(sub, []).append(wall)
        busiest = [max(group) for _, group in sorted(groups.items())]
        row.update(work=sum(busiest), imbalance=sum(max(g) - sum(g) / threads for g in groups.values()),
                   barrier=sum(s[1] for s in subs) - sum(busiest), sub_epochs=len(subs))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ML_1M)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--l2", default="1024,2048", help="per-core L2 sizes in KiB to cut the grid for")
    parser.add_argument("--step-rules", default="adagrad,constant")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"error: {args.data} not found", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from mfcore import load_ratings, random_split
    train, _ = random_split(load_ratings(args.data), 0.1, seed=0)
    cpu = results.cpu_info()
    print(f"CPU: {cpu['model']} ({cpu['vector_unit']}, {cpu['cores']} cores)")
    configs = [(l2, rule, mode, t) for l2 in map(int, args.l2.split(",")) for rule in args.step_rules.split(",")
               for mode, t in (("chains", 1), ("chains", 2), ("barrier", 2))]
    runs: dict[tuple, list] = {config: [] for config in configs}
    for round_ in range(args.rounds):
        for l2, rule, mode, t in (configs if round_ % 2 == 0 else configs[::-1]):
            runs[(l2, rule, mode, t)].append(profile(train, t, l2, rule, mode, args.epochs))
    columns = ["L2 (grid cut for)", "step rule", "schedule", "threads", "G", "M updates/s", "spread",
               "speed-up over 1 thread", "CPU ns/update", "work s", "imbalance s", "dispatch+barrier s"]
    rows = []
    for l2, rule, mode, t in configs:
        found = runs[(l2, rule, mode, t)]

        def median(key, found=found):
            return float(np.median([r[key] for r in found])) if key in found[0] else None

        speeds = [r["updates_per_second"] / 1e6 for r in found]
        one = float(np.median([r["updates_per_second"] for r in runs[(l2, rule, "chains", 1)]]))
        label = ("the engine's (one call per thread and epoch; ready blocks, its own first)" if mode == "chains"
                 else "barrier after every sub-epoch")
        rows.append([f"{l2} KiB", rule, "-" if t == 1 else label, t, found[0]["grid"], f"{np.median(speeds):.1f}",
                     f"{min(speeds):.1f}..{max(speeds):.1f}", f"{median('updates_per_second') / one:.2f}",
                     f"{median('cpu_ns_per_update'):.1f}",
                     *("-" if median(key) is None else f"{median(key):.3f}"
                       for key in ("work", "imbalance", "barrier"))])
        print(" | ".join(map(str, rows[-1])), flush=True)
    path = results.write("scaling", [results.table(
        f"numba-parallel on 1 and 2 threads, ML-1M, K=100, {args.epochs} epochs, medians of {args.rounds} "
        "alternating rounds", columns, rows,
        notes="work: the busiest thread per sub-epoch; imbalance: busiest minus mean; dispatch+barrier: the "
              "sub-epochs' wall time beyond their busiest thread (barrier schedule only; seconds over all epochs).")],
        {"runs": {"/".join(map(str, config)): found for config, found in runs.items()}})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
