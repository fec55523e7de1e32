"""Time engines on the same data and settings; used by the Speed page, the CLI and benchmarks/.

Each engine trains a fresh :class:`~mfcore.models.SGDFactorizer` with identical hyperparameters and
seed. JIT compile time is reported apart (``compile_seconds``, from the model's own warm-up). An
engine whose first epoch would not fit in ``budget_seconds`` is timed on a random sample of the
training ratings instead, and its full-epoch time is extrapolated linearly (``extrapolated=True``; no
test RMSE then, since it did not train on everything). One that fits only some of the epochs in the
budget, or stops fitting as it goes, is timed on those (its test RMSE is after them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..data import Ratings
from ..models.params import defaults
from ..models.sgd import SGDFactorizer


@dataclass(frozen=True)
class BenchResult:
    """One engine's timing. ``seconds_per_epoch`` is what the model's ``fit_seconds_`` times (the
    engine's once-per-fit plan, e.g. numba-parallel's shuffle and grouping into blocks, plus every
    epoch; no evaluation, no JIT compile) divided by the ``epochs_timed`` full epochs, so an engine that
    prepares once and one that reshuffles every epoch are compared like with like; with
    ``extrapolated`` it is a one-epoch fit on a sample scaled up linearly. ``test_rmse`` after the
    ``epochs_timed`` full epochs (None when extrapolated: a sample's model is not the one asked for);
    ``ratings_timed`` is the number of ratings in each timed epoch (the sample's size when
    extrapolated)."""

    engine: str
    seconds_per_epoch: float
    updates_per_second: float
    test_rmse: float | None
    extrapolated: bool
    epochs_timed: int
    compile_seconds: float
    ratings_timed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def time_engine(engine: str, train: Ratings, test: Ratings | None, params: dict,
                budget_seconds: float = 10.0, probe_ratings: int = 2000) -> BenchResult:
    """Time one engine: full epochs when one fits in the budget (as many as were asked for and fit,
    checked after every epoch: at least one), else a sample, extrapolated. The seconds per epoch are
    ``fit_seconds_ / E``, the model's training time (plan + E epochs) over its E epochs, so the ratio
    of two engines' ``seconds_per_epoch`` is the ratio of their ``fit_seconds_`` for the same settings."""
    params = {**defaults(), **params, "engine": engine}
    probe = train.sample(probe_ratings, params["seed"])
    probe_model = SGDFactorizer(**{**params, "n_epochs": 1}).fit(probe)
    compile_seconds = probe_model.compile_seconds_  # the first fit in this process pays it
    per_rating = probe_model.fit_seconds_ / len(probe)
    if per_rating * len(train) > budget_seconds:
        n_sample = max(len(probe), int(budget_seconds / per_rating / 2))
        sample = train.sample(n_sample, params["seed"])
        model = SGDFactorizer(**{**params, "n_epochs": 1}).fit(sample)
        seconds = model.fit_seconds_ * len(train) / len(sample)
        return BenchResult(engine, seconds, len(train) / seconds, None, True, 1, compile_seconds, len(sample))
    epochs = params["n_epochs"]
    affordable = max(1, int(budget_seconds / max(per_rating * len(train), 1e-9)))
    model = SGDFactorizer(**{**params, "n_epochs": min(epochs, affordable)})
    timed = []
    for result in model.fit_iter(train, test):  # the probe may misjudge: the budget is checked as it goes
        timed.append(result)
        spent = model.fit_seconds_
        if spent + spent / len(timed) > budget_seconds:  # the next epoch would pass the budget
            break
    seconds = model.fit_seconds_ / len(timed)  # the plan amortised over the epochs
    return BenchResult(engine, seconds, len(train) / seconds, timed[-1].test_rmse, False, len(timed),
                       compile_seconds, len(train))


def max_factor_difference(train: Ratings, params: dict, engines=("python", "numba"),
                          n_ratings: int = 2000, n_epochs: int = 2) -> float:
    """Largest absolute difference in ``P, Q, bu, bi`` between two engines trained with the same
    ``params`` and seed on the same sample of ``n_ratings`` training ratings for ``n_epochs``."""
    sample = train.sample(n_ratings, {**defaults(), **params}["seed"])
    first, second = (SGDFactorizer(**{**params, "engine": name, "n_epochs": n_epochs}).fit(sample)
                     for name in engines)
    return float(max(np.max(np.abs(getattr(first, name) - getattr(second, name)), initial=0.0)
                     for name in ("P_", "Q_", "bu_", "bi_")))
