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

The kernels take the triples already drawn (by the model, in Python, from its seeded generator) and
return the sum of :math:`-\ln\sigma(\hat x_{uij})` over them (the BPR loss before each step).

Determinism: :func:`run_epoch` with ``n_threads=1`` visits the triples in the given order on the
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

from .numba_parallel import _pool, available_cores

__all__ = ["is_positive", "run_epoch", "run_range", "triple_step", "user_steps"]


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
    pool = _pool(n_threads)
    futures = [pool.submit(run_range, users, positives, negatives, P, Q, b, lr, reg, bounds[t], bounds[t + 1])
               for t in range(n_threads)]
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
        u = users[n]
        j = candidates[n]
        lo = indptr[u]
        hi = indptr[u + 1]
        while lo < hi:
            mid = (lo + hi) >> 1
            if indices[mid] < j:
                lo = mid + 1
            else:
                hi = mid
        out[n] = lo < indptr[u + 1] and indices[lo] == j
