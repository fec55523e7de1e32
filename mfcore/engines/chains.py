"""Which thread runs which blocks of a ``numba-parallel`` epoch, and which block each must wait for.

Pure bookkeeping on the block schedule (no kernel): :func:`owners` gives every user block a home
thread for the whole fit (the thread that runs its blocks first; another runs one only when it has
none of its own ready), :func:`predecessors` gives every block of an epoch the block that last wrote
its item rows.
"""

from __future__ import annotations

import numpy as np


def predecessors(schedule: np.ndarray) -> np.ndarray:
    """``previous[s, b]``: the block that last wrote the item rows of ``schedule[s, b]`` (sub-epoch ``s``'s
    block of user block ``b``), i.e. sub-epoch ``s - 1``'s block on the same item block; -1 in sub-epoch
    0. Its user rows were last written by ``schedule[s - 1, b]``. A block that starts once both are done
    sees its rows exactly as the sub-epochs run one after another would leave them, so any order of the
    blocks that respects these two chains gives the same numbers."""
    n_sub, g = schedule.shape
    item_of = schedule % g
    on_item = np.empty((n_sub, g), np.int64)  # on_item[s, b']: sub-epoch s's block on item block b'
    on_item[np.arange(n_sub)[:, None], item_of] = schedule
    previous = np.full(schedule.shape, -1, np.int64)
    previous[1:] = on_item[np.arange(n_sub - 1)[:, None], item_of[1:]]
    return previous


def owned(owner: np.ndarray, n_threads: int) -> list[np.ndarray]:
    """The user blocks of each thread (``owner[b]`` is the thread of user block ``b``)."""
    return [np.flatnonzero(owner == t) for t in range(n_threads)]


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
