r"""Resource guards: the peak memory a training will need, known before anything is allocated, and the
cap it is checked against.

:func:`training_peak_bytes` counts, for :math:`M` ratings split into :math:`N` training and
:math:`T` test ratings, :math:`U` users, :math:`I` items and :math:`K` factors (``float32`` factors,
``int32`` codes, ``float64`` NumPy temporaries):

.. math::
    D &= 12 M \ (+\, 8 M \text{ with timestamps}) &&\text{the split's train and test copies} \\
    F &= 4 (U + I)(K + 1) &&\text{factors } P, Q \text{ and biases} \\
    \text{split} &= 8 M + 20 N + 12 T &&\text{permutation, sorted rows, gathered columns} \\
    \text{init} &= \max(12 U K,\ 4 U K + 12 I K) &&\text{each factor matrix drawn in float64, cast} \\
    \text{index} &= 23 N + 4 U &&\text{the seen-pairs CSR matrix and its construction} \\
    \text{epoch} &= 5 N + 24 N + 4 N\,[\text{per-epoch, funk}] + 56 T &&\text{order, schedule, evaluation}

and the peak is :math:`D + \max(\text{split},\ \text{init},\ F + \text{index},\ F + \text{epoch})`,
times ``1 + MARGIN`` for allocator slack. The coefficients are the arrays the code allocates in each
phase (``split.random_split``, ``model.initial_parameters``, the model's seen-pairs index, an epoch
of ``RatingOrder`` with its evaluation); ``tests/test_resources.py`` checks the estimate against
``tracemalloc`` and the process's peak RSS on a few sizes. The loaded ratings themselves are not
counted here: :func:`dataset_bytes` counts them when a file is uploaded.

The cap (:func:`memory_cap_bytes`) is ``MF_MEMORY_CAP_BYTES`` if set, else :data:`CAP_FRACTION` of the
machine's physical memory: a shared server holds several sessions' datasets and jobs at once.
"""

from __future__ import annotations

import os

__all__ = [
    "MemoryGuardError",
    "check_dataset_memory",
    "check_training_memory",
    "dataset_bytes",
    "human_bytes",
    "memory_cap_bytes",
    "training_peak_bytes",
]

MARGIN = 0.15
CAP_FRACTION = 1 / 32
"""Default cap of one job or one upload: 1/32 of physical memory (768 MiB on a 24 GiB machine), so a
classroom of thirty sessions, each with a dataset and a job, fits together."""


class MemoryGuardError(ValueError):
    """A training or a dataset would need more memory than the cap allows."""


def human_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps it >= 1 (``1.5 GB``); decimal units."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def training_peak_bytes(n_users: int, n_items: int, n_ratings: int, n_factors: int,
                        test_size: float = 0.1, schedule: str = "per-rating",
                        timestamps: bool = False) -> int:
    """The estimated peak bytes one training allocates (the formula in the module docstring)."""
    U, I, M, K = int(n_users), int(n_items), int(n_ratings), int(n_factors)
    T = round(test_size * M)
    N = M - T
    data = 12 * M + (8 * M if timestamps else 0)
    factors = 4 * (U + I) * (K + 1)
    split = 8 * M + 20 * N + 12 * T if T else 0
    init = max(12 * U * K, 4 * U * K + 12 * I * K)
    index = 23 * N + 4 * U
    schedule_state = 4 * N if schedule in ("per-epoch", "funk") else 0
    epoch = 5 * N + 24 * N + schedule_state + 56 * T
    peak = data + max(split, init, factors + index, factors + epoch)
    return int(peak * (1 + MARGIN))


def dataset_bytes(n_ratings: int, n_users: int, n_items: int, timestamps: bool = False,
                  id_bytes: int = 64) -> int:
    """Bytes a loaded dataset keeps: 12 per rating (two int32 codes and a float32), 8 more with
    timestamps, and ``id_bytes`` per distinct user or item id (the id arrays and their lookup index)."""
    return 12 * n_ratings + (8 * n_ratings if timestamps else 0) + id_bytes * (n_users + n_items)


def physical_memory_bytes() -> int:
    """The machine's physical memory (Linux ``sysconf``), or 8 GiB when it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 8 << 30


def memory_cap_bytes() -> int:
    """The cap: ``MF_MEMORY_CAP_BYTES`` when set, else :data:`CAP_FRACTION` of physical memory."""
    configured = os.environ.get("MF_MEMORY_CAP_BYTES")
    if configured:
        return int(float(configured))
    return int(physical_memory_bytes() * CAP_FRACTION)


def check_training_memory(n_users: int, n_items: int, n_ratings: int, n_factors: int,
                          test_size: float = 0.1, schedule: str = "per-rating",
                          timestamps: bool = False, cap: int | None = None) -> int:
    """The estimated peak bytes; raises :class:`MemoryGuardError` naming the numbers when over ``cap``
    (default :func:`memory_cap_bytes`). Allocates nothing."""
    cap = memory_cap_bytes() if cap is None else cap
    need = training_peak_bytes(n_users, n_items, n_ratings, n_factors, test_size, schedule, timestamps)
    if need > cap:
        raise MemoryGuardError(
            f"training K={n_factors} on {n_ratings:,} ratings ({n_users:,} users x {n_items:,} items) "
            f"needs an estimated {human_bytes(need)} ({need:,} bytes), over the {human_bytes(cap)} cap "
            "per job: lower K or use fewer ratings.")
    return need


def check_dataset_memory(n_ratings: int, n_users: int, n_items: int, timestamps: bool = False,
                         cap: int | None = None) -> int:
    """The dataset's bytes; raises :class:`MemoryGuardError` naming the numbers when over ``cap``."""
    cap = memory_cap_bytes() if cap is None else cap
    need = dataset_bytes(n_ratings, n_users, n_items, timestamps)
    if need > cap:
        raise MemoryGuardError(
            f"the file holds {n_ratings:,} ratings ({n_users:,} users x {n_items:,} items), which take "
            f"{human_bytes(need)} ({need:,} bytes) in memory, over the {human_bytes(cap)} cap per "
            "dataset: upload a smaller sample.")
    return need


PYTHON_MAX_RATINGS = 100_000
"""The work guard of the GIL-bound ``python`` engine: at most this many training ratings per epoch
(about a second per epoch on this machine class), a uniform sample drawn with the run's seed."""


def work_sample(train, engine: str, seed: int = 0):
    """``(train, note)``: the training ratings an ``engine`` run may visit, and a sentence saying what
    was cut (empty when nothing was). Only the ``python`` engine is sampled, to
    :data:`PYTHON_MAX_RATINGS` ratings drawn without replacement by ``numpy.random.default_rng(seed)``."""
    import numpy as np

    if engine != "python" or len(train) <= PYTHON_MAX_RATINGS:
        return train, ""
    rows = np.sort(np.random.default_rng(seed).choice(len(train), PYTHON_MAX_RATINGS, replace=False))
    note = (f"The python engine trained on a random sample of {PYTHON_MAX_RATINGS:,} of the "
            f"{len(train):,} training ratings (its work limit on a shared server); the other engines "
            "use them all.")
    return train.take(rows), note
