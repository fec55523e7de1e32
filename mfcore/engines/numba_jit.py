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
from numba import literally, njit, typeof, types

from ._prefetch import prefetch_row
from ._rsqrt import inverse_sqrt
from ._update import cast_like, decay_factor, factor_steps, sgd_step

PREFETCH_DISTANCE = 8
"""How many ratings ahead :func:`sgd_pass` prefetches factor rows (best of 2, 4 and 8 measured on ML-1M;
4 and 16 measured again with the pipelined loop: within 3%)."""


@njit(cache=True, nogil=True, fastmath=True)
def sgd_pass(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, n_factors):
    r"""Per-rating SGD over ``users, items, ratings`` in order, same equations as
    :func:`mfcore.engines.python.run_epoch`; returns the sum of squared errors.

    Software-pipelined: the dot product :math:`p_{u'}^\top q_{i'}` of the *next* rating is computed
    before the current rating's update, so its loads and multiply-adds overlap the current update
    instead of waiting behind it. When the next rating shares the user (:math:`u' = u`) or the item
    (:math:`i' = i`) it is computed again after the update, so every error is taken with the factors
    exactly as the one-at-a-time loop leaves them: same numbers, up to the order of the dot product's
    float additions. Call it through :func:`run_epoch_k` so that ``n_factors`` is a compile-time
    constant: LLVM then unrolls each factor loop into whole vectors (K=100 on AVX-512: six 16-float
    FMAs and a 4-float tail; measured on ML-1M: 60 -> 40 cycles per update). The dot product is written
    out where it is needed rather than in a helper taking the arrays, which would reference-count them
    per rating."""
    n_ratings = ratings.shape[0]
    squared_error_sum = 0.0
    decay = decay_factor(lr, reg)
    dot = np.float32(0)
    if n_ratings > 0:
        u, i = np.uintp(users[0]), np.uintp(items[0])
        for k in range(n_factors):
            dot += P[u, k] * Q[i, k]
    for n in range(n_ratings):
        if n + PREFETCH_DISTANCE < n_ratings:
            prefetch_row(P, users[n + PREFETCH_DISTANCE], n_factors)
            prefetch_row(Q, items[n + PREFETCH_DISTANCE], n_factors)
        u = np.uintp(users[n])  # unsigned: no negative-index wraparound code per access
        i = np.uintp(items[n])
        following = min(n + 1, n_ratings - 1)
        next_u = np.uintp(users[following])
        next_i = np.uintp(items[following])
        next_dot = np.float32(0)
        for k in range(n_factors):
            next_dot += P[next_u, k] * Q[next_i, k]
        error = ratings[n] - (mu + bu[u] + bi[i] + dot)
        squared_error_sum += error * error
        if biased:
            bu[u] = sgd_step(bu[u], error, lr, reg)
            bi[i] = sgd_step(bi[i], error, lr, reg)
        step = lr * error
        for k in range(n_factors):
            P[u, k], Q[i, k] = factor_steps(P[u, k], Q[i, k], decay, step)
        if next_u == u or next_i == i:  # the next rating's row just changed
            next_dot = np.float32(0)
            for k in range(n_factors):
                next_dot += P[next_u, k] * Q[next_i, k]
        dot = next_dot
    return squared_error_sum


@njit(cache=True, nogil=True, fastmath=True)
def run_epoch_k(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, n_factors):
    """:func:`sgd_pass` compiled for ``n_factors`` (= ``P.shape[1]``) as a constant: one machine-code
    version per K, each compiled once and kept in Numba's disk cache."""
    literally(n_factors)
    return sgd_pass(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, n_factors)


@njit(inline="always", fastmath=True)
def adagrad_rate(lr, accumulated, estimate):
    r""":math:`\eta / \sqrt{G}`: with ``estimate`` through the CPU's 1/sqrt estimate
    (:func:`~._rsqrt.inverse_sqrt`), else exact. Scalars only, inlined into the kernel."""
    if estimate:
        return lr * inverse_sqrt(accumulated)
    return lr / np.sqrt(accumulated)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def adagrad_pass(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users, adagrad_items,
                 norms_users, norms_items, estimate, n_factors):
    r"""Per-rating SGD with AdaGrad step sizes per row (as LibMF; Duchi et al. 2011, Chin et al. 2015),
    in the order given; returns the sum of squared errors. Each user row keeps two accumulators in
    ``adagrad_users[u]`` (:math:`G_u` for :math:`p_u`, :math:`H_u` for :math:`b_u`; each item likewise),
    which start at 1. With :math:`e = r - (\mu + b_u + b_i + p_u^\top q_i)`, :math:`\eta` = ``lr``,
    :math:`\lambda` = ``reg``, the gradients :math:`g_p = e q_i - \lambda p_u`,
    :math:`g_q = e p_u - \lambda q_i` and old values on the right:

    .. math::
        p_u \leftarrow p_u + \frac{\eta}{\sqrt{G_u}} g_p, \quad
        G_u \leftarrow G_u + \tfrac1K \lVert g_p \rVert^2, \quad
        b_u \leftarrow b_u + \frac{\eta}{\sqrt{H_u}} (e - \lambda b_u), \quad
        H_u \leftarrow H_u + (e - \lambda b_u)^2

    and the same for :math:`q_i, G_i, b_i, H_i`. A row seen often takes ever smaller steps, a rare
    one keeps large ones, so one :math:`\eta` suits every row. :math:`\lVert g_p \rVert^2 = e^2
    \lVert q_i \rVert^2 - 2 e \lambda\, p_u^\top q_i + \lambda^2 \lVert p_u \rVert^2` needs the
    squared norms of the rows, which ``norms_users[u]`` :math:`= \lVert p_u \rVert^2` and
    ``norms_items[i]`` :math:`= \lVert q_i \rVert^2` carry along (:func:`squared_norms` before the
    pass): the step :math:`p_u' = a p_u + b q_i` (:math:`a = 1 - \gamma_u \lambda`, :math:`b = \gamma_u
    e`) gives :math:`\lVert p_u' \rVert^2 = a^2 \lVert p_u \rVert^2 + 2ab\, p_u^\top q_i + b^2
    \lVert q_i \rVert^2` from scalars already at hand, and likewise for :math:`q_i`. So the only
    loop over the K factors besides the update is the dot product (measured on ML-1M, K=100, AMD EPYC
    with AVX-512: 33 -> 29 ns per update against summing :math:`\lVert p_u \rVert^2, \lVert q_i
    \rVert^2` in the dot product's loop), and each factor still costs one multiply and one fused
    multiply-add per row in the update. With ``estimate`` the step sizes' :math:`1/\sqrt{G}` are the
    CPU's estimate in float32 on x86, as LibMF's (:func:`~._rsqrt.inverse_sqrt`: ``numba-parallel``,
    built for speed); without it (``numba``, which the Speed page checks against the python reference
    to float32 rounding) they are exact. Software-pipelined and prefetched like :func:`sgd_pass`."""
    n_ratings = ratings.shape[0]
    squared_error_sum = 0.0
    inverse_k = cast_like(lr, 1 / n_factors)
    zero = cast_like(lr, 0)  # the expansions of ||g||^2 and ||p'||^2 can round below 0 when their terms cancel
    dot = np.float32(0)
    if n_ratings > 0:
        u, i = np.uintp(users[0]), np.uintp(items[0])
        for k in range(n_factors):
            dot += P[u, k] * Q[i, k]
    for n in range(n_ratings):
        if n + PREFETCH_DISTANCE < n_ratings:
            prefetch_row(P, users[n + PREFETCH_DISTANCE], n_factors)
            prefetch_row(Q, items[n + PREFETCH_DISTANCE], n_factors)
        u = np.uintp(users[n])
        i = np.uintp(items[n])
        following = min(n + 1, n_ratings - 1)
        next_u = np.uintp(users[following])
        next_i = np.uintp(items[following])
        next_dot = np.float32(0)
        for k in range(n_factors):
            next_dot += P[next_u, k] * Q[next_i, k]
        error = ratings[n] - (mu + bu[u] + bi[i] + dot)
        squared_error_sum += error * error
        if biased:
            gu = error - reg * bu[u]
            gi = error - reg * bi[i]
            bu[u] += adagrad_rate(lr, adagrad_users[u, 1], estimate) * gu
            bi[i] += adagrad_rate(lr, adagrad_items[i, 1], estimate) * gi
            adagrad_users[u, 1] += gu * gu
            adagrad_items[i, 1] += gi * gi
        pp, qq = norms_users[u], norms_items[i]
        lr_p = adagrad_rate(lr, adagrad_users[u, 0], estimate)
        lr_q = adagrad_rate(lr, adagrad_items[i, 0], estimate)
        cross = (error + error) * reg * dot
        adagrad_users[u, 0] += max((error * error * qq - cross + reg * reg * pp) * inverse_k, zero)
        adagrad_items[i, 0] += max((error * error * pp - cross + reg * reg * qq) * inverse_k, zero)
        decay_p, decay_q = decay_factor(lr_p, reg), decay_factor(lr_q, reg)
        step_p, step_q = lr_p * error, lr_q * error
        norms_users[u] = max(decay_p * decay_p * pp + (decay_p + decay_p) * step_p * dot + step_p * step_p * qq, zero)
        norms_items[i] = max(decay_q * decay_q * qq + (decay_q + decay_q) * step_q * dot + step_q * step_q * pp, zero)
        for k in range(n_factors):
            p, q = P[u, k], Q[i, k]
            P[u, k] = p * decay_p + step_p * q
            Q[i, k] = q * decay_q + step_q * p
        if next_u == u or next_i == i:  # the next rating's row just changed
            next_dot = np.float32(0)
            for k in range(n_factors):
                next_dot += P[next_u, k] * Q[next_i, k]
        dot = next_dot
    return squared_error_sum


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def run_adagrad_k(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users, adagrad_items,
                  norms_users, norms_items, estimate, n_factors):
    """:func:`adagrad_pass` compiled for ``n_factors`` as a constant (see :func:`run_epoch_k`)."""
    literally(n_factors)
    return adagrad_pass(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users, adagrad_items,
                        norms_users, norms_items, estimate, n_factors)


@njit(cache=True, nogil=True, fastmath=True)
def row_norms(M, first, stop, out, n_factors):
    r""":math:`\lVert m_r \rVert^2` over the first ``n_factors`` columns of rows ``first..stop-1`` of
    ``M`` into ``out[r]``, in ``out``'s dtype."""
    for r in range(first, stop):
        out[r] = 0
        total = out[r]  # a zero of out's dtype
        for k in range(n_factors):
            total += M[r, k] * M[r, k]
        out[r] = total


@njit(cache=True, nogil=True, fastmath=True)
def squared_norms(M):
    r""":math:`\lVert m_r \rVert^2` of every row :math:`m_r` of ``M``, in ``M``'s dtype (:func:`row_norms`)."""
    out = np.empty(M.shape[0], dtype=M.dtype)
    row_norms(M, 0, M.shape[0], out, M.shape[1])
    return out


CONSTANT_K_FACTORS = (64, 100, 128, 200, 256)
"""The K values that get a kernel compiled for their K (``make install`` compiles them all:
:mod:`mfcore.models.warm`). Another K runs the same loop compiled for any K, unless the data is big
enough (:data:`CONSTANT_K_MIN_RATINGS`): a new K's compile holds the interpreter for about a second,
which a shared server's other pages and a search trying many K would feel."""
CONSTANT_K_MIN_FACTORS = 64
"""Below this K the kernel compiled for its K is slower than the one for any K, so it is never used:
ns per update on ML-1M, one thread, AMD EPYC with AVX-512 (``benchmarks/constant_k.py``), K
compiled in / any K: K=16 14.9 / 6.6, K=32 15.4 / 8.1, K=50 25.5 / 13.9; from K=64 the constant
wins: 10.9 / 14.0, K=100 15.9 / 21.6, K=256 40.6 / 45.2. (LLVM unrolls a short constant loop
into scalar code where the any-K loop keeps whole vectors.)"""
CONSTANT_K_MIN_RATINGS = 2_000_000
"""Ratings per epoch from which any K >= :data:`CONSTANT_K_MIN_FACTORS` gets its own kernel: at up to
30% fewer cycles per update, the compile (once per K and machine, then read from Numba's disk
cache) is paid back within one fit."""


def constant_k(n_factors: int, n_ratings: int) -> bool:
    """Whether the kernel for ``n_factors`` is compiled with K as a constant: K at least
    :data:`CONSTANT_K_MIN_FACTORS` and listed in :data:`CONSTANT_K_FACTORS` or trained on big data.
    The choice depends only on K and the data size, so a fit gives the same numbers wherever it runs;
    the two versions differ only in the order of a dot product's float additions."""
    return n_factors >= CONSTANT_K_MIN_FACTORS and (
        n_factors in CONSTANT_K_FACTORS or n_ratings >= CONSTANT_K_MIN_RATINGS)


_entries: dict = {}


def _kind(argument):
    """What Numba's ``typeof`` of ``argument`` depends on, read cheaply: an array's dtype, dimensions,
    layout and flags, else the argument's class (about 0.3 us against 10 us for ``typeof``)."""
    if isinstance(argument, np.ndarray):
        flags = argument.flags
        return argument.dtype.str, argument.ndim, flags.c_contiguous, flags.f_contiguous, flags.writeable, flags.aligned
    return type(argument)


def specialized(dispatcher, generic, arguments: tuple, n_factors: int, n_ratings: int):
    """The machine code to call with ``arguments`` and ``n_factors``: ``dispatcher``'s (whose last
    parameter ``n_factors`` it types as the constant ``Literal[int](n_factors)``) when
    :func:`constant_k`, else ``generic``'s (the same loop with K a plain integer). Compiled (or
    loaded from the disk cache) once and then called directly: a plain call with an int would go
    through Numba's literal-dispatch path, about 2.5 ms per call, on every call; the entries are
    found by what the arguments' types depend on (:func:`_kind`), since typing two dozen arguments
    with ``typeof`` costs about 0.25 ms, every epoch. Under ``NUMBA_DISABLE_JIT`` the Python function
    itself."""
    if not hasattr(dispatcher, "compile"):
        return dispatcher
    literal = constant_k(n_factors, n_ratings)
    key = (dispatcher, tuple(_kind(argument) for argument in arguments), n_factors if literal else None)
    entry = _entries.get(key)
    if entry is None:
        signature = tuple(typeof(argument) for argument in arguments)
        if literal:
            entry = dispatcher.compile((*signature, types.IntegerLiteral(n_factors)))
        else:
            entry = generic.compile((*signature, types.intp))
        _entries[key] = entry
    return entry


def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users=None, adagrad_items=None):
    """Per-rating SGD, same equations and order as :func:`mfcore.engines.python.run_epoch` (the
    kernel contract's signature; the loop is :func:`sgd_pass`, compiled for K = ``P.shape[1]`` when
    :func:`constant_k`); with the AdaGrad accumulators ``adagrad_users``, ``adagrad_items`` (the
    ``adagrad`` step rule) it is :func:`adagrad_pass`, given the rows' squared norms
    (:func:`squared_norms` of ``P`` and ``Q``, taken once per call)."""
    arguments = (users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased)
    if adagrad_users is not None:
        arguments += (adagrad_users, adagrad_items, squared_norms(P), squared_norms(Q), False)
        kernel = specialized(run_adagrad_k, adagrad_pass, arguments, P.shape[1], ratings.shape[0])
    else:
        kernel = specialized(run_epoch_k, sgd_pass, arguments, P.shape[1], ratings.shape[0])
    return kernel(*arguments, P.shape[1])


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


@njit(cache=True, nogil=True, fastmath=True)
def clipped_error_sums(users, items, values, mu, bu, bi, P, Q, low, high):
    r"""``(sum of squared errors, sum of absolute errors)`` of the clipped predictions
    :math:`\min(\max(\mu + b_u + b_i + p_u^\top q_i, \text{low}), \text{high})` against ``values``,
    in one pass (float32 predictions as :meth:`~mfcore.models.SGDFactorizer.predict_codes` makes them,
    float64 sums). Codes must be valid (>= 0). The NumPy way materialises five temporary arrays per
    call, which at 10M test ratings made the per-epoch test RMSE cost about 3 epochs of training."""
    n_factors = P.shape[1]
    squared = 0.0
    absolute = 0.0
    for n in range(users.shape[0]):
        u = users[n]
        i = items[n]
        dot = np.float32(0)
        for k in range(n_factors):
            dot += P[u, k] * Q[i, k]
        prediction = min(max(mu + bu[u] + bi[i] + dot, low), high)
        error = np.float64(values[n]) - np.float64(prediction)
        squared += error * error
        absolute += abs(error)
    return squared, absolute
