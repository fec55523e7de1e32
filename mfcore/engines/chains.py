"""Which thread runs which blocks of a ``numba-parallel`` epoch, and which block each must wait for.

Pure bookkeeping on the block schedule (no kernel): :func:`owners` gives every user block to one
thread for the whole fit, :func:`chains` turns an epoch's schedule into each thread's ordered list of
blocks and, per block, the block of another thread it waits for.
"""

from __future__ import annotations

import numpy as np


def chains(schedule: np.ndarray, owner: np.ndarray, n_threads: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per thread, the blocks it runs in order and the block each must wait for. ``schedule[s, b]`` is
    sub-epoch ``s``'s block of user block ``b``; thread ``owner[b]`` runs every block of user block
    ``b``, sub-epoch by sub-epoch, so its user rows are written by that thread alone and stay in its
    cache. The block of sub-epoch ``s`` on item block ``b'`` waits for sub-epoch ``s - 1``'s block on
    ``b'`` (when another thread runs it): every block then sees its rows exactly as the sub-epochs run
    one after another would leave them, whatever the timing."""
    n_sub, g = schedule.shape
    item_of = schedule % g
    on_item = np.empty((n_sub, g), np.int64)  # on_item[s, b']: sub-epoch s's block on item block b'
    on_item[np.arange(n_sub)[:, None], item_of] = schedule
    previous = np.full(schedule.shape, -1, np.int64)
    previous[1:] = on_item[np.arange(n_sub - 1)[:, None], item_of[1:]]
    thread_of = np.empty(schedule.size, np.int64)
    thread_of[schedule.ravel()] = np.broadcast_to(owner, schedule.shape).ravel()
    found = []
    for t in range(n_threads):
        mine = np.flatnonzero(owner == t)
        cells, waits = schedule[:, mine].ravel(), previous[:, mine].ravel()
        found.append((cells, np.where((waits >= 0) & (thread_of[np.maximum(waits, 0)] != t), waits, -1)))
    return found


def owners(sizes: np.ndarray, g: int, n_threads: int) -> np.ndarray:
    """The thread of each user block: the blocks' ratings split as evenly as possible over the threads
    (largest block first to the least loaded thread; ties to the lower thread)."""
    loads = np.zeros(n_threads, np.int64)
    owner = np.empty(g, np.int64)
    per_block = sizes.reshape(g, g).sum(axis=1)
    for b in np.argsort(-per_block, kind="stable"):
        owner[b] = t = int(np.argmin(loads))
        loads[t] += per_block[b]
    return owner
