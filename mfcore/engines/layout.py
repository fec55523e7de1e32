"""How a training stores its factor matrices: rows padded to whole cache lines, starting on one.

A float32 row of K = 100 factors takes 400 bytes, so three rows in four start inside a 64-byte cache
line and every 64-byte vector load and store of such a row spans two lines. Stored with a row length
of 112 floats (7 whole lines) in an array that starts on a line boundary, every row starts on one and
no vector access splits. Measured on ML-1M with the default engine, AMD EPYC with AVX-512
(``benchmarks/engine_switch.py --switch padded_rows``, table in ``docs/benchmarks.md``): K = 100
about 1.1x the updates per second on 1 and 2 threads; K = 200 (rows of 800 bytes, half of them
split) within noise. Below
:data:`PADDED_MIN_FACTORS` the kernels loop over K in whole vectors anyway (and K = 32 measured no
gain), so rows stay unpadded and no memory is spent.

Pure NumPy: no kernel is imported (:mod:`mfcore.evaluation.resources` sizes memory with it).
"""

from __future__ import annotations

import numpy as np

CACHE_LINE_BYTES = 64
PADDED_MIN_FACTORS = 64
"""From this K on, a padded layout stores rows of :func:`row_length` floats."""


def row_length(n_factors: int, itemsize: int = 4) -> int:
    """Floats (of ``itemsize`` bytes) per stored row of a padded layout: ``n_factors`` rounded up to
    whole cache lines from :data:`PADDED_MIN_FACTORS` on (100 -> 112, 128 -> 128, 200 -> 208), else
    ``n_factors``."""
    if n_factors < PADDED_MIN_FACTORS:
        return int(n_factors)
    per_line = CACHE_LINE_BYTES // itemsize
    return -(-int(n_factors) // per_line) * per_line


def aligned_zeros(n_rows: int, n_columns: int, dtype=np.float32) -> np.ndarray:
    """A C-contiguous ``(n_rows, n_columns)`` array of zeros whose first element starts a cache line
    (NumPy's own allocations are only 16-byte aligned)."""
    dtype = np.dtype(dtype)
    size = n_rows * n_columns
    spare = CACHE_LINE_BYTES // dtype.itemsize
    buffer = np.zeros(size + spare, dtype)
    start = (-buffer.ctypes.data % CACHE_LINE_BYTES) // dtype.itemsize
    return buffer[start:start + size].reshape(n_rows, n_columns)
