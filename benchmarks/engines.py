"""Time mfcore's engines, native LibMF (built here from its C++ sources) and Surprise's SVD on the same
split and settings, and say on which CPU.

    python benchmarks/engines.py --must-show [--data-dir DIR]   # ML-1M against native LibMF, even-handed (must_show.py)
    python benchmarks/engines.py [--data ml-100k,ml-1m] [--big] [--factors 100] [--epochs 20]
                                 [--repeats 3] [--budget 20] [--engines ...] [--no-peers]
                                 [--libmf-lambda 0.05] [--target-rmse 0.86]

Each contender trains in a fresh process (so peak memory is its own and no engine inherits another's
threads or caches), ``--repeats`` times in alternating order; the tables show medians. Engines with an
``n_threads`` option run as ``name@1`` and ``name@2``; compiled engines are warmed up first, so JIT
compile time is not counted; engines too slow for ``--budget`` seconds are timed on a sample and marked
extrapolated.

What is timed. mfcore: ``model.fit_seconds_``, i.e. the per-fit plan (numba-parallel's shuffle and
grouping into blocks) plus every epoch, no evaluation, the data already in memory. Native LibMF
(``libmf@1``, ``libmf@2``): one call of ``mf_train`` in our driver ``benchmarks/libmf_driver.cpp``
(LibMF's scaling, random maps, grid, every iteration and mapping the model back; reading the files is
not timed), built by ``benchmarks/native_libmf.py`` from the ``libmf`` sdist on PyPI with LibMF's own
Makefile flags for AVX and OpenMP; when there is no C++ compiler it says so and leaves LibMF out.
LibMF gets the same split (written to binary files), K and iteration count, L2 regularization
``--libmf-lambda`` (default: our ``reg``, 0.05, which gives LibMF a better test RMSE on ML-1M than its
own default 0.1), its own AdaGrad step size (``eta`` 0.1, its default: our ``lr`` does not translate)
and its default 26 x 26 blocks; it has no biases. Both sides' test RMSE clip predictions to the rating
scale.

Columns: "M updates per CPU s" divides by the process's CPU time instead of the wall time (on a loaded
machine it is what a core does when it runs). "core-cycles/update" is wall seconds x threads x clock /
updates, the clock from ``perf stat`` when the VM exposes a cycles counter, else the nominal "cpu MHz"
of /proc/cpuinfo (so it is an estimate under turbo). The arithmetic minimum beside it is 3K
multiply-adds per update (dot product, p step, q step) in vectors of the widest unit the flags show:
ceil(3K / lanes) cycles at one vector FMA per cycle (half that on a core with two FMA pipes).

Second measure, algorithm-neutral since LibMF's step rule differs: seconds of training until the test
RMSE first reaches ``--target-rmse`` (0.86). mfcore: the plan plus the epochs up to the first epoch
whose test RMSE is at most the target (from a second fit that evaluates every epoch; evaluation not
counted), with *speed settings*: the ``lr`` and ``init_std`` from a small grid that reach the target
in the fewest epochs on a validation split of the training data (``pick_fast_settings``, once per
dataset, printed; the test set is not used to choose them). The default settings are tuned for the
RMSE after 20 epochs, not for getting to 0.86 soonest; every other column uses them. LibMF (with its
defaults): one untimed traced run prints its per-iteration test RMSE, which gives the first
iteration count T that reaches the target; each round then times a fresh ``mf_train`` with T
iterations (and checks its clipped RMSE).

``--big`` adds a 10M-rating synthetic set (``python -m mfcore sample --users 200000 --items 40000
--ratings 10000000``, generated into a temporary folder; slow) trained at K=50 by the mfcore engines
through the command line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import frontier
import native_libmf

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")
DATASET_FILES = {"ml-100k": Path("ml-100k") / "u.data", "ml-1m": Path("ml-1m") / "ratings.dat"}
DATASETS = {name: DATA / file for name, file in DATASET_FILES.items()}
PEERS = ("surprise", "libmf@1", "libmf@2")
TARGET_RATIO, TARGET_RMSE = 2.0, 0.856
"""The full run's ML-1M summary targets: the default engine at least 2x native LibMF's updates/s on 1
and on 2 threads, with a test RMSE at most 0.856 (K=100, 20 epochs). ``--must-show`` has its own."""


# --- one contender, in a worker process ------------------------------------------------------------

def _split(path: str):
    sys.path.insert(0, str(ROOT))
    from mfcore import load_ratings, random_split
    return random_split(load_ratings(path), 0.1, seed=0)


def _run_engine(contender, train, test, params, budget, fast=None):
    """``contender`` is an engine name, or ``name@threads`` for an engine with ``n_threads``. Compiled
    engines train every epoch; their time is ``model.fit_seconds_`` (plan and epochs, JIT warm-up and
    evaluation excluded), then a second fit with the test set evaluated after each epoch gives the
    per-epoch test RMSE curve for the seconds-to-target measure, with the settings ``fast`` (picked on
    a validation split of the training data by :func:`pick_fast_settings`) over ``params``. Slow ones go through
    :func:`mfcore.evaluation.bench.time_engine`."""
    from mfcore import ENGINES, SGDFactorizer
    from mfcore.evaluation.bench import time_engine
    name, _, threads = contender.partition("@")
    params = {**params, "engine": name, "n_threads": int(threads) if threads else None}
    if ENGINES[name].compiled:
        SGDFactorizer(**{**params, "n_epochs": 1}).fit(train.take(np.arange(1000)))  # JIT / cache load
        cpu = time.process_time()
        model = SGDFactorizer(**params).fit(train)
        cpu = time.process_time() - cpu
        curve = SGDFactorizer(**{**params, **(fast or {})}).fit(train, test)
        epoch_seconds = [result.seconds for result in curve.history_]
        return {"seconds": model.fit_seconds_, "updates_per_second": model.updates_per_second_,
                "updates_per_cpu_second": len(train) * params["n_epochs"] / cpu,
                "test_rmse": model.evaluate(test)["rmse"], "extrapolated": False,
                "plan_seconds": curve.fit_seconds_ - sum(epoch_seconds), "epoch_seconds": epoch_seconds,
                "test_curve": [result.test_rmse for result in curve.history_]}
    result = time_engine(name, train, test, params, budget)
    return {"seconds": result.seconds_per_epoch * params["n_epochs"],
            "updates_per_second": result.updates_per_second, "test_rmse": result.test_rmse,
            "extrapolated": result.extrapolated}


def _run_surprise(train, test, params):
    from surprise import SVD, Dataset, Reader

    from mfcore.models.errors import rmse
    frame = train.to_frame()
    trainset = Dataset.load_from_df(frame[["user", "item", "rating"]],
                                    Reader(rating_scale=train.scale)).build_full_trainset()
    from mfcore.models.params import DEFAULT_LR  # Surprise's SVD steps are constant: our constant-step rate
    algo = SVD(n_factors=params["n_factors"], n_epochs=params["n_epochs"], lr_all=params["lr"] or DEFAULT_LR,
               reg_all=params["reg"], init_std_dev=params["init_std"], random_state=params["seed"])
    start = time.perf_counter()
    algo.fit(trainset)
    seconds = time.perf_counter() - start
    test_frame = test.to_frame()
    predicted = [algo.predict(u, i).est for u, i in zip(test_frame["user"], test_frame["item"])]
    return {"seconds": seconds, "updates_per_second": len(train) * params["n_epochs"] / seconds,
            "test_rmse": rmse(test_frame["rating"], predicted), "extrapolated": False}


def worker(contender: str, path: str, params: dict, budget: float, fast: dict | None = None) -> None:
    train, test = _split(path)
    if contender == "surprise":
        row = _run_surprise(train, test, params)
    elif contender == "frontier-grid":
        row = {"points": frontier.our_validation_curves(train, params)}
    elif contender.startswith("frontier-fits@"):
        row = {"fits": frontier.our_fits(train, test, params, fast["settings"], threads_of(contender))}
    elif contender == "pick-fast":
        row = pick_fast_settings(train, params, fast["target"])
    else:
        row = _run_engine(contender, train, test, params, budget, fast)
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(row))


FAST_GRID = {"lr": (0.007, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05), "init_std": (0.05, 0.1)}
r"""The settings tried for the seconds-to-target run: SGD's constant step size :math:`\gamma` trades the
error it settles at (it hovers :math:`O(\gamma)` around a minimum) against how many epochs it takes to
get there, so the fastest way down to a target RMSE is a larger :math:`\gamma` than the default, which
is tuned for the best RMSE after 20 epochs; a larger initial spread lets the factors leave the
near-symmetric start sooner."""


def pick_fast_settings(train, params: dict, target: float, max_epochs: int = 12) -> dict:
    """The settings (``lr``, ``init_std`` from :data:`FAST_GRID`) that reach ``target`` RMSE in the fewest
    epochs on a *validation* split of the training data (10% held out, seed 1; the test set is never
    looked at), trained on the other 90% with 1 thread; ties go to the lower validation RMSE at the
    first epoch reaching the target. The default settings when none reaches it within ``max_epochs``."""
    from mfcore import SGDFactorizer, random_split
    fit, validation = random_split(train, 0.1, seed=1)
    best = (max_epochs + 1, math.inf, {})
    for lr in FAST_GRID["lr"]:
        for init_std in FAST_GRID["init_std"]:
            settings = {"lr": lr, "init_std": init_std}
            model = SGDFactorizer(**{**params, **settings, "n_threads": 1,
                                     "n_epochs": min(max_epochs, params["n_epochs"])})
            for result in model.fit_iter(fit, validation=validation):
                if result.validation_rmse <= target:
                    best = min(best, (result.epoch, result.validation_rmse, settings), key=lambda b: b[:2])
                    break
    return {"settings": best[2], "validation_epochs": best[0] if best[2] else None,
            "validation_rmse": best[1] if best[2] else None}


def seconds_to_target(row: dict, target: float) -> tuple[float, int] | None:
    """(seconds, epochs) of training until the test RMSE first is at most ``target``: the plan plus
    the epochs up to and including that one; None when no epoch reached it."""
    for epoch, rmse in enumerate(row.get("test_curve") or [], start=1):
        if rmse is not None and rmse <= target:
            return row["plan_seconds"] + sum(row["epoch_seconds"][:epoch]), epoch
    return None


# --- native LibMF ----------------------------------------------------------------------------------

class NativeLibMF:
    """Native LibMF on one dataset's split: the files, the executable, and per thread count the
    iteration count that first reaches the target RMSE (from one untimed traced run)."""

    def __init__(self, executable: Path, folder: Path, train, test, params: dict, lam: float, target: float):
        self.executable, self.params, self.lam, self.target = executable, params, lam, target
        self.scale, self.n_train = train.scale, len(train)
        self.train_file, self.test_file = folder / "train.bin", folder / "test.bin"
        native_libmf.write_problem(self.train_file, train.users, train.items, train.values,
                                   train.n_users, train.n_items)
        native_libmf.write_problem(self.test_file, test.users, test.items, test.values,
                                   train.n_users, train.n_items)
        self.iters_to_target: dict[int, int | None] = {}

    def _run(self, threads: int, iters: int, trace: bool = False) -> dict:
        return native_libmf.run(self.executable, self.train_file, self.test_file, k=self.params["n_factors"],
                                iters=iters, threads=threads, scale=self.scale, lam=self.lam, trace=trace)

    def find_iters_to_target(self, threads: int) -> int | None:
        """The fewest iterations whose clipped test RMSE is at most the target: the first traced one
        (LibMF prints unclipped RMSE, which clipping can only lower), then fewer while they still do."""
        trace = self._run(threads, self.params["n_epochs"], trace=True)["trace"]
        reached = [iteration for iteration, rmse in trace if rmse <= self.target]
        iters = reached[0] if reached else None
        while iters is not None and iters > 1 and self._run(threads, iters - 1)["test_rmse"] <= self.target:
            iters -= 1
        self.iters_to_target[threads] = iters
        return iters

    def measure(self, threads: int) -> dict:
        """One round: a full run (speed, test RMSE) and a run of ``iters_to_target`` iterations."""
        run = self._run(threads, self.params["n_epochs"])
        row = {"seconds": run["seconds"], "updates_per_second": self.n_train * run["iters"] / run["seconds"],
               "updates_per_cpu_second": self.n_train * run["iters"] / run["cpu_seconds"],
               "test_rmse": run["test_rmse"], "extrapolated": False, "peak_mb": run["peak_mb"]}
        iters = self.iters_to_target.get(threads)
        if iters is not None:
            short = self._run(threads, iters)
            if short["test_rmse"] <= self.target:
                row["to_target"] = (short["seconds"], iters)
        return row


# --- the driver ------------------------------------------------------------------------------------

def run_worker(contender, path, params, budget, fast=None) -> dict:
    command = [sys.executable, __file__, "--worker", contender, "--worker-data", str(path),
               "--worker-params", json.dumps(params), "--budget", str(budget)]
    if fast is not None:
        command += ["--worker-fast", json.dumps(fast)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{contender} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_rows(runs: list[dict]) -> dict:
    def median(key):
        values = [run[key] for run in runs if run.get(key) is not None]
        return float(np.median(values)) if values else None
    speeds = [run["updates_per_second"] for run in runs]
    reached = [run["to_target"] for run in runs if run.get("to_target")]
    return {"seconds": median("seconds"), "updates_per_second": median("updates_per_second"),
            "updates_per_cpu_second": median("updates_per_cpu_second"),
            "low": min(speeds), "high": max(speeds),
            "test_rmse": median("test_rmse"), "peak_mb": median("peak_mb"),
            "to_target": (float(np.median([r[0] for r in reached])), int(np.median([r[1] for r in reached])))
            if len(reached) == len(runs) else None,
            "extrapolated": runs[0]["extrapolated"], "runs": len(runs)}


def threads_of(contender: str) -> int:
    """The thread count a contender ran with (``name@t``); 1 for serial engines."""
    return int(contender.split("@")[1]) if "@" in contender else 1


class Machine:
    """The CPU: model, widest vector unit, float32 lanes, the clock used for cycles and where it came from."""

    def __init__(self):
        info = native_libmf.cpu_info()
        self.model, self.vector_unit, self.lanes = info["model"], info["vector_unit"], info["lanes"]
        measured = native_libmf.measured_ghz()
        if measured:
            self.ghz, self.clock = measured, "measured by perf stat"
        elif info["mhz"]:
            self.ghz = info["mhz"] / 1000
            self.clock = "nominal: /proc/cpuinfo 'cpu MHz'; perf has no cycles counter here"
        else:
            self.ghz, self.clock = None, "unknown"

    def describe(self) -> str:
        clock = f"{self.ghz:.2f} GHz ({self.clock})" if self.ghz else "clock unknown"
        return (f"CPU: {self.model}; widest vector unit {self.vector_unit} ({self.lanes} float32 lanes); "
                f"{clock}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start")

    def cycles_per_update(self, row: dict, threads: int) -> float | None:
        """Core-cycles per update: wall seconds x threads x clock / updates."""
        return threads * self.ghz * 1e9 / row["updates_per_second"] if self.ghz else None

    def minimum_cycles(self, k: int) -> int:
        """ceil(3K / lanes): the per-update multiply-adds in full vectors, one vector FMA per cycle."""
        return math.ceil(3 * k / self.lanes)


def _format_target(to_target) -> str:
    return "not reached" if to_target is None else f"{to_target[0]:.3f} ({to_target[1]} ep)"


def print_table(title: str, rows: dict[str, dict], machine: Machine, target: float) -> None:
    """Medians, the spread (slowest..fastest run) and the ratio to native LibMF with the same
    number of threads, all from this run."""
    print(f"\n{title}")
    print(f"| contender | threads | fit s | M updates/s (median) | spread (min..max) | M updates per CPU s "
          f"| core-cycles/update | test RMSE | s to test RMSE {target} (speed settings) | peak MB "
          f"| x native LibMF, same threads |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        threads = threads_of(name)
        rmse = "-" if row["test_rmse"] is None else f"{row['test_rmse']:.4f}"
        peer = rows.get(f"libmf@{threads}")
        ratio = f"{row['updates_per_second'] / peer['updates_per_second']:.2f}" if peer else "-"
        flag = " (extrapolated)" if row["extrapolated"] else ""
        cpu = "-" if row["updates_per_cpu_second"] is None else f"{row['updates_per_cpu_second'] / 1e6:.2f}"
        cycles = machine.cycles_per_update(row, threads)
        print(f"| {name}{flag} | {threads} | {row['seconds']:.3f} | "
              f"{row['updates_per_second'] / 1e6:.2f} | {row['low'] / 1e6:.2f}..{row['high'] / 1e6:.2f} | "
              f"{cpu} | {'-' if cycles is None else f'{cycles:.0f}'} | {rmse} | "
              f"{_format_target(row['to_target']) if 'to_target' in row else '-'} | "
              f"{row['peak_mb']:.0f} | {ratio} |", flush=True)


def must_show(rows: dict[str, dict], default_engine: str, machine: Machine, k: int, target: float) -> None:
    """The full run's ML-1M summary, all from this run: the default engine against native LibMF on
    1 and 2 threads (ratio of median updates/s, target 2x), test RMSE (target <= 0.856), core-cycles
    per update beside the arithmetic minimum, and seconds to the target test RMSE."""
    print(f"\nMust show (default engine {default_engine} against native LibMF, same run; "
          f"arithmetic minimum ceil(3K/lanes) = {machine.minimum_cycles(k)} cycles per update "
          f"on {machine.vector_unit} at one vector FMA per cycle)")
    print(f"| threads | ours M updates/s | native LibMF M updates/s | ratio (target >= {TARGET_RATIO:g}) "
          f"| our test RMSE (target <= {TARGET_RMSE}) | LibMF test RMSE | ours core-cycles/update "
          f"| LibMF core-cycles/update | arithmetic minimum | ours s to RMSE {target} | LibMF s to RMSE {target} |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for threads in (1, 2):
        ours, peer = rows.get(f"{default_engine}@{threads}"), rows.get(f"libmf@{threads}")
        if ours is None or peer is None:
            continue
        ratio = ours["updates_per_second"] / peer["updates_per_second"]
        cycles = [machine.cycles_per_update(row, threads) for row in (ours, peer)]
        a, b = ours["to_target"], peer["to_target"]
        faster = "" if a is None or b is None else f" ({'ours faster' if a[0] < b[0] else 'LibMF faster'})"
        print(f"| {threads} | {ours['updates_per_second'] / 1e6:.2f} | {peer['updates_per_second'] / 1e6:.2f} | "
              f"{ratio:.2f} ({'met' if ratio >= TARGET_RATIO else 'not met'}) | {ours['test_rmse']:.4f} "
              f"({'met' if ours['test_rmse'] <= TARGET_RMSE else 'not met'}) | {peer['test_rmse']:.4f} | "
              + " | ".join("-" if c is None else f"{c:.0f}" for c in cycles)
              + f" | {machine.minimum_cycles(k)} | {_format_target(a)} | {_format_target(b)}{faster} |")
    print(f"(ours s to RMSE {target}: with the speed settings printed above, picked on a validation split of "
          "the training data; LibMF with its defaults)")


def native(path, params, lam, target, folder, contenders) -> NativeLibMF | None:
    """Native LibMF on ``path``'s split, built (cached) and its iterations-to-target found; None with
    a printed reason when it cannot be built here."""
    executable = native_libmf.build()
    if executable is None:
        print(f"native LibMF skipped: {native_libmf.build.reason}")
        return None
    train, test = _split(str(path))
    peer = NativeLibMF(executable, folder, train, test, params, lam, target)
    for name in contenders:
        if name.startswith("libmf@"):
            peer.find_iters_to_target(threads_of(name))
    return peer


def bench_dataset(label, path, contenders, params, repeats, budget, lam, target, machine) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        peer = None
        if any(name.startswith("libmf@") for name in contenders):
            peer = native(path, params, lam, target, Path(folder), contenders)
            if peer is None:
                contenders = [name for name in contenders if not name.startswith("libmf@")]
        fast = None
        if any(not name.startswith(("libmf@", "surprise")) for name in contenders):
            picked = run_worker("pick-fast", path, params, budget, {"target": target})
            fast = picked["settings"]
            print(f"\n{label}: settings for the seconds-to-RMSE-{target} runs of mfcore, picked on a validation "
                  f"split of the training data (10%, seed 1; test set unseen) from {FAST_GRID}: "
                  f"{fast or 'the defaults (none reached the target)'}"
                  + (f", validation RMSE {picked['validation_rmse']:.4f} at epoch {picked['validation_epochs']}"
                     if fast else "") + "; every other column uses the defaults", flush=True)
        runs: dict[str, list] = {name: [] for name in contenders}
        for repeat in range(repeats):
            for name in (contenders if repeat % 2 == 0 else contenders[::-1]):
                if runs[name] and runs[name][0]["extrapolated"]:
                    continue  # a slow engine timed on a sample: once is enough
                if name.startswith("libmf@"):
                    runs[name].append(peer.measure(threads_of(name)))
                else:
                    row = run_worker(name, path, params, budget, fast)
                    if "test_curve" in row:
                        row["to_target"] = seconds_to_target(row, target)
                    runs[name].append(row)
    rows = {name: median_rows(result) for name, result in runs.items()}
    for name, row in rows.items():
        if not name.startswith("libmf@") and "test_curve" not in runs[name][0]:
            row.pop("to_target")
    lam_text = f", LibMF lambda {lam:g} eta 0.1 (its default) 26 bins" if peer else ""
    print_table(f"{label}: K={params['n_factors']}, {params['n_epochs']} epochs, lr={params['lr']}, "
                f"reg={params['reg']}{lam_text}, medians of up to {repeats} alternating rounds", rows,
                machine, target)
    return rows


def bench_big(repeats: int, epochs: int) -> None:
    """10M ratings, K=50, through the CLI; wall time and peak memory of the whole process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        subprocess.run([sys.executable, "-m", "mfcore", "sample", "--users", "200000", "--items", "40000",
                        "--ratings", "10000000", "--out", str(path)], check=True, cwd=ROOT)
        print(f"\n10M synthetic ratings, K=50, {epochs} epochs, through the CLI (loading included)")
        print("| engine | wall s | fit s | M updates/s | test RMSE | peak MB |")
        print("|---|---|---|---|---|---|")
        for engine in ("numba", "numba-parallel"):
            walls, finals, peaks = [], [], []
            for _ in range(repeats):
                command = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "mfcore", "train", str(path),
                           "--engine", engine, "--factors", "50", "--epochs", str(epochs), "--json"]
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
                walls.append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{engine} failed:\n{done.stderr}")
                finals.append(json.loads(done.stdout.strip().splitlines()[-1]))
                peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
            final = finals[int(np.argsort(walls)[len(walls) // 2])]
            print(f"| {engine} | {np.median(walls):.1f} | {final['fit_seconds']:.1f} | "
                  f"{final['updates_per_second'] / 1e6:.1f} | {final['test_rmse']:.4f} | "
                  f"{np.median(peaks):.0f} |", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ml-100k,ml-1m", help="comma-separated: ml-100k, ml-1m, or paths")
    parser.add_argument("--big", action="store_true", help="also the 10M synthetic set (slow)")
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per engine before sampling")
    parser.add_argument("--engines", default=None, help="comma-separated mfcore engines (default: all)")
    parser.add_argument("--no-peers", action="store_true", help="skip Surprise and native LibMF")
    parser.add_argument("--libmf-lambda", type=float, default=None,
                        help="LibMF's L2 regularization lambda_p2 = lambda_q2 (default: our reg)")
    parser.add_argument("--target-rmse", type=float, default=0.86,
                        help="test RMSE for the seconds-to-target measure")
    parser.add_argument("--data-dir", type=Path, default=DATA,
                        help="the folder holding ml-100k/ and ml-1m/ (default: ../shared/data beside the checkout)")
    parser.add_argument("--must-show", action="store_true",
                        help="only the even-handed ML-1M comparison with native LibMF (benchmarks/must_show.py), "
                             "7 alternating rounds; writes benchmarks/results/engines.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-data", help=argparse.SUPPRESS)
    parser.add_argument("--worker-params", help=argparse.SUPPRESS)
    parser.add_argument("--worker-fast", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.worker_data, json.loads(args.worker_params), args.budget,
               json.loads(args.worker_fast) if args.worker_fast else None)
        return

    sys.path.insert(0, str(ROOT))
    from mfcore import ENGINES, SGDFactorizer
    params = dict(SGDFactorizer().get_params(), n_factors=args.factors, n_epochs=args.epochs)
    lam = params["reg"] if args.libmf_lambda is None else args.libmf_lambda
    default_engine = SGDFactorizer().engine
    machine = Machine()
    print(machine.describe())
    print("Contenders run one at a time, each in a fresh process; rounds alternate their order. The machine "
          "may be shared: figures are indicative, ratios from the same run are what to compare.")
    if args.must_show:
        import must_show as even_handed
        defaults = dict(SGDFactorizer().get_params(), n_factors=args.factors, n_epochs=args.epochs)
        sys.exit(even_handed.run(args.data_dir / DATASET_FILES["ml-1m"], defaults, machine,
                                 max(args.repeats, even_handed.ROUNDS), default_engine))
    names = args.engines.split(",") if args.engines else list(ENGINES)
    engines = [f"{name}@{t}" if "n_threads" in ENGINES[name.split("@")[0]].options and "@" not in name
               else name for name in names for t in (1, 2)]
    engines = list(dict.fromkeys(engines))  # serial engines once
    peers = [] if args.no_peers else list(PEERS)
    for name in args.data.split(","):
        path = args.data_dir / DATASET_FILES[name] if name in DATASET_FILES else Path(name)
        if not path.exists():
            print(f"\n{name}: {path} not found, skipped")
            continue
        rows = bench_dataset(name, path, engines + peers, params, args.repeats, args.budget, lam,
                             args.target_rmse, machine)
        if name == "ml-1m":
            must_show(rows, default_engine, machine, args.factors, args.target_rmse)
    if args.big:
        bench_big(max(1, args.repeats // 2), args.epochs)


if __name__ == "__main__":
    main()
