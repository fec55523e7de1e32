r"""Numba kernels of implicit ALS (Hu, Koren & Volinsky 2008) solved by conjugate gradient (Takács,
Pilászy & Tikk 2011).

One half-step updates every row :math:`x_u` of ``X`` with ``Y`` fixed. With :math:`c_{ui}` the
confidence of a positive (``conf``; 1 for every other cell) and :math:`p_{ui} = 1` on positives, 0
elsewhere, :math:`x_u` minimises :math:`\sum_i c_{ui}(p_{ui} - x_u^\top y_i)^2 + \lambda \lVert x_u
\rVert^2`, i.e. solves

.. math::
    A_u x_u = b_u, \qquad A_u = Y^\top Y + \lambda_u I + \sum_{i \in I_u} (c_{ui} - 1)\, y_i y_i^\top,
    \qquad b_u = \sum_{i \in I_u} c_{ui}\, y_i ,

with :math:`\lambda_u = \lambda\, |I_u|^\nu` (``reg_exponent`` :math:`\nu`: 0 is the paper's
constant :math:`\lambda`, 1 the weighted-:math:`\lambda` regularization of Zhou et al. 2008).

The "YtY trick": :math:`G = Y^\top Y` is formed once per half-step (``gram``), so a
product :math:`A_u v = G v + \lambda_u v + \sum_{i \in I_u} (c_{ui} - 1)(y_i^\top v)\, y_i` costs
:math:`O(K^2 + |I_u| K)` and :math:`A_u` is never built. ``cg_steps`` steps of conjugate gradient
start from the current :math:`x_u` (warm start: after the first epochs a few steps suffice).

Determinism: each row's solve reads only ``Y``, ``G`` and its own row, so the result does not depend
on the number of threads or their timing: :func:`half_step` cuts the rows into contiguous chunks of
about equal work (:func:`balanced_chunks`) and runs them on the engines' thread pool of ``nogil``
kernels (the same pool as ``numba-parallel``; no Numba threading layer, so several trainings may run
at once in one process, as the dashboard's job threads do).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .numba_parallel import _pool, _run_all, available_cores

__all__ = ["balanced_chunks", "exact_row", "gram", "half_step", "solve_range"]

FASTMATH = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}
"""Numba fast-math flags without "reassoc": a reduction keeps its order, so a row's result does not
depend on where its scratch vectors happen to be allocated (with "reassoc" LLVM may split a dot
product differently by alignment, and the same inputs gave different last bits)."""

CHUNKS_PER_THREAD = 4
"""Chunks of rows per thread in a half-step (a chunk is one task on the pool)."""


def gram(Y: np.ndarray, reg: float = 0.0) -> np.ndarray:
    r""":math:`Y^\top Y + \lambda I` in float32 (one BLAS call)."""
    G = (Y.T @ Y).astype(np.float32, copy=False)
    G[np.diag_indices_from(G)] += np.float32(reg)
    return G


def balanced_chunks(indptr: np.ndarray, n_factors: int, n_chunks: int) -> np.ndarray:
    """Boundaries (``n_chunks + 1`` row numbers) of contiguous row ranges of about equal cost, a row
    costing ``K + nnz`` (its Gram product plus its positives)."""
    rows = len(indptr) - 1
    cost = np.cumsum(np.diff(indptr) + n_factors, dtype=np.float64)
    total = cost[-1] if rows else 0.0
    cuts = np.searchsorted(cost, total * np.arange(1, n_chunks) / n_chunks)
    return np.unique(np.concatenate([[0], cuts, [rows]])).astype(np.int64)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gram_product(G, lam, v, out):
    # out = G v + lam v, as a sum of G's rows (G is symmetric): axpy loops, vectorised without
    # reassociating a reduction
    k = v.shape[0]
    for a in range(k):
        out[a] = lam * v[a]
    for b in range(k):
        vb = v[b]
        for a in range(k):
            out[a] += G[b, a] * vb


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _dot(Y, i, v):
    # y_i . v with 8 partial sums in a fixed pattern (vectorisable, and the same order every call)
    k = v.shape[0]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0.0)
    end = k - k % 8
    for a in range(0, end, 8):
        s0 += Y[i, a] * v[a]
        s1 += Y[i, a + 1] * v[a + 1]
        s2 += Y[i, a + 2] * v[a + 2]
        s3 += Y[i, a + 3] * v[a + 3]
        s4 += Y[i, a + 4] * v[a + 4]
        s5 += Y[i, a + 5] * v[a + 5]
        s6 += Y[i, a + 6] * v[a + 6]
        s7 += Y[i, a + 7] * v[a + 7]
    for a in range(end, k):
        s0 += Y[i, a] * v[a]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, start, stop):
    """Conjugate-gradient updates of rows ``start..stop-1`` of ``X`` (see the module docstring)."""
    k = X.shape[1]
    x = np.empty(k, np.float32)
    r = np.empty(k, np.float32)
    p = np.empty(k, np.float32)
    Ap = np.empty(k, np.float32)
    for u in range(start, stop):
        lo, hi = indptr[u], indptr[u + 1]
        if lo == hi:  # no positive: the minimum is x = 0
            for a in range(k):
                X[u, a] = 0
            continue
        lam = reg
        if exponent != 0:
            lam = reg * np.float32(hi - lo) ** exponent
        for a in range(k):
            x[a] = X[u, a]
        # r = b - A x
        _gram_product(G, lam, x, r)
        for a in range(k):
            r[a] = -r[a]
        for n in range(lo, hi):
            i = indices[n]
            c = conf[n]
            w = c - (c - 1) * _dot(Y, i, x)
            for a in range(k):
                r[a] += w * Y[i, a]
        rsold = np.float32(0.0)
        for a in range(k):
            p[a] = r[a]
            rsold += r[a] * r[a]
        if rsold < 1e-20:
            continue
        for _ in range(cg_steps):
            _gram_product(G, lam, p, Ap)
            for n in range(lo, hi):
                i = indices[n]
                w = (conf[n] - 1) * _dot(Y, i, p)
                for a in range(k):
                    Ap[a] += w * Y[i, a]
            pAp = np.float32(0.0)
            for a in range(k):
                pAp += p[a] * Ap[a]
            if pAp <= 0:
                break
            step = rsold / pAp
            rsnew = np.float32(0.0)
            for a in range(k):
                x[a] += step * p[a]
                r[a] -= step * Ap[a]
                rsnew += r[a] * r[a]
            if rsnew < 1e-20:
                break
            beta = rsnew / rsold
            for a in range(k):
                p[a] = r[a] + beta * p[a]
            rsold = rsnew
        for a in range(k):
            X[u, a] = x[a]


def half_step(indptr, indices, conf, X, Y, reg, exponent, cg_steps: int, n_threads: int | None = None) -> None:
    """Update every row of ``X`` in place (``Y`` fixed): :func:`gram`, then :func:`solve_range` on
    ``n_threads`` threads (None: every available core; 1: the calling thread)."""
    G = gram(Y)
    reg, exponent = np.float32(reg), np.float32(exponent)
    n_threads = available_cores() if n_threads is None else int(n_threads)
    if n_threads <= 1:
        solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, 0, X.shape[0])
        return
    bounds = balanced_chunks(indptr, X.shape[1], n_threads * CHUNKS_PER_THREAD)
    _run_all(_pool(n_threads), solve_range, [(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps,
                                              bounds[c], bounds[c + 1])
                                             for c in range(len(bounds) - 1)])


def exact_row(items: np.ndarray, conf: np.ndarray, Y: np.ndarray, reg: float, exponent: float = 0.0) -> np.ndarray:
    r"""The exact minimiser :math:`x = A^{-1} b` for one row (float64 dense solve): the closed form
    used to fold in a new user, and the reference the CG kernel is tested against."""
    Yi = Y[items].astype(np.float64)
    c = np.asarray(conf, np.float64)
    Y64 = Y.astype(np.float64)
    lam = reg * float(len(items)) ** exponent if len(items) else reg
    A = Y64.T @ Y64 + lam * np.eye(Y.shape[1]) + (Yi * (c - 1)[:, None]).T @ Yi
    return np.linalg.solve(A, Yi.T @ c)
