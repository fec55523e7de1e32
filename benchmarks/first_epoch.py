"""The first BPR and ALS epochs after ``make install``: no compile pause.

    python benchmarks/first_epoch.py [--rounds 3] [--no-warm]

Clears this checkout's Numba cache of ``mfcore`` (the ``.nbi``/``.nbc`` files under ``mfcore/``), runs
``python -m mfcore.models.warm`` as ``make install`` does (``--no-warm``: skips it, to show the pause
the warm-up removes), then, in a fresh process per model and round, trains BPR and ALS on the bundled
sample as Train does (its split: test size 0.2, seed 0; the table's defaults with one thread; NDCG@10
on at most 1,000 test users after every epoch) and prints the wall seconds from ``fit_iter``'s start
to its first epoch's result against the second epoch's, and the model's own ``compile_seconds_``:
once as the process's first Numba kernel (its first epoch then also pays Numba's one-off start-up in
a process, loading machine code from the cache), once after a tiny SGD fit loaded another kernel, as
in the dashboard's server, where SGD and BPR/ALS runs share one process.
Rounds alternate the order of the two models; medians with their spread (min-max) are printed and
written to ``benchmarks/results/first_epoch.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, sys, time
import numpy as np
from mfcore import SGDFactorizer, from_arrays, load_ratings, random_split
from mfcore.models.als import ALSFactorizer
from mfcore.models.bpr import BPRFactorizer

train, test = random_split(load_ratings("sample_data/ratings.csv"), 0.2, seed=0)
if sys.argv[2] == "after-sgd":  # the server's case: some Numba kernel was loaded before
    tiny = from_arrays(np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([1.0, 2.0, 3.0]))
    SGDFactorizer(n_factors=4, n_epochs=1, engine="numba").fit(tiny)
model = {"BPR": BPRFactorizer, "ALS": ALSFactorizer}[sys.argv[1]](n_threads=1)
epochs = model.fit_iter(train, test, k=10, max_users=1000)
walls = []
for _ in range(2):
    start = time.perf_counter()
    next(epochs)
    walls.append(time.perf_counter() - start)
epochs.close()
print(json.dumps({"first": walls[0], "second": walls[1], "compile": model.compile_seconds_}))
"""
KINDS = ("BPR", "ALS")
MODES = {"fresh": "the process's first Numba kernel", "after-sgd": "after an SGD kernel (as in the server)"}


def clear_numba_cache() -> int:
    """Delete the Numba cache files of this checkout's ``mfcore``; returns how many."""
    files = [*ROOT.glob("mfcore/**/__pycache__/*.nbi"), *ROOT.glob("mfcore/**/__pycache__/*.nbc")]
    for path in files:
        path.unlink()
    return len(files)


def measure(kind: str, mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, kind, mode], cwd=ROOT, check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-warm", action="store_true", help="skip the warm-up (shows the compile pause)")
    args = parser.parse_args()
    cleared = clear_numba_cache()
    warm_seconds = None
    if not args.no_warm:
        done = subprocess.run([sys.executable, "-m", "mfcore.models.warm"], cwd=ROOT, check=True,
                              capture_output=True, text=True)
        warm_seconds = sum(float(line.split(" in ")[1].split()[0]) for line in done.stdout.splitlines()
                           if line.startswith("compiled "))
    found: dict[str, list[dict]] = {f"{kind} {mode}": [] for kind in KINDS for mode in MODES}
    for round_ in range(args.rounds):
        for kind in KINDS if round_ % 2 == 0 else KINDS[::-1]:
            for mode in MODES:
                found[f"{kind} {mode}"].append(measure(kind, mode))
    cpu = results.cpu_info()
    print(f"CPU: {cpu['model']} ({cpu['cores']} cores); Numba cache cleared ({cleared} files), "
          + ("no warm-up" if args.no_warm else f"then python -m mfcore.models.warm ({warm_seconds:.1f} s)"))
    rows = []
    for kind in KINDS:
        for mode, words in MODES.items():
            cells = []
            for name in ("first", "second", "compile"):
                values = [record[name] for record in found[f"{kind} {mode}"]]
                cells.append(f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})")
            rows.append([kind, words, *cells])
            print(f"{kind}, {words}: first epoch {cells[0]} s, second epoch {cells[1]} s, "
                  f"compile_seconds_ {cells[2]} s")
    setup = "no warm-up" if args.no_warm else "after python -m mfcore.models.warm"
    table = results.table(
        f"First and second epoch on the bundled sample, a fresh process each, {setup} "
        f"(median of {args.rounds} rounds, min-max)",
        ["model", "process", "first epoch (s)", "second epoch (s)", "compile_seconds_ (s)"],
        rows, notes="Wall seconds from fit_iter's start to each epoch's result (split, positives, warm-up of "
                    "the kernels and NDCG@10 on at most 1,000 test users included); one thread, table defaults.")
    results.write("first_epoch" + ("_no_warm" if args.no_warm else ""), [table],
                  {"rounds": found, "warm_seconds": warm_seconds, "cleared_cache_files": cleared})


if __name__ == "__main__":
    main()
