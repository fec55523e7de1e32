"""One training scheduler for the whole server: every page's training runs here, never in a page's
script thread.

At most ``capacity`` slots (default: the machine's cores) are busy at once; a job takes ``cost`` slots
(a parallel engine takes the threads it will really run: two threads, two slots; on data too small to
feed them, one) and waits in a first-in first-out queue otherwise
(:attr:`Job.position` says where). Jobs whose engine holds Python's GIL (the ``python`` and ``numpy``
engines) run one at a time whatever the capacity, so page scripts of other sessions keep the
interpreter. Each job runs in its own worker thread; the page's script thread only polls the job and
renders (:func:`follow`), so it reaches an ``st.*`` call a few times a second: when Streamlit stops
that script (a Stop click, a rerun, leaving the page, closing the tab) the job is cancelled and
ends after its current step. A job also ends when it has run for ``max_seconds`` (the work guard).

The API for a page (Train, Speed, Error schedules; Tune submits its search the same way but does not
follow it, so leaving the page does not stop a search)::

    job = jobs.submit(steps, label="run 3", engines=("numba",), n_threads=None)  # this session's job
    jobs.follow(job, render)   # calls render(job) every POLL seconds until the job ends

where :func:`submit` derives the owner, the cost and whether the job holds the GIL for
``scheduler().submit``, and ``steps(job)`` is a generator: each item it yields is appended to
``job.results`` and is a point at which the job may stop (an epoch, or a slice of one). Exceptions it
raises end the job with state ``failed`` and are kept in ``job.error`` for the page to turn into an
``st.error`` sentence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between two renders of a followed job
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
    """A bounded pool of training slots with a FIFO queue (see the module docstring)."""

    def __init__(self, capacity: int | None = None, gil_capacity: int = 1):
        self.capacity = capacity or default_capacity()
        self.gil_capacity = gil_capacity
        self._lock = threading.Lock()
        self._queue: list[Job] = []
        self._running: list[Job] = []

    def submit(self, steps: Callable[[Job], Iterator], label: str, owner: str = "", cost: int = 1,
               holds_gil: bool = False, max_seconds: float | None = None) -> Job:
        """Queue ``steps`` (a generator function of the job) and start it as soon as slots are free.
        ``cost`` is clipped to ``[1, capacity]`` so that every job can run eventually."""
        job = Job(label, owner, steps, max(1, min(int(cost), self.capacity)), holds_gil,
                  MAX_SECONDS if max_seconds is None else max_seconds, scheduler=self)
        with self._lock:
            self._queue.append(job)
        self._dispatch()
        return job

    def position(self, job: Job) -> int:
        with self._lock:
            return self._queue.index(job) + 1 if job in self._queue else 0

    def queued(self) -> list[Job]:
        with self._lock:
            return list(self._queue)

    def running(self) -> list[Job]:
        with self._lock:
            return list(self._running)

    def busy_slots(self) -> int:
        """Slots held by the running jobs (the sum of their costs)."""
        with self._lock:
            return sum(job.cost for job in self._running)

    def waiting_for(self, job: Job) -> str:
        """What queued ``job`` waits for, in words, from the slot counts now: e.g. "waiting for 2 free
        training slots (this server has 2; 2 in use by 1 running job)"."""
        with self._lock:
            busy, running = sum(other.cost for other in self._running), len(self._running)
            gil_busy = sum(other.holds_gil for other in self._running)
        in_use = f"{busy} in use by {running} running job{'s' * (running != 1)}"
        if job.holds_gil and gil_busy >= self.gil_capacity and busy + job.cost <= self.capacity:
            return ("waiting for the running python or numpy job to end (those engines hold Python's "
                    f"interpreter and run one at a time; {in_use})")
        if busy + job.cost <= self.capacity:  # fits now: the next dispatch starts it
            return f"starting ({in_use} of {self.capacity} training slots)"
        return (f"waiting for {job.cost} free training slot{'s' * (job.cost != 1)} "
                f"(this server has {self.capacity}; {in_use})")

    def cancel_owner(self, owner: str) -> int:
        """Cancel every queued or running job of ``owner`` (a session); returns how many."""
        with self._lock:
            mine = [job for job in self._queue + self._running if job.owner == owner]
        for job in mine:
            job.cancel()
        return len(mine)

    def _fits(self, job: Job) -> bool:
        busy = sum(running.cost for running in self._running)
        gil_busy = sum(running.holds_gil for running in self._running)
        return busy + job.cost <= self.capacity and (not job.holds_gil or gil_busy < self.gil_capacity)

    def _dispatch(self) -> None:
        """Start queued jobs in order while they fit; a job that does not fit lets later ones pass
        only if they fit without it (so a GIL-bound job never blocks the compiled ones behind it)."""
        with self._lock:
            for job in list(self._queue):
                if self._fits(job):
                    self._queue.remove(job)
                    self._running.append(job)
                    job.state, job.started_at = RUNNING, time.monotonic()
                    threading.Thread(target=self._work, args=(job,), name=f"job {job.label}",
                                     daemon=True).start()

    def _drop_queued(self, job: Job) -> None:
        with self._lock:
            if job not in self._queue:
                return
            self._queue.remove(job)
        job.state, job.finished_at = CANCELLED, time.monotonic()
        job._finished.set()

    def _work(self, job: Job) -> None:
        steps = None
        _lower_priority(NICENESS)
        try:
            steps = job.steps(job)
            for item in steps:
                job.results.append(item)
                job.last_step_at = time.monotonic()
                if job.cancelled:
                    job.state = CANCELLED
                    break
                if job.elapsed > job.max_seconds:
                    job.state = TIMED_OUT
                    break
            else:
                job.state = CANCELLED if job.cancelled else DONE
        except Exception as exc:  # noqa: BLE001 - kept in job.error; the page shows one st.error sentence
            job.state, job.error = FAILED, exc
            if not isinstance(exc, ValueError):  # bad input is the user's to fix; anything else is ours
                log.error("training job %r failed", job.label, exc_info=exc)
        finally:
            if steps is not None and hasattr(steps, "close"):
                try:
                    steps.close()
                except Exception as exc:  # noqa: BLE001 - a failing clean-up is the job's failure
                    job.state, job.error = FAILED, exc
            job.finished_at = time.monotonic()
            with self._lock:
                self._running.remove(job)
            job._finished.set()
            self._dispatch()


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


def end_sentence(job: Job, done: int, unit: str = "epoch") -> str:
    """Why a job that did not finish normally ended, as a sentence fragment."""
    if job.state == TIMED_OUT:
        return f"stopped at the work limit of {job.max_seconds:g} s per job after {unit} {done}"
    if job.state == CANCELLED:
        return f"stopped after {unit} {done}"
    return job.state
