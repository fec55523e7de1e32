"""The default engine with one of its speed switches on and off: padded factor rows, estimated AdaGrad steps,
interleaved row lanes.

    python benchmarks/engine_switch.py --switch padded_rows|estimated_steps|row_lanes [--data-dir DIR]
                                       [--factors 100,200] [--threads 1,2] [--rounds 8] [--no-write]

``padded_rows``: factor rows padded to whole cache lines (``BlockPlan.padded_rows``; off: rows of K
floats, as NumPy allocates them). ``estimated_steps``: the AdaGrad step sizes through the CPU's 1/sqrt
estimate (``numba_parallel.ESTIMATE_STEPS``; off: exact). ``row_lanes``: each block's ratings by user
in ``numba_parallel.ROW_LANES`` (4) interleaved runs (off: 0, each block in a uniformly random
order). ML-1M (90% split, seed 0), default settings, 20 epochs. For each K and thread count one fresh
process trains ``--rounds`` times with the switch on and off, alternating fit by fit (so the
machine's drift hits both alike), and keeps each fit's median epoch time and its whole time
(``fit_seconds_``); prints the medians over the rounds and the spread (slowest..fastest) in M updates
per second of an epoch, how many rounds the switch on won, the ratio of whole fits (which counts
what the switch costs outside the epochs: the row lanes' grouping), both sides' test RMSE (10% test
part) and the CPU, and writes
``benchmarks/results/row_layout.json`` (padded rows), ``estimated_steps.json`` or ``row_lanes.json``,
rendered into ``docs/benchmarks.md``. Epochs for the main columns: a fit's other 5-10% (grouping,
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


SWITCHES = {"padded_rows": ("mfcore.engines.numba_parallel", "BlockPlan", "padded_rows", True, False),
            "estimated_steps": ("mfcore.engines.numba_parallel", None, "ESTIMATE_STEPS", True, False),
            "row_lanes": ("mfcore.engines.numba_parallel", None, "ROW_LANES", 4, 0)}
"""Each switch: the module, the class in it (None: the module itself), the attribute, and its values on
and off."""
RESULTS = {"padded_rows": "row_layout", "estimated_steps": "estimated_steps", "row_lanes": "row_lanes"}
LABELS = {"padded_rows": ("padded rows", "unpadded"), "estimated_steps": ("estimated steps", "exact steps"),
          "row_lanes": ("row lanes", "random order")}


def worker(switch: str, path: str, k: int, threads: int, rounds: int) -> None:
    sys.path.insert(0, str(ROOT))
    import importlib

    from mfcore import SGDFactorizer, load_ratings, random_split
    module_name, class_name, attribute, *values = SWITCHES[switch]
    module = importlib.import_module(module_name)
    holder = getattr(module, class_name) if class_name else module
    train, test = random_split(load_ratings(path), 0.1, seed=0)
    speeds = {"on": [], "off": [], "fit_on": [], "fit_off": [], "rmse_on": [], "rmse_off": []}
    for round_ in range(rounds + 1):  # round 0 compiles or loads the kernels, not counted
        for state, value in zip(("on", "off"), values):
            setattr(holder, attribute, value)
            model = SGDFactorizer(n_factors=k, n_threads=threads, n_epochs=20 if round_ else 1).fit(train)
            if round_:
                speeds[state].append(len(train) / np.median([epoch.seconds for epoch in model.history_]))
                speeds[f"fit_{state}"].append(model.updates_per_second_)
                speeds[f"rmse_{state}"].append(model.evaluate(test)["rmse"])
    print(json.dumps(speeds))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switch", choices=sorted(SWITCHES), required=True)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--factors", default="100,200")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results as it is")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        path, k, threads, rounds = args.worker
        worker(args.switch, path, int(k), int(threads), int(rounds))
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
    on, off = LABELS[args.switch]
    columns = ["K", "threads", f"{on} M updates/s", f"{off} M updates/s", "ratio", f"rounds {on} won",
               "whole-fit ratio", f"test RMSE {on} / {off}"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    rows, data = [], {}
    for k in (int(value) for value in args.factors.split(",")):
        for threads in (int(value) for value in args.threads.split(",")):
            done = subprocess.run([sys.executable, __file__, "--switch", args.switch, "--worker", str(path), str(k),
                                   str(threads), str(args.rounds)], capture_output=True, text=True, check=True)
            speeds = {state: [s if state.startswith("rmse") else s / 1e6 for s in values]
                      for state, values in json.loads(done.stdout.splitlines()[-1]).items()}
            switched_on, switched_off = speeds["on"], speeds["off"]
            cells = [f"{np.median(v):.1f} ({min(v):.1f}..{max(v):.1f})" for v in (switched_on, switched_off)]
            won = sum(a > b for a, b in zip(switched_on, switched_off))
            rows.append([k, threads, *cells, f"{np.median(switched_on) / np.median(switched_off):.2f}",
                         f"{won} of {len(switched_on)}",
                         f"{np.median(speeds['fit_on']) / np.median(speeds['fit_off']):.2f}",
                         f"{np.median(speeds['rmse_on']):.4f} / {np.median(speeds['rmse_off']):.4f}"])
            data[f"K={k}@{threads}"] = speeds
            print("| " + " | ".join(str(cell) for cell in rows[-1]) + " |", flush=True)
    if not args.no_write:
        title = (f"numba-parallel, ML-1M, default settings, median epoch of 20, medians of {args.rounds} "
                 "alternating rounds (spread)")
        path = results.write(RESULTS[args.switch], [results.table(title, columns, rows, f"CPU L2: {l2}.")], data)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
