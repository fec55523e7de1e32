"""Hyperparameter search: mfcore.tuning (Optuna, pruning, early stopping) against Surprise's
RandomizedSearchCV on the same space and budget, and which pruner reaches a good RMSE sooner.

    python benchmarks/tune.py                    # ML-100k: 100 trials each, then ML-1M: 50 trials
    python benchmarks/tune.py --skip-surprise --skip-ml1m --trials 100
    python benchmarks/tune.py --pruners          # hyperband vs median vs none, seeds 0-2, medians

The first form writes ``benchmarks/results/tune.json``, ``--pruners`` writes
``benchmarks/results/tune_pruners.json`` (:mod:`results`); ``docs/benchmarks.md`` renders both.

Protocol (mfcore.evaluation.protocol): the 90/10 random split with seed 0 (the same test set as every other
benchmark); 10% of the training ratings are the validation set every trial is judged on; the best
configuration is retrained on train + validation and scored on the test set once. The wall time
covers the whole search and that final fit and score, on the default storage (a SQLite file in a
temporary folder), after one JIT warm-up in this process (not counted; reported).

Surprise gets the same space (its SVD's ``n_factors``, ``n_epochs``, ``lr_all``, ``reg_all``,
``biased``, ``init_std_dev`` from the same ranges and scales), the same number of configurations,
the same single train/validation split (``ShuffleSplit(n_splits=1)`` over the same validation
fraction), ``n_jobs`` processes (2 by default: this machine's cores), and is refitted on train +
validation and scored on the same test set. It has no pruning or early stopping: every
configuration runs all its epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")
REPORTED = ("wall_seconds", "validation_rmse", "test_rmse", "params", "best_epoch", "states", "baselines")
DATASETS = {"ml-100k": DATA / "ml-100k" / "u.data", "ml-1m": DATA / "ml-1m" / "ratings.dat"}


def _load(name: str):
    from mfcore import SGDFactorizer, load_ratings
    from mfcore.evaluation.protocol import holdout
    path = DATASETS[name]
    if not path.is_file():
        sys.exit(f"{path} is absent (MovieLens is never shipped; see README)")
    split = holdout(load_ratings(path), test_size=0.1, validation_size=0.1, seed=0)
    start = time.perf_counter()
    SGDFactorizer(n_epochs=1).fit(split.train)  # JIT compile or cache load, once per process
    return split, time.perf_counter() - start


def run_mfcore(split, trials: int, pruner: str, seed: int = 0, n_jobs: int = 1) -> dict:
    import optuna

    from mfcore import tuning
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    reached = []  # (seconds since start, best validation RMSE so far) after each trial
    with tempfile.TemporaryDirectory() as folder:
        os.environ["MFCORE_DATA_DIR"] = folder
        start = time.perf_counter()

        def track(study, trial):
            if trial.value is not None and trial.state == optuna.trial.TrialState.COMPLETE:
                best = min(trial.value, reached[-1][1]) if reached else trial.value
            else:
                best = reached[-1][1] if reached else float("inf")
            reached.append((time.perf_counter() - start, best))

        name = f"bench-{pruner.replace(':', '-')}-{seed}"
        study = tuning.search(split, name, n_trials=trials, seed=seed, pruner=pruner,
                            n_jobs=n_jobs, fixed={"seed": seed}, callbacks=[track])
        search_seconds = time.perf_counter() - start
        result = tuning.final_scores(study, split, {"seed": seed})
        wall = time.perf_counter() - start
    states = [row["state"] for row in tuning.trials_table(study)]
    return {"wall_seconds": wall, "search_seconds": search_seconds, "reached": reached,
            "states": {state: states.count(state) for state in sorted(set(states))}, **result}


def run_surprise(split, trials: int, n_jobs: int, seed: int = 0) -> dict:
    from scipy.stats import loguniform, randint, uniform
    from surprise import SVD, Dataset, Reader
    from surprise.model_selection import RandomizedSearchCV, ShuffleSplit

    from mfcore import tuning
    from mfcore.models.errors import rmse
    space = tuning.default_space()

    def distribution(name):
        rng = space[name]
        if rng.kind is int:
            return _LogInt(rng) if rng.log else randint(int(rng.low), int(rng.high) + 1)
        return loguniform(rng.low, rng.high) if rng.log else uniform(rng.low, rng.high - rng.low)

    surprise_space = {"n_factors": distribution("n_factors"),
                      "n_epochs": distribution("n_epochs"), "lr_all": distribution("lr"),
                      "reg_all": distribution("reg"), "biased": [True, False],
                      "init_std_dev": distribution("init_std")}
    frame = split.train_full.to_frame()
    data = Dataset.load_from_df(frame[["user", "item", "rating"]], Reader(rating_scale=split.train_full.scale))
    validation_fraction = len(split.validation) / len(split.train_full)
    start = time.perf_counter()
    search = RandomizedSearchCV(SVD, surprise_space, n_iter=trials, measures=["rmse"], refit=True,
                                cv=ShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed),
                                n_jobs=n_jobs, random_state=seed, joblib_verbose=0)
    search.fit(data)
    test = split.test.to_frame()
    predicted = [search.predict(u, i).est for u, i in zip(test["user"], test["item"])]
    wall = time.perf_counter() - start
    return {"wall_seconds": wall, "validation_rmse": float(search.best_score["rmse"]),
            "test_rmse": rmse(test["rating"], predicted), "params": search.best_params["rmse"]}


class _LogInt:
    """Integers drawn log-uniformly from [low, high] (the scale mfcore's space uses for K)."""

    def __init__(self, rng):
        from scipy.stats import loguniform
        self.low, self.high, self.base = int(rng.low), int(rng.high), loguniform(rng.low, rng.high + 1)

    def rvs(self, random_state=None, size=None):
        value = np.floor(self.base.rvs(random_state=random_state, size=size)).astype(int)
        return int(np.clip(value, self.low, self.high)) if size is None else np.clip(value, self.low, self.high)


def _seconds_to(reached, target: float) -> float | None:
    return next((seconds for seconds, best in reached if best <= target), None)


def pruners(split, trials: int, seeds: list[int], names: list[str], targets: list[float] | None) -> None:
    outcomes: dict[str, list[dict]] = {}
    for seed in seeds:  # alternate the pruners within each seed, so load drifts hit them all alike
        for name in names:
            outcomes.setdefault(name, []).append(run_mfcore(split, trials, name, seed))
            print(f"  {name} seed {seed}: wall {outcomes[name][-1]['wall_seconds']:.1f} s, best validation "
                  f"{outcomes[name][-1]['validation_rmse']:.4f}", flush=True)
    best = min(run["validation_rmse"] for runs in outcomes.values() for run in runs)
    targets = targets or [round(best * factor, 4) for factor in (1.01, 1.005, 1.002)]
    print(f"\nPruners, {trials} trials, seeds {seeds}: median seconds until the best validation RMSE so "
          f"far is <= each target (runs that got there), median wall, best validation and test RMSE")
    print(f"{'pruner':12} " + " ".join(f"{'<= ' + format(t, '.4f'):>14}" for t in targets)
          + f" {'wall s':>8} {'best val':>9} {'test':>7}")
    rows = []
    for name, runs in outcomes.items():
        cells = []
        for target in targets:
            hit = [t for t in (_seconds_to(run["reached"], target) for run in runs) if t is not None]
            cells.append(f"{statistics.median(hit):.1f} ({len(hit)}/{len(runs)})" if hit else "-")
        rows.append([name, *cells, f"{statistics.median(r['wall_seconds'] for r in runs):.1f}",
                     f"{statistics.median(r['validation_rmse'] for r in runs):.4f}",
                     f"{statistics.median(r['test_rmse'] for r in runs):.4f}"])
        print(f"{name:12} " + " ".join(f"{cell:>14}" for cell in rows[-1][1:len(targets) + 1])
              + " ".join(f"{cell:>9}" for cell in rows[-1][len(targets) + 1:]), flush=True)
    columns = ["pruner", *(f"s to <= {t:.4f}" for t in targets), "wall s", "best validation", "test"]
    path = results.write("tune_pruners", [results.table(
        f"ML-100k, {trials} trials, seeds {', '.join(map(str, seeds))}: median seconds until the best validation "
        "RMSE so far reached each target (runs that got there), median wall time, best validation and test RMSE",
        columns, rows)], {"targets": targets, "runs": outcomes})
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--ml1m-trials", type=int, default=50)
    parser.add_argument("--pruner", default=None, help="default: mfcore.tuning.DEFAULT_PRUNER")
    parser.add_argument("--jobs", type=int, default=1, help="mfcore trials at once")
    parser.add_argument("--surprise-jobs", type=int, default=2)
    parser.add_argument("--skip-surprise", action="store_true")
    parser.add_argument("--skip-ml1m", action="store_true")
    parser.add_argument("--pruners", action="store_true", help="compare the pruners instead")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--pruner-list", default="hyperband,median,none",
                        help="pruners for --pruners (hyperband:N and median:N set their first epoch)")
    parser.add_argument("--targets", default=None,
                        help="validation RMSE targets, comma-separated (default: 1.01, 1.005, 1.002 x the best)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from mfcore.tuning import DEFAULT_PRUNER
    args.pruner = args.pruner or DEFAULT_PRUNER

    split, warm = _load("ml-100k")
    if args.pruners:
        pruners(split, args.trials, [int(s) for s in args.seeds.split(",")], args.pruner_list.split(","),
                [float(t) for t in args.targets.split(",")] if args.targets else None)
        return
    rows = []
    ours = run_mfcore(split, args.trials, args.pruner, n_jobs=args.jobs)
    rows.append({"data": "ml-100k", "contender": f"mfcore.tuning ({args.pruner}, {args.jobs} job)",
                 "trials": args.trials, **{k: ours[k] for k in REPORTED}})
    print(f"JIT warm-up (not counted): {warm:.2f} s", flush=True)
    _print(rows[-1], args.json)
    if not args.skip_surprise:
        theirs = run_surprise(split, args.trials, args.surprise_jobs)
        rows.append({"data": "ml-100k", "contender": f"Surprise RandomizedSearchCV ({args.surprise_jobs} jobs)",
                     "trials": args.trials, **theirs})
        _print(rows[-1], args.json)
        print(f"ratio: Surprise wall / mfcore wall = {theirs['wall_seconds'] / ours['wall_seconds']:.1f}x "
              f"(test RMSE {theirs['test_rmse']:.4f} vs {ours['test_rmse']:.4f})", flush=True)
    if not args.skip_ml1m:
        split_1m, _ = _load("ml-1m")
        big = run_mfcore(split_1m, args.ml1m_trials, args.pruner, n_jobs=args.jobs)
        rows.append({"data": "ml-1m", "contender": f"mfcore.tuning ({args.pruner}, {args.jobs} job)",
                     "trials": args.ml1m_trials, **{k: big[k] for k in REPORTED}})
        _print(rows[-1], args.json)
    path = results.write("tune", [results.table(
        "Search on a 90/10 split (seed 0), validation tenth of the training ratings; the best configuration "
        "retrained on train + validation and scored on the test set once",
        ["data", "search", "trials", "wall s", "best validation RMSE", "test RMSE", "baselines (global mean / biases)"],
        [[row["data"], row["contender"], _trials_cell(row), f"{row['wall_seconds']:.1f}",
          f"{row['validation_rmse']:.4f}", f"{row['test_rmse']:.4f}", _baselines_cell(row)] for row in rows],
        notes=f"JIT warm-up before the searches (not counted): {warm:.2f} s.")],
        {"rows": rows, "warm_seconds": warm}, packages=("optuna", "scikit-surprise"))
    print(f"wrote {path.relative_to(ROOT)}")


def _trials_cell(row: dict) -> str:
    states = row.get("states")
    if not states:
        return str(row["trials"])
    return f"{row['trials']} (" + ", ".join(f"{count} {state.lower()}" for state, count in states.items()) + ")"


def _baselines_cell(row: dict) -> str:
    baselines = row.get("baselines")
    return " / ".join(f"{value:.4f}" for value in baselines.values()) if baselines else ""


def _print(row: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(row, default=str), flush=True)
        return
    extra = ""
    if "baselines" in row:
        extra = "; baselines " + ", ".join(f"{k} {v:.4f}" for k, v in row["baselines"].items())
    if "states" in row:
        extra += f"; trials {row['states']}, best epoch {row['best_epoch']}"
    print(f"{row['data']:8} {row['contender']:40} {row['trials']:4d} trials  wall {row['wall_seconds']:7.2f} s  "
          f"validation RMSE {row['validation_rmse']:.4f}  test RMSE {row['test_rmse']:.4f}{extra}\n"
          f"         best {row['params']}", flush=True)


if __name__ == "__main__":
    main()
