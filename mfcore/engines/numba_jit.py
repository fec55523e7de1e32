"""The compiled engine: the reference loop compiled by Numba to float32 machine code.

Fast because (1) nothing goes through the interpreter, (2) the loop over the K factors compiles to
packed SIMD fused multiply-adds (``fastmath`` lets LLVM reassociate the dot product), (3) everything is
float32, so twice as many lanes per vector and half the memory traffic, and (4) the training loop hands
the kernel ratings already permuted for the epoch, so ``users, items, ratings`` are read sequentially,
and (5) the factor rows of the rating a few positions ahead are prefetched, so their cache misses
overlap the current rating's arithmetic (the rows are visited in random order and do not fit in L2).
Scalars must arrive as float32 (the training loop casts them): a float64 ``lr`` would promote the
inner loop to float64 and halve its speed.
"""

import numpy as np
from numba import njit

from ._prefetch import prefetch_row
from ._update import decay_factor, factor_steps, sgd_step

PREFETCH_DISTANCE = 8
"""How many ratings ahead :func:`run_epoch` prefetches factor rows (best of 2, 4 and 8 measured on ML-1M)."""


@njit(cache=True, nogil=True, fastmath=True)
def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    """Per-rating SGD, same equations and order as :func:`mfcore.engines.python.run_epoch`."""
    n_factors = P.shape[1]
    n_ratings = ratings.shape[0]
    squared_error_sum = 0.0
    decay = decay_factor(lr, reg)
    for n in range(n_ratings):
        if n + PREFETCH_DISTANCE < n_ratings:
            prefetch_row(P, users[n + PREFETCH_DISTANCE])
            prefetch_row(Q, items[n + PREFETCH_DISTANCE])
        u = users[n]
        i = items[n]
        prediction = mu + bu[u] + bi[i]
        for k in range(n_factors):
            prediction += P[u, k] * Q[i, k]
        error = ratings[n] - prediction
        squared_error_sum += error * error
        if biased:
            bu[u] = sgd_step(bu[u], error, lr, reg)
            bi[i] = sgd_step(bi[i], error, lr, reg)
        for k in range(n_factors):
            P[u, k], Q[i, k] = factor_steps(P[u, k], Q[i, k], decay, lr * error)
    return squared_error_sum


@njit(cache=True, nogil=True, fastmath=True)
def row_dots(users, items, P, Q):
    """p_u . q_i for each pair (users[n], items[n]); codes must be valid."""
    out = np.empty(users.shape[0], dtype=P.dtype)
    n_factors = P.shape[1]
    for n in range(users.shape[0]):
        u = users[n]
        i = items[n]
        out[n] = 0
        for k in range(n_factors):
            out[n] += P[u, k] * Q[i, k]
    return out
