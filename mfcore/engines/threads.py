"""The thread pools the compiled engines run their nogil kernels on (Numba's own threading layer is
never used, so several trainings, e.g. several dashboard sessions, may run at once).

:func:`shared_pool` is one pool per size for independent pieces of work (grouping ratings, ALS and BPR
chunks); :func:`crew` lends a pool to one caller at a time, for work whose pieces wait on each other
(a ``numba-parallel`` epoch's threads) and so must never queue behind another training's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[int, ThreadPoolExecutor] = {}
_idle_crews: dict[int, list[ThreadPoolExecutor]] = {}
_pools_lock = threading.Lock()


def available_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def shared_pool(n_threads: int) -> ThreadPoolExecutor:
    """The process's pool of ``n_threads`` threads (made on first use), shared by every caller."""
    with _pools_lock:
        pool = _pools.get(n_threads)
        if pool is None:
            pool = _pools[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="mfcore-sgd")
        return pool


@contextlib.contextmanager
def crew(n_workers: int):
    """A pool of ``n_workers`` threads for this caller alone while the block is open (an idle one is
    reused, else one is made): an epoch's chains wait on each other, so they must all run at once,
    never queued behind another training's chains in a shared pool."""
    with _pools_lock:
        idle = _idle_crews.setdefault(n_workers, [])
        lent = idle.pop() if idle else ThreadPoolExecutor(n_workers, thread_name_prefix="mfcore-sgd")
    try:
        yield lent
    finally:
        with _pools_lock:
            _idle_crews[n_workers].append(lent)


def run_all(pool: ThreadPoolExecutor | None, function, calls: list[tuple]) -> None:
    """``function(*arguments)`` for each tuple in ``calls``, on ``pool`` when there is one; returns
    when all are done (re-raising the first error)."""
    if pool is None or len(calls) == 1:
        for arguments in calls:
            function(*arguments)
        return
    for future in [pool.submit(function, *arguments) for arguments in calls]:
        future.result()
