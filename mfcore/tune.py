r"""Hyperparameter search with Optuna: seeded TPE, every epoch reported, pruning, early stopping.

The protocol (:mod:`mfcore.protocol`): each trial trains on ``split.train`` and is judged by its RMSE
on ``split.validation``, reported to Optuna after every epoch. A pruner stops unpromising trials early
(``"median"`` by default, ``"hyperband"`` or ``"none"``; ``benchmarks/tune.py --pruners`` measures
which reaches a good RMSE sooner), and early stopping (``patience``) ends a trial whose own curve has
stopped improving; its value is the best validation RMSE over the epochs it ran,

.. math::  v(\theta) = \min_{e \le E(\theta)} \mathrm{RMSE}_{\mathrm{validation}}(\theta, e).

A trial whose training diverges is recorded as failed, with the reason in its user attribute
``fail_reason``. The test set is never looked at here: :func:`mfcore.protocol.score_on_test` scores
the best configuration once, retrained on train + validation for its best epoch count.

Studies live in Optuna's storage: by default one SQLite file per study in :func:`data_dir`
(``mfcore-data/studies/`` in the working directory, or ``$MFCORE_DATA_DIR/studies``), visible and
safe to delete; any SQLAlchemy URL otherwise (``postgresql://user@host/db``), where several
processes on several machines can share one study.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import optuna

from .model import SGDFactorizer, TrainingDiverged
from .params import PARAMETERS
from .protocol import Holdout

__all__ = [
    "DEFAULT_PATIENCE",
    "DEFAULT_PRUNER",
    "PRUNERS",
    "Range",
    "best_params",
    "create_study",
    "curves",
    "data_dir",
    "default_space",
    "default_storage",
    "objective",
    "optimize",
    "suggest",
    "trials_table",
]

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


@dataclass(frozen=True)
class Range:
    """The search range of one hyperparameter: ``[low, high]`` (sampled on a log scale when ``log``)
    for numbers; both values for a bool. ``name`` is the estimator's parameter name."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False

    @property
    def kind(self) -> type:
        return PARAMETERS[self.name].kind

    def check(self) -> None:
        """Raise ValueError unless both ends are valid values of the parameter and low <= high."""
        if self.kind is bool:
            return
        for end in (self.low, self.high):
            PARAMETERS[self.name].check(self.kind(end) if end is not None else end)
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
    "init_std": Range("init_std", 0.01, 0.3, log=True),
}


def default_space() -> dict[str, Range]:
    """The default search space: the tunable parameters of the hyperparameter table
    (:data:`mfcore.params.PARAMETERS`) with ranges that hold MovieLens's optimum. ``n_epochs`` is the
    most epochs a trial may run; early stopping and pruning decide how many it does."""
    return {name: replace(value) for name, value in _SEARCH_DEFAULTS.items() if name in PARAMETERS}


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


def objective(split: Holdout, space: dict[str, Range], fixed: dict | None = None,
              patience: int | None = DEFAULT_PATIENCE, min_delta: float = 0.0,
              on_epoch: Callable[[optuna.Trial, int, float], None] | None = None, judge_from: int = 1):
    """An Optuna objective: train ``fixed`` + the suggested parameters on ``split.train``, report the
    validation RMSE every epoch (the epochs a trial ran are its reported steps), ask the pruner from
    epoch ``judge_from`` on (it prunes no earlier epoch; each question reads the storage), return the
    best validation RMSE. User attributes: ``best_epoch``, and ``fail_reason`` on divergence."""
    def run(trial: optuna.Trial) -> float:
        params = {**(fixed or {}), **suggest(trial, space), "patience": patience, "min_delta": min_delta}
        model = SGDFactorizer(**params)
        try:
            for result in model.fit_iter(split.train, validation=split.validation):
                trial.report(result.validation_rmse, result.epoch)
                if on_epoch is not None:
                    on_epoch(trial, result.epoch, result.validation_rmse)
                if result.epoch >= judge_from and trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {result.epoch}")
        except TrainingDiverged as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        trial.set_user_attr("best_epoch", model.best_epoch_)
        return min(r.validation_rmse for r in model.history_)
    return run


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


def data_dir() -> Path:
    """Where default studies live: ``$MFCORE_DATA_DIR``, else ``mfcore-data`` in the working
    directory (visible, safe to delete)."""
    return Path(os.environ.get("MFCORE_DATA_DIR", "mfcore-data"))


_STUDY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def default_storage(study_name: str) -> str:
    """The SQLite URL of ``study_name``'s own file, ``<data_dir>/studies/<study_name>.sqlite3``."""
    if not _STUDY_NAME.match(study_name):
        raise ValueError(f"study name {study_name!r} must be 1-100 letters, digits, '_', '.' or '-'.")
    folder = data_dir() / "studies"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / study_name).resolve()}.sqlite3"


def _sqlite_connector(path: str) -> Callable[[], sqlite3.Connection]:
    """Connections to the SQLite file ``path`` with write-ahead logging and no fsync per commit (a
    trial reports every epoch, and a synchronous commit each time costs more than the epoch; a power
    cut may lose the last trials, never corrupt the file), waiting up to 60 s for other processes'
    writes."""
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=60, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        return connection
    return connect


def _storage(url: str) -> optuna.storages.BaseStorage:
    """Optuna's relational storage for the SQLAlchemy ``url`` (a SQLite file made fast, see above)."""
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    kwargs = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        kwargs = {"engine_kwargs": {"creator": _sqlite_connector(parsed.database)}}
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except sqlalchemy.exc.DBAPIError as exc:
            # another process or thread created the same tables or types at the same moment
            racing = isinstance(exc, sqlalchemy.exc.IntegrityError) or "already exists" in str(exc)
            if attempt == 4 or not racing:
                raise
            time.sleep(0.2 * (attempt + 1))


def create_study(study_name: str, storage: str | None = None, seed: int = 0,
                 pruner: str = DEFAULT_PRUNER, max_epochs: int = 100) -> optuna.Study:
    """Create or load (``load_if_exists``) the study ``study_name`` in ``storage`` (a SQLAlchemy URL;
    None: :func:`default_storage`), minimising, with a TPE sampler seeded by ``seed``."""
    url = storage or default_storage(study_name)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True)
    return optuna.create_study(study_name=study_name, storage=_storage(url), sampler=sampler,
                               pruner=make_pruner(pruner, max_epochs), direction="minimize",
                               load_if_exists=True)


def optimize(study: optuna.Study, split: Holdout, space: dict[str, Range] | None = None,
             n_trials: int | None = None, timeout: float | None = None, n_jobs: int = 1,
             fixed: dict | None = None, patience: int | None = DEFAULT_PATIENCE,
             stop: threading.Event | None = None, callbacks=(), show_progress_bar: bool = False,
             on_epoch=None, judge_from: int = 1) -> optuna.Study:
    """Run up to ``n_trials`` trials or ``timeout`` seconds in this process (``n_jobs`` threads:
    the kernels release the GIL), until ``stop`` is set (finished trials are kept). Diverged trials
    are recorded as failed and the search goes on. Returns ``study``."""
    space = space or default_space()
    for rng in space.values():
        rng.check()
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials == {n_trials}, must be >= 1.")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout == {timeout}, must be > 0 seconds.")

    def stop_when_asked(study, trial):
        if stop is not None and stop.is_set():
            study.stop()

    if stop is not None and stop.is_set():
        return study
    study.optimize(objective(split, space, fixed, patience, on_epoch=on_epoch, judge_from=judge_from),
                   n_trials=n_trials,
                   timeout=timeout, n_jobs=n_jobs, catch=(TrainingDiverged,),
                   callbacks=[stop_when_asked, *callbacks], show_progress_bar=show_progress_bar,
                   gc_after_trial=False)
    return study


def best_params(study: optuna.Study, fixed: dict | None = None) -> tuple[dict, int]:
    """The best trial's estimator parameters (``fixed`` + its sampled ones) and its best epoch."""
    trial = study.best_trial
    best_epoch = trial.user_attrs.get("best_epoch", trial.params.get("n_epochs", 20))
    return {**(fixed or {}), **trial.params}, int(best_epoch)


_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
           "WAITING": "waiting"}
"""Optuna's trial state names as the tables and curves say them."""


def trials_table(study: optuna.Study) -> list[dict]:
    """One row per finished or running trial: ``trial``, ``state`` (complete, pruned, failed,
    running), ``validation RMSE`` (the best one; None if none), ``epochs run``, then its parameters,
    and ``reason`` for a failed trial."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        curve = trial.intermediate_values
        value = trial.value if trial.value is not None else (min(curve.values()) if curve else None)
        rows.append({"trial": trial.number, "state": _STATES[trial.state.name],
                     "validation RMSE": None if value is None or not math.isfinite(value) else value,
                     "epochs run": len(curve),
                     **trial.params, "reason": trial.user_attrs.get("fail_reason", "")})
    return rows


def curves(study: optuna.Study) -> dict[int, tuple[str, np.ndarray, np.ndarray]]:
    """``{trial number: (state, epochs, validation RMSE)}`` from the values reported each epoch (one
    read of the storage)."""
    result = {}
    for trial in study.get_trials(deepcopy=False):
        steps = sorted(trial.intermediate_values)
        result[trial.number] = (_STATES[trial.state.name], np.array(steps, dtype=int),
                                np.array([trial.intermediate_values[s] for s in steps], dtype=float))
    return result


def search(split: Holdout, study_name: str, storage: str | None = None, n_trials: int | None = None,
           timeout: float | None = None, space: dict[str, Range] | None = None, seed: int = 0,
           pruner: str = DEFAULT_PRUNER, n_jobs: int = 1, fixed: dict | None = None,
           patience: int | None = DEFAULT_PATIENCE, stop: threading.Event | None = None,
           callbacks=(), show_progress_bar: bool = False) -> optuna.Study:
    """:func:`create_study` then :func:`optimize`: the whole search in one call."""
    space = space or default_space()
    max_epochs = int(space["n_epochs"].high) if "n_epochs" in space else int((fixed or {}).get("n_epochs", 20))
    study = create_study(study_name, storage, seed, pruner, max_epochs)
    return optimize(study, split, space, n_trials, timeout, n_jobs, fixed, patience, stop, callbacks,
                    show_progress_bar, judge_from=first_judged_epoch(pruner))


def final_scores(study: optuna.Study, split: Holdout, fixed: dict | None = None) -> dict:
    """The honest result of a finished search: the best trial's parameters and best epoch, its
    validation RMSE, then its test RMSE and MAE retrained on train + validation for that many
    epochs (the test set's only use), and the baselines' test RMSE on the same split."""
    from .protocol import baselines, score_on_test
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        raise ValueError("no trial has completed yet, so there is no best configuration to score.")
    params, best_epoch = best_params(study, fixed)
    scores = score_on_test(params, split, best_epoch)
    return {"best_trial": study.best_trial.number, "params": params, "best_epoch": best_epoch,
            "validation_rmse": study.best_value, "test_rmse": scores["rmse"], "test_mae": scores["mae"],
            "baselines": baselines(split.train_full, split.test, seed=int((fixed or {}).get("seed", 0)))}
