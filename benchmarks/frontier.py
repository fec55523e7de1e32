"""The time-to-accuracy frontier and the even-handed must-show of ``benchmarks/engines.py``.

Both sides get the same protocol. The ratings are split as in every benchmark (10% test, seed 0);
the training part is split again (10% validation, seed 1) and each side trains on the other 90% at
every point of its grid (:data:`OUR_GRID`, :data:`LIBMF_GRID`: 12 points each, each side's own
native settings, up to :data:`MAX_EPOCHS` epochs or iterations), scored on the validation part
after every epoch. For each target RMSE it picks the point that gets there in the fewest seconds on
validation (ours: the epochs' measured seconds; LibMF: iterations, its iteration costing the same at
every point), and for the RMSE after 20 epochs the point with the lowest validation RMSE at the last
one. The test part is used only to time the picks: seconds of training, initialisation included on
both sides, until the test RMSE (predictions clipped to the rating scale on both sides) first reaches
the target.

Ours (``mfcore``): one fit with the test RMSE taken after every epoch (not timed); the seconds are the
initial parameters and the plan plus the epochs up to the first one at the target. LibMF: one timed
``mf_train`` call of exactly the picked number of iterations (its scaling, initialisation, grid and
iterations); LibMF's traced validation RMSE is unclipped, so the iterations are then lowered while the
clipped test RMSE still reaches the target, and raised (up to :data:`MAX_EPOCHS`) while it does not.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

import native_libmf

TARGETS = (0.86, 0.85, 0.845)
MAX_EPOCHS = 20
OUR_GRID = [{"step_rule": rule, "lr": lr, "reg": reg}
            for rule, lr in (("constant", 0.015), ("constant", 0.03), ("adagrad", 0.05), ("adagrad", 0.1))
            for reg in (0.02, 0.04, 0.06)]
"""Our 12 points: the step rule with two step sizes each, times three regularizations (K and the
initial spread at their defaults)."""
LIBMF_GRID = [{"eta": eta, "lam": lam} for eta in (0.05, 0.1, 0.2, 0.3) for lam in (0.02, 0.05, 0.1)]
"""LibMF's 12 points: its AdaGrad step size ``eta`` (default 0.1) times its L2 regularization
``lambda`` (default 0.1); bins at LibMF's default."""


def first_reaching(curve, target) -> int | None:
    """The first epoch (1-based) whose RMSE is at most ``target``."""
    return next((epoch for epoch, rmse in enumerate(curve, start=1) if rmse is not None and rmse <= target), None)


def pick(points: list[dict], target: float | None, cost) -> dict | None:
    """The point reaching ``target`` at the lowest ``cost(point, epochs)`` (ties: lower RMSE there);
    with ``target`` None the point with the lowest RMSE after the last epoch."""
    if target is None:
        return min(points, key=lambda point: point["curve"][-1])
    reached = [(cost(point, epochs), point["curve"][epochs - 1], i, point, epochs) for i, point in enumerate(points)
               if (epochs := first_reaching(point["curve"], target))]
    if not reached:
        return None
    found = min(reached, key=lambda r: r[:3])
    return {**found[3], "epochs": found[4]}


def our_validation_curves(train, params: dict) -> list[dict]:
    """Every point of :data:`OUR_GRID`: validation RMSE and seconds of each epoch (one thread)."""
    from mfcore import SGDFactorizer, random_split
    fit, validation = random_split(train, 0.1, seed=1)
    points = []
    for settings in OUR_GRID:
        model = SGDFactorizer(**{**params, **settings, "n_threads": 1, "n_epochs": MAX_EPOCHS})
        history = list(model.fit_iter(fit, validation=validation))
        points.append({"settings": settings, "curve": [r.validation_rmse for r in history],
                       "seconds": [r.seconds for r in history],
                       "start_seconds": model.fit_seconds_ - sum(r.seconds for r in history)})
    return points


def our_cost(point: dict, epochs: int) -> float:
    return point["start_seconds"] + sum(point["seconds"][:epochs])


def our_fits(train, test, params: dict, settings_list: list[dict], threads: int) -> list[dict]:
    """One fit per settings at ``threads`` with the test RMSE after every epoch: the seconds before the
    first epoch (initial parameters and plan), each epoch's seconds, the test curve, process CPU."""
    import time

    from mfcore import SGDFactorizer
    SGDFactorizer(**{**params, "n_epochs": 1, "n_threads": threads}).fit(train.take(np.arange(1000)))
    rows = []
    for settings in settings_list:
        for rule in {settings.get("step_rule"), None} - {None}:  # JIT load of this step rule's kernel
            SGDFactorizer(**{**params, "n_epochs": 1, "n_threads": threads, "step_rule": rule}).fit(
                train.take(np.arange(1000)))
        model = SGDFactorizer(**{**params, **settings, "n_threads": threads})
        cpu = time.process_time()
        history = list(model.fit_iter(train, test))
        cpu = time.process_time() - cpu
        epochs = sum(r.seconds for r in history)
        rows.append({"settings": settings, "fit_seconds": model.fit_seconds_,
                     "start_seconds": model.fit_seconds_ - epochs, "epoch_seconds": [r.seconds for r in history],
                     "test_curve": [r.test_rmse for r in history], "step_rule": model.step_rule_, "lr": model.lr_,
                     "updates_per_second": len(train) * len(history) / model.fit_seconds_,
                     "updates_per_cpu_second": len(train) * len(history) / cpu, "test_rmse": history[-1].test_rmse})
    return rows


def seconds_to(row: dict, target: float) -> tuple[float, int] | None:
    """(seconds, epochs) of training until the test RMSE is first at most ``target``."""
    epochs = first_reaching(row["test_curve"], target)
    return None if epochs is None else (row["start_seconds"] + sum(row["epoch_seconds"][:epochs]), epochs)


class LibMF:
    """Native LibMF on one split: problem files for fit/validation and train/test, the runs."""

    def __init__(self, executable: Path, folder: Path, train, test, k: int):
        from mfcore import random_split
        self.executable, self.k, self.scale, self.n_train = executable, k, train.scale, len(train)
        fit, validation = random_split(train, 0.1, seed=1)
        self.files = {}
        for name, part in (("fit", fit), ("validation", validation), ("train", train), ("test", test)):
            self.files[name] = folder / f"{name}.bin"
            native_libmf.write_problem(self.files[name], part.users, part.items, part.values, train.n_users,
                                       train.n_items)
        self.iters: dict[tuple, int | None] = {}

    def run(self, settings: dict, iters: int, threads: int, on: str = "train", trace_only: bool = False) -> dict:
        train, test = ("fit", "validation") if on == "fit" else ("train", "test")
        return native_libmf.run(self.executable, self.files[train], self.files[test], k=self.k, iters=iters,
                                threads=threads, scale=self.scale, lam=settings["lam"], eta=settings["eta"],
                                trace_only=trace_only)

    def validation_curves(self) -> list[dict]:
        """Every point of :data:`LIBMF_GRID`: LibMF's traced (unclipped) validation RMSE per iteration."""
        points = []
        for settings in LIBMF_GRID:
            trace = self.run(settings, MAX_EPOCHS, 1, on="fit", trace_only=True)["trace"]
            points.append({"settings": settings, "curve": [rmse for _, rmse in trace]})
        return points

    def iterations_for(self, settings: dict, start: int, threads: int, target: float) -> int | None:
        """The fewest iterations, searched from ``start``, whose clipped test RMSE reaches ``target``."""
        key = (tuple(settings.items()), threads, target)
        if key not in self.iters:
            iters = start
            while iters <= MAX_EPOCHS and self.run(settings, iters, threads)["test_rmse"] > target:
                iters += 1
            if iters > MAX_EPOCHS:
                self.iters[key] = None
                return None
            while iters > 1 and self.run(settings, iters - 1, threads)["test_rmse"] <= target:
                iters -= 1
            self.iters[key] = iters
        return self.iters[key]


def median_spread(values: list[float]) -> tuple[float, float, float]:
    return float(np.median(values)), float(min(values)), float(max(values))


def run_json(command: list[str], cwd: Path) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(settings: dict) -> str:
    return ", ".join(f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
                     for name, value in settings.items())


def fmt_to(found) -> str:
    return "not reached" if found is None else f"{found[0]:.3f} ({found[1]})"


def is_finite(value) -> bool:
    return value is not None and math.isfinite(value)


if __name__ == "__main__":  # pragma: no cover - imported by engines.py
    sys.exit("run benchmarks/engines.py --must-show")
