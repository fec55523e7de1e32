"""The passes that group a ``numba-parallel`` training's ratings into blocks once per fit
(:class:`~.numba_parallel.BlockPlan`): balanced runs of codes, each rating's cell, and the ratings
placed cell by cell in a random order (compiled), and :func:`group_shuffled`, which runs them.
Sequential reads of the ratings; no kernel of an epoch."""

import numpy as np
from numba import njit

from .threads import run_all


@njit(cache=True, nogil=True)
def balanced_blocks(codes, n_codes, n_blocks):
    """Block of every code: ``n_blocks`` runs of consecutive codes with about equal rating counts."""
    counts = np.zeros(n_codes, np.int64)
    for n in range(codes.shape[0]):
        counts[codes[n]] += 1
    block_of = np.empty(n_codes, np.int32)
    total = codes.shape[0]
    running = 0
    for c in range(n_codes):
        block = (running * n_blocks) // max(total, 1)
        block_of[c] = min(block, n_blocks - 1)
        running += counts[c]
    return block_of


@njit(cache=True, nogil=True)
def count_cells(users, items, user_key, item_key, start, stop, cell, counts):
    """Cell ``user_key[u] + item_key[i]`` of the ratings ``start:stop`` into ``cell[start:stop]``, and how
    many per cell into ``counts``. The ratings are read in their stored order (sequential reads)."""
    for j in range(start, stop):
        c = user_key[users[j]] + item_key[items[j]]
        cell[j] = c
        counts[c] += 1


@njit(cache=True, nogil=True)
def scatter_shuffled(users, items, ratings, cell, bounds, first, last, uniforms, out_users, out_items, out_ratings):
    r"""Every rating of a cell ``c`` in ``first..last-1`` put into its cell's slice
    ``bounds[c]:bounds[c + 1]`` of the ``out_`` columns in a uniformly random order: the "inside-out"
    Fisher-Yates shuffle of the cell's ratings taken in their stored order. The :math:`k`-th rating
    of a cell (counted from 0) goes to position :math:`k` of the slice, after the rating at position
    :math:`j = \lfloor x (k + 1) \rfloor` has moved there and it takes :math:`j` instead, with
    :math:`x` = ``uniforms[bounds[c] + k]``. The draw of a rating depends on its place in its cell only,
    so splitting the cells over threads does not change the result.

    Two passes: the ratings go to their cells' slices in their stored order (sequential reads, one
    write stream per cell), then each slice is shuffled from a copy of it, the slice and the copy
    small enough to stay in cache while their random positions are visited (placing each rating at
    its random position straight from the stored order costs a cache miss per rating and column once
    the ratings outgrow the cache). ML-1M's 900k training ratings in 256 cells: 27 against 9 ms when
    the ratings come in no order; as a split leaves them, user by user (so only one user block's cells
    fill at a time), about 11 ms either way."""
    fill = bounds[:-1].copy()
    for n in range(cell.shape[0]):
        c = cell[n]
        if c < first or c >= last:
            continue
        at = fill[c]
        out_users[at] = users[n]
        out_items[at] = items[n]
        out_ratings[at] = ratings[n]
        fill[c] = at + 1
    largest = 0
    for c in range(first, last):
        largest = max(largest, bounds[c + 1] - bounds[c])
    stored_users = np.empty(largest, out_users.dtype)
    stored_items = np.empty(largest, out_items.dtype)
    stored_ratings = np.empty(largest, out_ratings.dtype)
    for c in range(first, last):
        start = bounds[c]
        size = bounds[c + 1] - start
        stored_users[:size] = out_users[start:start + size]
        stored_items[:size] = out_items[start:start + size]
        stored_ratings[:size] = out_ratings[start:start + size]
        for k in range(size):
            at = start + k
            j = start + min(np.int64(uniforms[at] * (k + 1)), k)
            out_users[at] = out_users[j]
            out_items[at] = out_items[j]
            out_ratings[at] = out_ratings[j]
            out_users[j] = stored_users[k]
            out_items[j] = stored_items[k]
            out_ratings[j] = stored_ratings[k]


def group_shuffled(rng: np.random.Generator, users, items, ratings, user_key, item_key, n_cells: int,
                   n_threads: int = 1, pool=None):
    """The ratings grouped cell by cell (cell ``user_key[u] + item_key[i]``, ``n_cells`` of them), every
    cell's ratings in a uniformly random order (:func:`scatter_shuffled`), and the cells' bounds. One
    draw of float32 uniforms from ``rng`` (4 bytes per rating; with a cell under 2^24 ratings the
    rounding bias of a float32 draw is below 1e-7 per swap). The counting and the cells are split over
    ``n_threads`` (about equal ratings each), which does not change the result."""
    n = len(ratings)
    edges = np.linspace(0, n, n_threads + 1).astype(np.int64)
    cell = np.empty(n, np.int32)
    counts = np.zeros((n_threads, n_cells), np.int64)
    run_all(pool, count_cells, [(users, items, user_key, item_key, edges[t], edges[t + 1], cell, counts[t])
                                for t in range(n_threads)])
    bounds = np.zeros(n_cells + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=bounds[1:])
    uniforms = rng.random(n, dtype=np.float32)
    out = np.empty_like(users), np.empty_like(items), np.empty_like(ratings)
    cuts = np.searchsorted(bounds, np.linspace(0, n, n_threads + 1)).clip(0, n_cells)
    cuts[0], cuts[-1] = 0, n_cells
    run_all(pool, scatter_shuffled, [(users, items, ratings, cell, bounds, cuts[t], cuts[t + 1], uniforms, *out)
                                     for t in range(n_threads) if cuts[t] < cuts[t + 1]])
    return (*out, bounds)
