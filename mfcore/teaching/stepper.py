r"""One SGD update at a time, for teaching: the Update rule page drives :class:`UpdateStepper`.

The stepper makes exactly the moves ``SGDFactorizer(engine="python", step_rule="constant")`` makes
with the same parameters and seed (the same initial factors and epoch orders, drawn the same way
from ``np.random.default_rng(seed)``, float32, each step taken by
:func:`mfcore.engines.python.run_epoch` on a single rating), but stops after every rating and
returns a :class:`StepRecord`. For the rating :math:`r_{ui}` it takes:

.. math::
    \hat r_{ui} &= \mu + b_u + b_i + p_u^\top q_i, \qquad e_{ui} = r_{ui} - \hat r_{ui} \\
    b_u &\leftarrow b_u + \gamma (e_{ui} - \lambda b_u), \qquad
    b_i \leftarrow b_i + \gamma (e_{ui} - \lambda b_i) \\
    p_u &\leftarrow p_u + \gamma (e_{ui} q_i - \lambda p_u), \qquad
    q_i \leftarrow q_i + \gamma (e_{ui} p_u - \lambda q_i)

with the old :math:`p_u` on the right of the last line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..data import Ratings, from_arrays
from ..engines import python
from ..engines.order import epoch_order
from ..models.base import TrainingDiverged
from ..models.sgd import SGDFactorizer, initial_parameters

__all__ = ["StepRecord", "UpdateStepper", "dense_slice"]


@dataclass(frozen=True)
class StepRecord:
    """One update: the ``step``-th overall (1-based), ``position`` (0-based) in ``epoch`` (1-based);
    codes ``u``, ``i`` and original ids ``user``, ``item``; the ``rating``, the ``prediction`` and
    ``error`` before the update; the hyperparameters; the parameters before and after; and ``rmse``,
    the training RMSE over all the ratings after the update."""

    step: int
    epoch: int
    position: int
    u: int
    i: int
    user: object
    item: object
    rating: float
    prediction: float
    error: float
    mu: float
    lr: float
    reg: float
    biased: bool
    bu_old: float
    bu_new: float
    bi_old: float
    bi_new: float
    p_old: np.ndarray
    p_new: np.ndarray
    q_old: np.ndarray
    q_new: np.ndarray
    rmse: float


class UpdateStepper:
    """Per-rating SGD on ``ratings`` (all of them are training ratings), one rating per :meth:`step`.

    ``n_factors``, ``lr``, ``reg``, ``biased``, ``init_std`` and ``seed`` mean what they mean in
    :class:`~mfcore.models.SGDFactorizer` and are validated by it. Attributes: ``P``, ``Q``, ``bu``,
    ``bi`` (float32, updated in place), ``mu``, ``epoch`` (the epoch the next step belongs to),
    ``position`` (its index in that epoch's order) and ``steps`` (updates done).
    """

    def __init__(self, ratings: Ratings, n_factors: int = 3, lr: float = 0.05, reg: float = 0.02,
                 biased: bool = True, init_std: float = 0.1, seed: int = 0):
        SGDFactorizer(n_factors=n_factors, lr=lr, reg=reg, biased=biased, init_std=init_std,
                      seed=seed, engine="python").validate_params()
        if len(ratings) == 0:
            raise ValueError("the training set is empty.")
        self.ratings = ratings
        self.n_factors, self.lr, self.reg, self.biased = n_factors, lr, reg, biased
        self._rng = np.random.default_rng(seed)
        dtype = np.float32
        self.P, self.Q, self.bu, self.bi, self.mu = initial_parameters(
            ratings, n_factors, init_std, biased, self._rng, dtype)
        self._scalars = dtype(self.mu), dtype(lr), dtype(reg)
        self.epoch, self.position, self.steps = 0, 0, 0
        self._order = np.zeros(0, dtype=np.int32)

    def step(self) -> StepRecord:
        """Apply the update for the next rating of the current epoch's order and describe it.
        Raises :class:`~mfcore.models.TrainingDiverged` if the error stops being finite."""
        if self.position >= len(self._order):
            self._order = epoch_order(self._rng, len(self.ratings))
            self.epoch, self.position = self.epoch + 1, 0
        n = self._order[self.position]
        u, i = int(self.ratings.users[n]), int(self.ratings.items[n])
        mu, lr, reg = self._scalars
        before = (self.bu[u], self.bi[i], self.P[u].copy(), self.Q[i].copy())
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below, once
            prediction = mu + self.bu[u] + self.bi[i] + np.dot(self.P[u], self.Q[i])  # as the kernel
            python.run_epoch(self.ratings.users[n:n + 1], self.ratings.items[n:n + 1],
                             self.ratings.values[n:n + 1], mu, self.bu, self.bi, self.P, self.Q, lr, reg,
                             bool(self.biased))
            self.steps += 1
            record = self._record(n, u, i, prediction, before)
        self.position += 1
        if not (np.isfinite(record.rmse) and np.isfinite(record.error)):
            raise TrainingDiverged(f"the update of step {self.steps} made the error non-finite: lower "
                                   f"the learning rate (lr == {self.lr}), e.g. to {self.lr / 5:.3g}.")
        return record

    def _record(self, n, u, i, prediction, before) -> StepRecord:
        rating = self.ratings.values[n]
        mu, lr, reg = self._scalars
        return StepRecord(
            step=self.steps, epoch=self.epoch, position=self.position, u=u, i=i,
            user=self.ratings.user_ids[u], item=self.ratings.item_ids[i], rating=float(rating),
            prediction=float(prediction), error=float(rating - prediction), mu=float(mu),
            lr=float(lr), reg=float(reg), biased=bool(self.biased),
            bu_old=float(before[0]), bu_new=float(self.bu[u]), bi_old=float(before[1]),
            bi_new=float(self.bi[i]), p_old=before[2], p_new=self.P[u].copy(), q_old=before[3],
            q_new=self.Q[i].copy(), rmse=self.rmse(),
        )

    def finish_epoch(self) -> list[StepRecord]:
        """Steps to the end of the current epoch (a whole epoch when at its start); their records."""
        records = [self.step()]
        while self.position < len(self._order):
            records.append(self.step())
        return records

    def predictions(self) -> np.ndarray:
        """:math:`\\hat r` for every rating, from the current parameters (unclipped, float64)."""
        r = self.ratings
        return (self.mu + self.bu[r.users].astype(np.float64) + self.bi[r.items]
                + np.einsum("nk,nk->n", self.P[r.users].astype(np.float64), self.Q[r.items]))

    def rmse(self) -> float:
        """The training RMSE of the current parameters over all the ratings."""
        return float(np.sqrt(np.mean((self.ratings.values - self.predictions()) ** 2)))

    def rating_matrix(self) -> pd.DataFrame:
        """R as a users x items DataFrame of original ids, NaN where there is no rating."""
        r = self.ratings
        dense = np.full((r.n_users, r.n_items), np.nan)
        dense[r.users, r.items] = r.values
        return pd.DataFrame(dense, index=r.user_ids, columns=r.item_ids)


def dense_slice(ratings: Ratings, n_users: int = 10, n_items: int = 12) -> Ratings:
    """The ratings among the ``n_users`` users with the most ratings and the ``n_items`` most rated
    items (ties by code), re-coded as a small :class:`Ratings` with the same original ids (and titles)
    and the whole file's rating ``scale``, so a positive threshold on the slice is the file's."""
    top_users = np.argsort(-np.bincount(ratings.users, minlength=ratings.n_users), kind="stable")[:n_users]
    top_items = np.argsort(-np.bincount(ratings.items, minlength=ratings.n_items), kind="stable")[:n_items]
    keep = np.isin(ratings.users, top_users) & np.isin(ratings.items, top_items)
    if not keep.any():
        raise ValueError("the slice of the busiest users and items holds no ratings.")
    sliced = from_arrays(ratings.user_ids[ratings.users[keep]], ratings.item_ids[ratings.items[keep]],
                         ratings.values[keep])
    if ratings.item_info is not None:  # titles and genres come along
        sliced = sliced.with_items(ratings.item_info.set_axis(ratings.item_ids), ratings.summary.items_file)
    return replace(sliced, scale=ratings.scale)
