"""Engines: interchangeable kernels for the one training loop in :mod:`mfcore.model`.

The kernel contract: ``run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, **extra)``
runs one epoch over ratings **already in the epoch's visiting order**, updates ``bu, bi, P, Q`` in
place and returns the epoch's sum of squared errors. The visiting order is the engine's
:attr:`Engine.order`: by default (:class:`~mfcore.engines.order.RatingOrder`) a fresh random
permutation of all ratings each epoch, laid out contiguously so a kernel streams through memory; an
order may hand the kernel more arrays before ``mu`` (``numba-parallel``: block bounds and schedule).
Arrays and scalars only; scalars arrive in the factors' dtype. ``extra`` holds the
engine's own options, named in :attr:`Engine.options` and read from the estimator's attributes,
plus the state an error schedule carries between epochs (:func:`schedule_arguments`; only ``funk``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import numba_jit, numba_parallel, numba_schedules, numpy_batch, python
from .order import RatingOrder


@dataclass(frozen=True)
class Engine:
    """A named engine: one kernel per error schedule it supports, the estimator attributes it reads
    as options, and a one-paragraph explanation of its speed."""

    name: str
    kernels: dict[str, Callable]
    summary: str
    options: tuple[str, ...] = ()
    compiled: bool = False
    order: type = RatingOrder

    def kernel(self, schedule: str) -> Callable:
        """The kernel for ``schedule``; a ValueError names the schedules this engine has otherwise."""
        try:
            return self.kernels[schedule]
        except KeyError:
            raise ValueError(f"schedule == {schedule!r} is not available in the {self.name} engine; "
                             f"it has {', '.join(self.kernels)}.") from None


def _summary(module) -> str:
    return " ".join(module.__doc__.strip().split("\n\n")[0].split())


ENGINES: dict[str, Engine] = {
    "python": Engine("python", {"per-rating": python.run_epoch,
                                "per-factor": python.run_epoch_per_factor,
                                "per-epoch": python.run_epoch_per_epoch,
                                "funk": python.run_epoch_funk}, _summary(python)),
    "numpy": Engine("numpy", {"per-rating": numpy_batch.run_epoch}, _summary(numpy_batch),
                    options=("batch_size",)),
    "numba": Engine("numba", {"per-rating": numba_jit.run_epoch,
                              "per-factor": numba_schedules.run_epoch_per_factor,
                              "per-epoch": numba_schedules.run_epoch_per_epoch,
                              "funk": numba_schedules.run_epoch_funk},
                    _summary(numba_jit), compiled=True),
    "numba-parallel": Engine("numba-parallel", {"per-rating": numba_parallel.run_epoch},
                             _summary(numba_parallel), options=("n_threads",), compiled=True,
                             order=numba_parallel.BlockOrder),
}


def get_engine(name: str) -> Engine:
    """The engine called ``name``; a ValueError lists the available ones otherwise."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"engine == {name!r}, must be one of {', '.join(ENGINES)}.") from None


def row_dots(users, items, P, Q):
    """p_u . q_i for each pair of valid codes (users[n], items[n]), compiled."""
    return numba_jit.row_dots(users, items, P, Q)


SCHEDULES: tuple[str, ...] = ("per-rating", "per-factor", "per-epoch", "funk")
"""The error schedules (*how often is the error recomputed?*); each kernel's docstring states its
equations, and ``dashboard/texts.py`` explains them to a student."""


def funk_feature(epoch: int, n_factors: int, epochs_per_feature: int) -> int:
    """The feature the ``funk`` schedule trains in ``epoch`` (1-based): features 0, 1, ... in turn,
    ``epochs_per_feature`` epochs each, starting over at 0 after the last one."""
    return (epoch - 1) // epochs_per_feature % n_factors


def schedule_arguments(schedule: str, n_ratings: int, n_factors: int, epochs_per_feature: int,
                       dtype) -> Callable[[int, np.ndarray], dict]:
    """A function ``(epoch, order) -> dict`` of the extra keyword arguments ``schedule``'s kernel takes
    in ``epoch`` (1-based) whose ratings are the training ratings ``order``; it keeps the state the
    schedule carries from epoch to epoch. Only ``funk`` carries any: ``residual`` (per training rating,
    the cached part of its prediction from the features other than the current one), ``cached_feature``
    (one int64: the feature ``residual`` leaves out, -1 until built), ``order`` and ``feature``."""
    if schedule != "funk":
        return lambda epoch, order: {}
    residual = np.zeros(n_ratings, dtype)
    cached_feature = np.full(1, -1, np.int64)
    return lambda epoch, order: {
        "order": order, "residual": residual, "cached_feature": cached_feature,
        "feature": funk_feature(epoch, n_factors, epochs_per_feature),
    }
