"""The objective, the search loop and what a finished study reports.

Every trial runs under the guards every training of the dashboard runs under: before it allocates
anything its peak memory is estimated (:func:`mfcore.evaluation.resources.check_training_memory`, with
the trial's K and threads) and a trial over the cap is recorded as failed with that sentence, not run;
its threads are capped to the cores; and a ``stop`` event (a Stop click, the work time limit) is
looked at after every epoch, so a search ends within an epoch, not after the trial in progress.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable

import numpy as np
import optuna

from ..evaluation.protocol import Holdout
from ..evaluation.resources import MemoryGuardError, check_training_memory
from ..models.base import TrainingDiverged
from ..models.sgd import SGDFactorizer
from .pruning import DEFAULT_PATIENCE, DEFAULT_PRUNER, first_judged_epoch
from .space import Range, default_space, suggest
from .storage import GRACE_SECONDS, HEARTBEAT_SECONDS, StudyMismatch, fail_stale, identity, join_study

__all__ = ["SearchStopped", "StudyMismatch", "available_cores", "fingerprint", "objective", "optimize",
           "search", "best_params", "trials_table", "curves", "final_scores"]


class SearchStopped(optuna.TrialPruned):
    """The search was stopped (Stop, the work time limit) while this trial ran: the trial ends after
    its current epoch, recorded as pruned with ``fail_reason`` saying so, and no trial starts after it."""


def available_cores() -> int:
    """The cores this process may run on: the most threads a trial gets."""
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fingerprint(split: Holdout) -> str:
    """A sha256 of the split's ratings (codes and values of train, validation and test, in order): two
    workers with this fingerprint tune on the same data, split the same way."""
    digest = hashlib.sha256()
    for part in (split.train, split.validation, split.test):
        for array in (part.users, part.items, part.values):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _threads(requested: int | None) -> int:
    """``requested`` threads capped to the cores (None: every core)."""
    cores = available_cores()
    return cores if requested is None else max(1, min(int(requested), cores))

def judge_epoch(trial: optuna.Trial, epoch: int, value: float, stop, judge_from: int) -> None:
    """Report a trial's validation ``value`` at ``epoch`` to Optuna, then end the trial when ``stop``
    (anything with ``is_set()``) is set (:class:`SearchStopped`, the reason kept as ``fail_reason``)
    or when the pruner says so from epoch ``judge_from`` on (``optuna.TrialPruned``). Every objective
    calls it after every epoch, so Stop and the work limit act within one epoch."""
    trial.report(value, epoch)
    if stop is not None and stop.is_set():
        trial.set_user_attr("fail_reason", f"the search was stopped after epoch {epoch}")
        raise SearchStopped(f"stopped at epoch {epoch}")
    if epoch >= judge_from and trial.should_prune():
        raise optuna.TrialPruned(f"pruned at epoch {epoch}")


def objective(split: Holdout, space: dict[str, Range], fixed: dict | None = None,
              patience: int | None = DEFAULT_PATIENCE, min_delta: float = 0.0,
              on_epoch: Callable[[optuna.Trial, int, float], None] | None = None, judge_from: int = 1,
              stop: threading.Event | None = None, memory_cap: int | None = None, worker: int | None = None):
    """An Optuna objective: train ``fixed`` + the suggested parameters on ``split.train``, report the
    validation RMSE every epoch (the epochs a trial ran are its reported steps), ask the pruner from
    epoch ``judge_from`` on (it prunes no earlier epoch; each question reads the storage), return the
    best validation RMSE. User attributes: ``best_epoch``; ``fail_reason`` on divergence, on a memory
    estimate over ``memory_cap`` (default :func:`memory_cap_bytes`; the trial is not run) and when
    ``stop`` was set during the trial (:class:`SearchStopped`); ``worker`` when given."""
    train, validation = split.train, split.validation
    held_out = len(validation) / max(1, len(train) + len(validation))

    def run(trial: optuna.Trial) -> float:
        if worker is not None:
            trial.set_user_attr("worker", str(worker))
        params = {**(fixed or {}), **suggest(trial, space), "patience": patience, "min_delta": min_delta}
        params["n_threads"] = _threads(params.get("n_threads"))
        model = SGDFactorizer(**params)
        try:
            check_training_memory(train.n_users, train.n_items, len(train) + len(validation), model.n_factors,
                                  held_out, model.schedule, train.timestamps is not None,
                                  cap=memory_cap, n_threads=model.n_threads if model.engine == "numba-parallel"
                                  else 1)
            for result in model.fit_iter(train, validation=validation):
                if on_epoch is not None:
                    on_epoch(trial, result.epoch, result.validation_rmse)
                judge_epoch(trial, result.epoch, result.validation_rmse, stop, judge_from)
        except (TrainingDiverged, MemoryGuardError) as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        trial.set_user_attr("best_epoch", model.best_epoch_)
        return min(r.validation_rmse for r in model.history_)
    return run


def optimize(study: optuna.Study, split: Holdout, space: dict[str, Range] | None = None,
             n_trials: int | None = None, timeout: float | None = None, n_jobs: int = 1,
             fixed: dict | None = None, patience: int | None = DEFAULT_PATIENCE,
             stop: threading.Event | None = None, callbacks=(), show_progress_bar: bool = False,
             on_epoch=None, judge_from: int = 1, memory_cap: int | None = None,
             worker: int | None = None) -> optuna.Study:
    """Run up to ``n_trials`` trials or ``timeout`` seconds in this process (``n_jobs`` threads:
    the kernels release the GIL), until ``stop`` is set (the running trials end after their epoch;
    finished trials are kept). Diverged trials and trials over the memory cap are recorded as failed
    and the search goes on. Returns ``study``."""
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
    fail_stale(study)
    study.optimize(objective(split, space, fixed, patience, on_epoch=on_epoch, judge_from=judge_from,
                             stop=stop, memory_cap=memory_cap, worker=worker),
                   n_trials=n_trials,
                   timeout=timeout, n_jobs=n_jobs, catch=(TrainingDiverged, MemoryGuardError),
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


def metric_name(study: optuna.Study) -> str:
    """What the study's values are: ``validation RMSE`` (minimised) or ``validation NDCG@10``
    (maximised, a ranking model's search: :mod:`mfcore.tuning.ranking`)."""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return "validation NDCG@10" if maximize else "validation RMSE"


def trials_table(study: optuna.Study) -> list[dict]:
    """One row per finished or running trial: ``trial``, ``state`` (complete, pruned, failed,
    running), the best value of :func:`metric_name` (None if none), ``epochs run``, then its
    parameters, and ``reason`` for a failed trial."""
    rows = []
    name = metric_name(study)
    best_of = max if name.endswith("NDCG@10") else min
    for trial in study.get_trials(deepcopy=False):
        curve = trial.intermediate_values
        value = trial.value if trial.value is not None else (best_of(curve.values()) if curve else None)
        rows.append({"trial": trial.number, "state": _STATES[trial.state.name],
                     name: None if value is None or not math.isfinite(value) else value,
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
           callbacks=(), show_progress_bar: bool = False, worker: int | None = None,
           memory_cap: int | None = None,
           heartbeat: tuple[int, int] | None = (HEARTBEAT_SECONDS, GRACE_SECONDS)) -> optuna.Study:
    """Join (or create) the study, then :func:`optimize`: the whole search in one call. The study is
    refused (:class:`StudyMismatch`) when it was made for another dataset (:func:`fingerprint`), seed
    or search space; this worker samples with its own seed (:func:`mfcore.tuning.storage.join_study`)."""
    space = space or default_space()
    max_epochs = int(space["n_epochs"].high) if "n_epochs" in space else int((fixed or {}).get("n_epochs", 20))
    study, worker = join_study(study_name, storage, seed, pruner, max_epochs, worker,
                               identity(fingerprint(split), seed, space), heartbeat)
    return optimize(study, split, space, n_trials, timeout, n_jobs, fixed, patience, stop, callbacks,
                    show_progress_bar, judge_from=first_judged_epoch(pruner), memory_cap=memory_cap,
                    worker=worker)


def final_scores(study: optuna.Study, split: Holdout, fixed: dict | None = None) -> dict:
    """The honest result of a finished search: the best trial's parameters and best epoch, its
    validation RMSE, then its test RMSE and MAE retrained on train + validation for that many
    epochs (the test set's only use), and the baselines' test RMSE on the same split."""
    from ..evaluation.protocol import baselines, score_on_test
    fail_stale(study)
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        raise ValueError("no trial has completed yet, so there is no best configuration to score.")
    params, best_epoch = best_params(study, fixed)
    scores = score_on_test(params, split, best_epoch)
    return {"best_trial": study.best_trial.number, "params": params, "best_epoch": best_epoch,
            "validation_rmse": study.best_value, "test_rmse": scores["rmse"], "test_mae": scores["mae"],
            "baselines": baselines(split.train_full, split.test, seed=int((fixed or {}).get("seed", 0)))}
