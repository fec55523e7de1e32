"""The compiled kernels of the error schedules other than ``per-rating`` (see ``mfcore.engines``).

Same equations, order and arguments as the reference kernels in :mod:`mfcore.engines.python`
(``run_epoch_per_factor``, ``run_epoch_per_epoch``, ``run_epoch_funk``), compiled like
:func:`mfcore.engines.numba_jit.run_epoch`: float32 scalars and arrays, ratings pre-permuted.

Each parameter step is the shared scalar helper :func:`~mfcore.engines._update.sgd_step` (inlined,
scalars only, so it costs nothing; see :mod:`mfcore.engines._update`).
"""

import numpy as np
from numba import njit

from ._update import decay_factor, factor_steps, sgd_step


@njit(cache=True, nogil=True, fastmath=True)
def run_epoch_per_factor(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    """Per-factor schedule: the error is corrected in O(1) after each bias and factor update."""
    n_factors = P.shape[1]
    squared_error_sum = 0.0
    decay = decay_factor(lr, reg)
    for n in range(ratings.shape[0]):
        u = users[n]
        i = items[n]
        prediction = mu + bu[u] + bi[i]
        for k in range(n_factors):
            prediction += P[u, k] * Q[i, k]
        error = ratings[n] - prediction
        squared_error_sum += error * error
        if biased:
            old_bu = bu[u]
            old_bi = bi[i]
            bu[u] = sgd_step(old_bu, error, lr, reg)
            bi[i] = sgd_step(old_bi, error, lr, reg)
            error -= (bu[u] - old_bu) + (bi[i] - old_bi)
        for k in range(n_factors):
            p = P[u, k]
            q = Q[i, k]
            new_p, new_q = factor_steps(p, q, decay, lr * error)
            P[u, k] = new_p
            Q[i, k] = new_q
            error -= new_p * new_q - p * q
    return squared_error_sum


@njit(cache=True, nogil=True, fastmath=True)
def run_epoch_per_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    """Per-epoch schedule: all errors from the start-of-epoch parameters, then stale per-rating steps."""
    n_factors = P.shape[1]
    errors = np.empty(ratings.shape[0], dtype=P.dtype)
    squared_error_sum = 0.0
    decay = decay_factor(lr, reg)
    for n in range(ratings.shape[0]):
        u = users[n]
        i = items[n]
        prediction = mu + bu[u] + bi[i]
        for k in range(n_factors):
            prediction += P[u, k] * Q[i, k]
        errors[n] = ratings[n] - prediction
        squared_error_sum += errors[n] * errors[n]
    for n in range(ratings.shape[0]):
        u = users[n]
        i = items[n]
        error = errors[n]
        if biased:
            bu[u] = sgd_step(bu[u], error, lr, reg)
            bi[i] = sgd_step(bi[i], error, lr, reg)
        for k in range(n_factors):
            P[u, k], Q[i, k] = factor_steps(P[u, k], Q[i, k], decay, lr * error)
    return squared_error_sum


@njit(cache=True, nogil=True, fastmath=True)
def refresh_residuals(users, items, order, P, Q, residual, cached_feature, feature):
    """Cache sum_{k != feature} p_uk q_ik per training rating: O(K) once, then O(1) per feature change."""
    previous = cached_feature[0]
    if previous == feature:
        return
    n_factors = P.shape[1]
    for n in range(order.shape[0]):
        u = users[n]
        i = items[n]
        m = order[n]
        if previous < 0:
            total = 0.0
            for k in range(n_factors):
                if k != feature:
                    total += P[u, k] * Q[i, k]
            residual[m] = total
        else:
            residual[m] += P[u, previous] * Q[i, previous] - P[u, feature] * Q[i, feature]
    cached_feature[0] = feature


@njit(cache=True, nogil=True, fastmath=True)
def run_epoch_funk(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased,
                   order, residual, cached_feature, feature):
    """Funk schedule: one O(1)-per-rating pass training only ``feature``, other features cached."""
    refresh_residuals(users, items, order, P, Q, residual, cached_feature, feature)
    f = feature
    squared_error_sum = 0.0
    decay = decay_factor(lr, reg)
    for n in range(ratings.shape[0]):
        u = users[n]
        i = items[n]
        error = ratings[n] - (mu + bu[u] + bi[i] + residual[order[n]] + P[u, f] * Q[i, f])
        squared_error_sum += error * error
        if biased:
            bu[u] = sgd_step(bu[u], error, lr, reg)
            bi[i] = sgd_step(bi[i], error, lr, reg)
        P[u, f], Q[i, f] = factor_steps(P[u, f], Q[i, f], decay, lr * error)
    return squared_error_sum
