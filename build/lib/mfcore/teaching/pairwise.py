r"""BPR's pairwise step, one triple at a time with every number kept: the Update rule page shows it
beside the rating step (:mod:`.stepper`).

For a user :math:`u`, an item :math:`i` they liked (a positive) and an item :math:`j` they did not
(a sampled negative), BPR (Rendle et al. 2009) scores :math:`\hat x_{ui} = b_i + p_u^\top q_i` and
takes a step up the gradient of :math:`\ln \sigma(\hat x_{uij})`, :math:`\hat x_{uij} = \hat x_{ui} -
\hat x_{uj}`, with L2 regularization. With :math:`z = 1 - \sigma(\hat x_{uij}) = \sigma(-\hat x_{uij})`,
the derivative of :math:`\ln\sigma` there, the gradients (ascent directions) are

.. math::
    g_{p_u} = z (q_i - q_j) - \lambda p_u, \quad g_{q_i} = z p_u - \lambda q_i, \quad
    g_{q_j} = -z p_u - \lambda q_j, \quad g_{b_i} = z - \lambda b_i, \quad g_{b_j} = -z - \lambda b_j

and every parameter moves by :math:`\gamma` times its gradient, all computed from the values before
the step. :func:`bpr_step` does exactly what :func:`mfcore.engines.bpr.triple_step` (the model's
kernel) does, in float64 with every intermediate kept; :class:`BPRStepper` draws the triples from a
seeded generator on a small rating matrix, as :class:`~mfcore.models.bpr.BPRFactorizer` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Ratings
from ..models.params import BPR_PARAMETERS
from ..models.ranking import positive_mask, positive_threshold

__all__ = ["BPRStepRecord", "BPRStepper", "bpr_step"]


@dataclass(frozen=True)
class BPRStepRecord:
    """One BPR step on the triple ``(u, i, j)``: the scores, :math:`\\sigma(\\hat x_{uij})`, ``z``,
    the loss :math:`-\\ln\\sigma(\\hat x_{uij})`, the gradients and the parameters before and after."""

    u: int
    i: int
    j: int
    lr: float
    reg: float
    x_ui: float
    x_uj: float
    x_uij: float
    sigmoid: float
    z: float
    loss: float
    p_old: np.ndarray
    qi_old: np.ndarray
    qj_old: np.ndarray
    bi_old: float
    bj_old: float
    grad_p: np.ndarray
    grad_qi: np.ndarray
    grad_qj: np.ndarray
    grad_bi: float
    grad_bj: float
    p_new: np.ndarray
    qi_new: np.ndarray
    qj_new: np.ndarray
    bi_new: float
    bj_new: float


def bpr_step(P: np.ndarray, Q: np.ndarray, b: np.ndarray, u: int, i: int, j: int, lr: float,
             reg: float) -> BPRStepRecord:
    """Take one BPR step on ``(u, i, j)``, updating ``P``, ``Q`` and the item biases ``b`` in place
    (module docstring), and return every number of it."""
    p, qi, qj = (P[u].astype(np.float64), Q[i].astype(np.float64), Q[j].astype(np.float64))
    bi, bj = float(b[i]), float(b[j])
    x_ui, x_uj = bi + float(p @ qi), bj + float(p @ qj)
    x_uij = x_ui - x_uj
    sigmoid = 1.0 / (1.0 + np.exp(-x_uij))
    z = 1.0 / (1.0 + np.exp(x_uij))
    loss = float(np.logaddexp(0.0, -x_uij))
    grad_p, grad_qi, grad_qj = z * (qi - qj) - reg * p, z * p - reg * qi, -z * p - reg * qj
    grad_bi, grad_bj = z - reg * bi, -z - reg * bj
    p_new, qi_new, qj_new = p + lr * grad_p, qi + lr * grad_qi, qj + lr * grad_qj
    bi_new, bj_new = bi + lr * grad_bi, bj + lr * grad_bj
    P[u], Q[i], Q[j], b[i], b[j] = p_new, qi_new, qj_new, bi_new, bj_new
    return BPRStepRecord(int(u), int(i), int(j), float(lr), float(reg), x_ui, x_uj, x_uij, float(sigmoid),
                         float(z), loss, p, qi, qj, bi, bj, grad_p, grad_qi, grad_qj, grad_bi, grad_bj,
                         p_new, qi_new, qj_new, bi_new, bj_new)


class BPRStepper:
    """BPR on a small ``ratings`` matrix one triple at a time: positives are the ratings at or above
    the scale's ``positive_level`` threshold; each :meth:`step` draws a positive ``(u, i)`` uniformly and
    a negative ``j`` uniformly among the items that are not ``u``'s positives, from
    ``default_rng(seed)``; factors start :math:`\\mathcal N(0, \\text{init\\_std}^2)` in float32, biases 0."""

    def __init__(self, ratings: Ratings, n_factors: int = 2, lr: float = 0.05, reg: float = 0.01,
                 seed: int = 0, init_std: float = 0.1,
                 positive_level: float | None = BPR_PARAMETERS["positive_level"].default):
        self.ratings, self.lr, self.reg = ratings, float(lr), float(reg)
        self.threshold = positive_threshold(ratings.scale, positive_level)
        keep = positive_mask(ratings.values, self.threshold)
        self.users, self.items = ratings.users[keep], ratings.items[keep]
        if not len(self.users):
            raise ValueError("no rating is a positive, so BPR has nothing to learn from.")
        self.rng = np.random.default_rng(seed)
        self.P = self.rng.normal(0.0, init_std, (ratings.n_users, n_factors)).astype(np.float32)
        self.Q = self.rng.normal(0.0, init_std, (ratings.n_items, n_factors)).astype(np.float32)
        self.b = np.zeros(ratings.n_items, np.float32)
        self.steps = 0

    def negatives_of(self, u: int) -> np.ndarray:
        """Item codes that are not positives of user code ``u``."""
        return np.setdiff1d(np.arange(self.ratings.n_items), self.items[self.users == u])

    def step(self) -> BPRStepRecord:
        """Draw a triple and take its step (:func:`bpr_step`)."""
        n = int(self.rng.integers(len(self.users)))
        u, i = int(self.users[n]), int(self.items[n])
        others = self.negatives_of(u)
        if not len(others):
            raise ValueError(f"user {self.ratings.user_ids[u]} liked every item, so there is no negative.")
        j = int(others[self.rng.integers(len(others))])
        self.steps += 1
        return bpr_step(self.P, self.Q, self.b, u, i, j, self.lr, self.reg)

    def auc(self) -> float:
        r"""The share of (positive, negative) pairs, over users, that the model orders correctly:
        :math:`\hat x_{ui} > \hat x_{uj}` (what BPR's objective is a smooth version of)."""
        scores = self.P.astype(np.float64) @ self.Q.T.astype(np.float64) + self.b
        right = total = 0
        for u in np.unique(self.users):
            liked = self.items[self.users == u]
            others = self.negatives_of(u)
            if len(others):
                right += int((scores[u, liked][:, None] > scores[u, others][None, :]).sum())
                total += len(liked) * len(others)
        return right / total if total else float("nan")
