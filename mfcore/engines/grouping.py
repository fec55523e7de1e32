"""The passes that group a ``numba-parallel`` training's ratings into blocks once per fit
(:class:`~.numba_parallel.BlockPlan`): balanced runs of codes, each rating's cell, and the ratings
placed cell by cell in a random order (compiled), and :class:`ShuffledCells`, which runs them.
Sequential reads of the ratings; no kernel of an epoch."""

import threading

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
def count_cells(users, items, user_key, item_key, cell, counts):
    """Cell ``user_key[u] + item_key[i]`` of every rating into ``cell``, and how many per cell into
    ``counts``. The ratings are read in their stored order (sequential reads)."""
    for j in range(users.shape[0]):
        c = user_key[users[j]] + item_key[items[j]]
        cell[j] = c
        counts[c] += 1


@njit(cache=True, nogil=True)
def place_in_cells(users, items, ratings, cell, bounds, out_users, out_items, out_ratings):
    """Every rating into its cell's slice ``bounds[c]:bounds[c + 1]`` of the ``out_`` columns, in their
    stored order (sequential reads, one write stream per cell)."""
    fill = bounds[:-1].copy()
    for n in range(cell.shape[0]):
        c = cell[n]
        at = fill[c]
        out_users[at] = users[n]
        out_items[at] = items[n]
        out_ratings[at] = ratings[n]
        fill[c] = at + 1


@njit(cache=True, nogil=True)
def shuffle_cells(bounds, first, last, uniforms, out_users, out_items, out_ratings, lanes, by_users):
    r"""The ratings of each cell ``c`` in ``first..last-1`` (the slice ``bounds[c]:bounds[c + 1]`` of the
    ``out_`` columns, as :func:`place_in_cells` leaves them) put in a uniformly random order: the
    "inside-out" Fisher-Yates shuffle of the cell's ratings taken in their stored order. The
    :math:`k`-th rating of a cell (counted from 0) goes to place :math:`k` of the slice, after the
    rating at place :math:`j = \lfloor x (k + 1) \rfloor` has moved there and it takes :math:`j`
    instead, with :math:`x` = ``uniforms[bounds[c] + k]``. The draw of a rating depends on its place in
    its cell only, so splitting the cells over threads does not change the result. With ``lanes`` > 0
    the cell is ordered by row instead, each row's ratings shuffled among themselves
    (:func:`shuffle_runs`).

    Each slice is shuffled from a copy of it, the slice and the copy small enough to stay in cache
    while their random places are visited (placing each rating at its random place straight from the
    stored order costs a cache miss per rating and column once the ratings outgrow the cache)."""
    largest = 0
    for c in range(first, last):
        largest = max(largest, bounds[c + 1] - bounds[c])
    stored_users = np.empty(largest, out_users.dtype)
    stored_items = np.empty(largest, out_items.dtype)
    stored_ratings = np.empty(largest, out_ratings.dtype)
    places = np.empty(largest, np.int64)
    for c in range(first, last):
        start = bounds[c]
        size = bounds[c + 1] - start
        stored_users[:size] = out_users[start:start + size]
        stored_items[:size] = out_items[start:start + size]
        stored_ratings[:size] = out_ratings[start:start + size]
        if lanes > 0:
            shuffle_runs(stored_users, stored_items, stored_ratings, start, size, uniforms, lanes, by_users, places,
                         out_users, out_items, out_ratings)
            continue
        for k in range(size):
            at = start + k
            swap_in(out_users, out_items, out_ratings, at, start + min(np.int64(uniforms[at] * (k + 1)), k),
                    stored_users, stored_items, stored_ratings, k)


@njit(inline="always")
def swap_in(out_users, out_items, out_ratings, at, j, stored_users, stored_items, stored_ratings, k):
    """One step of the inside-out shuffle: the rating at place ``j`` moves to ``at`` and stored rating
    ``k`` takes ``j``."""
    out_users[at] = out_users[j]
    out_items[at] = out_items[j]
    out_ratings[at] = out_ratings[j]
    out_users[j] = stored_users[k]
    out_items[j] = stored_items[k]
    out_ratings[j] = stored_ratings[k]


@njit(cache=True, nogil=True)
def shuffle_runs(stored_users, stored_items, stored_ratings, start, size, uniforms, lanes, by_users, places,
                 out_users, out_items, out_ratings):
    """The cell of ``size`` ratings copied in ``stored_`` (its stored order) into ``out_`` from ``start``
    on, by row (user when ``by_users``, else item), each row's ratings in a uniformly random order
    (the inside-out shuffle of :func:`shuffle_cells` within the row, the rating at place :math:`k` of
    the stored order drawing ``uniforms[start + k]``), the sorted places interleaved over ``lanes``
    runs (:func:`interleaved_places`; ``places``: scratch space)."""
    if size == 0:
        return
    keys = stored_users[:size] if by_users else stored_items[:size]
    low = keys.min()
    first = np.zeros(keys.max() - low + 1, np.int64)
    for k in range(size):
        first[keys[k] - low] += 1
    running = 0
    for key in range(first.shape[0]):  # first[key]: the first sorted place of key's ratings
        count = first[key]
        first[key] = running
        running += count
    interleaved_places(start, size, lanes, places)
    taken = np.zeros(first.shape[0], np.int64)
    for k in range(size):
        key = keys[k] - low
        order = taken[key]
        taken[key] = order + 1
        swap_in(out_users, out_items, out_ratings, places[first[key] + order],
                places[first[key] + min(np.int64(uniforms[start + k] * (order + 1)), order)],
                stored_users, stored_items, stored_ratings, k)


@njit(cache=True, nogil=True)
def interleaved_places(start, size, lanes, places):
    r"""``places[s]``: where the :math:`s`-th of ``size`` ratings sorted by row goes when they are cut
    into ``lanes`` runs of :math:`c = \lceil n / L \rceil` and taken round-robin (run 0's first, run
    1's first, ..., run 0's second, ...), counted from ``start``. A row's ratings then come ``lanes``
    places apart while they last, so its factor row stays in the L1 cache between them, and two
    consecutive ratings share that row only when one row holds more than a run. With :math:`f =
    \lfloor n / c \rfloor` full runs and :math:`r = n - f c`, the rating at :math:`s` (run :math:`l =
    \lfloor s / c \rfloor`, offset :math:`o = s - l c`) goes to :math:`o f + \min(o, r) + l`."""
    if size == 0:
        return
    run = (size + lanes - 1) // lanes
    full = size // run
    rest = size - full * run
    for lane in range(lanes):
        for offset in range(run):
            s = lane * run + offset
            if s < size:
                places[s] = start + offset * full + min(offset, rest) + lane


class ShuffledCells:
    """The ratings grouped cell by cell (cell ``user_key[u] + item_key[i]``, ``n_cells`` of them), in two
    steps so that several threads can share the longer one: :meth:`place` (one thread: each rating's
    cell, one draw of float32 uniforms from ``rng``, the ratings into their cells' slices in their
    stored order), then :meth:`shuffle` (:func:`shuffle_cells`), which any number of threads may run at
    once, each taking the next :data:`CHUNK` cells until none are left; the result does not depend on
    who shuffled which. A float32 uniform per rating: 4 bytes each, and with a cell under 2^24
    ratings the rounding bias of a float32 draw is below 1e-7 per swap. ``lanes`` and ``by_users``: as
    :func:`shuffle_cells`. :attr:`result`: the grouped ``(users, items, ratings, bounds)``."""

    CHUNK = 16

    def __init__(self, rng: np.random.Generator, users, items, ratings, user_key, item_key, n_cells: int,
                 lanes: int = 0, by_users: bool = True):
        self._rng, self._columns, self._keys, self.n_cells = rng, (users, items, ratings), (user_key, item_key), n_cells
        self._lanes, self._by_users = lanes, by_users
        self._next, self._lock = 0, threading.Lock()

    def place(self) -> None:
        users, items, ratings = self._columns
        n = len(ratings)
        cell = np.empty(n, np.int32)
        counts = np.zeros(self.n_cells, np.int64)
        count_cells(users, items, *self._keys, cell, counts)
        self.bounds = np.zeros(self.n_cells + 1, np.int64)
        np.cumsum(counts, out=self.bounds[1:])
        self._uniforms = self._rng.random(n, dtype=np.float32)
        self._out = np.empty_like(users), np.empty_like(items), np.empty_like(ratings)
        place_in_cells(users, items, ratings, cell, self.bounds, *self._out)

    def shuffle(self) -> None:
        while True:
            with self._lock:
                first = self._next
                last = self._next = min(first + self.CHUNK, self.n_cells)
            if first >= last:
                return
            shuffle_cells(self.bounds, first, last, self._uniforms, *self._out, self._lanes, self._by_users)

    @property
    def result(self):
        return (*self._out, self.bounds)


def group_shuffled(rng: np.random.Generator, users, items, ratings, user_key, item_key, n_cells: int,
                   n_threads: int = 1, pool=None, lanes: int = 0, by_users: bool = True):
    """:class:`ShuffledCells`' grouping in one call, the shuffle shared by ``n_threads`` threads of
    ``pool``: the ratings grouped cell by cell, every cell's ratings in a uniformly random order
    (or, with ``lanes``, by row in interleaved runs), and the cells' bounds."""
    cells = ShuffledCells(rng, users, items, ratings, user_key, item_key, n_cells, lanes, by_users)
    cells.place()
    run_all(pool, cells.shuffle, [()] * n_threads)
    return cells.result
