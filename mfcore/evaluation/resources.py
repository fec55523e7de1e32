r"""Resource guards: the peak memory a training will need, known before anything is allocated, and the
cap it is checked against.

:func:`training_peak_bytes` counts, for :math:`M` ratings split into :math:`N` training and
:math:`T` test ratings, :math:`U` users, :math:`I` items and :math:`K` factors (``float32`` factors,
``int32`` codes, ``float64`` NumPy temporaries):

.. math::
    D &= 12 M \ (+\, 8 M \text{ with timestamps}) &&\text{the split's train and test copies} \\
    F &= 4 (U + I)(K + 1) &&\text{factors } P, Q \text{ and biases} \\
    \text{split} &= 8 M + 20 N + 12 T &&\text{permutation, sorted rows, gathered columns (outputs included)} \\
    \text{init} &= \max(12 U K,\ 4 U K + 12 I K) &&\text{each factor matrix drawn in float64, cast} \\
    \text{index} &= 23 N + 4 U &&\text{the seen-pairs CSR matrix, built on the first recommendation} \\
    \text{epoch} &= 24 N + 4 N\,[\text{per-epoch, funk}] &&\text{the visiting order and its gathered copies} \\
    \text{evaluation} &= 56 T &&\text{the test predictions after each epoch} \\
    \text{grid} &= 32\, H \max(4, 2H)^2 &&\text{the block counts of } H > 1 \text{ threads (numba-parallel)}

and the peak is :math:`\max(\text{split},\ D + \text{init},\ D + F + \max(\text{index},\ \text{epoch},\
\text{evaluation}) + \text{grid})`, times ``1 + MARGIN`` (25%) for the allocator's and the page tables' slack. The
coefficients are the arrays the code allocates in each phase (``split.random_split``,
``model.initial_parameters``, the model's seen-pairs index, an epoch's plan with its evaluation);
``tests/test_resources.py`` checks that the estimate bounds the peak ``tracemalloc`` sees on a few sizes
(by at most 1.6x); ``benchmarks/memory_estimate.py`` also prints a fresh process's peak RSS growth beside
it (noisier: NumPy asks for transparent huge pages, granted as the machine's state allows). The loaded ratings are not
counted here: :func:`dataset_bytes` counts them when a file is uploaded.

Parsing a text file of :math:`B` bytes holding :math:`M` ratings (:func:`parse_peak_bytes`) keeps the
text, the streamed columns and then the duplicate check's keys (:mod:`mfcore.data.parse`,
:mod:`mfcore.data.build`):

.. math::
    \text{parse} = B + 1.05 \cdot 12 M\ (+\, 8 M \text{ with timestamps}) + 8 M + 2 \min(B,\ 4 \cdot 2^{23})

(the text; int32 user and item ids and float32 ratings presized 5% over the first block's rows per
byte; the int64 pair keys sorted in place; up to four 8 MiB blocks in flight on pyarrow's threads, each
with its converted columns, about as large as its text), times ``1 + MARGIN``.
:func:`check_dataset_memory` takes the larger of it and :func:`dataset_bytes` when it knows the file's
size; the CLI checks it before parsing a file (:func:`check_parse_memory`, :math:`M` estimated from
the first lines' length).

The cap (:func:`memory_cap_bytes`, defined in :mod:`mfcore.data.memory` so that the loader and the
model files use the same rule) is ``MF_MEMORY_CAP_BYTES`` if set, else :data:`CAP_FRACTION` of the
machine's physical memory: a shared server holds several sessions' datasets and jobs at once. The CLI,
one user's process, allows :data:`CLI_CAP_FRACTION` of it.
"""

from __future__ import annotations

import os

from ..data.memory import CAP_FRACTION, CLI_CAP_FRACTION, memory_cap_bytes, physical_memory_bytes  # noqa: F401 (re-exported)

from ..models.params import SPLIT_PARAMETERS

__all__ = [
    "MemoryGuardError",
    "check_dataset_memory",
    "check_parse_memory",
    "estimate_rows",
    "parse_peak_bytes",
    "check_training_memory",
    "dataset_bytes",
    "human_bytes",
    "memory_cap_bytes",
    "training_peak_bytes",
]

MARGIN = 0.25


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
                        test_size: float = SPLIT_PARAMETERS["test_size"].default, schedule: str = "per-rating",
                        timestamps: bool = False, n_threads: int = 1) -> int:
    """The estimated peak bytes one training allocates (the formula in the module docstring).
    ``n_threads`` is the parallel engine's thread count :math:`H` (1 for the other engines): its
    block grid has at least :math:`2H` blocks a side and each thread counts every cell, four
    ``int64`` arrays of :math:`H \times G^2` (counts, fills and their sums), so the memory grows with
    the cube of the thread count (300 threads: about 3.5 GB whatever the data)."""
    U, I, M, K = int(n_users), int(n_items), int(n_ratings), int(n_factors)
    T = round(test_size * M)
    N = M - T
    data = 12 * M + (8 * M if timestamps else 0)
    factors = 4 * (U + I) * (K + 1)
    split = 8 * M + 20 * N + 12 * T if T else 0
    init = max(12 * U * K, 4 * U * K + 12 * I * K)
    index = 23 * N + 4 * U
    schedule_state = 4 * N if schedule in ("per-epoch", "funk") else 0
    epoch = 24 * N + schedule_state
    evaluation = 56 * T
    H = max(1, int(n_threads))
    grid = 32 * H * max(4, 2 * H) ** 2 if H > 1 else 0
    peak = max(split, data + init, data + factors + max(index, epoch, evaluation) + grid)
    return int(peak * (1 + MARGIN))


def dataset_bytes(n_ratings: int, n_users: int, n_items: int, timestamps: bool = False,
                  id_bytes: int = 64) -> int:
    """Bytes a loaded dataset keeps: 12 per rating (two int32 codes and a float32), 8 more with
    timestamps, and ``id_bytes`` per distinct user or item id (the id arrays and their lookup index)."""
    return 12 * n_ratings + (8 * n_ratings if timestamps else 0) + id_bytes * (n_users + n_items)


PARSE_BLOCK_BYTES = 8 << 20
PARSE_BLOCKS_IN_FLIGHT = 4


def parse_peak_bytes(n_bytes: int, n_ratings: int, timestamps: bool = False) -> int:
    """The estimated peak bytes of parsing ``n_bytes`` of text holding ``n_ratings`` ratings into a
    dataset (the formula in the module docstring)."""
    B, M = int(n_bytes), int(n_ratings)
    columns = 1.05 * (12 * M + (8 * M if timestamps else 0))
    in_flight = min(B, PARSE_BLOCKS_IN_FLIGHT * PARSE_BLOCK_BYTES) * 2
    return int((B + columns + 8 * M + in_flight) * (1 + MARGIN))


def estimate_rows(path, sample_bytes: int = 1 << 20) -> int:
    """The number of lines in the text file ``path``: its size over the mean length of the lines in its
    first ``sample_bytes`` (exact for a file that short)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(sample_bytes)
    lines = head.count(b"\n")
    if size <= len(head) or lines == 0:
        return lines + (0 if head.endswith(b"\n") or not head else 1)
    return int(size / (len(head[:head.rfind(b"\n") + 1]) / lines))


def check_parse_memory(path, cap: int | None = None) -> int:
    """The estimated peak bytes of parsing the plain text file ``path`` (:func:`parse_peak_bytes`,
    the rows from :func:`estimate_rows`); raises :class:`MemoryGuardError` over ``cap``. Reads only the
    first MiB; 0 for a gzip or zip file (its unpacked size is not known up front)."""
    cap = memory_cap_bytes() if cap is None else cap
    with open(path, "rb") as handle:
        if handle.read(4)[:2] in (b"\x1f\x8b", b"PK"):  # gzip, zip: the size says little of the text's
            return 0
        first = handle.readline() + handle.readline()  # a header, or the first rating, and one more
    fields = max(len(line.replace(b"::", b",").replace(b"\t", b",").replace(b";", b",").split(b","))
                 for line in first.splitlines() or [b""])
    n_bytes, n_rows = os.path.getsize(path), estimate_rows(path)
    need = parse_peak_bytes(n_bytes, n_rows, timestamps=fields >= 4)  # a 4th column: the timestamps
    if need > cap:
        raise MemoryGuardError(
            f"parsing {os.path.basename(path)} ({human_bytes(n_bytes)}, about {n_rows:,} ratings) needs an "
            f"estimated {human_bytes(need)} ({need:,} bytes), over the {human_bytes(cap)} cap: use a smaller "
            "sample.")
    return need


def check_training_memory(n_users: int, n_items: int, n_ratings: int, n_factors: int,
                          test_size: float = SPLIT_PARAMETERS["test_size"].default, schedule: str = "per-rating",
                          timestamps: bool = False, cap: int | None = None, n_threads: int = 1) -> int:
    """The estimated peak bytes; raises :class:`MemoryGuardError` naming the numbers when over ``cap``
    (default :func:`memory_cap_bytes`). Allocates nothing."""
    cap = memory_cap_bytes() if cap is None else cap
    need = training_peak_bytes(n_users, n_items, n_ratings, n_factors, test_size, schedule, timestamps,
                               n_threads)
    if need > cap:
        raise MemoryGuardError(
            f"training K={n_factors} on {n_ratings:,} ratings ({n_users:,} users x {n_items:,} items"
            f"{f', {n_threads} threads' if n_threads > 1 else ''}) "
            f"needs an estimated {human_bytes(need)} ({need:,} bytes), over the {human_bytes(cap)} cap "
            f"per job: lower K{', use fewer threads' if n_threads > 1 else ''} or use fewer ratings.")
    return need


def check_dataset_memory(n_ratings: int, n_users: int, n_items: int, timestamps: bool = False,
                         cap: int | None = None, source_bytes: int | None = None) -> int:
    """The dataset's bytes, or its parse's peak when larger and ``source_bytes`` (the text's size) is
    given; raises :class:`MemoryGuardError` naming the numbers when over ``cap``."""
    cap = memory_cap_bytes() if cap is None else cap
    need = dataset_bytes(n_ratings, n_users, n_items, timestamps)
    if source_bytes is not None:
        need = max(need, parse_peak_bytes(source_bytes, n_ratings, timestamps))
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
    if engine != "python" or len(train) <= PYTHON_MAX_RATINGS:
        return train, ""
    note = (f"The python engine trained on a random sample of {PYTHON_MAX_RATINGS:,} of the "
            f"{len(train):,} training ratings (its work limit on a shared server); the other engines "
            "use them all.")
    return train.sample(PYTHON_MAX_RATINGS, seed), note
