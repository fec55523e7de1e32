"""One training scheduler for the whole server: every page's training runs here, never in a page's
script thread.

At most ``capacity`` slots (default: the machine's cores) are busy at once; a job takes ``cost`` slots
(a parallel engine takes the threads it will really run: two threads, two slots; on data too small to
feed them, one; clipped to ``capacity``) and waits in the queue otherwise (:attr:`Job.position` says
where). Jobs whose engine holds Python's GIL (the ``python`` and ``numpy`` engines, Tune's searches)
run one at a time whatever the capacity, so page scripts of other sessions keep the interpreter.

The order is first come, first served with bounded overtaking. Queued jobs are considered in the
order they were submitted; a job starts as soon as it *fits* (its cost in free slots, and for a
GIL-bound job no other GIL-bound job running) unless a job submitted before it, still queued, has
already been overtaken ``max_overtakes`` times (:data:`MAX_OVERTAKES`). Each start counts one
overtaking against every job submitted before it that is still queued. So:

- no job is ever overtaken more than ``max_overtakes`` times (one-slot jobs pass a waiting two-slot
  job, or compiled jobs a waiting GIL-bound one, at most that often, never forever);
- once a job has been overtaken that often, nothing submitted after it starts before it: it starts
  when the running jobs, each ended by its work limit, free its slots, so every job starts;
- with ``max_overtakes=0`` the order is plain FIFO: no job starts before one submitted earlier.

Each job runs in its own worker thread; the page's script thread only polls the job and
renders (:func:`follow`), so it reaches an ``st.*`` call a few times a second: when Streamlit stops
that script (a Stop click, a rerun, leaving the page, closing the tab) the job is cancelled and
ends after its current step. A job also ends when it has run for ``max_seconds`` (the work guard).

The API for a page (Train, Speed, Error schedules; Tune submits its search the same way but does not
follow it, so leaving the page does not stop a search)::

    job = jobs.submit(steps, label="run 3", engines=("numba",), n_threads=None)  # this session's job
    jobs.follow(job, render)   # calls render(job) every POLL seconds until the job ends

where :func:`submit` derives the owner, the cost and whether the job holds the GIL for
``scheduler().submit``, and ``steps(job)`` is a generator: each item it yields is appended to
``job.results`` and is a point at which the job may stop (an epoch, or a slice of one). Every
exception it raises ends the job with state ``failed``, is logged with its traceback (a ValueError, bad
input, as a warning; anything else as an error) and is kept in ``job.error``; :func:`failure` is the one
sentence its owner reads.

The scheduler's state (queue, running jobs, each job's state) changes only under one
``threading.Condition``, which :meth:`Scheduler.wait_idle` waits on.

A job's slots are the cores it may use, so BLAS (EASE's inversion, ALS's Gram matrix, NumPy products)
runs on one thread in a server process: :func:`scheduler` caps the BLAS pools the first time it is
made, so a one-slot EASE fit cannot take a second core from another session's job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from threadpoolctl import threadpool_limits

from dashboard.server.run_record import reached_words

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between two renders of a followed job
MAX_OVERTAKES = 2
"""How many jobs submitted later may start before a queued job (see the module docstring): enough for
one-slot jobs to use a slot a waiting two-slot job cannot, few enough that it waits for at most two."""
BLAS_THREADS = 1
"""Threads of every BLAS call in a server process (see the module docstring)."""
MAX_SECONDS = float(os.environ.get("MF_JOB_MAX_SECONDS", "300"))  # the work guard: wall seconds per job
NICENESS = int(os.environ.get("MF_JOB_NICENESS", "10"))
"""Added to the niceness of every job's thread (Linux threads have their own): training yields the
cores to page scripts and the server's event loop, so pages load fast while every slot is busy."""

QUEUED, RUNNING, DONE, CANCELLED, FAILED, TIMED_OUT = (
    "queued", "running", "done", "cancelled", "failed", "timed out")
FINISHED = (DONE, CANCELLED, FAILED, TIMED_OUT)


def default_capacity() -> int:
    """Slots for concurrent training: the cores this process may use, or ``MF_TRAINING_SLOTS``."""
    configured = os.environ.get("MF_TRAINING_SLOTS")
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass(eq=False)
class Job:
    """One unit of training work. ``results`` grows as the worker yields; ``state`` is one of queued,
    running, done, cancelled, failed, timed out. Times are ``time.monotonic()`` seconds."""

    label: str
    owner: str
    steps: Callable[[Job], Iterator]
    cost: int = 1
    holds_gil: bool = False
    max_seconds: float = MAX_SECONDS
    state: str = QUEUED
    results: list = field(default_factory=list)
    error: BaseException | None = None
    overtaken: int = 0
    """How many jobs submitted after this one started while it was queued (at most the bound)."""
    start_number: int | None = None
    """The scheduler's count of the jobs started before this one (0 for the first; None while queued)."""
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    last_step_at: float | None = None
    scheduler: Scheduler | None = field(default=None, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called (the job may still be finishing its current step)."""
        return self._cancel.is_set()

    @property
    def position(self) -> int:
        """1 for the next job to start, 2 for the one after, ...; 0 when running or finished."""
        return self.scheduler.position(self) if self.scheduler and self.state == QUEUED else 0

    @property
    def elapsed(self) -> float:
        """Seconds since the job started running (0 while queued)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    def cancel(self) -> None:
        """Stop the job: removed from the queue, or stopped by its worker after the current step."""
        self._cancel.set()
        if self.scheduler is not None:
            self.scheduler._drop_queued(self)

    def status_line(self, progress: str = "") -> str:
        """One line saying where the job is: its queue position and what it waits for, from the
        scheduler's real slot counts (:meth:`Scheduler.waiting_for`), or ``progress`` and its seconds."""
        position = self.position  # 0 once it has left the queue
        if position and self.scheduler is not None:
            waiting = max(position, len(self.scheduler.queued()))
            return f"{self.label}: queued, position {position} of {waiting}, {self.scheduler.waiting_for(self)}"
        return f"{self.label}: {self.state}{', ' + progress if progress else ''} ({self.elapsed:.1f} s)"

    def fraction(self, steps_done: int, steps: int, last_step_seconds: float | None) -> float:
        """Fraction of ``steps`` done, counting the running step's share as its seconds so far over
        the last step's seconds (at most 95% of a step until it reports)."""
        if self.state == QUEUED:
            return 0.0
        if self.finished or not last_step_seconds:
            return min(1.0, steps_done / steps)
        since = time.monotonic() - (self.last_step_at or self.started_at or time.monotonic())
        return min(1.0, (steps_done + min(0.95, since / last_step_seconds)) / steps)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or ``timeout`` seconds); True when it ended."""
        return self._finished.wait(timeout)


class Scheduler:
    """A bounded pool of training slots, first come first served with at most ``max_overtakes``
    overtakings per job (see the module docstring)."""

    def __init__(self, capacity: int | None = None, gil_capacity: int = 1, max_overtakes: int = MAX_OVERTAKES):
        self.capacity = capacity or default_capacity()
        self.gil_capacity = gil_capacity
        self.max_overtakes = max_overtakes
        self._changed = threading.Condition()
        self._queue: list[Job] = []
        self._running: list[Job] = []
        self._starts = 0

    def submit(self, steps: Callable[[Job], Iterator], label: str, owner: str = "", cost: int = 1,
               holds_gil: bool = False, max_seconds: float | None = None) -> Job:
        """Queue ``steps`` (a generator function of the job) and start it in its turn (the module
        docstring's order). ``cost`` is clipped to ``[1, capacity]`` so that every job can run."""
        job = Job(label, owner, steps, max(1, min(int(cost), self.capacity)), holds_gil,
                  MAX_SECONDS if max_seconds is None else max_seconds, scheduler=self)
        with self._changed:
            self._queue.append(job)
            self._start_turns()
        return job

    def position(self, job: Job) -> int:
        with self._changed:
            return self._queue.index(job) + 1 if job in self._queue else 0

    def queued(self) -> list[Job]:
        with self._changed:
            return list(self._queue)

    def running(self) -> list[Job]:
        with self._changed:
            return list(self._running)

    def busy_slots(self) -> int:
        """Slots held by the running jobs (the sum of their costs)."""
        with self._changed:
            return sum(job.cost for job in self._running)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (or ``timeout`` seconds); True when idle."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._running, timeout)

    def waiting_for(self, job: Job) -> str:
        """What queued ``job`` waits for, in words, from the slot counts now: e.g. "waiting for 2 free
        training slots (this server has 2; 2 in use by 1 running job)"."""
        with self._changed:
            busy, running = sum(other.cost for other in self._running), len(self._running)
            gil_busy = sum(other.holds_gil for other in self._running)
            ahead = self._queue[:self._queue.index(job)] if job in self._queue else []
        in_use = f"{busy} in use by {running} running job{'s' * (running != 1)}"
        if job.holds_gil and gil_busy >= self.gil_capacity and busy + job.cost <= self.capacity:
            return ("waiting for the running python or numpy job to end (those engines hold Python's "
                    f"interpreter and run one at a time; {in_use})")
        if busy + job.cost <= self.capacity:
            if any(other.overtaken >= self.max_overtakes for other in ahead):
                times = f"{self.max_overtakes} time{'s' * (self.max_overtakes != 1)}"
                return (f"waiting for a job ahead of it, which needs more slots and has been passed {times}, "
                        f"to start first ({in_use} of {self.capacity} training slots)")
            return f"starting ({in_use} of {self.capacity} training slots)"
        return (f"waiting for {job.cost} free training slot{'s' * (job.cost != 1)} "
                f"(this server has {self.capacity}; {in_use})")

    def cancel_owner(self, owner: str) -> int:
        """Cancel every queued or running job of ``owner`` (a session); returns how many."""
        with self._changed:
            mine = [job for job in self._queue + self._running if job.owner == owner]
        for job in mine:
            job.cancel()
        return len(mine)

    def _fits(self, job: Job) -> bool:
        busy = sum(running.cost for running in self._running)
        gil_busy = sum(running.holds_gil for running in self._running)
        return busy + job.cost <= self.capacity and (not job.holds_gil or gil_busy < self.gil_capacity)

    def _start_turns(self) -> None:
        """Start the queued jobs whose turn it is (the module docstring's order); the caller holds
        ``_changed``."""
        passed: list[Job] = []  # queued jobs, submitted before the one considered, that stay queued
        for job in list(self._queue):
            if not self._fits(job) or any(other.overtaken >= self.max_overtakes for other in passed):
                passed.append(job)
                continue
            for other in passed:
                other.overtaken += 1
            self._queue.remove(job)
            self._running.append(job)
            job.state, job.started_at, job.start_number = RUNNING, time.monotonic(), self._starts
            self._starts += 1
            threading.Thread(target=self._work, args=(job,), name=f"job {job.label}", daemon=True).start()
        self._changed.notify_all()

    def _drop_queued(self, job: Job) -> None:
        with self._changed:
            if job not in self._queue:
                return
            self._queue.remove(job)
            job.state, job.finished_at = CANCELLED, time.monotonic()
            self._start_turns()  # a job that held the later ones back may have left
        job._finished.set()

    def _work(self, job: Job) -> None:
        steps, state, error = None, DONE, None
        _lower_priority(NICENESS)
        try:
            steps = job.steps(job)
            for item in steps:
                job.results.append(item)
                job.last_step_at = time.monotonic()
                if job.cancelled:
                    state = CANCELLED
                    break
                if job.elapsed > job.max_seconds:
                    state = TIMED_OUT
                    break
            else:
                state = CANCELLED if job.cancelled else DONE
        except Exception as exc:  # noqa: BLE001 - logged here; its owner reads failure(job)
            state, error = FAILED, exc
        finally:
            if steps is not None and hasattr(steps, "close"):
                try:
                    steps.close()
                except Exception as exc:  # noqa: BLE001 - a failing clean-up is the job's failure
                    state, error = FAILED, error or exc
            if error is not None:
                log_failure(job.label, error)
            with self._changed:
                job.state, job.error, job.finished_at = state, error, time.monotonic()
                self._running.remove(job)
                self._start_turns()
            job._finished.set()


def log_failure(label: str, error: BaseException) -> None:
    """Log the exception that ended job ``label`` with its traceback: a ValueError (bad input, its
    sentence shown to the owner) as a warning, anything else as an error. A job that catches its own
    exceptions to keep their sentence (a search) calls this too."""
    level = logging.WARNING if isinstance(error, ValueError) else logging.ERROR
    log.log(level, "training job %r failed: %s", label, error, exc_info=error)


def failure(job: Job) -> str:
    """The one sentence (without its full stop) that tells ``job``'s owner why it failed: a ValueError
    says what to change in its own words; anything else is ours, named with where its traceback is."""
    if isinstance(job.error, ValueError):
        return str(job.error).rstrip(".")
    return (f"an internal error ({type(job.error).__name__}) ended it; the server log has its traceback")


def _lower_priority(increment: int) -> None:
    """Raise this thread's niceness by ``increment`` (threads it starts inherit it); no-op where the
    OS has no per-thread priority."""
    if increment <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + increment))


_SCHEDULER: Scheduler | None = None
_SCHEDULER_LOCK = threading.Lock()


def scheduler() -> Scheduler:
    """The process-wide scheduler shared by every session (created on first use)."""
    global _SCHEDULER
    with _SCHEDULER_LOCK:
        if _SCHEDULER is None:
            import numpy  # noqa: F401  the BLAS libraries are loaded first, then capped for the life of the process
            import scipy.linalg  # noqa: F401
            threadpool_limits(BLAS_THREADS, user_api="blas")
            _SCHEDULER = Scheduler()
        return _SCHEDULER


def follow(job: Job, render: Callable[[Job], None], poll: float = POLL) -> Job:
    """Call ``render(job)`` every ``poll`` seconds until ``job`` ends, then once more.

    Run it from a page's script: ``render`` makes ``st.*`` calls, so when Streamlit stops the script
    (rerun, Stop, leaving the page) the StopException it raises there passes through here and the
    ``finally`` cancels the job. Nothing is caught."""
    try:
        while not job.wait(poll):
            render(job)
        render(job)
    finally:
        if not job.finished:
            job.cancel()
    return job


# --- training jobs for the pages -----------------------------------------------------------------

GIL_ENGINES = ("python", "numpy")


def session_owner() -> str:
    """The id of the Streamlit session running this script ("" outside Streamlit)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx(suppress_warning=True)
    return context.session_id if context is not None else ""


def engine_cost(engine: str, n_threads: int | None, capacity: int, n_ratings: int | None = None,
                schedule: str = "per-rating") -> int:
    """Slots a training with ``engine`` occupies: the threads it will run
    (:func:`mfcore.engines.threads_used`: for ``numba-parallel``'s per-rating kernel ``n_threads``, all
    cores when None, but at most one per 100 000 of the ``n_ratings`` training ratings), else one.
    When ``n_ratings`` is unknown (None), every thread asked for (``capacity`` when None)."""
    if n_ratings is None:
        parallel = engine == "numba-parallel" and schedule == "per-rating"
        return (n_threads or capacity) if parallel else 1
    from mfcore.engines import threads_used

    return threads_used(engine, schedule, n_ratings, n_threads)


def submit(steps: Callable[[Job], Iterator], label: str, engines=("numba",),
           n_threads: int | None = None, n_ratings: int | None = None, schedule: str = "per-rating") -> Job:
    """Queue ``steps`` on the process-wide scheduler for this session; ``engines`` decide the cost
    (the most threads any of them runs on ``n_ratings`` training ratings under ``schedule``:
    :func:`engine_cost`) and whether the job holds the GIL (:data:`GIL_ENGINES`)."""
    shared = scheduler()
    cost = max(engine_cost(engine, n_threads, shared.capacity, n_ratings, schedule) for engine in engines)
    return shared.submit(steps, label, owner=session_owner(), cost=cost,
                         holds_gil=any(engine in GIL_ENGINES for engine in engines))


def end_sentence(job: Job, done: int, unit: str = "epoch", one_step: bool = False) -> str:
    """Why a job that did not finish normally ended, as a sentence fragment: after its last ``unit``,
    or, for a model fitted in ``one_step`` (no epochs), before or after that step."""
    reached = reached_words(done, unit, one_step)
    if job.state == TIMED_OUT:
        return f"stopped at the work limit of {job.max_seconds:g} s per job {reached}"
    if job.state == CANCELLED:
        return f"stopped {reached}"
    return job.state
