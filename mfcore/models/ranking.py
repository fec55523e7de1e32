r"""What the ranking models (:class:`~mfcore.models.bpr.BPRFactorizer`,
:class:`~mfcore.models.als.ALSFactorizer`, and the item-item :class:`~mfcore.models.neighbors.EASE` and
:class:`~mfcore.models.neighbors.ItemKNN`) share: positives, the training loop, the scoring contract.

Positives. A ranking model learns from interactions, not rating values: the training ratings at or
above ``positive_threshold_ = min + positive_level * (max - min)`` of the rating scale (``scale_``;
the default level 0.75 gives ratings >= 4 of 1..5), or every rating when ``positive_level`` is None.

The scoring contract (the same for every model, rating or ranking):

- ``scores(users)``: an ``(len(users), n_items)`` float64 array for ORIGINAL user ids, columns in
  ``item_ids_`` order. A user the model has no positive for (unknown, or without a training
  positive) gets the popularity scores: each item's number of training positives;
- ``recommend(user, n=10, exclude_seen=True)``: a DataFrame of ``item`` (original ids) and ``score``,
  best first, leaving out what the user rated in training and items without a training rating;
- ``similar_items(item, n=10)``: a DataFrame of ``item`` and ``score`` (cosine of item factors; the
  item-item weights for the item-item models);
- ``fold_in(items, ratings=None)``: the vector of a new user from their ratings (each model says
  how), ``fold_in_scores`` the scores of many new users, and ``recommend_new(items, ratings=None,
  n=10)`` a new user's top-``n``, leaving out what they rated; a new user without a known positive
  gets the popularity scores, as ``scores`` gives a user without a training positive.

The loop: ``fit_iter(X, test=None, validation=None)`` (the one signature of every model:
:mod:`mfcore.models.estimator`) yields a :class:`RankingEpochResult` after every epoch, with the
NDCG@k and recall@k (:func:`mfcore.models.topn_metrics.topn_metrics`, relevant = that set's ratings
that are positives) of the test set and of the validation set, each when given. All randomness is drawn in
Python from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import Ratings
from . import model_file
from .base import TrainingDiverged, TrainingIndex, best_codes, check_is_fitted
from .estimator import Estimator
from .history import History
from .params import POSITIVE_LEVEL
from .topn_metrics import topn_metrics

__all__ = ["POSITIVE_LEVEL", "RankingEpochResult", "RankingFactorizer", "item_positive_counts", "positive_mask",
           "positive_threshold", "positives_csr"]


def positive_threshold(scale: tuple[float, float], level: float | None) -> float | None:
    """The lowest rating that counts as a positive: ``min + level * (max - min)`` of ``scale``, or None
    (every rating counts) when ``level`` is None."""
    if level is None:
        return None
    low, high = float(scale[0]), float(scale[1])
    return low + float(level) * (high - low)


def positive_mask(values: np.ndarray, threshold: float | None) -> np.ndarray:
    """Which ``values`` are positives under ``threshold`` (all when None)."""
    if threshold is None:
        return np.ones(len(values), bool)
    return values >= np.float32(threshold) - np.float32(1e-6)


def item_positive_counts(ratings: Ratings, threshold: float | None) -> np.ndarray:
    """Each item's number of positives in ``ratings`` (ratings >= ``threshold``; every rating when
    None), as float64: popularity, the baseline every ranking is compared with."""
    keep = positive_mask(ratings.values, threshold)
    return np.bincount(ratings.items[keep], minlength=ratings.n_items).astype(np.float64)


def positives_csr(users: np.ndarray, items: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr, indices)`` of the pairs grouped by ``users`` (rows), items sorted within a row."""
    order = np.lexsort((items, users))
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(users, minlength=n_rows), out=indptr[1:])
    return indptr, np.ascontiguousarray(items[order], dtype=np.int32)


@dataclass(frozen=True)
class RankingEpochResult:
    """What one epoch of a ranking model produced. ``loss`` is the model's training objective over the
    epoch (BPR: the mean of :math:`-\\ln\\sigma(\\hat x_{uij})` over the epoch's triples, each before
    its step; ALS: None, not computed); ``validation_ndcg`` and ``validation_recall`` are NDCG@``k`` and
    recall@``k`` on the validation set after the epoch, ``test_ndcg`` and ``test_recall`` on the test
    set (each None without that set); ``seconds`` is the epoch's training time, evaluation excluded."""

    epoch: int
    loss: float | None
    seconds: float
    validation_ndcg: float | None = None
    validation_recall: float | None = None
    k: int = 10
    test_ndcg: float | None = None
    test_recall: float | None = None


class RankingFactorizer(Estimator, TrainingIndex):
    """Base of the ranking models (module docstring): scikit-learn-style parameters from the class's
    ``PARAMETERS`` table, the training loop and the scoring contract. Subclasses define ``KIND``,
    ``PARAMETERS``, ``_start(train, users, items, rng)``, ``_epoch(rng) -> loss | None``,
    ``_warm_up()`` and ``fold_in``; they may use an item bias ``bi_`` (zeros otherwise)."""

    KIND = "ranking"
    PARAMETERS: dict = {}
    FITTED_ARRAYS: tuple[str, ...] = ("P_", "Q_")

    def fit_iter(self, X, test=None, validation=None, *, k: int = 10,
                 max_users: int | None = None) -> Iterator[RankingEpochResult]:
        """Train on ``X`` epoch by epoch, yielding a :class:`RankingEpochResult` after each.

        ``X``, ``test`` and ``validation`` may be anything :func:`mfcore.data.coerce.as_ratings`
        takes. ``test`` and ``validation`` (ratings held out of the training set; coded with its id
        maps) are each ranked after every epoch: NDCG@``k`` and recall@``k`` with their positives as
        the relevant items, on all their users or on a seeded sample of ``max_users`` of them (to keep
        evaluation cheaper than an epoch). Stopping the iteration early leaves the model of the last
        yielded epoch. A non-finite factor raises :class:`~mfcore.model.TrainingDiverged` (and the
        fitted state is forgotten).
        """
        train, test, validation = self._inputs(X, test, validation)
        keep = self._prepare(train)
        rng = np.random.default_rng(self.seed)
        self.compile_seconds_ = self._warm_up()
        self.fit_seconds_ = 0.0
        start = time.perf_counter()
        users, items = train.users[keep], train.items[keep]
        self.n_positives_ = int(keep.sum())
        try:
            self._start(train, users, items, rng)
            self.fit_seconds_ = time.perf_counter() - start
            for epoch in range(1, self.n_epochs + 1):
                start = time.perf_counter()
                loss = self._epoch(rng)
                seconds = time.perf_counter() - start
                self.fit_seconds_ += seconds
                if not (np.isfinite(self.P_).all() and np.isfinite(self.Q_).all()):
                    self._forget()
                    raise TrainingDiverged(f"training diverged at epoch {epoch} (a factor is no longer a "
                                           "finite number): lower the learning rate or raise reg.")
                scored = {}
                for name, held_out in (("validation", validation), ("test", test)):
                    if held_out is not None and len(held_out):
                        found = topn_metrics(self._code_scorer(), train, held_out, k, self.positive_threshold_,
                                             max_users=max_users, seed=self.seed)
                        scored |= {f"{name}_ndcg": found["ndcg"], f"{name}_recall": found["recall"]}
                result = RankingEpochResult(epoch, loss, seconds, k=k, **scored)
                self.history_.append(result)
                yield result
            self._clear_untrained()
        finally:  # every way out, a closed generator too: the training-only arrays are let go
            self._release_training_state()

    def _prepare(self, train: Ratings) -> np.ndarray:
        """Validate, index ``train`` and find its positives (the mask is returned); a ValueError for an
        empty set or one without a positive."""
        self.validate_params()
        if len(train) == 0:
            raise ValueError("the training set is empty.")
        self.scale_ = train.scale
        self.positive_threshold_ = positive_threshold(train.scale, self.positive_level)
        self._index_training(train)
        keep = positive_mask(train.values, self.positive_threshold_)
        if not keep.any():
            raise ValueError(f"no training rating is a positive (>= {self.positive_threshold_:g}); "
                             "lower positive_level, or None to use every rating.")
        self.history_ = History()
        return keep

    def _release_training_state(self) -> None:
        """Drop what only training needs (a subclass's grouped ratings, confidences, samplers)."""

    def _forget(self) -> None:
        for name in ("P_", "Q_", "bi_"):
            if hasattr(self, name):
                delattr(self, name)

    def _clear_untrained(self) -> None:
        """Zero the factor rows of users and items without a training positive (never trained)."""
        self.P_[self._user_positives == 0] = 0
        self.Q_[self._popularity == 0] = 0

    def _index_training(self, train: Ratings) -> None:
        """:meth:`TrainingIndex._index_training`, plus each user's positives and each item's
        popularity (positives per item): what scoring and the fallback for users without one need."""
        super()._index_training(train)
        keep = positive_mask(train.values, self.positive_threshold_)
        self._user_positives = np.bincount(train.users[keep], minlength=train.n_users)
        self._popularity = item_positive_counts(train, self.positive_threshold_)

    # --- model files (.npz, no pickle: mfcore.models.model_file) ----------------------------------

    def save(self, path, train: Ratings | None = None, test: Ratings | None = None, items=None) -> None:
        """Write the fitted model to ``path`` (``.npz`` arrays and JSON metadata, no pickle), optionally
        with the ``train``/``test`` ratings and ``items`` titles; its ``kind`` is :attr:`KIND`."""
        model_file.write(path, self, train, test, items)

    @classmethod
    def load(cls, path, max_bytes: int | None = None):
        """Read a model of this class written by :meth:`save`; raises
        :class:`mfcore.models.model_file.ModelFileError` (also beyond ``max_bytes`` unpacked: see
        :func:`mfcore.models.model_file.read`)."""
        contents = model_file.read(path, max_bytes)
        if contents.kind != cls.KIND:
            raise model_file.ModelFileError(f"{model_file.file_name(path)} holds a {contents.kind} model, "
                                            f"not a {cls.__name__}: use mfcore.models.persist.load_model.")
        try:
            return cls._from_file(contents)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise model_file.inconsistent(model_file.file_name(path), exc) from None

    def _file_state(self) -> tuple[str, dict, dict]:
        """(kind, JSON fields, arrays) of this fitted model for :func:`mfcore.models.model_file.write`:
        :meth:`_common_state`, the factors ``P``, ``Q`` and the item bias ``bi`` (zeros for ALS)."""
        fields, arrays = self._common_state()
        bias = getattr(self, "bi_", None)
        arrays.update(P=self.P_, Q=self.Q_, bi=np.zeros(len(self.Q_), np.float32) if bias is None else bias)
        return self.KIND, fields, arrays

    def _common_state(self) -> tuple[dict, dict]:
        """The JSON fields and arrays every ranking model's file holds: the hyperparameters, scale,
        threshold, history and timings, and the per-user and per-item positive counts (so a file
        without the training values still knows who is cold and what is popular)."""
        fields = {
            "params": self.get_params(), "scale": [float(v) for v in self.scale_],
            "positive_threshold": self.positive_threshold_, "fit_seconds": float(self.fit_seconds_),
            "compile_seconds": float(self.compile_seconds_), "n_train_ratings": int(self.n_train_ratings_),
            "n_positives": int(self.n_positives_),
            "history": [dataclasses.asdict(r) for r in self.history_],
        }
        arrays = {"user_positives": self._user_positives.astype(np.int64),
                  "item_positives": self._popularity.astype(np.int64)}
        return fields, arrays

    @classmethod
    def _from_file(cls, contents):
        """The model :meth:`_file_state` described, with the file's id maps and training pairs."""
        arrays, train = contents.arrays, contents.train
        entry = model_file.entry
        P, Q, bi = entry(arrays, "P", 2, "f"), entry(arrays, "Q", 2, "f"), entry(arrays, "bi", 1, "f")
        if P.shape[1] != Q.shape[1]:
            raise ValueError(f"factor shapes {P.shape} and {Q.shape} do not match")
        if (P.shape[0], Q.shape[0], len(bi)) != (train.n_users, train.n_items, train.n_items):
            raise ValueError("factor and bias lengths do not match the id maps")
        model = cls._restore(contents)
        model.P_, model.Q_ = P, Q
        if "bi_" in cls.FITTED_ARRAYS:
            model.bi_ = bi
        return model

    @classmethod
    def _restore(cls, contents):
        """A model of this class with what :meth:`_common_state` wrote, every field checked."""
        arrays, meta, train = contents.arrays, contents.meta, contents.train
        entry, number = model_file.entry, model_file.number
        if not isinstance(meta["params"], dict):
            raise ValueError("meta field 'params' is not an object")
        model = cls(**{k: v for k, v in meta["params"].items() if k in cls.PARAMETERS})
        model.scale_ = train.scale
        model.positive_threshold_ = (None if meta["positive_threshold"] is None
                                     else number(meta, "positive_threshold"))
        model._index_training(train)
        user_positives, item_positives = (entry(arrays, key, 1, "iu") for key in ("user_positives", "item_positives"))
        if len(user_positives) != train.n_users or len(item_positives) != train.n_items:
            raise ValueError("positive counts do not match the id maps")
        model._user_positives, model._popularity = user_positives, item_positives.astype(np.float64)
        model.fit_seconds_ = number(meta, "fit_seconds", minimum=0)
        model.compile_seconds_ = number(meta, "compile_seconds", minimum=0)
        model.n_train_ratings_ = number(meta, "n_train_ratings", integer=True, minimum=0)
        model.n_positives_ = number(meta, "n_positives", integer=True, minimum=0)
        if not isinstance(meta["history"], list) or not all(isinstance(r, dict) for r in meta["history"]):
            raise ValueError("meta field 'history' is not a list of epochs")
        model.history_ = History([RankingEpochResult(
            int(r["epoch"]), r["loss"], r["seconds"], r["validation_ndcg"], r["validation_recall"], int(r["k"]),
            r.get("test_ndcg"), r.get("test_recall")) for r in meta["history"]])
        return model

    # --- scoring --------------------------------------------------------------------------------

    def _item_bias(self) -> np.ndarray | float:
        bias = getattr(self, "bi_", None)
        return 0.0 if bias is None else bias.astype(np.float64)

    def score_codes(self, codes: np.ndarray) -> np.ndarray:
        r"""Scores of every item for user CODES (rows of ``P_``; -1 for an unknown user):
        :math:`b_i + p_u^\top q_i`, or the popularity scores for a user without a training positive."""
        codes = np.asarray(codes, np.int64)
        known = codes >= 0
        safe = np.where(known, codes, 0)
        out = (self.P_[safe] @ self.Q_.T).astype(np.float64) + self._item_bias()
        cold = ~known | (self._user_positives[safe] == 0)
        if cold.any():
            out[cold] = self._popularity
        return out

    def _code_scorer(self):
        return self.score_codes

    def scores(self, users) -> np.ndarray:
        """``(len(users), n_items)`` scores for ORIGINAL user ids, columns in ``item_ids_`` order
        (module docstring: unknown users get the popularity scores)."""
        check_is_fitted(self)
        return self.score_codes(np.atleast_1d(self._id_lookup().user_codes(np.atleast_1d(users).tolist())))

    def vector_scores(self, vector: np.ndarray) -> np.ndarray:
        r"""Scores of every item for a user factor vector (e.g. from :meth:`fold_in`):
        :math:`b_i + x^\top q_i`."""
        check_is_fitted(self)
        return (self.Q_ @ np.asarray(vector, self.Q_.dtype)).astype(np.float64) + self._item_bias()

    def _top(self, scores: np.ndarray, exclude, n: int) -> pd.DataFrame:
        _, trained = self._rated_index()
        scores = np.array(scores, dtype=np.float64)
        scores[~trained] = -np.inf
        scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
        top = best_codes(scores, n)
        return pd.DataFrame({"item": self.item_ids_[top], "score": scores[top]})

    def recommend(self, user, n: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The ``n`` best-scored items for ``user`` (an original id) as a DataFrame of ``item`` and
        ``score``, leaving out the items the user rated in training (``exclude_seen``) and items
        without any training rating. An unknown user gets the most popular items."""
        check_is_fitted(self)
        code = int(np.atleast_1d(self._id_lookup().user_codes(np.atleast_1d(user).tolist()))[0])
        rated, _ = self._rated_index()
        seen = rated.indices[rated.indptr[code]:rated.indptr[code + 1]] if code >= 0 and exclude_seen else []
        return self._top(self.score_codes(np.array([code]))[0], seen, n)

    def similar_items(self, item, n: int = 10) -> pd.DataFrame:
        r"""The ``n`` items nearest to ``item`` (an original id) by the cosine of item factors,
        :math:`q_i^\top q_j / (\lVert q_i\rVert \lVert q_j\rVert)`, as a DataFrame of ``item`` and
        ``score``; the item itself and items without a training positive are left out."""
        check_is_fitted(self)
        code = int(np.atleast_1d(self._id_lookup().item_codes(np.atleast_1d(item).tolist()))[0])
        if code < 0:
            raise KeyError(f"item {item!r} is not known to the model.")
        Q = self.Q_.astype(np.float64)
        norms = np.linalg.norm(Q, axis=1)
        cosine = (Q @ Q[code]) / np.where(norms > 0, norms * max(norms[code], 1e-300), 1.0)
        cosine[norms == 0] = -np.inf
        return self._top(cosine, [code], n)

    def _new_user_positives(self, items, ratings=None, with_values: bool = False):
        """Codes of the known ``items`` (original ids) that are positives by ``ratings`` (all when
        None), each once (the last rating of an item repeated); ``with_values`` also gives their
        ratings (1 each when ``ratings`` is None)."""
        codes = np.atleast_1d(self._id_lookup().item_codes(np.atleast_1d(items).tolist())).astype(np.int64)
        values = np.ones(len(codes), np.float32)
        if ratings is not None:
            values = np.atleast_1d(np.asarray(ratings, np.float32))
            if len(values) != len(codes):
                raise ValueError(f"{len(codes)} items but {len(values)} ratings.")
            keep = positive_mask(values, self.positive_threshold_)
            codes, values = codes[keep], values[keep]
        known = codes >= 0
        codes, values = codes[known], values[known]
        unique, last = np.unique(codes[::-1], return_index=True)
        return (unique, values[::-1][last]) if with_values else unique

    def fold_in(self, items, ratings=None) -> np.ndarray:
        """The vector of a new user from their ``items`` (original ids) and optional ``ratings``
        (positives: ratings >= ``positive_threshold_``; all ``items`` when None): the model's
        ``_fold_in_codes`` (each model says how) of the known positives."""
        check_is_fitted(self)
        return self._fold_in_codes(self._new_user_positives(items, ratings))

    def _fold_in_codes(self, positives: np.ndarray) -> np.ndarray:  # pragma: no cover - each model defines it
        raise NotImplementedError

    def fold_in_scores(self, positives: list[np.ndarray]) -> np.ndarray:
        """``(len(positives), n_items)`` scores of new users, each given by the item codes of their
        positives: :meth:`vector_scores` of the fold-in, or the popularity scores for a user with no
        positive (as :meth:`scores` gives a user without a training positive)."""
        check_is_fitted(self)
        out = np.empty((len(positives), len(self.item_ids_)), np.float64)
        for row, codes in enumerate(positives):
            codes = np.asarray(codes, np.int64)
            out[row] = self._popularity if len(codes) == 0 else self.vector_scores(self._fold_in_codes(codes))
        return out

    def recommend_new(self, items, ratings=None, n: int = 10) -> pd.DataFrame:
        """Top-``n`` for a user the model was not trained on, from their ``items`` (original ids) and
        optional ``ratings``: :meth:`vector_scores` of the model's own :meth:`fold_in` (which may weigh
        the ratings, as ALS's confidence does), popularity when no item is a known positive; leaving out
        ``items`` and items without a training rating, as :meth:`recommend` does."""
        check_is_fitted(self)
        known = len(self._new_user_positives(items, ratings)) > 0
        scores = self.vector_scores(self.fold_in(items, ratings)) if known else self._popularity
        exclude = np.atleast_1d(self._id_lookup().item_codes(np.atleast_1d(items).tolist()))
        return self._top(scores, exclude[exclude >= 0], n)
