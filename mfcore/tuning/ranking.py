r"""Tuning a ranking model (BPR, ALS, EASE, item-kNN) for its top-10: the same protocol as the rating model's search,
with NDCG@10 on the validation split in place of the validation RMSE, and direction maximize.

Each trial trains on ``split.train`` and, after every epoch, ranks every validation user's unseen
items (on a seeded sample of at most :data:`VALIDATION_USERS` users, the same sample every epoch and
trial): relevant items are the user's validation positives (ratings at or above the model's positive
threshold). The epoch's NDCG@10 is reported to Optuna, whose pruner compares it with earlier trials at
the same epoch (a study of direction ``maximize`` prunes the low ones); the trial's value is its best
epoch's,

.. math::  v(\theta) = \max_{e \le E(\theta)} \mathrm{NDCG@10}_{\mathrm{validation}}(\theta, e).

The test set is looked at once: :func:`ranking_final_scores` retrains the best configuration on
train + validation for its best epoch count and ranks the test positives, beside popularity.
Trials train on one thread (``n_threads=1``): bit-reproducible, and a search holds one slot. The
item-item models (EASE, item-kNN) have no epochs: a trial is one step, reported as epoch 1, and no
trial is pruned; settings a model's table does not have (``n_threads``, ``n_epochs``) are not given to it.
"""

from __future__ import annotations

import optuna

from ..evaluation import topn
from ..evaluation.protocol import Holdout
from ..models.als import ALSFactorizer
from ..evaluation.resources import MemoryGuardError, check_training_memory, ranking_options
from ..models.base import TrainingDiverged
from ..models.bpr import BPRFactorizer
from ..models.neighbors import EASE, ItemKNN
from .pruning import DEFAULT_PRUNER, first_judged_epoch
from .space import Range, ranking_space, suggest
from .storage import create_study, fail_stale
from .study import best_trial, judge_epoch, state_counts

__all__ = ["K", "MODELS", "VALIDATION_USERS", "model_params", "ranking_final_scores", "ranking_objective",
           "ranking_search"]

MODELS = {"bpr": BPRFactorizer, "als": ALSFactorizer, "ease": EASE, "itemknn": ItemKNN}
K = 10
"""The list length tuned for (NDCG@K)."""
VALIDATION_USERS = 1000
"""Validation users ranked after each epoch (a seeded sample when there are more)."""


def model_params(model: str, params: dict) -> dict:
    """``params`` less the settings ranking model ``model``'s table does not have (the item-item models
    take neither ``n_threads`` nor ``n_epochs``)."""
    table = MODELS[model].PARAMETERS
    return {name: value for name, value in params.items() if name in table}


def ranking_objective(model: str, split: Holdout, space: dict[str, Range], fixed: dict | None = None,
                      judge_from: int = 1, stop=None):
    """An Optuna objective for ranking model ``model`` (``bpr``, ``als``): train ``fixed`` + the
    suggested parameters on ``split.train``, report the validation NDCG@:data:`K` every epoch, ask the
    pruner from epoch ``judge_from`` on, return the best epoch's NDCG. Under the same guards as the
    rating model's trials: the peak memory is estimated first, as this model's training with its
    per-epoch ranking of :data:`VALIDATION_USERS` users
    (:func:`mfcore.evaluation.resources.ranking_peak_bytes`; a trial over the cap is failed with
    the sentence), and ``stop`` (anything with ``is_set()``) is looked at after every epoch
    (:class:`~mfcore.tuning.study.SearchStopped`). User attributes: ``best_epoch``, and
    ``fail_reason`` on divergence, the memory cap or a stop."""
    train, validation = split.train, split.validation
    held_out = len(validation) / max(1, len(train) + len(validation))

    def run(trial: optuna.Trial) -> float:
        params = model_params(model, {**(fixed or {}), **suggest(trial, space), "n_threads": 1})
        estimator = MODELS[model](**params)
        best, best_epoch = float("-inf"), 0
        try:
            check_training_memory(train.n_users, train.n_items, len(train) + len(validation), estimator.n_factors,
                                  held_out, timestamps=train.timestamps is not None, eval_users=VALIDATION_USERS,
                                  **ranking_options(estimator, train, validation))
            for result in estimator.fit_iter(train, validation=split.validation, k=K, max_users=VALIDATION_USERS):
                value = result.validation_ndcg
                if value > best:
                    best, best_epoch = value, result.epoch
                judge_epoch(trial, result.epoch, value, stop, judge_from)
        except (TrainingDiverged, MemoryGuardError) as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        trial.set_user_attr("best_epoch", best_epoch)
        return best
    return run


def ranking_search(model: str, split: Holdout, study_name: str, storage: str | None = None,
                   n_trials: int | None = None, timeout: float | None = None, space: dict[str, Range] | None = None,
                   seed: int = 0, pruner: str = DEFAULT_PRUNER, fixed: dict | None = None,
                   stop=None, worker: int | None = None) -> optuna.Study:
    """Create (or load) the study, direction maximize, and run the search until ``n_trials``,
    ``timeout`` or ``stop``; diverged trials are recorded as failed. Returns the study."""
    space = space or ranking_space(model)
    for rng in space.values():
        rng.check()
    if n_trials is None and timeout is None:
        raise ValueError("give a budget: a number of trials or of seconds.")
    max_epochs = int(space["n_epochs"].high) if "n_epochs" in space else int((fixed or {}).get("n_epochs", 20))
    study = create_study(study_name, storage, seed, pruner, max_epochs, worker=worker, direction="maximize")

    def stop_when_asked(study, trial):
        if stop is not None and stop.is_set():
            study.stop()

    if stop is None or not stop.is_set():
        study.optimize(ranking_objective(model, split, space, fixed, first_judged_epoch(pruner), stop),
                       n_trials=n_trials, timeout=timeout, catch=(TrainingDiverged, MemoryGuardError),
                       callbacks=[stop_when_asked], gc_after_trial=False)
    return study


def ranking_final_scores(model: str, study: optuna.Study, split: Holdout, fixed: dict | None = None) -> dict:
    """The best trial's parameters and best epoch, its validation NDCG@:data:`K`, then its test NDCG and
    recall retrained on train + validation for that many epochs (the test set's only use), and
    popularity's test NDCG on the same split."""
    fail_stale(study)
    trials = study.get_trials(deepcopy=False)  # the one read the whole report comes from
    trial = best_trial(study, trials)
    best_epoch = int(trial.user_attrs.get("best_epoch", trial.params.get("n_epochs", 10)))
    params = model_params(model, {**(fixed or {}), **trial.params, "n_epochs": best_epoch, "n_threads": 1})
    estimator = MODELS[model](**params).fit(split.train_full)
    found = topn.evaluate(estimator, split.train_full, split.test, K)
    popularity = topn.evaluate(topn.popularity_scorer(split.train_full, topn.scale_threshold(split.train_full)),
                               split.train_full, split.test, K)
    return {"best_trial": trial.number, "params": params, "best_epoch": best_epoch,
            "validation_ndcg": trial.value, "test_ndcg": found["ndcg"], "test_recall": found["recall"],
            "baselines": {"popularity": popularity["ndcg"]}, "trials": len(trials), "states": state_counts(trials)}
