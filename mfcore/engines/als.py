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

Blocks: :func:`solve_range` solves the rows of each block of :data:`BLOCK` consecutive rows
(``BLOCK * b`` to ``BLOCK * b + BLOCK - 1``) in lockstep, each with its own :math:`\lambda_u`, step
sizes and stopping: the Gram products of the block's rows are one small matrix product
(:func:`_gram_products`, each row of :math:`G` read once per block instead of once per row), and the
positives of a row are taken four at a time (:func:`_add_positives`: four dots in one loop, one pass
over the output). A row's arithmetic is the same whatever the other rows of its block (a row that has
converged, or lies outside ``start..stop``, rides along as zeros).

Determinism: each row's solve reads only ``Y``, ``G`` and its own row, and a row always takes the same
place in its block (row ``u`` is place ``u mod BLOCK``), so the result does not depend on the number
of threads or their timing: :func:`half_step` cuts the rows into contiguous chunks of about equal work
(:func:`balanced_chunks`, cut at multiples of :data:`BLOCK`) that the threads claim one by one
(:func:`solve_chunks`) on the engines' thread pool of ``nogil`` kernels (the same pool as
``numba-parallel``; no Numba threading layer, so several trainings may run at once in one process, as
the dashboard's job threads do).
"""

from __future__ import annotations

import threading

import numpy as np
from numba import config, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .threads import available_cores, shared_pool

__all__ = ["balanced_chunks", "both_sides", "exact_row", "gram", "half_step", "solve_chunks", "solve_range"]

FASTMATH = True
"""Numba fast-math, reassociation included: the dot products vectorise with vector-width partial
sums. Every reduction (:func:`_dot` and the four dots of :func:`_add_positives`: the dots with
:math:`y_i`, :math:`r^\top r`, :math:`p^\top A p`) is a loop that only reads memory, so its vectorised
form is chosen from ``K`` alone: no runtime aliasing check (LLVM adds one only to a loop that also
stores) and no alignment peeling (LLVM's x86 vectoriser uses unaligned loads) can send the same row
down a different summation order. The loops that store (the Gram products, the positives added into
a vector, the updates of ``x``, ``r`` and ``p``) reduce nothing: each element is its own sum, in an
order fixed when the loop is compiled, once for each place of a block (so a row keeps its place). The
result is a function of the inputs and ``K``, whatever the addresses of the arrays, the thread count
or the chunking (tested: ``tests/engines/test_ranking_kernels.py``)."""

BLOCK = 8
"""Rows solved in lockstep by :func:`solve_range` (a multiple of 4): their Gram products read each row
of :math:`G` (64 KiB at K = 128: from L2, not L1) once for all of them."""

ONE = np.float32(1.0)
"""1 in float32: ``c - ONE`` keeps a confidence's arithmetic in float32 (``c - 1`` is float64 in Numba)."""

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


def balanced_chunks(indptr: np.ndarray, n_factors: int, n_chunks: int, multiple: int = 1) -> np.ndarray:
    """Boundaries (at most ``n_chunks + 1`` row numbers) of contiguous row ranges of about equal cost, a
    row costing ``K + nnz`` (its Gram product plus its positives), each inner boundary a multiple of
    ``multiple``."""
    rows = len(indptr) - 1
    cost = np.cumsum(np.diff(indptr) + n_factors, dtype=np.float64)
    total = cost[-1] if rows else 0.0
    cuts = np.searchsorted(cost, total * np.arange(1, n_chunks) / n_chunks)
    cuts = np.minimum(cuts - cuts % multiple, rows)
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gram_products(G, V, lam, out):
    # out[j] = G V[j] + lam[j] V[j] for the BLOCK rows j of V: G symmetric, so G v = sum_a v[a] G[a],
    # added four rows of G at a time into four rows of out at a time (every G row read once per block
    # from L2, every product of the block's four rows and G's four rows kept in registers; no reduction)
    k = G.shape[0]
    k4 = k - k % 4
    for j in range(V.shape[0]):
        for c in range(k):
            out[j, c] = lam[j] * V[j, c]
    for j in range(0, V.shape[0], 4):
        o0, o1, o2, o3 = out[j], out[j + 1], out[j + 2], out[j + 3]
        v0, v1, v2, v3 = V[j], V[j + 1], V[j + 2], V[j + 3]
        for a in range(0, k4, 4):
            g0, g1, g2, g3 = G[a], G[a + 1], G[a + 2], G[a + 3]
            e00, e01, e02, e03 = v0[a], v0[a + 1], v0[a + 2], v0[a + 3]
            e10, e11, e12, e13 = v1[a], v1[a + 1], v1[a + 2], v1[a + 3]
            e20, e21, e22, e23 = v2[a], v2[a + 1], v2[a + 2], v2[a + 3]
            e30, e31, e32, e33 = v3[a], v3[a + 1], v3[a + 2], v3[a + 3]
            for c in range(k):
                h0, h1, h2, h3 = g0[c], g1[c], g2[c], g3[c]
                o0[c] += e00 * h0 + e01 * h1 + e02 * h2 + e03 * h3
                o1[c] += e10 * h0 + e11 * h1 + e12 * h2 + e13 * h3
                o2[c] += e20 * h0 + e21 * h1 + e22 * h2 + e23 * h3
                o3[c] += e30 * h0 + e31 * h1 + e32 * h2 + e33 * h3
        for a in range(k4, k):
            g0 = G[a]
            e00, e10, e20, e30 = v0[a], v1[a], v2[a], v3[a]
            for c in range(k):
                h0 = g0[c]
                o0[c] += e00 * h0
                o1[c] += e10 * h0
                o2[c] += e20 * h0
                o3[c] += e30 * h0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _add_positives(indices, conf, lo, hi, Y, v, out, rhs):
    # out += sum_n w_n y_n over the positives n = lo..hi-1 (y_n = Y[indices[n]], c_n = conf[n]) with
    # w_n = (c_n - 1) y_n.v (the positives' part of A v), or with rhs w_n = c_n - (c_n - 1) y_n.v (b
    # minus that part): four positives at a time, their four dots in one read-only loop, then one pass
    # over out
    k = Y.shape[1]
    n = lo
    while n + 4 <= hi:
        y0, y1, y2, y3 = Y[indices[n]], Y[indices[n + 1]], Y[indices[n + 2]], Y[indices[n + 3]]
        s0 = s1 = s2 = s3 = np.float32(0.0)
        for a in range(k):
            va = v[a]
            s0 += y0[a] * va
            s1 += y1[a] * va
            s2 += y2[a] * va
            s3 += y3[a] * va
        c0, c1, c2, c3 = conf[n], conf[n + 1], conf[n + 2], conf[n + 3]
        w0, w1, w2, w3 = (c0 - ONE) * s0, (c1 - ONE) * s1, (c2 - ONE) * s2, (c3 - ONE) * s3
        if rhs:
            w0, w1, w2, w3 = c0 - w0, c1 - w1, c2 - w2, c3 - w3
        for a in range(k):
            out[a] += w0 * y0[a] + w1 * y1[a] + w2 * y2[a] + w3 * y3[a]
        n += 4
    while n < hi:
        y0 = Y[indices[n]]
        w0 = (conf[n] - ONE) * _dot(y0, v)
        if rhs:
            w0 = conf[n] - w0
        for a in range(k):
            out[a] += w0 * y0[a]
        n += 1


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, start, stop, offset=0.0):
    """Conjugate-gradient updates of rows ``start..stop-1`` of ``X`` (see the module docstring), the
    rows of each block ``BLOCK * b .. BLOCK * b + BLOCK - 1`` in lockstep."""
    k = X.shape[1]
    x = np.zeros((BLOCK, k), np.float32)
    r = np.zeros((BLOCK, k), np.float32)
    p = np.zeros((BLOCK, k), np.float32)
    Ap = np.zeros((BLOCK, k), np.float32)
    lam = np.zeros(BLOCK, np.float32)
    rsold = np.zeros(BLOCK, np.float32)
    live = np.zeros(BLOCK, np.bool_)
    for first in range(start - start % BLOCK, stop, BLOCK):
        for j in range(BLOCK):  # a row outside start..stop or without a positive is not live: x = 0
            u = first + j
            live[j] = start <= u < stop and indptr[u] < indptr[u + 1]
            lam[j] = 0
            for a in range(k):
                x[j, a] = 0
            if start <= u < stop and not live[j]:  # no positive: the minimum is x = 0
                for a in range(k):
                    X[u, a] = 0
            if live[j]:
                lam[j] = reg
                if exponent != 0:
                    lam[j] = reg * (np.float32(indptr[u + 1] - indptr[u]) + np.float32(offset)) ** exponent
                for a in range(k):
                    x[j, a] = X[u, a]
        _gram_products(G, x, lam, r)  # r = b - A x
        for j in range(BLOCK):
            if live[j]:
                u = first + j
                for a in range(k):
                    r[j, a] = -r[j, a]
                _add_positives(indices, conf, indptr[u], indptr[u + 1], Y, x[j], r[j], True)
                for a in range(k):
                    p[j, a] = r[j, a]
                rsold[j] = _dot(r[j], r[j])
                live[j] = rsold[j] >= 1e-20
            if not live[j]:
                for a in range(k):
                    p[j, a] = 0
        for _ in range(cg_steps):
            _gram_products(G, p, lam, Ap)
            for j in range(BLOCK):
                if not live[j]:
                    continue
                u = first + j
                _add_positives(indices, conf, indptr[u], indptr[u + 1], Y, p[j], Ap[j], False)
                pAp = _dot(p[j], Ap[j])
                if pAp > 0:
                    step = rsold[j] / pAp
                    for a in range(k):
                        x[j, a] += step * p[j, a]
                        r[j, a] -= step * Ap[j, a]
                    rsnew = _dot(r[j], r[j])
                    if rsnew >= 1e-20:
                        beta = rsnew / rsold[j]
                        for a in range(k):
                            p[j, a] = r[j, a] + beta * p[j, a]
                        rsold[j] = rsnew
                        continue
                live[j] = False  # converged (or A p not positive): this row's solve ends here
                for a in range(k):
                    p[j, a] = 0
        for j in range(BLOCK):
            u = first + j
            if start <= u < stop and indptr[u] < indptr[u + 1]:
                for a in range(k):
                    X[u, a] = x[j, a]


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
    ``n_threads`` threads, the calling thread one of them (None: every available core; 1: the calling
    thread alone); ``offset`` :math:`o` is added to each row's count in its regularization,
    :math:`\\lambda_u = \\lambda (|I_u| + o)^\\nu`."""
    G = gram(Y)
    reg, exponent, offset = np.float32(reg), np.float32(exponent), np.float32(offset)
    n_threads = available_cores() if n_threads is None else int(n_threads)
    if n_threads <= 1:
        solve_range(indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, 0, X.shape[0], offset)
        return
    bounds = balanced_chunks(indptr, X.shape[1], n_threads * CHUNKS_PER_THREAD, BLOCK)
    counter = np.zeros(1, np.int64)
    call = (indptr, indices, conf, X, Y, G, reg, exponent, cg_steps, bounds, counter, offset)
    pool = shared_pool(n_threads - 1)
    helpers = [pool.submit(solve_chunks, *call) for _ in range(n_threads - 1)]
    try:
        solve_chunks(*call)
    finally:
        for helper in helpers:
            helper.result()


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
