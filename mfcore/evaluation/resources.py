r"""Resource guards: the peak memory a training will need, known before anything is allocated, and the
cap it is checked against.

:func:`training_peak_bytes` counts, for :math:`M` ratings split into :math:`N` training and
:math:`T` test ratings, :math:`U` users, :math:`I` items and :math:`K` factors (``float32`` factors,
``int32`` codes, ``float64`` NumPy temporaries):

.. math::
    D &= 12 M \ (+\, 8 M \text{ with timestamps}) &&\text{the split's train and test copies} \\
    F &= 4 (U + I)(W + 1) &&\text{factors } P, Q \text{ (rows of } W \text{ floats) and biases} \\
    \text{split} &= 8 M + 20 N + 12 T &&\text{permutation, sorted rows, gathered columns (outputs included)} \\
    \text{init} &= \max(4 U W + 8 U K,\ 4 (U + I) W + 8 I K) &&\text{each factor matrix drawn in float64} \\
    \text{finish} &= 4 (U + I) K &&\text{the contiguous } P, Q \text{ made from padded rows} \\
    \text{index} &= 23 N + 4 U &&\text{the seen-pairs CSR matrix, built on the first recommendation} \\
    \text{epoch} &= 24 N + 4 N\,[\text{per-epoch, funk}] &&\text{the visiting order and its gathered copies} \\
    \text{evaluation} &= 56 T &&\text{the test predictions after each epoch} \\
    \text{grid} &= 32\, H \max(4, 2H)^2 &&\text{the block counts of } H > 1 \text{ threads (numba-parallel)}

with :math:`W` the stored row length (:func:`mfcore.engines.layout.row_length`: :math:`K` rounded up
to whole cache lines from :math:`K = 64`, as ``numba-parallel`` stores them), and the peak is
:math:`\max(\text{split},\ D + \text{init},\ D + F + \max(\text{index},\ \text{epoch},\
\text{evaluation},\ \text{finish}) + \text{grid})`, times ``1 + MARGIN`` (25%) for the allocator's and
the page tables' slack. The coefficients are the arrays the code allocates in each phase (``split.random_split``,
``model.initial_parameters``, the model's seen-pairs index, an epoch's plan with its evaluation);
``tests/evaluation/test_resources.py`` checks that the estimate bounds the peak ``tracemalloc`` sees on a few sizes
(by at most 1.6x); ``benchmarks/memory_estimate.py`` also prints a fresh process's peak RSS growth beside
it (noisier: NumPy asks for transparent huge pages, granted as the machine's state allows). The loaded ratings are not
counted here: :func:`dataset_bytes` counts them when a file is uploaded.

The ranking models (:func:`ranking_peak_bytes`: ``BPRFactorizer``, ``ALSFactorizer``, whose
``fit_iter`` ranks the test users' unseen items after every epoch) allocate other arrays. With
:math:`\Pi` the training positives (at most :math:`N`; the ratings at or above the positive level,
counted over the whole dataset when known, which bounds those of any split), :math:`T_+ = \min(T, \Pi)`
the test positives, :math:`\nu` BPR's ``negatives``, :math:`H` threads and :math:`B = \min(1024,\ U,\
\text{eval users})` the users scored at once (``topn_metrics``' batch,
:data:`~mfcore.models.topn_metrics.BATCH_USERS`; 0 without an evaluation):

.. math::
    S &= N + 8 \Pi + 8 (U + I) &&\text{fit\_iter's positive mask and pairs; positives per user, item} \\
    C_{bpr} &= 4 I + 8 U + 4 \Pi + \lceil U I / 8 \rceil\,[\le 64\text{ MiB}]
        &&\text{biases; the users' positives (CSR); the sampler's bitset} \\
    C_{als} &= 8 (U + I) + 12 \Pi &&\text{the positives by user and by item (CSR), their confidences} \\
    \text{build} &= 8 \Pi + 8 \max(U, I) &&\text{sorting the pairs into a CSR} \\
    \text{epoch}_{bpr} &= 16 \nu \Pi &&\text{the visiting order, its permutations, then its users, items} \\
    \text{epoch}_{als} &= 4 K^2 + [H > 1]\,(24 \max(U, I) + 16 K H)
        &&\text{the Gram matrix; the chunk plan; the CG vectors} \\
    \text{check} &= K \max(U, I) &&\text{the finiteness test of a factor matrix} \\
    \text{evaluation} &= 24 B I + 8 N + 24 T_+ + 8 U + 24 I
        &&\text{a batch's scores, their negation, its argpartition; seen and relevant CSRs}

and the peak is :math:`\max(\text{split},\ D + S + \text{init},\ D + S + F + C + \max(\text{build},\
\text{epoch}, \text{check}, \text{evaluation}))` with the split, :math:`D`, :math:`F` and init of the
rating model, times ``1 + MARGIN``. The item-item models (``ease``, ``itemknn``) have no factors
(:math:`F = \text{init} = 0`): :math:`C = 4 I^2 + 8 (U + \Pi)` (the float32 weights, the positives'
CSR) and the epoch is :func:`mfcore.models.neighbors.gram_peak_bytes`, :math:`32 I^2`; over the cap,
:func:`check_training_memory` says so in one sentence naming the item count. The evaluation's
:math:`24 B I` is the largest term on catalogues of many items (100,000 items: 2.4 GB before the margin
for the dashboard's 1,000 users), whatever the ratings. The CLI's
``train --model`` splits with ``holdout_positives`` (split :math:`= 14 M + 48 \Pi`: the positives'
rows, keys, order and ranks, the masks and the copies; :math:`N \le M`, :math:`T_+ \le \min(\Pi,\ t\Pi
+ U)`). ``tests/evaluation/test_resources_ranking.py`` checks the estimate against ``tracemalloc``'s
peak of ``fit_iter`` with the dashboard's evaluation (by at most 2x). Numba's own allocations (ALS's
four K-vectors per chunk) are not seen by ``tracemalloc``; they are counted in :math:`16 K H`.

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

import math
import os

import numpy as np

from ..data.memory import CAP_FRACTION, CLI_CAP_FRACTION, memory_cap_bytes, physical_memory_bytes  # noqa: F401 (re-exported)

from ..engines.layout import row_length
from ..models.params import SPLIT_PARAMETERS

__all__ = [
    "MemoryGuardError",
    "check_dataset_memory",
    "check_parse_memory",
    "estimate_rows",
    "parse_peak_bytes",
    "check_training_memory",
    "count_positives",
    "ranking_options",
    "ranking_peak_bytes",
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
    W = row_length(K)
    factors = 4 * (U + I) * (W + 1)
    split = 8 * M + 20 * N + 12 * T if T else 0
    init = max(4 * U * W + 8 * U * K, 4 * (U + I) * W + 8 * I * K)
    finish = 4 * (U + I) * K
    index = 23 * N + 4 * U
    schedule_state = 4 * N if schedule in ("per-epoch", "funk") else 0
    epoch = 24 * N + schedule_state
    evaluation = 56 * T
    H = max(1, int(n_threads))
    grid = 32 * H * max(4, 2 * H) ** 2 if H > 1 else 0
    peak = max(split, data + init, data + factors + max(index, epoch, evaluation, finish) + grid)
    return int(peak * (1 + MARGIN))


RANKING_KINDS = ("bpr", "als", "ease", "itemknn")
"""The ranking models :func:`ranking_peak_bytes` knows (``KIND`` of their classes)."""
ITEM_KINDS = ("ease", "itemknn")
"""The item-item models among them: memory grows with the items squared, not with K."""


def ranking_peak_bytes(kind: str, n_users: int, n_items: int, n_ratings: int, n_factors: int,
                       test_size: float = SPLIT_PARAMETERS["test_size"].default, timestamps: bool = False,
                       n_threads: int = 1, n_positives: int | None = None, negatives: int = 1,
                       eval_users: int | None = None, split: str = "random") -> int:
    r"""The estimated peak bytes of training ranking model ``kind`` (``bpr``, ``als``; ``ease`` and
    ``itemknn`` count their dense item-item matrices instead of factors) with its per-epoch
    evaluation (the formula in the module docstring). ``n_positives``: the ratings that are positives
    (None: every rating); ``negatives``: BPR's :math:`\nu`; ``n_threads``: :math:`H` (resolved, not
    None); ``eval_users``: at most this many test users ranked after each epoch (None: all of them; 0:
    no evaluation); ``split``: ``random`` (``random_split``, the dashboard's and Tune's) or
    ``positives`` (``holdout_positives``, the CLI's)."""
    if kind not in RANKING_KINDS:
        raise ValueError(f"kind == {kind!r}, must be one of {', '.join(RANKING_KINDS)}.")
    from ..engines.bpr import BITSET_MAX_BYTES
    from ..models.topn_metrics import BATCH_USERS

    U, I, M, K, H = int(n_users), int(n_items), int(n_ratings), int(n_factors), max(1, int(n_threads))
    every = M if n_positives is None else min(M, int(n_positives))
    data = 12 * M + (8 * M if timestamps else 0)
    if split == "positives":
        N, T = M, min(every, math.ceil(test_size * every) + U) if test_size > 0 else 0
        split_peak = 14 * M + 48 * every + (8 * M if timestamps else 0) if T else 0
    else:
        T = round(test_size * M)
        N = M - T
        split_peak = 8 * M + 20 * N + 12 * T if T else 0
    positives = min(N, every)
    test_positives = min(T, every)
    held = data + N + 8 * positives + 8 * (U + I)
    init = max(12 * U * K, 4 * U * K + 12 * I * K)
    factors = 4 * (U + I) * K
    build = 8 * positives + 8 * max(U, I)
    if kind in ITEM_KINDS:  # no factors: the item-item matrix, built densely (mfcore.models.neighbors)
        from ..models.neighbors import gram_peak_bytes
        factors = init = 0
        state = 4 * I * I + 8 * (U + positives)
        epoch = gram_peak_bytes(I)
    elif kind == "bpr":
        bits = (U * I + 7) >> 3
        state = 4 * I + 8 * U + 4 * positives + (bits if bits <= BITSET_MAX_BYTES else 0)
        epoch = 16 * max(1, int(negatives)) * positives
    else:
        state = 8 * (U + I) + 12 * positives
        epoch = 4 * K * K + (24 * max(U, I) + 16 * K * H if H > 1 else 0)
    check = K * max(U, I)
    batch = min(BATCH_USERS, U, BATCH_USERS if eval_users is None else int(eval_users))
    evaluation = 24 * batch * I + 8 * N + 24 * test_positives + 8 * U + 24 * I if T and batch > 0 else 0
    peak = max(split_peak, held + init, held + factors + state + max(build, epoch, check, evaluation))
    return int(peak * (1 + MARGIN))


def count_positives(ratings, positive_level: float | None, chunk: int = 1 << 20) -> int:
    """How many of ``ratings`` are positives for a ranking model of ``positive_level`` (its
    ``positive_mask``); counted ``chunk`` ratings at a time, so the count allocates at most ``chunk``
    bytes."""
    from ..models.ranking import positive_mask, positive_threshold

    threshold = positive_threshold(ratings.scale, positive_level)
    if threshold is None:
        return len(ratings)
    values = ratings.values
    return sum(int(np.count_nonzero(positive_mask(values[start:start + chunk], threshold)))
               for start in range(0, len(values), chunk))


def ranking_options(model, *ratings) -> dict:
    """The keyword arguments :func:`check_training_memory` needs for the ranking ``model`` (a
    ``BPRFactorizer`` or ``ALSFactorizer``, fitted or not) trained on ``ratings`` (every part of the
    data it is split from): its ``kind``, the positives among ``ratings`` (:func:`count_positives` at its
    ``positive_level``), BPR's ``negatives`` and its threads (``n_threads`` None: every available core)."""
    from ..engines.numba_parallel import available_cores

    threads = getattr(model, "n_threads", 1)  # the item-item models run on one thread
    return {"kind": model.KIND, "negatives": int(getattr(model, "negatives", 1)),
            "n_threads": available_cores() if threads is None else int(threads),
            "n_positives": sum(count_positives(part, model.positive_level) for part in ratings)}


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
                          timestamps: bool = False, cap: int | None = None, n_threads: int = 1, *,
                          kind: str = "sgd", n_positives: int | None = None, negatives: int = 1,
                          eval_users: int | None = None, split: str = "random") -> int:
    """The estimated peak bytes of training a model of ``kind`` (``sgd``: :func:`training_peak_bytes`;
    ``bpr``, ``als``: :func:`ranking_peak_bytes` with ``n_positives``, ``negatives``, ``eval_users``
    and ``split``); raises :class:`MemoryGuardError` naming the numbers when over ``cap`` (default
    :func:`memory_cap_bytes`). The one guard every training (Train, refit, Tune, Explore, the CLI)
    passes; allocates nothing."""
    cap = memory_cap_bytes() if cap is None else cap
    if kind == "sgd":
        need = training_peak_bytes(n_users, n_items, n_ratings, n_factors, test_size, schedule, timestamps,
                                   n_threads)
    else:
        need = ranking_peak_bytes(kind, n_users, n_items, n_ratings, n_factors, test_size, timestamps, n_threads,
                                  n_positives, negatives, eval_users, split)
    if need > cap and kind in ITEM_KINDS:
        raise MemoryGuardError(
            f"{kind.upper() if kind == 'ease' else 'item-kNN'} on {n_items:,} items needs its {n_items:,} x "
            f"{n_items:,} item-item matrix, an estimated {human_bytes(need)} in all, over the {human_bytes(cap)} "
            "cap per job: use ALS or BPR, whose memory grows with K instead of the items squared.")
    if need > cap:
        name = "" if kind == "sgd" else f"{kind.upper()} "
        raise MemoryGuardError(
            f"training {name}K={n_factors} on {n_ratings:,} ratings ({n_users:,} users x {n_items:,} items"
            f"{f', {n_threads} threads' if n_threads > 1 else ''}) "
            f"needs an estimated {human_bytes(need)} ({need:,} bytes), over the {human_bytes(cap)} cap "
            f"per job: lower K{', use fewer threads' if n_threads > 1 else ''} or use fewer ratings"
            f"{'' if kind == 'sgd' else ' or items'}.")
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
