r"""Per-fit state of a training run: the :class:`EpochPlan` says what every epoch's kernel call gets.

The kernel contract (every engine, every schedule)::

    kernel(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, **extra) -> float

runs one epoch over ``users, items, ratings`` in the order given, updates ``bu, bi, P, Q`` in place
and returns the epoch's sum of squared errors (each error met before its own update). Arrays and
scalars only; every float scalar arrives in the factors' dtype (float32). Anything an engine or a
schedule needs beyond that arrives as a keyword in ``extra``.

A plan is made once per fit from the training ratings, the model's ``rng`` and the engine's options,
before the model draws its initial factors from ``rng`` (a plan's own draws at construction come from
a child of ``rng``, ``rng.spawn``, so they leave its stream as it is); ``plan.ready()`` returns once
its once-per-fit work is done; ``plan.next_epoch(epoch)`` (1-based) returns the keywords of that
epoch's call: ``users, items, ratings`` in the epoch's visiting order plus ``extra``. The model adds the model state
``mu, bu, bi, P, Q, lr, reg, biased`` and makes the call, once, in
:meth:`mfcore.models.SGDFactorizer.fit_iter`.
"""

from __future__ import annotations

import numpy as np

from .order import epoch_order, gather


def funk_feature(epoch: int, n_factors: int, epochs_per_feature: int) -> int:
    """The feature the ``funk`` schedule trains in ``epoch`` (1-based): features 0, 1, ... in turn,
    ``epochs_per_feature`` epochs each, starting over at 0 after the last one."""
    return (epoch - 1) // epochs_per_feature % n_factors


class EpochPlan:
    r"""The textbook order: every epoch a fresh uniformly random permutation of all the training
    ratings (:func:`~.order.epoch_order`), handed over as contiguous copies so a kernel streams
    through memory. The ``funk`` schedule's state lives here too: ``residual`` (per training rating,
    the cached part of its prediction from the features other than the current one),
    ``cached_feature`` (one int64: the feature ``residual`` leaves out, -1 until built), ``order``
    (the epoch's permutation) and ``feature`` (:func:`funk_feature`).

    ``options`` are the engine's own keyword arguments (e.g. ``batch_size``), passed on every epoch.
    ``padded_rows``: whether the kernels get ``P`` and ``Q`` stored in rows padded to whole cache
    lines (:mod:`.layout`; the plan then passes ``n_factors``); here not.
    """

    padded_rows = False

    def __init__(self, users, items, ratings, rng: np.random.Generator, *, n_users: int, n_items: int,
                 n_factors: int, schedule: str = "per-rating", epochs_per_feature: int = 1,
                 options: dict | None = None):
        self.users, self.items, self.ratings, self.rng = users, items, ratings, rng
        self.n_users, self.n_items, self.n_factors = n_users, n_items, n_factors
        self.schedule, self.epochs_per_feature = schedule, epochs_per_feature
        self.options = dict(options or {})
        if schedule == "funk":
            self.residual = np.zeros(len(ratings), ratings.dtype)
            self.cached_feature = np.full(1, -1, np.int64)
        self._out = None

    def ready(self) -> None:
        """Return once the plan's once-per-fit work is done (a plan may do it in a helper thread while
        the model draws its initial factors); here there is none."""

    def visit(self, epoch: int) -> dict:
        """The epoch's ``users, items, ratings`` (and for ``funk`` the permutation ``order``)."""
        order = epoch_order(self.rng, len(self.ratings))
        if self._out is None:
            self._out = np.empty_like(self.users), np.empty_like(self.items), np.empty_like(self.ratings)
        gather(order, self.users, self.items, self.ratings, *self._out)
        users, items, ratings = self._out
        return {"users": users, "items": items, "ratings": ratings, "order": order}

    def next_epoch(self, epoch: int) -> dict:
        """The keyword arguments of epoch ``epoch``'s kernel call, model state excepted."""
        arguments = self.visit(epoch)
        order = arguments.pop("order", None)
        if self.schedule == "funk":
            arguments.update(order=order, residual=self.residual, cached_feature=self.cached_feature,
                             feature=funk_feature(epoch, self.n_factors, self.epochs_per_feature))
        return {**arguments, **self.options}
