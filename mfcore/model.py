r"""SGDFactorizer: biased matrix factorization trained by stochastic gradient descent.

The model (Koren, Bell & Volinsky 2009; Funk 2006 without the biases):

.. math::
    \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

For each training rating, in a fresh random order every epoch (the ``per-rating`` schedule):

.. math::
    e_{ui} &= r_{ui} - \hat r_{ui} \\
    b_u &\leftarrow b_u + \gamma (e_{ui} - \lambda b_u) \\
    b_i &\leftarrow b_i + \gamma (e_{ui} - \lambda b_i) \\
    p_u &\leftarrow p_u + \gamma (e_{ui} q_i - \lambda p_u) \\
    q_i &\leftarrow q_i + \gamma (e_{ui} p_u - \lambda q_i)

with :math:`\gamma` = ``lr`` and :math:`\lambda` = ``reg``; the right-hand sides use the values from
before the update. ``biased=False`` fixes :math:`\mu = b_u = b_i = 0` (Funk's original model).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import metrics
from .data import Ratings
from .engines import get_engine, row_dots, schedule_arguments

__all__ = ["SGDFactorizer", "EpochResult", "TrainingDiverged", "NotFittedError", "default_lr"]

log = logging.getLogger(__name__)


def default_lr(schedule: str) -> float:
    """The learning rate used when ``lr`` is None: 0.007 (tuned on MovieLens for K=100, 20 epochs),
    or 0.002 for ``per-epoch``, which diverges above about 0.004 there."""
    return 0.002 if schedule == "per-epoch" else 0.007


def initial_parameters(train: Ratings, n_factors: int, init_std: float, biased: bool,
                       rng: np.random.Generator, dtype=np.float32):
    r"""SGD's starting point ``(P, Q, bu, bi, mu)``: :math:`P, Q \sim \mathcal N(0, \sigma^2)` drawn
    from ``rng`` in that order, with the rows of users and items that have no training rating set to
    0 (they are never trained, so their predictions fall back to the biases); biases 0; ``mu`` the
    mean training rating, or 0 when not ``biased``."""
    P = rng.normal(0.0, init_std, (train.n_users, n_factors)).astype(dtype)
    Q = rng.normal(0.0, init_std, (train.n_items, n_factors)).astype(dtype)
    P[np.bincount(train.users, minlength=train.n_users) == 0] = 0
    Q[np.bincount(train.items, minlength=train.n_items) == 0] = 0
    mu = float(np.mean(train.values, dtype=np.float64)) if biased else 0.0
    return P, Q, np.zeros(train.n_users, dtype), np.zeros(train.n_items, dtype), mu


class TrainingDiverged(ValueError):
    """The training error stopped being a finite number."""


class NotFittedError(RuntimeError):
    """The model is used before ``fit``."""


@dataclass(frozen=True)
class EpochResult:
    """What one epoch produced. ``train_rmse`` is the RMSE of the errors met during the epoch (each
    before its own update, as LibMF reports it); ``test_rmse`` is evaluated after the epoch, or None
    without a test set; ``seconds`` is the epoch's training time, evaluation excluded."""

    epoch: int
    train_rmse: float
    test_rmse: float | None
    seconds: float


class SGDFactorizer:
    r"""Matrix factorization by SGD, in the style of a scikit-learn estimator.

    Parameters (defaults in brackets; stored as given, validated by ``fit``):

    - ``n_factors`` [100]: K, the length of :math:`p_u` and :math:`q_i`.
    - ``n_epochs`` [20]: passes over the training ratings.
    - ``lr`` [None]: the learning rate :math:`\gamma`; None picks the schedule's default
      (:func:`default_lr`): 0.007, or 0.002 under ``per-epoch``, whose stale errors let each user's
      steps add up across the epoch and diverge at 0.005 on MovieLens.
    - ``reg`` [0.05]: the L2 regularization :math:`\lambda` for factors and biases.
    - ``biased`` [True]: learn :math:`\mu, b_u, b_i`; False is Funk's unbiased SVD :math:`p_u^\top q_i`.
    - ``init_std`` [0.05]: factors start as :math:`\mathcal N(0, \sigma^2)`; biases start at 0.
    - ``engine`` ["numba"]: which kernel runs an epoch (see :mod:`mfcore.engines`).
    - ``schedule`` ["per-rating"]: when the error is recomputed (``mfcore.engines.SCHEDULES``):
      ``per-rating``, ``per-factor``, ``per-epoch`` or ``funk``; each kernel's docstring states its
      equations. Every schedule's epoch is one pass over the training ratings; under ``funk`` that pass
      trains only the current feature, features 0, 1, ..., K-1 taking turns (then round again).
    - ``epochs_per_feature`` [1]: ``funk`` only: consecutive epochs spent on each feature.
    - ``batch_size`` [1024]: ratings per mini-batch, ``numpy`` engine only.
    - ``n_threads`` [None]: threads for parallel engines; None uses every available core.
    - ``seed`` [0]: seeds the initial factors and every epoch's order (drawn in Python, so every
      engine sees the same numbers).

    Fitted attributes: ``P_`` (users x K), ``Q_`` (items x K), ``bu_``, ``bi_``, ``global_mean_``,
    ``history_`` (list of :class:`EpochResult`), ``scale_``, ``lr_`` (the learning rate used),
    ``fit_seconds_`` (training: every epoch plus the engine's once-per-fit ordering, no evaluation) and ``compile_seconds_`` (JIT compile or cache load, once per
    process and engine, before the first epoch).
    """

    def __init__(self, n_factors=100, n_epochs=20, lr=None, reg=0.05, biased=True, init_std=0.05,
                 engine="numba", schedule="per-rating", batch_size=1024, n_threads=None, seed=0,
                 epochs_per_feature=1):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.lr = lr
        self.reg = reg
        self.biased = biased
        self.init_std = init_std
        self.engine = engine
        self.schedule = schedule
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.seed = seed
        self.epochs_per_feature = epochs_per_feature

    # --- scikit-learn-style plumbing ------------------------------------------------------------

    def get_params(self) -> dict:
        """The hyperparameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in _PARAMETER_NAMES}

    def set_params(self, **params) -> "SGDFactorizer":
        for name, value in params.items():
            if name not in _PARAMETER_NAMES:
                raise ValueError(f"unknown parameter {name!r}; known: {', '.join(_PARAMETER_NAMES)}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != _DEFAULTS[k]]
        return f"SGDFactorizer({', '.join(changed)})"

    def _validate(self) -> None:
        def check(name, kind, ok, rule):
            value = getattr(self, name)
            is_flag = isinstance(value, (bool, np.bool_))
            if not isinstance(value, kind) or is_flag != (kind is bool) or not ok(value):
                raise ValueError(f"{name} == {value!r}, must be {rule}.")
        check("n_factors", Integral, lambda v: v >= 1, "an integer >= 1")
        check("n_epochs", Integral, lambda v: v >= 1, "an integer >= 1")
        if self.lr is not None:
            check("lr", Real, lambda v: 0 < v < np.inf, "None or > 0")
        check("reg", Real, lambda v: 0 <= v < np.inf, ">= 0")
        check("biased", bool, lambda v: True, "True or False")
        check("init_std", Real, lambda v: 0 <= v < np.inf, ">= 0")
        check("batch_size", Integral, lambda v: v >= 1, "an integer >= 1")
        check("seed", Integral, lambda v: v >= 0, "an integer >= 0")
        check("epochs_per_feature", Integral, lambda v: v >= 1, "an integer >= 1")
        if self.n_threads is not None:
            check("n_threads", Integral, lambda v: v >= 1, "None or an integer >= 1")
        get_engine(self.engine).kernel(self.schedule)

    # --- training -------------------------------------------------------------------------------

    def fit(self, train: Ratings, test: Ratings | None = None,
            callbacks: list[Callable[[EpochResult], object]] | None = None) -> "SGDFactorizer":
        """Train for ``n_epochs``; each callback gets every :class:`EpochResult`. Returns ``self``."""
        for result in self.fit_iter(train, test):
            for callback in callbacks or ():
                callback(result)
        return self

    def fit_iter(self, train: Ratings, test: Ratings | None = None) -> Iterator[EpochResult]:
        """Train epoch by epoch, yielding an :class:`EpochResult` after each.

        Stopping the iteration early leaves a usable model trained for the epochs done so far.
        Raises :class:`TrainingDiverged` (and forgets the fitted state) if the error stops being finite.
        """
        self._validate()
        if len(train) == 0:
            raise ValueError("the training set is empty.")
        engine = get_engine(self.engine)
        run_epoch = engine.kernel(self.schedule)
        rng = np.random.default_rng(self.seed)
        dtype = np.float32
        n_users, n_items, k = train.n_users, train.n_items, self.n_factors

        P, Q, self.bu_, self.bi_, self.global_mean_ = initial_parameters(
            train, k, self.init_std, self.biased, rng, dtype)
        self.P_, self.Q_ = P, Q
        self.scale_ = train.scale
        self._index_training(train)
        self.history_ = []

        self.lr_ = default_lr(self.schedule) if self.lr is None else self.lr
        mu, lr, reg = dtype(self.global_mean_), dtype(self.lr_), dtype(self.reg)
        extra = {name: getattr(self, name) for name in engine.options}
        schedule_extra = schedule_arguments(self.schedule, len(train), k, self.epochs_per_feature, dtype)
        self.compile_seconds_ = self._warm_up(engine, run_epoch, extra, dtype) if engine.compiled else 0.0
        start = time.perf_counter()
        visits = engine.order(train.users, train.items, train.values, rng, n_users=n_users,
                              n_items=n_items, n_factors=k, **extra)
        self.fit_seconds_ = time.perf_counter() - start  # numba-parallel shuffles and blocks here
        for epoch in range(1, self.n_epochs + 1):
            start = time.perf_counter()
            arrays, order = visits.next_epoch()
            sse = run_epoch(*arrays, mu, self.bu_, self.bi_, P, Q, lr, reg, bool(self.biased),
                            **extra, **schedule_extra(epoch, order))
            seconds = time.perf_counter() - start
            self.fit_seconds_ += seconds
            train_rmse = float(np.sqrt(sse / len(train)))
            if not np.isfinite(train_rmse) or not (np.isfinite(P).all() and np.isfinite(Q).all()):
                self._forget()
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch} (the error is no longer a finite number): "
                    f"lower the learning rate (lr == {self.lr_}), e.g. to {self.lr_ / 5:.3g}."
                )
            test_rmse = self._evaluate_rmse(test) if test is not None and len(test) else None
            result = EpochResult(epoch, train_rmse, test_rmse, seconds)
            self.history_.append(result)
            log.debug("epoch %d: %s", epoch, result)
            yield result

    def _index_training(self, train: Ratings) -> None:
        """Keep what prediction and :meth:`recommend` need from the training set: the id maps and
        which (user, item) pairs were rated. :mod:`mfcore.persist` restores a model through it."""
        self.user_ids_, self.item_ids_ = train.user_ids, train.item_ids
        self._ratings_index = train
        self._seen = sp.csr_matrix(
            (np.ones(len(train), np.int8), (train.users, train.items)), shape=(train.n_users, train.n_items)
        )
        self._seen_items = self._seen.getnnz(axis=0) > 0
        self.n_train_ratings_ = len(train)

    def rated_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The (user codes, item codes) of the training ratings, sorted by user then item."""
        self._check_fitted()
        seen = self._seen
        return np.repeat(np.arange(seen.shape[0], dtype=np.int32), np.diff(seen.indptr)), seen.indices

    def save(self, path) -> None:
        """Write the fitted model to ``path`` (``.npz`` arrays and JSON metadata, no pickle); see
        :func:`mfcore.persist.save_model`."""
        from .persist import save_model
        save_model(self, path)

    @classmethod
    def load(cls, path) -> "SGDFactorizer":
        """Read a model written by :meth:`save`; raises :class:`mfcore.persist.ModelFileError`."""
        from .persist import load_model
        return load_model(path)

    def _warm_up(self, engine, run_epoch, extra: dict, dtype) -> float:
        """Run the engine once on a 2 x 2 scratch problem, so that JIT compilation (or loading it from
        Numba's disk cache) is not counted in the first epoch's seconds; returns the seconds it took."""
        start = time.perf_counter()
        k = self.n_factors
        users, items = np.array([0, 1, 1], np.int32), np.array([0, 0, 1], np.int32)
        values = np.ones(3, dtype)
        visits = engine.order(users, items, values, np.random.default_rng(0), n_users=2, n_items=2,
                              n_factors=k, **extra)
        arrays, order = visits.next_epoch()
        schedule_extra = schedule_arguments(self.schedule, 3, k, self.epochs_per_feature, dtype)
        P, Q = np.zeros((2, k), dtype), np.zeros((2, k), dtype)
        run_epoch(*arrays, dtype(0), np.zeros(2, dtype), np.zeros(2, dtype), P, Q, dtype(0), dtype(0),
                  bool(self.biased), **extra, **schedule_extra(1, order))
        row_dots(users, items, P, Q)
        return time.perf_counter() - start

    def _forget(self) -> None:
        for name in ("P_", "Q_", "bu_", "bi_", "global_mean_"):
            self.__dict__.pop(name, None)

    # --- prediction -----------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "P_"):
            raise NotFittedError("this SGDFactorizer is not fitted yet, call fit first.")

    def predict_codes(self, users: np.ndarray, items: np.ndarray, clip: bool = True) -> np.ndarray:
        """Predictions for user and item codes; code -1 (unknown) falls back to the biases and mean."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int32)
        items = np.asarray(items, dtype=np.int32)
        known_u, known_i = users >= 0, items >= 0
        safe_u, safe_i = np.where(known_u, users, 0), np.where(known_i, items, 0)
        dot = row_dots(safe_u, safe_i, self.P_, self.Q_)
        prediction = (self.global_mean_ + np.where(known_u, self.bu_[safe_u], 0)
                      + np.where(known_i, self.bi_[safe_i], 0) + np.where(known_u & known_i, dot, 0))
        return np.clip(prediction, *self.scale_) if clip else prediction

    def predict(self, users, items, clip: bool = True) -> np.ndarray:
        """Predicted ratings for original user and item ids (arrays or scalars), clipped to the
        rating scale. Unknown ids fall back to the biases and the global mean."""
        self._check_fitted()
        scalar = np.ndim(users) == 0 and np.ndim(items) == 0
        index = self._ratings_index
        result = self.predict_codes(np.atleast_1d(index.user_codes(users)),
                                    np.atleast_1d(index.item_codes(items)), clip)
        return float(result[0]) if scalar else result

    def recommend(self, user, n: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The ``n`` items with the highest predicted rating for ``user`` (an original id), as a
        DataFrame with columns ``item`` and ``score``. An unknown user gets the items with the highest
        mean + item bias. ``exclude_seen`` drops the items the user rated in training."""
        self._check_fitted()
        code = int(self._ratings_index.user_codes(user))
        scores = self.global_mean_ + self.bi_.astype(np.float64)
        if code >= 0:
            scores = scores + self.bu_[code] + self.Q_ @ self.P_[code]
            if exclude_seen:
                row = self._seen.indptr
                scores[self._seen.indices[row[code]:row[code + 1]]] = -np.inf
        scores[~self._seen_items] = -np.inf  # items never trained have no factors to rank them by
        n = int(min(n, np.isfinite(scores).sum()))
        top = np.argpartition(-scores, n - 1)[:n] if n > 0 else np.zeros(0, dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return pd.DataFrame({"item": self.item_ids_[top], "score": np.clip(scores[top], *self.scale_)})

    def evaluate(self, test: Ratings) -> dict:
        """``{"rmse": ..., "mae": ...}`` of clipped predictions on ``test``."""
        predicted = self.predict_codes(test.users, test.items)
        return {"rmse": metrics.rmse(test.values, predicted), "mae": metrics.mae(test.values, predicted)}

    def _evaluate_rmse(self, test: Ratings) -> float:
        return metrics.rmse(test.values, self.predict_codes(test.users, test.items))

    @property
    def updates_per_second_(self) -> float:
        """Ratings processed per second of training, over the epochs done."""
        done = len(self.history_)
        return done * self.n_train_ratings_ / self.fit_seconds_ if self.fit_seconds_ else float("nan")


_PARAMETER_NAMES = ("n_factors", "n_epochs", "lr", "reg", "biased", "init_std", "engine", "schedule",
                    "batch_size", "n_threads", "seed", "epochs_per_feature")
_DEFAULTS = SGDFactorizer().get_params()
