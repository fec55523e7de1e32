r"""The parallel engine: block-stratified SGD (DSGD / FPSGD) on a thread pool of nogil Numba kernels.

The users are cut into :math:`G` blocks of consecutive codes and the items likewise, each block holding
about the same number of training ratings, which splits the rating matrix into a :math:`G \times G`
grid. Blocks :math:`(b, b')` and :math:`(c, c')` with :math:`b \ne c` and :math:`b' \ne c'` share no
user and no item, so SGD can run on them at the same time without locks and without one thread ever
touching a row another is updating. The ratings are grouped block by block once per fit, each
block's by user, each user's in a random order, a few users' ratings interleaved
(:class:`BlockPlan`, :data:`ROW_LANES`; LibMF sorts its blocks by user too). An epoch is
:math:`G` sub-epochs; each epoch draws from the model's ``rng`` a random pairing :math:`\pi` of
user blocks with item blocks and a random order :math:`\sigma` of the sub-epochs, and sub-epoch
:math:`s` holds the :math:`G` blocks :math:`(b, \pi((b + \sigma_s) \bmod G))`. Every block is
visited once per epoch, its ratings in that order, with the same per-rating update as ``numba`` (or
its AdaGrad form under the ``adagrad`` step rule, :func:`~.numba_jit.adagrad_pass`):

.. math::
    e_{ui} = r_{ui} - (\mu + b_u + b_i + p_u^\top q_i), \quad
    p_u \leftarrow p_u + \gamma (e_{ui} q_i - \lambda p_u), \quad
    q_i \leftarrow q_i + \gamma (e_{ui} p_u - \lambda q_i)

(and the biases likewise), so it differs from ``numba`` only in the order the ratings are visited,
and under ``adagrad`` in taking the CPU's estimate of :math:`1/\sqrt{G}` for the step sizes, as
LibMF does (:func:`~._rsqrt.inverse_sqrt`).

Threads: each user block has a home thread for the whole fit (:func:`owners`: equal ratings per
thread), which runs that block's :math:`G` blocks sub-epoch by sub-epoch, so the user rows are mostly
written by one core and stay in its cache. A whole epoch is one compiled call per thread (the calling
thread runs the first, :func:`run_blocks`), with no barrier between sub-epochs: a block waits only for
the block before it on its item rows (:func:`~.chains.predecessors`) and on its user rows, through
flags published with release ordering (:mod:`._atomic`), and a thread runs whichever of its blocks is
ready (the lowest sub-epoch first). When none of its own is ready it runs another thread's ready
block, claiming the user block with an atomic compare-and-swap, so a thread that the machine slows
down (a shared VM's other tenants) holds the epoch back by no more than the block it is in; a thread
that finds nothing ready polls, and after a while gives its core away and comes back (why:
``docs/benchmarks.md``, "Two threads").

Fast because a thread waits only when no block at all is ready, because nothing is
copied or regrouped between epochs (``numba`` reshuffles all ratings every epoch), and because a
block's rows are a contiguous slice of ``P`` and of ``Q`` chosen small enough (:func:`grid_size`) to
stay in one core's L2 cache for the whole block.

Deterministic: every block starts from its rows exactly as running the sub-epochs one after the
other leaves them (its user rows from the same thread's previous block, its item rows from the
previous sub-epoch's block on them), and the epoch's squared error is summed block by block in a fixed
order, so a seed gives bit-identical factors whatever the thread timing, and 1 and 2 threads give the
same factors. The threads used are :func:`effective_threads`: ``n_threads`` (None: every core), but at
most one per :data:`MIN_RATINGS_PER_THREAD` ratings. The grid does not depend on that count as long
as :math:`G \ge 2 \cdot` threads (:func:`grid_size`): more threads than that may refine the grid and
then give slightly different (equally good) factors.

Thread safety: the threads come from :mod:`.threads`' pools, each lent to one epoch at a time
(:func:`~.threads.crew`: an epoch's chains wait on each other, so they never queue behind another
training's) and running ``@njit(nogil=True)`` kernels; Numba's own
threading layer is never used, so several dashboard sessions may train at once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import numpy as np
from numba import literally, njit

from ._atomic import claim, observe, pause, publish
from .chains import owned, owners, predecessors
from .grouping import ShuffledCells, balanced_blocks
from .numba_jit import adagrad_pass, row_norms, sgd_pass, specialized, squared_norms
from .plan import EpochPlan
from .threads import available_cores, crew

FALLBACK_L2_BYTES = 1 << 20
"""The per-core L2 size assumed when neither /sys nor ``os.sysconf`` tells it (not Linux)."""


def l2_cache_bytes() -> int:
    """One core's level-2 cache in bytes, as this machine reports it: the level-2 data or unified
    cache of cpu0 in /sys/devices/system/cpu/cpu0/cache/index*/ (``size`` as "1024K"), else
    ``os.sysconf("SC_LEVEL2_CACHE_SIZE")``, else :data:`FALLBACK_L2_BYTES`."""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        if level == "2" and kind in ("Data", "Unified") and size:
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
            with contextlib.suppress(ValueError):
                return int(size.rstrip("KMG")) * scale
    with contextlib.suppress(ValueError, OSError, AttributeError):
        size = os.sysconf("SC_LEVEL2_CACHE_SIZE")
        if size > 0:
            return int(size)
    return FALLBACK_L2_BYTES


BLOCK_CACHE_BYTES = l2_cache_bytes() // 4
"""Target bytes of factor rows (a user block's plus an item block's) per block: a quarter of one
core's L2 cache as measured on this machine (:func:`l2_cache_bytes`), leaving the rest for the
block's ratings streaming through, the rows' accumulators and biases, and the next block's rows.
Measured on ML-1M at K=100 (AMD EPYC, 1 MiB L2, 10 epochs, best of 8 alternating rounds on a shared
machine): G = 8 (rows at half the L2) 34.3 M updates/s on 1 thread and 55.6 on 2; G = 16 (a
quarter) 35.8 and 63.6; G = 12 and G = 20 within noise of G = 16."""
MAX_GRID = 32
MIN_RATINGS_PER_BLOCK = 2048
MIN_RATINGS_PER_THREAD = 100_000
"""The ratings one thread needs to be worth its wake-ups: a training uses at most one thread per this
many ratings (:func:`effective_threads`), so ML-100k runs in the calling thread and ML-1M (900k
training ratings) on up to 9 threads."""

def grid_size(n_users: int, n_items: int, n_factors: int, n_ratings: int, n_threads: int,
              block_bytes: int | None = None) -> int:
    r"""G, the number of user blocks and of item blocks: enough for a block's factor rows,
    :math:`(m + n) \cdot 4K / G` bytes, to fit in ``block_bytes`` (default :data:`BLOCK_CACHE_BYTES`,
    a quarter of the measured L2), but at most :data:`MAX_GRID` and no more than keeps about
    :data:`MIN_RATINGS_PER_BLOCK` ratings per block; then at least 4 and at least 2 ``n_threads`` (two
    blocks per thread and sub-epoch, for load balance), rounded up to an even number (so two threads
    own as many user blocks each). So 1 and 2 threads always get the same grid (on one machine: the
    grid, hence the factors, follow its cache size)."""
    block_bytes = BLOCK_CACHE_BYTES if block_bytes is None else block_bytes
    fits = int(np.ceil((n_users + n_items) * 4 * n_factors / block_bytes))
    by_cache = min(fits, MAX_GRID, int(np.sqrt(n_ratings / MIN_RATINGS_PER_BLOCK)))
    g = max(4, 2 * n_threads, by_cache)
    return g + g % 2


ESTIMATE_STEPS = True
r"""Whether the AdaGrad steps take the CPU's estimate of :math:`1/\sqrt{G}` (``estimate`` of
:func:`~.numba_jit.adagrad_pass`, as LibMF does) rather than the exact value
(``benchmarks/engine_switch.py`` measures both)."""

TAKE_OTHERS_BLOCKS = True
"""Whether a thread with none of its own blocks ready runs another thread's (:func:`run_blocks` looks
at its own user blocks first, then the others'); False keeps every thread to its own user blocks
(``benchmarks/noisy_neighbor.py`` measures both). The factors are the same either way."""

ROW_LANES = 4
"""How many rows' ratings a block interleaves (:func:`~.grouping.interleaved_places`): each block's
ratings are ordered by user (by item when the items outnumber a cell's users), each user's in a
random order, and taken from this many users in turn, so a user's row stays in the L1 cache from
one of its ratings to the next and only the item rows come from L2 (LibMF sorts its blocks by user
likewise). Measured on ML-1M, K=100, AMD EPYC (1 MiB L2), median epoch of alternating fits against
the uniformly random order: 1.06-1.09x the updates/s on 1 and 2 threads, the test RMSE the same to 4
digits (``benchmarks/engine_switch.py --switch row_lanes``). 0 keeps each block in a uniformly
random order."""

SPINS = 20_000
"""How many times a thread polls for a block to become ready (about 0.1-1 ms) before it leaves the
compiled loop to give its core away (:func:`run_chain`): on a machine whose cores are busy with
other work, the thread it waits for may be the one that needs this core."""


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def run_blocks(users, items, ratings, bounds, schedule, previous, order, n_own, progress, busy, done, stamp, mu, bu,
               bi, P, Q, lr, reg, biased, sse, adaptive, adagrad_users, adagrad_items, norms_users, norms_items,
               estimate, fresh_norms, user_edges, item_edges, n_factors):
    """Per-rating SGD (:func:`~.numba_jit.sgd_pass`, or with ``adaptive``
    :func:`~.numba_jit.adagrad_pass` and its accumulators and row norms, its steps estimated with
    ``estimate``; ``n_factors`` = K) over the
    epoch's blocks, shared with the other threads: user block ``b``'s blocks ``schedule[s, b]`` run in
    sub-epoch order ``s``, ``progress[b]`` the next one, by whichever thread claims ``busy[b]`` first
    (:func:`~._atomic.claim`). A block is ready once ``done[previous[s, b]]`` is at least ``stamp``
    (the block that last wrote its item rows, :func:`~.chains.predecessors`; -1: no wait). This
    thread looks at the user blocks in ``order``, its own ``order[:n_own]`` first, and runs the ready
    block of the lowest sub-epoch among them (ties: the first in ``order``); only when none of its own
    is ready does it take another thread's (so a thread that the machine slows down holds back no
    more than the block it is in). With ``fresh_norms`` a sub-epoch-0 block first sets the squared
    norms of its rows (user block ``b``: codes ``user_edges[b]`` to ``user_edges[b + 1] - 1``; its item
    block likewise), which no block before it in the epoch touches. It puts the block's squared-error
    sum in ``sse[c]`` and publishes
    ``done[c] = stamp``, then the user block's progress, then frees it. Every block still sees its rows
    as the sub-epochs run one after another leave them, whoever runs it. Returns True when all blocks
    are done, False after :data:`SPINS` polls found none ready."""
    n_sub = schedule.shape[0]
    spins = 0
    while True:
        pick = -1
        lowest = n_sub
        unfinished = False
        for j in range(order.shape[0]):
            if j == n_own and pick >= 0:
                break
            b = order[j]
            if observe(busy, b) != 0:
                unfinished = True
                continue
            s = observe(progress, b)
            if s >= n_sub:
                continue
            unfinished = True
            if s < lowest:
                before = previous[s, b]
                if before < 0 or observe(done, before) >= stamp:
                    pick, lowest = b, s
        if pick < 0:
            if not unfinished:
                return True
            spins += 1
            if spins > SPINS:
                return False
            pause()
            continue
        if not claim(busy, pick, 0, 1):
            continue
        if observe(progress, pick) != lowest:  # another thread ran that block between the look and the claim
            publish(busy, pick, 0)
            continue
        spins = 0
        c = schedule[lowest, pick]
        start, stop = bounds[c], bounds[c + 1]
        if fresh_norms and lowest == 0:
            item_block = c % schedule.shape[1]
            row_norms(P, user_edges[pick], user_edges[pick + 1], norms_users, n_factors)
            row_norms(Q, item_edges[item_block], item_edges[item_block + 1], norms_items, n_factors)
        if adaptive:
            sse[c] = adagrad_pass(users[start:stop], items[start:stop], ratings[start:stop], mu, bu, bi, P, Q, lr,
                                  reg, biased, adagrad_users, adagrad_items, norms_users, norms_items, estimate,
                                  n_factors)
        else:
            sse[c] = sgd_pass(users[start:stop], items[start:stop], ratings[start:stop], mu, bu, bi, P, Q, lr,
                              reg, biased, n_factors)
        publish(done, c, stamp)
        publish(progress, pick, lowest + 1)
        publish(busy, pick, 0)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def run_blocks_k(users, items, ratings, bounds, schedule, previous, order, n_own, progress, busy, done, stamp, mu,
                 bu, bi, P, Q, lr, reg, biased, sse, adaptive, adagrad_users, adagrad_items, norms_users, norms_items,
                 estimate, fresh_norms, user_edges, item_edges, n_factors):
    """:func:`run_blocks` compiled for ``n_factors`` as a constant (see :func:`~.numba_jit.constant_k`)."""
    literally(n_factors)
    return run_blocks(users, items, ratings, bounds, schedule, previous, order, n_own, progress, busy, done, stamp,
                      mu, bu, bi, P, Q, lr, reg, biased, sse, adaptive, adagrad_users, adagrad_items, norms_users,
                      norms_items, estimate, fresh_norms, user_edges, item_edges, n_factors)


def run_chain(kernel, arguments: tuple, n_factors: int) -> None:
    """``kernel(*arguments, n_factors)`` until all its blocks are done; whenever it comes back with none
    ready, this thread yields its core (``os.sched_yield``, the GIL released) and goes on."""
    while not kernel(*arguments, n_factors):
        os.sched_yield()


def thread_orders(sizes: np.ndarray, g: int, n_threads: int) -> list[tuple[np.ndarray, int]]:
    """Per thread, the user blocks in the order :func:`run_blocks` looks at them and how many are its
    own: its own (:func:`owners`, by the cells' ``sizes``) first, then the others when
    :data:`TAKE_OTHERS_BLOCKS`; threads with no block left out."""
    work = owned(owners(sizes, g, n_threads) if n_threads > 1 else np.zeros(g, np.int64), n_threads)
    return [(np.concatenate([mine, np.setdiff1d(np.arange(g), mine)]) if TAKE_OTHERS_BLOCKS else mine, len(mine))
            for mine in work if len(mine)]


def sub_blocks(n_users: int, n_items: int, n_factors: int, n_blocks: int, block_bytes: int | None = None) -> int:
    r"""S, the user sub-blocks per block: the ratings of a block are visited sub-block by sub-block, each
    sub-block's users' rows plus the block's item rows within ``block_bytes`` (default
    :data:`BLOCK_CACHE_BYTES`, a quarter of the measured L2). When the users far outnumber the items (Netflix:
    480k x 17.8k) no square grid of at most :data:`MAX_GRID` makes a user block's rows fit (G=32: 15k
    users, 6 MB at K=100), and a user's ~6 ratings in a block would each miss the cache; in its
    sub-block they come within a few thousand ratings of each other, the row still in L2. A block runs
    in one thread, so the order inside it is free: this changes which random order SGD sees (the
    ratings stay shuffled inside each sub-block), not what may run in parallel; S does not depend on
    the thread count, so 1 and 2 threads still give identical factors. 1 when the user block fits
    (ML-1M)."""
    block_bytes = BLOCK_CACHE_BYTES if block_bytes is None else block_bytes
    row = 4 * n_factors
    users_bytes = np.ceil(n_users / n_blocks) * row
    room = max(block_bytes - np.ceil(n_items / n_blocks) * row, block_bytes / 2)
    return max(1, int(np.ceil(users_bytes / room)))


def effective_threads(n_ratings: int, n_threads: int | None = None) -> int:
    r"""The threads a ``per-rating`` epoch of ``n_ratings`` ratings runs on:

    .. math::  \max\bigl(1, \min(T, \lfloor n_{\text{ratings}} / M \rfloor)\bigr)

    with :math:`T` = ``n_threads`` (None: :func:`available_cores`) and :math:`M` =
    :data:`MIN_RATINGS_PER_THREAD` (100 000): as many threads as asked, but no more than the data can
    feed. One thread runs the epoch in the calling thread, without the pool. The training scheduler of
    the dashboard (``dashboard.server.jobs``) reserves this many slots, so it never holds cores that will idle.
    The grid (:func:`grid_size`) is cut for this count too, so the factors depend on it, not on the
    thread count asked for beyond it."""
    requested = available_cores() if n_threads is None else int(n_threads)
    if MIN_RATINGS_PER_THREAD <= 0:
        return max(1, requested)
    return max(1, min(requested, int(n_ratings) // MIN_RATINGS_PER_THREAD))


class BlockPlan(EpochPlan):
    """FPSGD's visiting order. Once per fit: the users and items cut into ``G`` balanced blocks each
    (:func:`grid_size`, :func:`balanced_blocks`; users into ``S`` sub-blocks per block,
    :func:`sub_blocks`) and the ratings grouped cell by cell (:class:`~.grouping.ShuffledCells`, with
    sequential reads: no global permutation, which costs a cache miss per rating and column once the
    ratings outgrow the cache), each cell's by user in :data:`ROW_LANES` interleaved runs, each user's
    ratings in a uniformly random order. Every epoch: a random pairing of user blocks with item
    blocks and a random order of the ``G`` sub-epochs, both drawn from the model's ``rng``.
    Regrouping once instead of every epoch is what LibMF does; it saves a pass over all ratings per
    epoch.

    The grouping's uniforms come from a child of ``rng`` (``rng.spawn(1)``), which leaves ``rng``'s
    stream as it is, so on more than one thread the grouping runs in a helper thread while the model
    draws its initial factors from ``rng``, and the training thread, its draws done, shuffles cells
    beside it in :meth:`ready` (never three busy threads on two cores). The result is the same on
    any number of threads.

    The kernels get the factor rows padded to whole cache lines (``padded_rows``, :mod:`.layout`),
    so every epoch's call also carries ``n_factors``, the K of the padded rows."""

    padded_rows = True

    def __init__(self, users, items, ratings, rng: np.random.Generator, **kwargs):
        super().__init__(users, items, ratings, rng, **kwargs)
        self.n_threads = n_threads = effective_threads(len(ratings), self.options.get("n_threads"))
        self.n_blocks = grid_size(self.n_users, self.n_items, self.n_factors, len(ratings), n_threads)
        self.n_sub_blocks = sub_blocks(self.n_users, self.n_items, self.n_factors, self.n_blocks)
        child = rng.spawn(1)[0]
        self._grouping, self._error, self._placed, self._cells = None, None, threading.Event(), None
        if n_threads > 1:  # its own thread: the pool's threads may all be busy with other trainings
            self._grouping = threading.Thread(target=self._group, args=(users, items, ratings, child),
                                              name="mfcore-sgd-plan", daemon=True)
            self._grouping.start()
        else:
            self._group(users, items, ratings, child)

    def _group(self, users, items, ratings, rng: np.random.Generator) -> None:
        try:
            self._place(users, items, ratings, rng)
        except BaseException as error:  # noqa: BLE001 - handed to the training thread by ready()
            self._error = error
        finally:
            self._placed.set()
        if self._error is None:
            try:
                self._cells.shuffle()
            except BaseException as error:  # noqa: BLE001 - likewise
                self._error = error

    def _place(self, users, items, ratings, rng: np.random.Generator) -> None:
        g, sub = self.n_blocks, self.n_sub_blocks
        fine = balanced_blocks(users, self.n_users, g * sub)  # user sub-block of every user
        item_block = balanced_blocks(items, self.n_items, g)
        # cell (b, b') of user block b = fine // sub and item block b' holds the sub-cells
        # (b G + b') sub + fine % sub: one counting sort groups them cell by cell, sub-block by sub-block
        user_block = fine // sub
        user_key = (user_block * g * sub + fine % sub).astype(np.int32)
        item_key = (item_block * sub).astype(np.int32)
        by_users = self.n_users / sub >= self.n_items  # order by the side with more rows in a cell
        self._cells = ShuffledCells(rng, users, items, ratings, user_key, item_key, g * g * sub, ROW_LANES, by_users)
        self._cells.place()
        # blocks are runs of consecutive codes: block b holds the codes edges[b]..edges[b + 1] - 1
        self.user_edges = np.searchsorted(user_block, np.arange(g + 1)).astype(np.int64)
        self.item_edges = np.searchsorted(item_block, np.arange(g + 1)).astype(np.int64)

    def ready(self) -> None:
        """Wait until the ratings are grouped, shuffling cells beside the helper thread meanwhile
        (re-raising an error of the helper thread)."""
        if self._grouping is not None:
            self._placed.wait()
            if self._error is None:
                self._cells.shuffle()
            self._grouping.join()
            self._grouping = None
        if self._error is not None:
            raise self._error
        if self._cells is not None:
            *self.arrays, bounds = self._cells.result
            self._cells = None
            self.bounds = np.ascontiguousarray(bounds[::self.n_sub_blocks])
            self.orders = thread_orders(np.diff(self.bounds), self.n_blocks, self.n_threads)

    def visit(self, epoch: int) -> dict:
        """The grouped ``users, items, ratings``, the cells' ``bounds`` and the epoch's ``schedule``:
        ``schedule[s]`` lists the cells of the ``s``-th sub-epoch, one per user block, no two sharing
        an item block; with the blocks' ``previous`` (:func:`~.chains.predecessors`), and what the plan
        works out once per fit: each thread's ``orders`` (:func:`thread_orders`) and the blocks' first
        codes ``row_edges``."""
        self.ready()
        g = self.n_blocks
        pairing = self.rng.permutation(g)
        shifts = self.rng.permutation(g)
        user_blocks = np.arange(g)
        schedule = (user_blocks * g + pairing[(user_blocks[None, :] + shifts[:, None]) % g]).astype(np.int64)
        users, items, ratings = self.arrays
        return {"users": users, "items": items, "ratings": ratings, "bounds": self.bounds, "schedule": schedule,
                "n_factors": self.n_factors, "previous": predecessors(schedule), "orders": self.orders,
                "row_edges": (self.user_edges, self.item_edges)}


def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, *, bounds, schedule,
              n_threads=None, adagrad_users=None, adagrad_items=None, n_factors=None, previous=None, orders=None,
              row_edges=None):
    """One block-stratified epoch (see the module docstring) on :func:`effective_threads` threads:
    each runs the blocks of its own user blocks (:func:`owners`) and, when none of those is ready,
    another thread's, in one compiled call (:func:`run_blocks`), the calling thread the first; a block
    waits only for the blocks before it on its user rows and on its item rows, never for a whole
    sub-epoch. Updates ``bu, bi, P, Q`` in place and returns the sum of the squared errors met. With
    the AdaGrad accumulators ``adagrad_users``, ``adagrad_items`` (the ``adagrad`` step rule) each
    block runs :func:`~.numba_jit.adagrad_pass`, with the rows' squared norms taken once per epoch and
    carried from block to block like the rows: by the sub-epoch-0 block of each user block and item
    block when ``row_edges`` gives the blocks' first codes (``(user_edges, item_edges)``, G + 1 each),
    else before the epoch (:func:`~.numba_jit.squared_norms`). ``n_factors``: K when ``P`` and ``Q``
    are stored in longer rows (:mod:`.layout`, their extra columns zero and left so); default
    ``P.shape[1]``. ``previous`` (:func:`~.chains.predecessors`) and ``orders``
    (:func:`thread_orders`): worked out here when not given."""
    n_threads = effective_threads(ratings.shape[0], n_threads)
    g = schedule.shape[1]
    sse = np.zeros(len(bounds) - 1, np.float64)
    done = np.zeros(len(bounds) - 1, np.int64)
    k = P.shape[1] if n_factors is None else n_factors
    adaptive = adagrad_users is not None
    fresh_norms = adaptive and row_edges is not None
    if fresh_norms:
        norms_users, norms_items = np.empty(P.shape[0], P.dtype), np.empty(Q.shape[0], P.dtype)
    elif adaptive:
        norms_users, norms_items = squared_norms(P), squared_norms(Q)
    else:
        adagrad_users = adagrad_items = np.ones((1, 2), P.dtype)
        norms_users = norms_items = np.zeros(1, P.dtype)
    user_edges, item_edges = row_edges if row_edges is not None else (np.zeros(1, np.int64),) * 2
    previous = predecessors(schedule) if previous is None else previous
    orders = thread_orders(np.diff(bounds), g, n_threads) if orders is None else orders
    progress, busy = np.zeros(g, np.int64), np.zeros(g, np.int64)

    def call(order, n_own):
        return (users, items, ratings, bounds, schedule, previous, order, n_own, progress, busy, done, 1, mu,
                bu, bi, P, Q, lr, reg, biased, sse, adaptive, adagrad_users, adagrad_items, norms_users, norms_items,
                ESTIMATE_STEPS, fresh_norms, user_edges, item_edges)

    kernel = specialized(run_blocks_k, run_blocks, call(*orders[0]), k, ratings.shape[0])
    if len(orders) == 1:
        run_chain(kernel, call(*orders[0]), k)
        return float(sse.sum())
    with crew(len(orders) - 1) as lent:
        futures = [lent.submit(run_chain, kernel, call(*order), k) for order in orders[1:]]
        run_chain(kernel, call(*orders[0]), k)
        for future in futures:
            future.result()
    return float(sse.sum())
