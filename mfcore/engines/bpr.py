r"""Numba kernels of BPR (Rendle, Freudenthaler, Gantner & Schmidt-Thieme 2009): SGD on triples
(user :math:`u`, positive item :math:`i`, sampled negative item :math:`j`).

The model scores :math:`\hat x_{ui} = b_i + p_u^\top q_i`; for a triple,
:math:`\hat x_{uij} = \hat x_{ui} - \hat x_{uj}` and the step ascends
:math:`\ln \sigma(\hat x_{uij}) - \tfrac{\lambda}{2}(\lVert p_u\rVert^2 + \lVert q_i\rVert^2 +
\lVert q_j\rVert^2 + b_i^2 + b_j^2)`. With :math:`z = \sigma(-\hat x_{uij}) = 1/(1 + e^{\hat x_{uij}})`
(the derivative of :math:`\ln\sigma` at :math:`\hat x_{uij}`), :math:`\gamma` = ``lr`` and
:math:`\lambda` = ``reg``, using the values from before the step on the right-hand sides:

.. math::
    p_u &\leftarrow p_u + \gamma\,(z\,(q_i - q_j) - \lambda p_u) \\
    q_i &\leftarrow q_i + \gamma\,(z\,p_u - \lambda q_i), \qquad
    q_j \leftarrow q_j + \gamma\,(-z\,p_u - \lambda q_j) \\
    b_i &\leftarrow b_i + \gamma\,(z - \lambda b_i), \qquad
    b_j \leftarrow b_j + \gamma\,(-z - \lambda b_j)

:func:`run_epoch` takes the triples already drawn; :func:`run_epoch_sampled` takes the (user,
positive) pairs in their visiting order and draws each negative itself, just before its step: an item
uniform over all items from a xorshift64 generator (Marsaglia 2003; the multiply-shift map of Lemire
2019 to ``[0, n_items)``), redrawn while it is a positive of the user (at most :data:`MAX_REDRAWS`
redraws). The membership test reads one bit of a users x items bitset (:func:`positive_bits`) when that takes at most
:data:`BITSET_MAX_BYTES`, else binary-searches the user's sorted positives. Profiled on ML-1M (460k
positives, K=64): the separate rejection pass by binary search cost about as much as the SGD steps
(several dependent cache misses per lookup); the bitset lookup is one miss, about 10 times faster,
and drawing inside the loop saves the pass. Both return the sum of :math:`-\ln\sigma(\hat x_{uij})`
over the triples (the BPR loss before each step).

Determinism: the generator of each chunk of :func:`run_epoch_sampled` starts from a seed the model
draws from its ``np.random.default_rng(seed)``. :func:`run_epoch` and :func:`run_epoch_sampled` with
``n_threads=1`` visit the triples in the given order on the
calling thread and is bit-for-bit reproducible. With more threads it cuts the triples into one
contiguous chunk per thread and runs the chunks at once on the engines' thread pool of ``nogil``
kernels, without locks (Hogwild, Niu et al. 2011): two threads may update
the same item row at the same moment, so which update wins depends on thread timing and the result
varies in its last bits from run to run (the quality does not: the collisions are rare, as each step
touches 3 of thousands of rows). This is the same story as the peer library's multithreaded BPR.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .threads import available_cores, shared_pool

__all__ = ["BITSET_MAX_BYTES", "MAX_REDRAWS", "is_positive", "positive_bits", "run_epoch", "run_epoch_sampled",
           "run_range", "run_range_sampled", "triple_step", "user_steps"]

MAX_REDRAWS = 50
"""Redraws of a sampled negative that is a positive of its user, after which the last draw is kept."""

BITSET_MAX_BYTES = 64 << 20
"""The largest users x items bitset :func:`positive_bits` builds (64 MiB: 537M cells, e.g. ML-1M's
22M cells take 2.8 MB); beyond it the sampler binary-searches."""


@njit(cache=True, nogil=True)
def _fill_bits(indptr, indices, n_items, bits):
    for u in range(indptr.shape[0] - 1):
        for k in range(indptr[u], indptr[u + 1]):
            cell = u * np.int64(n_items) + indices[k]
            bits[cell >> 3] |= np.uint8(1 << (cell & 7))


def positive_bits(indptr, indices, n_items: int) -> np.ndarray:
    """Bit ``u * n_items + i`` set when item ``i`` is a positive of user ``u`` (``uint8`` array, bit
    ``c & 7`` of byte ``c >> 3``); an empty array when it would exceed :data:`BITSET_MAX_BYTES`."""
    size = ((len(indptr) - 1) * int(n_items) + 7) >> 3
    if size > BITSET_MAX_BYTES:
        return np.zeros(0, np.uint8)
    bits = np.zeros(size, np.uint8)
    _fill_bits(indptr, indices, n_items, bits)
    return bits


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _neg_log_sigmoid(x):
    # -ln sigma(x) = ln(1 + e^-x), computed without overflow
    if x > 0:
        return np.log1p(np.exp(-x))
    return -x + np.log1p(np.exp(x))


@njit(cache=True, nogil=True, fastmath=True)
def triple_step(P, Q, b, u, i, j, lr, reg):
    """One BPR step on the triple ``(u, i, j)`` (equations in the module docstring); returns
    :math:`-\\ln\\sigma(\\hat x_{uij})` before the step."""
    k = P.shape[1]
    x = b[i] - b[j]
    for a in range(k):
        x += P[u, a] * (Q[i, a] - Q[j, a])
    z = np.float32(1.0) / (np.float32(1.0) + np.exp(x))
    bi, bj = b[i], b[j]
    b[i] = bi + lr * (z - reg * bi)
    b[j] = bj + lr * (-z - reg * bj)
    for a in range(k):
        pu = P[u, a]
        qi = Q[i, a]
        qj = Q[j, a]
        P[u, a] = pu + lr * (z * (qi - qj) - reg * pu)
        Q[i, a] = qi + lr * (z * pu - reg * qi)
        Q[j, a] = qj + lr * (-z * pu - reg * qj)
    return _neg_log_sigmoid(x)


@njit(cache=True, nogil=True, fastmath=True)
def run_range(users, positives, negatives, P, Q, b, lr, reg, start, stop):
    loss = 0.0
    for n in range(start, stop):
        loss += triple_step(P, Q, b, users[n], positives[n], negatives[n], lr, reg)
    return loss


def run_epoch(users, positives, negatives, P, Q, b, lr, reg, n_threads: int | None = 1) -> float:
    """Every triple ``(users[n], positives[n], negatives[n])``: in order on the calling thread when
    ``n_threads`` is 1, else in ``n_threads`` contiguous chunks at once (Hogwild; None: every
    available core). Returns the summed loss :math:`\\sum -\\ln\\sigma(\\hat x_{uij})`."""
    n_threads = available_cores() if n_threads is None else int(n_threads)
    n = users.shape[0]
    if n_threads <= 1 or n < 2 * n_threads:
        return float(run_range(users, positives, negatives, P, Q, b, lr, reg, 0, n))
    bounds = np.linspace(0, n, n_threads + 1).astype(np.int64)
    pool = shared_pool(n_threads)
    futures = [pool.submit(run_range, users, positives, negatives, P, Q, b, lr, reg, bounds[t], bounds[t + 1])
               for t in range(n_threads)]
    return float(sum(future.result() for future in futures))


@njit(cache=True, nogil=True, inline="always")
def _member(indptr, indices, u, j):
    # whether j is among the sorted indices[indptr[u]:indptr[u + 1]] (binary search)
    lo = indptr[u]
    end = indptr[u + 1]
    hi = end
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == j


@njit(cache=True, nogil=True, fastmath=True)
def run_range_sampled(users, positives, indptr, indices, bits, P, Q, b, lr, reg, n_items, seed, start, stop):
    """Triples ``start..stop-1``: ``(users[n], positives[n])`` with a negative drawn here (module
    docstring), from a xorshift64 state started at ``seed``; ``bits`` from :func:`positive_bits`
    (empty: binary search). Returns the summed loss."""
    state = np.uint64(seed) | np.uint64(1)
    items = np.uint64(n_items)
    use_bits = bits.shape[0] > 0
    loss = 0.0
    for n in range(start, stop):
        u = users[n]
        j = 0
        for _ in range(MAX_REDRAWS + 1):
            state ^= state << np.uint64(13)
            state ^= state >> np.uint64(7)
            state ^= state << np.uint64(17)
            j = np.int64(((state >> np.uint64(32)) * items) >> np.uint64(32))
            if use_bits:
                cell = u * np.int64(n_items) + j
                if not (bits[cell >> 3] >> (cell & 7)) & 1:
                    break
            elif not _member(indptr, indices, u, j):
                break
        loss += triple_step(P, Q, b, u, positives[n], j, lr, reg)
    return loss


def run_epoch_sampled(users, positives, indptr, indices, bits, P, Q, b, lr, reg, seeds,
                      n_threads: int | None = 1) -> float:
    """Every ``(users[n], positives[n])`` with a negative drawn in the kernel (module docstring):
    in order on the calling thread when ``n_threads`` is 1 (generator seed ``seeds[0]``), else in
    ``n_threads`` contiguous chunks at once, chunk ``t`` with ``seeds[t]`` (Hogwild; None: every
    available core). ``(indptr, indices)``: each user's positives, sorted; ``bits``: the same as
    :func:`positive_bits` (or empty). Returns the summed loss."""
    n_threads = available_cores() if n_threads is None else int(n_threads)
    n, n_items = users.shape[0], Q.shape[0]
    if n_threads <= 1 or n < 2 * n_threads:
        return float(run_range_sampled(users, positives, indptr, indices, bits, P, Q, b, lr, reg, n_items,
                                       np.uint64(seeds[0]), 0, n))
    bounds = np.linspace(0, n, n_threads + 1).astype(np.int64)
    pool = shared_pool(n_threads)
    futures = [pool.submit(run_range_sampled, users, positives, indptr, indices, bits, P, Q, b, lr, reg, n_items,
                           np.uint64(seeds[t]), bounds[t], bounds[t + 1]) for t in range(n_threads)]
    return float(sum(future.result() for future in futures))


@njit(cache=True, nogil=True, fastmath=True)
def user_steps(p, positives, negatives, Q, b, lr, reg):
    r"""BPR steps on one user's vector ``p`` only, item factors ``Q`` and biases ``b`` fixed (folding in
    a new user): :math:`p \leftarrow p + \gamma(z (q_i - q_j) - \lambda p)` for each pair in order."""
    k = p.shape[0]
    for n in range(positives.shape[0]):
        i = positives[n]
        j = negatives[n]
        x = b[i] - b[j]
        for a in range(k):
            x += p[a] * (Q[i, a] - Q[j, a])
        z = np.float32(1.0) / (np.float32(1.0) + np.exp(x))
        for a in range(k):
            p[a] = p[a] + lr * (z * (Q[i, a] - Q[j, a]) - reg * p[a])


@njit(cache=True, nogil=True)
def is_positive(users, candidates, indptr, indices, out):
    """``out[n]`` = whether ``candidates[n]`` is a positive of ``users[n]`` (binary search in the
    user's sorted positives ``indices[indptr[u]:indptr[u + 1]]``)."""
    for n in range(users.shape[0]):
        out[n] = _member(indptr, indices, users[n], candidates[n])
