r"""SGDFactorizer: biased matrix factorization trained by stochastic gradient descent.

The model (Koren, Bell & Volinsky 2009; Funk 2006 without the biases):

.. math::
    \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

For each training rating, in the engine's visiting order (the ``per-rating`` schedule):

.. math::
    e_{ui} &= r_{ui} - \hat r_{ui} \\
    b_u &\leftarrow b_u + \gamma (e_{ui} - \lambda b_u) \\
    b_i &\leftarrow b_i + \gamma (e_{ui} - \lambda b_i) \\
    p_u &\leftarrow p_u + \gamma (e_{ui} q_i - \lambda p_u) \\
    q_i &\leftarrow q_i + \gamma (e_{ui} p_u - \lambda q_i)

with :math:`\gamma` = ``lr`` and :math:`\lambda` = ``reg``; the right-hand sides use the values from
before the update. ``biased=False`` fixes :math:`\mu = b_u = b_i = 0` (Funk's original model).

Randomness: one ``np.random.default_rng(seed)`` per fit draws the initial factors first
(:func:`initial_parameters`: the same for every engine), then the visiting order, which the engine's
plan decides (its once-per-fit draws from a child of that generator, ``rng.spawn``): ``python``,
``numpy``, ``numba`` and ``cython`` visit a fresh uniform permutation of all training ratings every
epoch; the default ``numba-parallel`` shuffles once per fit, groups the ratings
into user x item blocks, and every epoch draws only a random pairing and order of the blocks
(:mod:`mfcore.engines.numba_parallel`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from typing import TYPE_CHECKING

import numpy as np

from ..data import Ratings
from ..engines import ADAGRAD_KERNELS, clipped_error_sums, get_engine, has_adagrad, row_dots
from ..engines.layout import aligned_zeros, row_length
from . import model_file
from .base import EpochResult, NotFittedError, TrainingDiverged, TrainingIndex, best_codes, check_is_fitted
from .early_stopping import EarlyStopping
from .errors import mae, rmse
from .estimator import Estimator, finish_class
from .history import History
from .params import PARAMETERS, default_lr, step_rule_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SGDFactorizer", "EpochResult", "TrainingDiverged", "NotFittedError", "check_is_fitted",
           "default_lr"]


log = logging.getLogger(__name__)


def initial_parameters(train: Ratings, n_factors: int, init_std: float, biased: bool,
                       rng: np.random.Generator, dtype=np.float32, row_length: int | None = None):
    r"""SGD's starting point ``(P, Q, bu, bi, mu)``: :math:`P, Q \sim \mathcal N(0, \sigma^2)` drawn
    from ``rng`` in that order, with the rows of users and items that have no training rating set to
    0 (they are never trained, so their predictions fall back to the biases); biases 0; ``mu`` the
    mean training rating, or 0 when not ``biased``. ``P`` and ``Q`` are stored in rows of
    ``row_length`` floats (default ``n_factors``) starting on cache lines, the columns past
    ``n_factors`` zero (:mod:`mfcore.engines.layout`); the draws do not depend on ``row_length``."""
    width = n_factors if row_length is None else row_length
    P = aligned_zeros(train.n_users, width, dtype)
    Q = aligned_zeros(train.n_items, width, dtype)
    P[:, :n_factors] = rng.normal(0.0, init_std, (train.n_users, n_factors))
    Q[:, :n_factors] = rng.normal(0.0, init_std, (train.n_items, n_factors))
    P[np.bincount(train.users, minlength=train.n_users) == 0] = 0
    Q[np.bincount(train.items, minlength=train.n_items) == 0] = 0
    mu = float(np.mean(train.values, dtype=np.float64)) if biased else 0.0
    return P, Q, np.zeros(train.n_users, dtype), np.zeros(train.n_items, dtype), mu


class SGDFactorizer(Estimator, TrainingIndex):
    r"""Matrix factorization by SGD, in the style of a scikit-learn estimator.

    The model predicts :math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i`. Under the default
    ``per-rating`` schedule each epoch visits the training ratings in the engine's random order (a
    fresh permutation every epoch, or under ``numba-parallel`` a shuffle once per fit and a new order of
    its blocks every epoch; see the module docstring) and, for each rating, computes
    :math:`e_{ui} = r_{ui} - \hat r_{ui}` and steps

    .. math::
        b_u &\leftarrow b_u + \gamma (e_{ui} - \lambda b_u), \qquad
        b_i \leftarrow b_i + \gamma (e_{ui} - \lambda b_i) \\
        p_u &\leftarrow p_u + \gamma (e_{ui} q_i - \lambda p_u), \qquad
        q_i \leftarrow q_i + \gamma (e_{ui} p_u - \lambda q_i)

    with :math:`\gamma` = ``lr``, :math:`\lambda` = ``reg`` and the old values on the right-hand
    sides. Under the ``adagrad`` step rule (``step_rule``; None picks it wherever the kernel has it)
    each row's step is :math:`\eta / \sqrt{G}` instead of :math:`\gamma`, :math:`G` its squared
    gradients summed so far (:func:`mfcore.engines.numba_jit.adagrad_pass`). The other schedules change
    when :math:`e_{ui}` is recomputed (each kernel's docstring
    states its equations): ``per-factor`` after every factor's step, ``per-epoch`` once per epoch from
    the factors at its start, ``funk`` trains one feature per epoch (features taking turns,
    ``epochs_per_feature`` epochs each) over cached residuals. Parameters are stored as given and
    validated by ``fit``; their defaults and ranges come from :data:`mfcore.models.params.PARAMETERS`.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    P_ : ndarray of float32, shape (n_users, n_factors)
        User factors :math:`p_u`; rows of users without a training rating stay 0.
    Q_ : ndarray of float32, shape (n_items, n_factors)
        Item factors :math:`q_i`.
    bu_, bi_ : ndarray of float32
        User and item biases (0 when not ``biased``).
    global_mean_ : float
        :math:`\mu`, the mean training rating (0 when not ``biased``).
    user_ids_, item_ids_ : ndarray
        Original ids of the user and item codes (the model keeps these maps, not the ratings).
    scale_ : tuple of float
        ``(min, max)`` rating of the training data; predictions are clipped to it.
    history_ : History of EpochResult
        One entry per completed epoch (with its validation RMSE when ``fit`` got a validation set); a
        list that also reads as a DataFrame (:mod:`mfcore.models.history`).
    best_epoch_ : int
        The epoch whose parameters the model holds: under early stopping (``patience``) the one with
        the lowest validation RMSE, else the last one run.
    lr_ : float
        The learning rate used (``lr``, or the schedule's default when ``lr`` is None).
    n_train_ratings_ : int
        Number of training ratings.
    step_rule_ : str
        The step rule used (``step_rule``, or the one it stands for when None).
    fit_seconds_ : float
        Training time: the initial parameters, the engine's once-per-fit ordering and every epoch,
        no evaluation (and no JIT compilation: ``compile_seconds_``).
    compile_seconds_ : float
        JIT compile or cache load before the first epoch (once per process and engine).
    """

    PARAMETERS = PARAMETERS

    def validate_params(self) -> None:
        """Raise a ValueError naming the first hyperparameter outside its range in
        :data:`mfcore.models.params.PARAMETERS`, an engine without the chosen schedule, or the
        ``adagrad`` step rule asked of a kernel that does not have it."""
        super().validate_params()
        get_engine(self.engine).kernel(self.schedule)
        if self.step_rule == "adagrad" and not has_adagrad(self.engine, self.schedule):
            raise ValueError(f"step_rule == 'adagrad' is not available in the {self.engine} engine's "
                             f"{self.schedule} schedule; only the per-rating schedule of "
                             f"{', '.join(ADAGRAD_KERNELS)} has it.")

    # --- training -------------------------------------------------------------------------------

    def fit_iter(self, X, test=None, validation=None) -> Iterator[EpochResult]:
        """Train on ``X`` epoch by epoch, yielding an :class:`EpochResult` after each.

        ``X``, ``test`` and ``validation`` may be anything :func:`mfcore.data.coerce.as_ratings` takes
        (:mod:`mfcore.models.estimator`); ``test`` is scored after every epoch. ``validation`` (ratings
        held out of the training set) is scored after every epoch and drives early stopping
        (``patience``). Stopping the iteration early leaves a usable model: the best epoch's
        parameters (and ``best_epoch_``) under early stopping, else those of the last epoch done. The
        best epoch is put back in a ``finally``, so it happens on every way out: the last epoch, early
        stopping, an exception, or the consumer closing the generator (``close()``, which a ``for``
        loop's ``break`` does when the generator was not kept in a variable, ``yield from`` in a
        closed outer generator, or garbage collection). A consumer that keeps the generator alive
        after leaving the loop holds the last epoch's parameters until it calls ``close()``.
        Raises :class:`TrainingDiverged` (and forgets the fitted state) if the error stops being finite.
        """
        self.validate_params()
        train, test, validation = self._inputs(X, test, validation)
        if self.patience is not None and (validation is None or len(validation) == 0):
            raise ValueError("early stopping (patience) needs a validation set: fit(..., validation=...).")
        engine = get_engine(self.engine)
        run_epoch = engine.kernel(self.schedule)
        rng = np.random.default_rng(self.seed)
        dtype = np.float32
        n_users, n_items, k = train.n_users, train.n_items, self.n_factors

        self.step_rule_ = step_rule_of(self.step_rule, self.engine, self.schedule)
        self.lr_ = default_lr(self.schedule, self.step_rule_) if self.lr is None else self.lr
        options = {name: getattr(self, name) for name in engine.options_for(self.schedule)}
        self.compile_seconds_ = (self._warm_up(engine, run_epoch, options, dtype, self.step_rule_ == "adagrad")
                                 if engine.compiled else 0.0)
        # timed as training: the engine's plan (numba-parallel's shuffle and blocks, which on several
        # threads overlaps the initial parameters) and the initial parameters
        start = time.perf_counter()
        plan = engine.plan(self.schedule)(train.users, train.items, train.values, rng, n_users=n_users,
                                          n_items=n_items, n_factors=k, schedule=self.schedule,
                                          epochs_per_feature=self.epochs_per_feature, options=options)
        # P and Q as the kernels get them: rows padded to whole cache lines when the plan asks for it;
        # P_ and Q_ are their first k columns, made contiguous once training ends (_finish_factors)
        P, Q, self.bu_, self.bi_, self.global_mean_ = initial_parameters(
            train, k, self.init_std, self.biased, rng, dtype, row_length(k) if plan.padded_rows else k)
        step_state = ({"adagrad_users": np.ones((n_users, 2), dtype), "adagrad_items": np.ones((n_items, 2), dtype)}
                      if self.step_rule_ == "adagrad" else {})
        plan.ready()
        self.fit_seconds_ = time.perf_counter() - start
        mu, lr, reg = dtype(self.global_mean_), dtype(self.lr_), dtype(self.reg)
        self.P_, self.Q_ = P[:, :k], Q[:, :k]
        self._factor_rows = P, Q
        self.scale_ = train.scale
        self._index_training(train)
        self.history_ = History()
        stopper = EarlyStopping(self.patience, self.min_delta) if self.patience is not None else None
        diverged = False
        try:
            for epoch in range(1, self.n_epochs + 1):
                start = time.perf_counter()
                sse = run_epoch(mu=mu, bu=self.bu_, bi=self.bi_, P=P, Q=Q, lr=lr, reg=reg,
                                biased=bool(self.biased), **step_state, **plan.next_epoch(epoch))
                seconds = time.perf_counter() - start
                self.fit_seconds_ += seconds
                train_rmse = float(np.sqrt(sse / len(train)))
                if not np.isfinite(train_rmse) or not (np.isfinite(P).all() and np.isfinite(Q).all()):
                    diverged = True
                    self._forget()
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch} (the error is no longer a finite number): "
                        f"lower the learning rate (lr == {self.lr_}), e.g. to {self.lr_ / 5:.3g}."
                    )
                test_rmse = self._evaluate_rmse(test) if test is not None and len(test) else None
                validation_rmse = (self._evaluate_rmse(validation)
                                   if validation is not None and len(validation) else None)
                result = EpochResult(epoch, train_rmse, test_rmse, seconds, validation_rmse)
                self.history_.append(result)
                self.best_epoch_ = epoch
                stop = stopper is not None and stopper.update(epoch, validation_rmse, self)
                log.debug("epoch %d: %s", epoch, result)
                yield result
                if stop:
                    break
        finally:
            # every way out (the last epoch, early stopping, an error, or the consumer closing the
            # generator: a Stop, a cancel, a timeout, a ``break``) leaves the best epoch's parameters
            if stopper is not None and not diverged and stopper.saved is not None:
                self.best_epoch_ = stopper.restore(self)
            self._finish_factors()

    def _finish_factors(self) -> None:
        """End of training: ``P_`` and ``Q_`` become contiguous arrays of their own when they were
        views of padded rows (the copy counted in ``fit_seconds_``, as a peer's mapping its model
        back is counted in its)."""
        rows = self.__dict__.pop("_factor_rows", None)
        if rows is None or "P_" not in self.__dict__ or rows[0].shape[1] == self.n_factors:
            return
        start = time.perf_counter()
        self.P_, self.Q_ = np.ascontiguousarray(self.P_), np.ascontiguousarray(self.Q_)
        self.fit_seconds_ += time.perf_counter() - start

    def save(self, path, train: Ratings | None = None, test: Ratings | None = None, items=None) -> None:
        """Write the fitted model to ``path`` (``.npz`` arrays and JSON metadata, no pickle), optionally
        with the ``train``/``test`` ratings and ``items`` titles; see :mod:`mfcore.models.model_file`."""
        model_file.write(path, self, train, test, items)

    @classmethod
    def load(cls, path, max_bytes: int | None = None) -> SGDFactorizer:
        """Read a model written by :meth:`save`; raises :class:`mfcore.models.model_file.ModelFileError`
        (also for a file unpacking beyond ``max_bytes``: see :func:`mfcore.models.model_file.read`)."""
        contents = model_file.read(path, max_bytes)
        if contents.kind != "sgd":
            raise model_file.ModelFileError(f"{model_file.file_name(path)} holds a {contents.kind} model, "
                                            "not an SGDFactorizer: use mfcore.models.persist.load_model.")
        try:
            return cls._from_file(contents)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise model_file.inconsistent(model_file.file_name(path), exc) from None

    def _file_state(self) -> tuple[str, dict, dict]:
        """(kind, JSON fields, arrays) of this fitted model for :func:`mfcore.models.model_file.write`."""
        fields = {
            "params": self.get_params(),
            "global_mean": float(self.global_mean_), "scale": [float(v) for v in self.scale_],
            "lr": float(self.lr_), "step_rule": self.step_rule_, "fit_seconds": float(self.fit_seconds_),
            "compile_seconds": float(self.compile_seconds_), "n_train_ratings": int(self.n_train_ratings_),
            "history": [{"epoch": r.epoch, "train_rmse": r.train_rmse, "test_rmse": r.test_rmse,
                         "seconds": r.seconds, "validation_rmse": r.validation_rmse} for r in self.history_],
            "best_epoch": int(getattr(self, "best_epoch_", len(self.history_))),
        }
        return "sgd", fields, {"P": self.P_, "Q": self.Q_, "bu": self.bu_, "bi": self.bi_}

    @classmethod
    def _from_file(cls, contents: model_file.FileContents) -> SGDFactorizer:
        """The model :meth:`_file_state` described, with the file's id maps and training pairs."""
        arrays, meta, train = contents.arrays, contents.meta, contents.train
        entry, number = model_file.entry, model_file.number
        P, Q = entry(arrays, "P", 2, "f"), entry(arrays, "Q", 2, "f")
        bu, bi = entry(arrays, "bu", 1, "f"), entry(arrays, "bi", 1, "f")
        if P.shape[1] != Q.shape[1]:
            raise ValueError(f"factor shapes {P.shape} and {Q.shape} do not match")
        if (P.shape[0], len(bu), Q.shape[0], len(bi)) != (train.n_users, train.n_users, train.n_items,
                                                          train.n_items):
            raise ValueError("factor and bias lengths do not match the id maps")
        if not isinstance(meta["params"], dict):
            raise ValueError("meta field 'params' is not an object")
        model = cls(**{k: v for k, v in meta["params"].items() if k in PARAMETERS})
        model.validate_params()
        if model.n_factors != P.shape[1]:
            raise ValueError(f"n_factors is {model.n_factors!r} but the factors have {P.shape[1]} columns")
        model.P_, model.Q_, model.bu_, model.bi_ = (a.astype(np.float32, copy=False) for a in (P, Q, bu, bi))
        model.global_mean_ = number(meta, "global_mean")
        model.scale_ = train.scale
        model.lr_ = number(meta, "lr", minimum=0)
        model.step_rule_ = meta.get("step_rule", "constant")  # absent from files of constant-step models
        model.fit_seconds_ = number(meta, "fit_seconds", minimum=0)
        model.compile_seconds_ = number(meta, "compile_seconds", minimum=0)
        if not isinstance(meta["history"], list) or not all(isinstance(r, dict) for r in meta["history"]):
            raise ValueError("meta field 'history' is not a list of epochs")

        def maybe(record: dict, key: str) -> float | None:
            return None if record.get(key) is None else number(record, key)

        model.history_ = History([EpochResult(number(r, "epoch", integer=True, minimum=1), number(r, "train_rmse"),
                                              maybe(r, "test_rmse"), number(r, "seconds"),
                                              maybe(r, "validation_rmse")) for r in meta["history"]])
        model.best_epoch_ = (number(meta, "best_epoch", integer=True, minimum=0) if "best_epoch" in meta
                             else len(model.history_))  # absent from older files
        model._index_training(train)
        model.n_train_ratings_ = number(meta, "n_train_ratings", integer=True, minimum=0)
        return model

    def _warm_up(self, engine, run_epoch, options: dict, dtype, adagrad: bool = False) -> float:
        """Run the engine once on a 2 x 2 scratch problem, so that JIT compilation (or loading it from
        Numba's disk cache) is not counted in the first epoch's seconds; returns the seconds it took."""
        start = time.perf_counter()
        k = self.n_factors
        users, items = np.array([0, 1, 1], np.int32), np.array([0, 0, 1], np.int32)
        plan = engine.plan(self.schedule)(users, items, np.ones(3, dtype), np.random.default_rng(0),
                                          n_users=2, n_items=2, n_factors=k, schedule=self.schedule,
                                          epochs_per_feature=self.epochs_per_feature, options=options)
        P, Q = np.zeros((2, k), dtype), np.zeros((2, k), dtype)
        state = {"adagrad_users": np.ones((2, 2), dtype), "adagrad_items": np.ones((2, 2), dtype)} if adagrad else {}
        run_epoch(mu=dtype(0), bu=np.zeros(2, dtype), bi=np.zeros(2, dtype), P=P, Q=Q, lr=dtype(0),
                  reg=dtype(0), biased=bool(self.biased), **state, **plan.next_epoch(1))
        row_dots(users, items, P, Q)
        clipped_error_sums(users, items, np.ones(3, dtype), dtype(0), np.zeros(2, dtype), np.zeros(2, dtype), P, Q,
                           dtype(0), dtype(1))
        return time.perf_counter() - start

    def _forget(self) -> None:
        for name in ("P_", "Q_", "bu_", "bi_", "global_mean_", "_factor_rows"):
            self.__dict__.pop(name, None)

    # --- prediction -----------------------------------------------------------------------------

    def predict_codes(self, users: np.ndarray, items: np.ndarray, clip: bool = True) -> np.ndarray:
        """Predictions for user and item codes; code -1 (unknown) falls back to the biases and mean."""
        check_is_fitted(self)
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
        check_is_fitted(self)
        scalar = np.ndim(users) == 0 and np.ndim(items) == 0
        index = self._id_lookup()
        result = self.predict_codes(np.atleast_1d(index.user_codes(users)),
                                    np.atleast_1d(index.item_codes(items)), clip)
        return float(result[0]) if scalar else result

    def recommend(self, user, n: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The ``n`` items with the highest predicted rating for ``user`` (an original id), as a
        DataFrame with columns ``item`` and ``score``. An unknown user gets the items with the highest
        mean + item bias. ``exclude_seen`` drops the items the user rated in training."""
        check_is_fitted(self)
        code = int(self._id_lookup().user_codes(user))
        rated, rated_items = self._rated_index()
        scores = self.global_mean_ + self.bi_.astype(np.float64)
        if code >= 0:
            scores = scores + self.bu_[code] + self.Q_ @ self.P_[code]
            if exclude_seen:
                scores[rated.indices[rated.indptr[code]:rated.indptr[code + 1]]] = -np.inf
        scores[~rated_items] = -np.inf  # items never trained have no factors to rank them by
        top = best_codes(scores, n)
        import pandas as pd  # imported here: training needs no pandas
        return pd.DataFrame({"item": self.item_ids_[top], "score": np.clip(scores[top], *self.scale_)})

    def evaluate(self, test: Ratings) -> dict:
        """``{"rmse": ..., "mae": ...}`` of clipped predictions on ``test``."""
        sums = self._error_sums(test)
        if sums is not None:
            return {"rmse": float(np.sqrt(sums[0] / len(test))), "mae": float(sums[1] / len(test))}
        predicted = self.predict_codes(test.users, test.items)
        return {"rmse": rmse(test.values, predicted), "mae": mae(test.values, predicted)}

    def _evaluate_rmse(self, test: Ratings) -> float:
        sums = self._error_sums(test)
        if sums is not None:
            return float(np.sqrt(sums[0] / len(test)))
        return rmse(test.values, self.predict_codes(test.users, test.items))

    def _error_sums(self, test: Ratings) -> tuple[float, float] | None:
        """(squared, absolute) error sums of the clipped predictions on ``test`` in one compiled pass
        (no temporary arrays: the per-epoch test RMSE of a 10M-rating test set), or None when ``test``
        is empty or holds a code outside the model (unknown ids go through :meth:`predict_codes`)."""
        check_is_fitted(self)
        users, items = test.users, test.items
        if len(test) == 0 or users.dtype != np.int32 or items.dtype != np.int32:
            return None
        if users.min() < 0 or items.min() < 0 or users.max() >= len(self.bu_) or items.max() >= len(self.bi_):
            return None
        dtype = self.P_.dtype.type
        # while training, the rows as stored (contiguous; their padding columns are zero)
        P, Q = self.__dict__.get("_factor_rows") or (self.P_, self.Q_)
        return clipped_error_sums(users, items, test.values, dtype(self.global_mean_), self.bu_, self.bi_,
                                  P, Q, dtype(self.scale_[0]), dtype(self.scale_[1]))

    @property
    def updates_per_second_(self) -> float:
        """Ratings processed per second of training, over the epochs done."""
        done = len(self.history_)
        return done * self.n_train_ratings_ / self.fit_seconds_ if self.fit_seconds_ else float("nan")


finish_class(SGDFactorizer)
