"""Pruners: which trials stop early, and from which epoch they are judged.
"""

from __future__ import annotations

import threading

import optuna

PRUNERS = ("hyperband", "median", "none")


HYPERBAND_MIN_EPOCHS = 1


"""Hyperband's smallest budget: the first rung judges trials after this many epochs."""


MEDIAN_WARMUP_EPOCHS = 5


"""The median pruner judges no trial before this many epochs."""


DEFAULT_PRUNER = "median"


"""``benchmarks/tune.py --pruners`` (ML-100k, 100 trials, seeds 0 and 1): the median pruner judging
from epoch 5 reached each validation target (1.01, 1.005 and 1.002 x the best) sooner or more often
than Hyperband from epoch 1, 3 or 9; Hyperband ends the 100 trials sooner."""


DEFAULT_PATIENCE = 3


"""Early stopping inside trials: a trial stops after this many epochs without a better validation RMSE."""


class _OncePerTrial(optuna.pruners.BasePruner):
    """A median pruner that reads the completed trials it compares with once per trial, not once per
    epoch: each read fetches every trial from the storage, and per epoch that cost more than the
    epoch itself. Trials that complete while a trial runs are seen from the next trial on."""

    def __init__(self, inner: optuna.pruners.BasePruner):
        self.inner = inner
        self._completed: dict[int, list] = {}
        self._lock = threading.Lock()

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        with self._lock:
            if trial.number not in self._completed:
                if len(self._completed) > 64:  # trials long finished
                    self._completed.clear()
                self._completed[trial.number] = study.get_trials(
                    deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            completed = self._completed[trial.number]
        return self.inner.prune(_CompletedTrials(study, completed), trial)


class _CompletedTrials:
    """``study`` whose ``get_trials`` answers with a fixed list of completed trials."""

    def __init__(self, study: optuna.Study, completed: list):
        self._study, self._completed = study, completed
        self.direction = study.direction

    def get_trials(self, deepcopy: bool = False, states=None) -> list:
        return self._completed

    def __getattr__(self, name):
        return getattr(self._study, name)


def first_judged_epoch(name: str) -> int:
    """The first epoch at which pruner ``name`` can prune: Hyperband's smallest budget, the median
    pruner's warm-up, 1 otherwise."""
    kind, _, number = name.partition(":")
    if kind == "hyperband":
        return int(number or HYPERBAND_MIN_EPOCHS)
    if kind == "median":
        return int(number or MEDIAN_WARMUP_EPOCHS)
    return 1


def make_pruner(name: str, max_epochs: int) -> optuna.pruners.BasePruner:
    """``"hyperband"``: Hyperband over ``HYPERBAND_MIN_EPOCHS``..``max_epochs`` epochs (reduction
    factor 3); ``"median"``: prune a trial whose validation RMSE is worse than the median of earlier
    trials at the same epoch, after 5 trials and ``MEDIAN_WARMUP_EPOCHS`` epochs; ``"none"``: never
    prune. ``"hyperband:N"`` and ``"median:N"`` set those epoch counts to N."""
    kind, _, number = name.partition(":")
    if kind in ("hyperband", "median") and (number == "" or number.isdigit() and int(number) >= 1):
        if kind == "hyperband":
            low = min(int(number or HYPERBAND_MIN_EPOCHS), max_epochs)
            return optuna.pruners.HyperbandPruner(min_resource=low, max_resource=max_epochs, reduction_factor=3)
        return _OncePerTrial(optuna.pruners.MedianPruner(n_startup_trials=5,
                                                         n_warmup_steps=int(number or MEDIAN_WARMUP_EPOCHS)))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner == {name!r}, must be one of {', '.join(PRUNERS)} (or hyperband:N, median:N).")
