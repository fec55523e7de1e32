"""The search space: a :class:`Range` per table parameter, sampled by Optuna's trial.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import optuna

from ..models.params import ALS_PARAMETERS, BPR_PARAMETERS, EASE_PARAMETERS, ITEMKNN_PARAMETERS, PARAMETERS

TABLES = {"sgd": PARAMETERS, "bpr": BPR_PARAMETERS, "als": ALS_PARAMETERS, "ease": EASE_PARAMETERS,
          "itemknn": ITEMKNN_PARAMETERS}
"""The parameter table of each model kind (the model file kinds)."""


@dataclass(frozen=True)
class Range:
    """The search range of one hyperparameter: ``[low, high]`` (sampled on a log scale when ``log``)
    for numbers; both values for a bool. ``name`` is the estimator's parameter name, ``model`` the
    model kind whose table holds it (``sgd``, ``bpr``, ``als``)."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    model: str = "sgd"

    @property
    def param(self):
        return TABLES[self.model][self.name]

    @property
    def kind(self) -> type:
        return self.param.kind

    def check(self, bounded: bool = False) -> None:
        """Raise ValueError unless both ends are valid values of the parameter and low <= high; with
        ``bounded``, also unless both lie within the parameter's widget range
        (:meth:`mfcore.models.params.Param.widget_range`: what the dashboard's forms and URLs accept)."""
        if self.kind is bool:
            return
        for end in (self.low, self.high):
            self.param.check(self.kind(end) if end is not None else end)
        low, high = self.param.widget_range
        if bounded and ((low is not None and self.low < low) or (high is not None and self.high > high)):
            raise ValueError(f"{self.name} range [{self.low:g}, {self.high:g}] must lie within [{low}, {high}], "
                             "the values a training form accepts.")
        if self.low > self.high:
            raise ValueError(f"{self.name} range [{self.low}, {self.high}] is empty: low > high.")
        if self.log and self.low <= 0:
            raise ValueError(f"{self.name} range [{self.low}, {self.high}] is on a log scale, so low must be > 0.")


_SEARCH_DEFAULTS = {
    "n_factors": Range("n_factors", 8, 256, log=True),
    "lr": Range("lr", 0.002, 0.05, log=True),
    "reg": Range("reg", 0.005, 0.2, log=True),
    "n_epochs": Range("n_epochs", 10, 100),
    "biased": Range("biased"),
    "init_std": Range("init_std", 0.001, 0.3, log=True),
}


def default_space() -> dict[str, Range]:
    """The default search space: the tunable parameters of the hyperparameter table
    (:data:`mfcore.models.params.PARAMETERS`) with ranges that hold MovieLens's optimum. ``n_epochs`` is the
    most epochs a trial may run; early stopping and pruning decide how many it does."""
    return {name: replace(value) for name, value in _SEARCH_DEFAULTS.items() if name in PARAMETERS}


_RANKING_DEFAULTS = {
    "bpr": (Range("n_factors", 16, 256, log=True, model="bpr"), Range("lr", 0.005, 0.2, log=True, model="bpr"),
            Range("reg", 0.0001, 0.05, log=True, model="bpr"), Range("n_epochs", 10, 100, model="bpr")),
    "als": (Range("n_factors", 16, 256, log=True, model="als"), Range("reg", 0.01, 10.0, log=True, model="als"),
            Range("alpha", 1.0, 100.0, log=True, model="als"), Range("n_epochs", 3, 30, model="als")),
    "ease": (Range("reg", 10.0, 5000.0, log=True, model="ease"),),
    "itemknn": (Range("n_neighbors", 10, 1000, log=True, model="itemknn"),
                Range("shrinkage", 0.0, 200.0, model="itemknn")),
}


def ranking_space(model: str) -> dict[str, Range]:
    """The default search space of a ranking model (``bpr``, ``als``, ``ease``, ``itemknn``): the
    parameters that move its NDCG@10 most, with ranges that hold MovieLens's optimum (EASE's λ, item-kNN's
    k and shrinkage h: every parameter of their tables but the positive level); ``n_epochs`` is the
    most a trial runs (the item-item models have none: a trial is one step)."""
    return {rng.name: replace(rng) for rng in _RANKING_DEFAULTS[model]}


def suggest(trial: optuna.Trial, space: dict[str, Range]) -> dict:
    """The trial's hyperparameters drawn from ``space`` (a range with low == high gives that value,
    still recorded in the trial's parameters)."""
    params = {}
    for name, rng in space.items():
        if rng.kind is bool:
            params[name] = trial.suggest_categorical(name, [True, False])
        elif rng.kind is int:
            params[name] = trial.suggest_int(name, int(rng.low), int(rng.high), log=rng.log)
        else:
            params[name] = trial.suggest_float(name, float(rng.low), float(rng.high), log=rng.log)
    return params
