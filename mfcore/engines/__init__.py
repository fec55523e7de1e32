"""Engines: interchangeable kernels for the one training loop in :mod:`mfcore.model`.

The kernel contract: ``run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, **extra)``
runs one epoch over ratings **already in the epoch's visiting order** (the loop permutes them, so a
kernel streams through memory), updates ``bu, bi, P, Q`` in place and returns the epoch's sum of
squared errors. Arrays and scalars only; scalars arrive in the factors' dtype. ``extra`` holds the
engine's own options, named in :attr:`Engine.options` and read from the estimator's attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import numpy_batch, python

try:
    from . import numba_jit
    HAS_NUMBA = True
except ImportError:  # pragma: no cover - numba is a hard requirement, this keeps the core importable
    numba_jit = None
    HAS_NUMBA = False


@dataclass(frozen=True)
class Engine:
    """A named engine: one kernel per error schedule it supports, the estimator attributes it reads
    as options, and a one-paragraph explanation of its speed."""

    name: str
    kernels: dict[str, Callable]
    summary: str
    options: tuple[str, ...] = ()
    compiled: bool = False

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
    "python": Engine("python", {"per-rating": python.run_epoch}, _summary(python)),
    "numpy": Engine("numpy", {"per-rating": numpy_batch.run_epoch}, _summary(numpy_batch),
                    options=("batch_size",)),
}
if HAS_NUMBA:
    ENGINES["numba"] = Engine("numba", {"per-rating": numba_jit.run_epoch}, _summary(numba_jit),
                              compiled=True)


def get_engine(name: str) -> Engine:
    """The engine called ``name``; a ValueError lists the available ones otherwise."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"engine == {name!r}, must be one of {', '.join(ENGINES)}.") from None


def row_dots(users, items, P, Q):
    """p_u . q_i for each pair of valid codes (users[n], items[n]), compiled when Numba is there."""
    if HAS_NUMBA:
        return numba_jit.row_dots(users, items, P, Q)
    return np.einsum("nk,nk->n", P[users], Q[items])  # pragma: no cover
