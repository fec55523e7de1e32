r"""ALSFactorizer: implicit-feedback ALS (Hu, Koren & Volinsky 2008) solved by conjugate gradient
(Takács, Pilászy & Tikk 2011)."""

from __future__ import annotations

import time

import numpy as np

from ..data import Ratings
from ..engines import als as kernels
from .base import check_is_fitted
from .params import ALS_PARAMETERS
from .estimator import finish_class
from .ranking import RankingFactorizer, positive_mask

__all__ = ["ALSFactorizer"]


class ALSFactorizer(RankingFactorizer):
    r"""Implicit-feedback matrix factorization by alternating least squares, in the style of a
    scikit-learn estimator.

    Every (user, item) cell counts: :math:`p_{ui} = 1` for a positive, 0 for every other cell, with
    confidence 1 on every other cell and, on a positive of value :math:`r_{ui}` (a rating, a count, a
    weight), by ``confidence``:

    .. math::
        \text{binary: } c_{ui} = 1 + \alpha, \qquad
        \text{linear: } c_{ui} = 1 + \alpha\, r_{ui}, \qquad
        \text{log: } c_{ui} = 1 + \alpha \ln(1 + r_{ui} / \varepsilon)

    (the two weightings of Hu, Koren and Volinsky; :math:`\varepsilon` = ``epsilon``). Weighting
    needs values >= 0. The model scores
    :math:`\hat p_{ui} = x_u^\top y_i` and minimises

    .. math::
        \sum_{u, i} c_{ui} (p_{ui} - x_u^\top y_i)^2
        + \lambda \Big(\sum_u (|I_u| + w n_I)^\nu \lVert x_u \rVert^2
        + \sum_i (|U_i| + w n_U)^\nu \lVert y_i \rVert^2\Big)

    where :math:`I_u` are the user's positives, :math:`U_i` the item's, :math:`n_I`, :math:`n_U` the
    numbers of items and users, ``reg_exponent`` :math:`\nu` and ``reg_unobserved`` :math:`w`:
    :math:`\nu = 0` gives the paper's constant :math:`\lambda`, :math:`\nu = 1, w = 0` the
    weighted-:math:`\lambda` regularization of Zhou et al. 2008, and :math:`w > 0` the
    frequency-scaled regularization of Rendle et al. 2021 (their unobserved weight :math:`\alpha_0`
    is :math:`w`): a row's penalty grows with all the cells its loss sums over, so a user with few
    positives is held near the origin, where the Gram term's shape, not the few items, orients it.

    Each epoch solves every user with the items fixed, then every item with the users fixed. With
    :math:`Y` fixed a user's minimiser solves :math:`(Y^\top Y + \lambda_u I + \sum_{i \in I_u}
    (c_{ui} - 1)\, y_i y_i^\top)\, x_u = \sum_{i \in I_u} c_{ui}\, y_i` with :math:`\lambda_u = \lambda
    (|I_u| + w n_I)^\nu`; :math:`Y^\top Y` is computed
    once per half-epoch (the YtY trick) and the system is solved approximately by ``cg_steps`` steps
    of conjugate gradient warm-started from the current :math:`x_u` (kernel:
    :mod:`mfcore.engines.als`), which costs :math:`O(K^2 + |I_u| K)` per step instead of the
    :math:`O(K^3 + |I_u| K^2)` of an exact solve. Initial factors
    :math:`\sim \mathcal N(0, \text{init\_std}^2)` from ``np.random.default_rng(seed)``; the result
    does not depend on ``n_threads`` (each solve reads only the fixed side).

    Positives are the training ratings >= ``positive_threshold_`` (see ``positive_level``).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    P_ : ndarray of float32, shape (n_users, n_factors)
        User factors :math:`x_u`; rows of users without a training positive are 0.
    Q_ : ndarray of float32, shape (n_items, n_factors)
        Item factors :math:`y_i`; rows of items without a training positive are 0.
    user_ids_, item_ids_ : ndarray
        Original ids of the user and item codes.
    scale_ : tuple of float
        ``(min, max)`` of the training ratings' scale.
    positive_threshold_ : float or None
        The lowest rating counted as a positive (None: every rating).
    n_positives_, n_train_ratings_ : int
        Training positives and training ratings.
    history_ : History of RankingEpochResult
        One entry per epoch (loss None).
    fit_seconds_, compile_seconds_ : float
        Training time (setup and epochs, no evaluation) and the JIT warm-up before it.
    """

    KIND = "als"
    PARAMETERS = ALS_PARAMETERS

    def _warm_up(self) -> float:
        start = time.perf_counter()
        k = self.n_factors
        X, Y = np.zeros((1, k), np.float32), np.ones((1, k), np.float32)
        rows = (np.array([0, 1], np.int64), np.zeros(1, np.int32), np.ones(1, np.float32), X, Y, kernels.gram(Y),
                np.float32(1), np.float32(0), 1)
        kernels.solve_range(*rows, 0, 1, np.float32(0))  # the one-thread half-step's call
        kernels.solve_chunks(*rows, np.array([0, 1], np.int64), np.zeros(1, np.int64), np.float32(0))
        return time.perf_counter() - start

    def _start(self, train: Ratings, users: np.ndarray, items: np.ndarray, rng: np.random.Generator) -> None:
        k = self.n_factors
        self.P_ = rng.normal(0.0, self.init_std, (train.n_users, k)).astype(np.float32)
        self.Q_ = rng.normal(0.0, self.init_std, (train.n_items, k)).astype(np.float32)
        confidence = self.confidences(train.values[positive_mask(train.values, self.positive_threshold_)])
        by_user, by_item = kernels.both_sides(users, items, confidence, train.n_users, train.n_items)
        self._by_user, self._conf_user = by_user[:2], by_user[2]
        self._by_item, self._conf_item = by_item[:2], by_item[2]

    def confidences(self, values) -> np.ndarray:
        r"""The confidence :math:`c` of positives of ``values`` under ``confidence`` (class docstring),
        float32; a ValueError for a negative value when the values are weighed."""
        values = np.asarray(values, np.float64)
        if self.confidence == "binary":
            return np.full(len(values), 1.0 + self.alpha, np.float32)
        if len(values) and values.min() < 0:
            raise ValueError(f"confidence == {self.confidence!r} weighs the values, which must be >= 0: found "
                             f"{values.min():g}; use confidence='binary' or shift the values.")
        scaled = values if self.confidence == "linear" else np.log1p(values / self.epsilon)
        return (1.0 + self.alpha * scaled).astype(np.float32)

    def _epoch(self, rng: np.random.Generator) -> None:
        reg, nu, steps, w = float(self.reg), float(self.reg_exponent), int(self.cg_steps), float(self.reg_unobserved)
        kernels.half_step(*self._by_user, self._conf_user, self.P_, self.Q_, reg, nu, steps, self.n_threads,
                          offset=w * len(self.Q_))
        kernels.half_step(*self._by_item, self._conf_item, self.Q_, self.P_, reg, nu, steps, self.n_threads,
                          offset=w * len(self.P_))
        return None

    def _release_training_state(self) -> None:
        self._by_user = self._by_item = self._conf_user = self._conf_item = None

    def fold_in(self, items, ratings=None) -> np.ndarray:
        r"""The factor vector of a new user from ``items`` (original ids) and optional ``ratings``
        (positives: ratings >= ``positive_threshold_``; all ``items``, each of value 1, when None):
        :meth:`_fold_in_codes` with each positive's confidence from its value (:meth:`confidences`).
        Unknown items are ignored; no positive gives the zero vector."""
        check_is_fitted(self)
        positives, values = self._new_user_positives(items, ratings, with_values=True)
        return self._fold_in_codes(positives, self.confidences(values))

    def _fold_in_codes(self, positives: np.ndarray, confidence: np.ndarray | None = None) -> np.ndarray:
        r"""The factor vector of a new user from the item codes of their positives and their
        confidences (binary ``1 + alpha`` each when None): the exact minimiser with the item factors
        fixed, the closed form :math:`x = (Y^\top Y + \lambda (|I| + w n_I)^\nu I + \sum_{i \in I}
        (c_i - 1) y_i y_i^\top)^{-1} \sum_{i \in I} c_i y_i` (a dense K x K solve in float64); no
        positive gives the zero vector."""
        conf = (np.full(len(positives), 1.0 + self.alpha) if confidence is None
                else np.asarray(confidence, np.float64))
        return kernels.exact_row(positives, conf, self.Q_, self.reg, self.reg_exponent,
                                 offset=self.reg_unobserved * len(self.Q_)).astype(np.float32)

    def fold_in_scores(self, positives: list[np.ndarray]) -> np.ndarray:
        """Scores of new users given by their positives' item codes: :meth:`_fold_in_codes` for each
        (the Gram matrix :math:`Y^\\top Y` formed once), popularity for a user with none."""
        check_is_fitted(self)
        Y = self.Q_.astype(np.float64)
        G = Y.T @ Y
        out = np.empty((len(positives), len(Y)), np.float64)
        for row, codes in enumerate(positives):
            codes = np.asarray(codes, np.int64)
            if len(codes) == 0:
                out[row] = self._popularity
                continue
            out[row] = Y @ kernels.exact_row(codes, np.full(len(codes), 1.0 + self.alpha), self.Q_, self.reg,
                                             self.reg_exponent, gram=G, offset=self.reg_unobserved * len(Y))
        return out


finish_class(ALSFactorizer)
