r"""Numba kernels of implicit ALS (Hu, Koren & Volinsky 2008) solved by conjugate gradient (Takács,
Pilászy & Tikk 2011).

One half-step updates every row :math:`x_u` of ``X`` with ``Y`` fixed. With :math:`c_{ui}` the
confidence of a positive (``conf``; 1 for every other cell) and :math:`p_{ui} = 1` on positives, 0
elsewhere, :math:`x_u` minimises :math:`\sum_i c_{ui}(p_{ui} - x_u^\top y_i)^2 + \lambda \lVert x_u
\rVert^2`, i.e. solves

.. math::
    A_u x_u = b_u, \qquad A_u = Y^\top Y + \lambda_u I + \sum_{i \in I_u} (c_{ui} - 1)\, y_i y_i^\top,
    \qquad b_u = \sum_{i \in I_u} c_{ui}\, y_i ,

with :math:`\lambda_u = \lambda\, (|I_u| + o)^\nu` (``reg_exponent`` :math:`\nu`: 0 is the paper's
constant :math:`\lambda`, 1 with :math:`o = 0` the weighted-:math:`\lambda` regularization of Zhou et
al. 2008; the offset :math:`o` is the frequency-scaled regularization of Rendle et al. 2021).

The "YtY trick": :math:`G = Y^\top Y` is formed once per half-step (``gram``), so a
product :math:`A_u v = G v + \lambda_u v + \sum_{i \in I_u} (c_{ui} - 1)(y_i^\top v)\, y_i` costs
:math:`O(K^2 + |I_u| K)` and :math:`A_u` is never built. ``cg_steps`` steps of conjugate gradient
start from the current :math:`x_u` (warm start: after the first epochs a few steps suffice).

Determinism: each row's solve reads only ``Y``, ``G`` and its own row, so the result does not depend
on the number of threads or their timing: :func:`half_step` cuts the rows into contiguous chunks of
about equal work (:func:`balanced_chunks`) that the threads claim one by one (:func:`solve_chunks`)
on the engines' thread pool of ``nogil`` kernels (the same pool as ``numba-parallel``; no Numba
threading layer, so several trainings may run at once in one process, as the dashboard's job
threads do).
"""

from __future__ import annotations

import threading

import numpy as np
from numba import config, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .numba_parallel import _pool, _run_all, available_cores

__all__ = ["balanced_chunks", "both_sides", "exact_row", "gram", "half_step", "solve_chunks", "solve_range"]

FASTMATH = True
"""Numba fast-math, reassociation included: the dot products vectorise with vector-width partial
sums. Every reduction (:func:`_dot`: the dots with :math:`y_i`, the Gram product's rows,
:math:`r^\top r`, :math:`p^\top A p`) is a loop that only reads memory, so its vectorised form is
chosen from ``K`` alone: no runtime aliasing check (LLVM adds one only to a loop that also stores)
and no alignment peeling (LLVM's x86 vectoriser uses unaligned loads) can send the same row down a
different summation order. The result is a function of the inputs and ``K``, whatever the addresses of
the arrays, the thread count or the chunking (tested: ``tests/engines/test_ranking_kernels.py``).
An earlier version summed ``r^\top r`` inside the loop that updates ``x`` and ``r``; the kernel now
keeps reductions and stores in separate loops."""

CHUNKS_PER_THREAD = 16
"""Chunks of rows per thread in a half-step. Each thread runs one compiled loop (:func:`solve_chunks`)
that claims the next unclaimed chunk with an atomic increment until none is left: on a shared machine
a thread that loses its core holds up the half-step by at most one chunk, 1/16 of its share (4 per
thread left a 2-thread fit slower than 1 thread under load), and a half-step costs one call per
thread from Python, not one per chunk (a call per chunk cost more than the solves on ML-100k)."""

if config.DISABLE_JIT:
    _claim_lock = threading.Lock()

    def _claim(counter):
        """Stand-in of the atomic increment: ``counter[0] += 1`` under a lock, the old value returned."""
        with _claim_lock:
            counter[0] += 1
            return counter[0] - 1
else:
    @intrinsic
    def _claim(typingctx, counter):
        """``counter[0] += 1`` as one atomic read-modify-write (int64), the old value returned."""
        if not (isinstance(counter, types.Array) and counter.ndim == 1 and counter.dtype == types.int64):
            return None

        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            pointer = cgutils.get_item_pointer(context, builder, signature.args[0], array,
                                               [context.get_constant(types.intp, 0)], wraparound=False)
            return builder.atomic_rmw("add", pointer, context.get_constant(types.int64, 1), "monotonic")

        return types.int64(counter), codegen


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


@njit(cache=True, nogil=True)
def _counting_order(keys, order, n_keys):
    # the positions of ``order`` stably sorted by ``keys[order]`` (one counting-sort pass), and the
    # row pointers of the keys
    indptr = np.zeros(n_keys + 1, np.int64)
    for n in range(order.shape[0]):
        indptr[keys[order[n]] + 1] += 1
    for key in range(n_keys):
        indptr[key + 1] += indptr[key]
    fill = indptr[:-1].copy()
    out = np.empty_like(order)
    for n in range(order.shape[0]):
        key = keys[order[n]]
        out[fill[key]] = order[n]
        fill[key] += 1
    return out, indptr


@njit(cache=True, nogil=True)
def _both_sides(users, items, conf, n_users, n_items):
    order = np.arange(users.shape[0])
    by_item, _ = _counting_order(items, order, n_items)
    by_user, user_ptr = _counting_order(users, by_item, n_users)  # sorted by (user, item)
    by_item, item_ptr = _counting_order(items, by_user, n_items)  # sorted by (item, user)
    return (user_ptr, items[by_user].astype(np.int32), conf[by_user],
            item_ptr, users[by_item].astype(np.int32), conf[by_item])


def both_sides(users: np.ndarray, items: np.ndarray, conf: np.ndarray, n_users: int, n_items: int):
    """The positives grouped both ways, each ``(indptr, indices, conf)``: by user (items sorted within a
    row) and by item (users sorted within a row); three stable counting-sort passes, :math:`O(n)`."""
    found = _both_sides(np.ascontiguousarray(users, np.int64), np.ascontiguousarray(items, np.int64),
                        np.ascontiguousarray(conf, np.float32), int(n_users), int(n_items))
    return found[:3], found[3:]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _dot(x, y):
    # x . y of two 1-d float32 arrays: a read-only reduction loop (see FASTMATH)
    s = np.float32(0.0)
    for a in range(x.shape[0]):
        s += x[a] * y[a]
    return s


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gram_product(G, lam, v, out):
    # out = G v + lam v, one read-only dot per row of G
    for a in range(v.shape[0]):
        out[a] = lam * v[a] + _dot(G[a], v)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, start, stop, offset=0.0):
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
            lam = reg * (np.float32(hi - lo) + np.float32(offset)) ** exponent
        for a in range(k):
            x[a] = X[u, a]
        # r = b - A x
        _gram_product(G, lam, x, r)
        for a in range(k):
            r[a] = -r[a]
        for n in range(lo, hi):
            i = indices[n]
            c = conf[n]
            w = c - (c - 1) * _dot(Y[i], x)
            for a in range(k):
                r[a] += w * Y[i, a]
        for a in range(k):
            p[a] = r[a]
        rsold = _dot(r, r)
        if rsold < 1e-20:
            continue
        for _ in range(cg_steps):
            _gram_product(G, lam, p, Ap)
            for n in range(lo, hi):
                i = indices[n]
                w = (conf[n] - 1) * _dot(Y[i], p)
                for a in range(k):
                    Ap[a] += w * Y[i, a]
            pAp = _dot(p, Ap)
            if pAp <= 0:
                break
            step = rsold / pAp
            for a in range(k):
                x[a] += step * p[a]
                r[a] -= step * Ap[a]
            rsnew = _dot(r, r)
            if rsnew < 1e-20:
                break
            beta = rsnew / rsold
            for a in range(k):
                p[a] = r[a] + beta * p[a]
            rsold = rsnew
        for a in range(k):
            X[u, a] = x[a]


@njit(cache=True, nogil=True)
def solve_chunks(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, bounds, counter, offset):
    """:func:`solve_range` on chunk after chunk (rows ``bounds[c]..bounds[c + 1] - 1``), each claimed
    by an atomic increment of ``counter[0]``, until every chunk is claimed: run by each thread."""
    while True:
        c = _claim(counter)
        if c >= bounds.shape[0] - 1:
            return
        solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, bounds[c], bounds[c + 1], offset)


def half_step(indptr, indices, conf, X, Y, reg, exponent, cg_steps: int, n_threads: int | None = None,
              offset: float = 0.0) -> None:
    """Update every row of ``X`` in place (``Y`` fixed): :func:`gram`, then :func:`solve_range` on
    ``n_threads`` threads (None: every available core; 1: the calling thread); ``offset`` :math:`o`
    is added to each row's count in its regularization, :math:`\\lambda_u = \\lambda (|I_u| + o)^\\nu`."""
    G = gram(Y)
    reg, exponent, offset = np.float32(reg), np.float32(exponent), np.float32(offset)
    n_threads = available_cores() if n_threads is None else int(n_threads)
    if n_threads <= 1:
        solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, 0, X.shape[0], offset)
        return
    bounds = balanced_chunks(indptr, X.shape[1], n_threads * CHUNKS_PER_THREAD)
    counter = np.zeros(1, np.int64)
    _run_all(_pool(n_threads), solve_chunks, [(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, bounds,
                                               counter, offset)] * n_threads)


def exact_row(items: np.ndarray, conf: np.ndarray, Y: np.ndarray, reg: float, exponent: float = 0.0,
              gram: np.ndarray | None = None, offset: float = 0.0) -> np.ndarray:
    r"""The exact minimiser :math:`x = A^{-1} b` for one row (float64 dense solve): the closed form
    used to fold in a new user, and the reference the CG kernel is tested against. ``gram``:
    :math:`Y^\top Y` in float64 when the caller has it (computed here otherwise)."""
    Yi = Y[items].astype(np.float64)
    c = np.asarray(conf, np.float64)
    if gram is None:
        Y64 = Y.astype(np.float64)
        gram = Y64.T @ Y64
    lam = reg * (float(len(items)) + offset) ** exponent if len(items) else reg
    A = gram + lam * np.eye(Y.shape[1]) + (Yi * (c - 1)[:, None]).T @ Yi
    return np.linalg.solve(A, Yi.T @ c)
