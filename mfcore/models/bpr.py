r"""BPRFactorizer: Bayesian Personalized Ranking (Rendle et al. 2009) trained by SGD on triples."""

from __future__ import annotations

import time

import numpy as np

from ..data import Ratings
from ..engines import bpr as kernels
from ..engines.numba_parallel import available_cores
from .params import BPR_PARAMETERS
from .estimator import finish_class
from .ranking import RankingFactorizer, positives_csr

__all__ = ["BPRFactorizer", "sample_negatives"]

FOLD_IN_PASSES = 200
"""Passes over a new user's positives when folding them in (each with fresh negatives)."""

MAX_REDRAWS = 50
"""Rounds of redrawing negatives that hit a positive of their user, before giving up on the few left."""


def sample_negatives(rng: np.random.Generator, users: np.ndarray, n_items: int,
                     positives: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One uniformly random item per entry of ``users`` that is not among that user's positives
    (``positives``: ``(indptr, indices)`` by user, items sorted): draw uniformly from all items,
    redraw the ones that hit a positive (at most :data:`MAX_REDRAWS` rounds; the draws come from
    ``rng``, the membership test is a compiled binary search)."""
    indptr, indices = positives
    negatives = rng.integers(0, n_items, len(users), dtype=np.int32)
    hit = np.empty(len(users), np.bool_)
    kernels.is_positive(users, negatives, indptr, indices, hit)
    todo = np.flatnonzero(hit)
    for _ in range(MAX_REDRAWS):
        if len(todo) == 0:
            break
        negatives[todo] = rng.integers(0, n_items, len(todo), dtype=np.int32)
        hit = np.empty(len(todo), np.bool_)
        kernels.is_positive(users[todo], negatives[todo], indptr, indices, hit)
        todo = todo[hit]
    return negatives


class BPRFactorizer(RankingFactorizer):
    r"""Bayesian Personalized Ranking by SGD on (user, positive, negative) triples, in the style of a
    scikit-learn estimator.

    The model scores :math:`\hat x_{ui} = b_i + p_u^\top q_i` and maximises
    :math:`\sum_{(u,i,j)} \ln \sigma(\hat x_{ui} - \hat x_{uj}) - \lambda\text{-terms}` over triples of a
    user, one of their positives :math:`i` and an item :math:`j` that is not one. Each epoch visits
    every positive ``negatives`` times in a fresh random order, each time with a negative drawn
    uniformly from the items that are not the user's positives (rejection sampling, in the kernel
    just before the step: :func:`mfcore.engines.bpr.run_epoch_sampled`); with
    :math:`\hat x_{uij} = \hat x_{ui} - \hat x_{uj}` and :math:`z = \sigma(-\hat x_{uij})` the step is

    .. math::
        p_u &\leftarrow p_u + \gamma (z (q_i - q_j) - \lambda p_u), \quad
        q_i \leftarrow q_i + \gamma (z p_u - \lambda q_i), \quad
        q_j \leftarrow q_j + \gamma (-z p_u - \lambda q_j) \\
        b_i &\leftarrow b_i + \gamma (z - \lambda b_i), \quad b_j \leftarrow b_j + \gamma (-z - \lambda b_j)

    with :math:`\gamma` = ``lr``, :math:`\lambda` = ``reg`` (kernel: :mod:`mfcore.engines.bpr`).
    Initial factors :math:`\sim \mathcal N(0, \text{init\_std}^2)`, biases 0. The order and the
    seeds of the kernel's negative sampler are drawn from ``np.random.default_rng(seed)``; with
    ``n_threads=1`` a seed
    gives the same model bit for bit, with more threads the triples are split into one chunk per
    thread run at once without locks (Hogwild: equally good, not bit-reproducible).

    Positives are the training ratings >= ``positive_threshold_`` (see ``positive_level``).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    P_ : ndarray of float32, shape (n_users, n_factors)
        User factors; rows of users without a training positive are 0.
    Q_ : ndarray of float32, shape (n_items, n_factors)
        Item factors; rows of items without a training positive are 0.
    bi_ : ndarray of float32, shape (n_items,)
        Item biases :math:`b_i`.
    user_ids_, item_ids_ : ndarray
        Original ids of the user and item codes.
    scale_ : tuple of float
        ``(min, max)`` of the training ratings' scale.
    positive_threshold_ : float or None
        The lowest rating counted as a positive (None: every rating).
    n_positives_, n_train_ratings_ : int
        Training positives and training ratings.
    history_ : History of RankingEpochResult
        One entry per epoch (loss: mean BPR loss of the epoch's triples).
    fit_seconds_, compile_seconds_ : float
        Training time (setup and epochs, no evaluation) and the JIT warm-up before it.
    """

    KIND = "bpr"
    PARAMETERS = BPR_PARAMETERS
    FITTED_ARRAYS = ("P_", "Q_", "bi_")

    def _warm_up(self) -> float:
        start = time.perf_counter()
        P = np.zeros((2, self.n_factors), np.float32)
        Q = np.zeros((2, self.n_factors), np.float32)
        b = np.zeros(2, np.float32)
        one = np.zeros(1, np.int32)
        kernels.run_range(one, one, one + 1, P, Q, b, np.float32(0), np.float32(0), 0, 1)
        kernels.user_steps(P[0], one, one + 1, Q, b, np.float32(0), np.float32(0))
        kernels.is_positive(one, one, np.array([0, 1], np.int64), one, np.empty(1, np.bool_))
        kernels.run_range_sampled(one, one, np.array([0, 1], np.int64), one, np.zeros(1, np.uint8), P, Q, b,
                                  np.float32(0), np.float32(0), 2, np.uint64(1), 0, 1)
        return time.perf_counter() - start

    def _start(self, train: Ratings, users: np.ndarray, items: np.ndarray, rng: np.random.Generator) -> None:
        k = self.n_factors
        self.P_ = rng.normal(0.0, self.init_std, (train.n_users, k)).astype(np.float32)
        self.Q_ = rng.normal(0.0, self.init_std, (train.n_items, k)).astype(np.float32)
        self.bi_ = np.zeros(train.n_items, np.float32)
        self._users = np.ascontiguousarray(users, np.int32)
        self._items = np.ascontiguousarray(items, np.int32)
        self._positives = positives_csr(self._users, self._items, train.n_users)
        self._bits = kernels.positive_bits(*self._positives, train.n_items)
        self._n_items = train.n_items

    def _epoch(self, rng: np.random.Generator) -> float:
        n = len(self._users)
        order = np.concatenate([rng.permutation(n) for _ in range(self.negatives)])
        users, positives = self._users[order], self._items[order]
        seeds = rng.integers(1, 2 ** 63 - 1, size=max(1, available_cores() if self.n_threads is None
                                                     else int(self.n_threads)), dtype=np.uint64)
        loss = kernels.run_epoch_sampled(users, positives, *self._positives, self._bits, self.P_, self.Q_, self.bi_,
                                         np.float32(self.lr), np.float32(self.reg), seeds, self.n_threads)
        return loss / len(order)

    def _release_training_state(self) -> None:
        self._users = self._items = self._positives = self._bits = None

    def _fold_in_codes(self, positives: np.ndarray) -> np.ndarray:
        r"""The factor vector of a new user from the item codes of their positives: BPR's SGD on that
        vector alone, item factors and biases fixed, starting from 0, for :data:`FOLD_IN_PASSES`
        passes over the positives (each a fresh order and fresh negatives from
        ``default_rng(seed)``), with the model's ``lr`` and ``reg``:
        :math:`p \leftarrow p + \gamma(z (q_i - q_j) - \lambda p)`, :math:`z = \sigma(-\hat x_{uij})`;
        the result is the mean of the iterates after each pass of the second half (Polyak averaging:
        the constant-step SGD noise averages out, so the same positives give a stable vector).
        No positive gives the zero vector."""
        positives = np.asarray(positives, np.int32)
        p = np.zeros(self.Q_.shape[1], np.float32)
        if len(positives) == 0:
            return p
        rng = np.random.default_rng(self.seed)
        n_items = len(self.item_ids_)
        order = np.concatenate([rng.permutation(len(positives)) for _ in range(FOLD_IN_PASSES)])
        chosen = positives[order]
        negatives = sample_negatives(rng, np.zeros(len(chosen), np.int32), n_items,
                                     (np.array([0, len(positives)], np.int64), np.sort(positives)))
        lr, reg, size = np.float32(self.lr), np.float32(self.reg), len(positives)
        burn_in = FOLD_IN_PASSES // 2
        kernels.user_steps(p, chosen[:burn_in * size], negatives[:burn_in * size], self.Q_, self.bi_, lr, reg)
        mean = np.zeros(len(p), np.float64)
        for start in range(burn_in * size, len(chosen), size):  # average the iterate after each pass
            kernels.user_steps(p, chosen[start:start + size], negatives[start:start + size], self.Q_, self.bi_,
                               lr, reg)
            mean += p
        return (mean / (FOLD_IN_PASSES - burn_in)).astype(np.float32)


finish_class(BPRFactorizer)
