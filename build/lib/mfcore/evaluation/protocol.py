r"""The honest evaluation protocol: decide on a validation split, score the test set once.

1. :func:`holdout` splits the ratings into a test set and a training set, then carves a validation set
   out of the training ratings (never out of the test set).
2. Every decision (early stopping, hyperparameter search) looks at the validation RMSE only.
3. The chosen configuration is retrained on train + validation and scored on the test set once
   (:func:`score_on_test`), next to two baselines fitted on the same ratings (:func:`baselines`):
   the global mean :math:`\hat r_{ui} = \mu`, and biases only :math:`\hat r_{ui} = \mu + b_u + b_i`,
   so every result says what the factors add.
4. :func:`cross_validate` (k folds, like Surprise's) gives a final estimate with its spread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..data import Ratings
from ..models.params import SPLIT_PARAMETERS
from ..models.sgd import SGDFactorizer
from . import metrics
from .split import TEST_SIZE, random_split

__all__ = ["Holdout", "VALIDATION_SIZE", "baselines", "biases_only", "cross_validate", "holdout",
           "score_on_test", "validation_split"]

VALIDATION_SIZE = SPLIT_PARAMETERS["validation_size"].default
"""The default fraction of the training ratings held out for validation (the split table's)."""


@dataclass(frozen=True)
class Holdout:
    """``train_full`` = ``train`` + ``validation`` (disjoint); ``test`` is disjoint from both."""

    train_full: Ratings
    train: Ratings
    validation: Ratings
    test: Ratings


def validation_split(train: Ratings, validation_size: float = VALIDATION_SIZE,
                     seed: int = 0) -> tuple[Ratings, Ratings]:
    """``train`` less a random ``validation_size`` fraction of its ratings, and that fraction: the
    validation set of :func:`holdout` (seeded ``seed + 1``, so it differs from the test split's draw).
    For callers that hold the training set of ``random_split(ratings, test_size, seed)`` already
    (Train in the dashboard): the result is the ``(train, validation)`` of ``holdout(ratings,
    test_size, validation_size, seed)``."""
    SPLIT_PARAMETERS["validation_size"].check(validation_size)
    return random_split(train, validation_size, seed + 1)


def holdout(ratings: Ratings, test_size: float = TEST_SIZE, validation_size: float = VALIDATION_SIZE,
            seed: int = 0) -> Holdout:
    """A random ``test_size`` holdout (the same one :func:`~mfcore.random_split` gives with ``seed``),
    then a random ``validation_size`` fraction of the remaining training ratings (seeded ``seed + 1``)
    as the validation set (:func:`validation_split`). The defaults are the split table's
    (:data:`mfcore.models.params.SPLIT_PARAMETERS`): 0.1 and 0.1. The CLI's ``train --patience`` and
    ``tune``, and the dashboard's Train and Tune, all split this way."""
    SPLIT_PARAMETERS["validation_size"].check(validation_size)
    train_full, test = random_split(ratings, test_size, seed)
    train, validation = validation_split(train_full, validation_size, seed)
    return Holdout(train_full, train, validation, test)


def biases_only(n_epochs: int = 20, seed: int = 0, **params) -> SGDFactorizer:
    """The biases-only model :math:`\\mu + b_u + b_i` with the same SGD loop: factors start at 0
    (``init_std=0``), so their gradients :math:`e\\,q_i - \\lambda p_u` stay 0 and only the biases learn."""
    return SGDFactorizer(**{"n_factors": 1, "n_epochs": n_epochs, "seed": seed, **params,
                            "init_std": 0.0, "biased": True})


def baselines(train: Ratings, test: Ratings, seed: int = 0) -> dict[str, float]:
    """Test RMSE of the global mean of ``train`` and of the biases-only model fitted on ``train``."""
    mean = float(np.mean(train.values, dtype=np.float64))
    return {"global mean": metrics.rmse(test.values, np.full(len(test), mean)),
            "biases only": biases_only(seed=seed).fit(train).evaluate(test)["rmse"]}


def score_on_test(params: dict, split: Holdout, n_epochs: int | None = None) -> dict:
    """Retrain ``params`` on ``split.train_full`` (for ``n_epochs``, e.g. the best epoch found on the
    validation set, else ``params['n_epochs']``; no early stopping: the validation ratings are now
    training ratings) and score the test set once: ``{"rmse", "mae", "fit_seconds", "n_epochs"}``."""
    params = {**params, "patience": None}
    if n_epochs is not None:
        params["n_epochs"] = int(n_epochs)
    model = SGDFactorizer(**params).fit(split.train_full)
    return {**model.evaluate(split.test), "fit_seconds": model.fit_seconds_,
            "n_epochs": model.n_epochs}


def cross_validate(ratings: Ratings, params: dict | None = None, n_folds: int = 5,
                   seed: int = 0) -> dict:
    """``n_folds``-fold cross-validation: the ratings are shuffled (``seed``) and cut into
    ``n_folds`` near-equal folds; each fold is the test set once for a model trained on the others.
    Returns per-fold ``test_rmse``, ``test_mae`` and ``fit_seconds`` arrays, and the mean and standard
    deviation (ddof 0, as Surprise) of the RMSE and MAE."""
    if not isinstance(n_folds, int) or not 2 <= n_folds <= len(ratings):
        raise ValueError(f"n_folds == {n_folds!r}, must be an integer in [2, {len(ratings)}].")
    folds = np.array_split(np.random.default_rng(seed).permutation(len(ratings)), n_folds)
    rmse, mae, seconds = [], [], []
    for fold in folds:
        in_test = np.zeros(len(ratings), dtype=bool)
        in_test[fold] = True
        start = time.perf_counter()
        model = SGDFactorizer(**(params or {})).fit(ratings.take(~in_test))
        seconds.append(time.perf_counter() - start)
        scores = model.evaluate(ratings.take(in_test))
        rmse.append(scores["rmse"])
        mae.append(scores["mae"])
    rmse, mae = np.array(rmse), np.array(mae)
    return {"test_rmse": rmse, "test_mae": mae, "fit_seconds": np.array(seconds),
            "mean_rmse": float(rmse.mean()), "std_rmse": float(rmse.std()),
            "mean_mae": float(mae.mean()), "std_mae": float(mae.std())}
