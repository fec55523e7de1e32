"""The one run driver of the dashboard: split the ratings, train a :class:`~dashboard.runs.Run`'s model
epoch by epoch on the server's training scheduler (:mod:`dashboard.jobs`), render at most every
:data:`RENDER_EVERY` seconds, and record how the run ended.

Pages call :func:`check_memory`, :func:`split` and :func:`execute` and only draw what ``render(run)``
(after new epochs) and ``tick(run)`` (every poll, at least once a second: the progress line) are
given. Statuses are ``running``, ``done``, ``stopped`` (Stop clicked, the page left, or the work
limit reached: the job is cancelled and ends after the epoch it is in), ``diverged`` and ``failed``
(bad settings). The loop itself is :meth:`mfcore.SGDFactorizer.fit_iter`, run in the job's thread;
:func:`settle` makes a new script run wait for an interrupted one to end its epoch, so what is scored
and exported is the model of the last completed epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from mfcore import Ratings, TrainingDiverged, random_split
from mfcore.evaluation import protocol
from mfcore.evaluation.resources import check_training_memory, work_sample

from . import jobs
from .runs import JOB_END_WAIT, Run

RENDER_EVERY = 0.25
"""Seconds between two renders while training (the last epoch is always rendered)."""
VALIDATION_SIZE = protocol.VALIDATION_SIZE
"""Fraction of the training ratings held out to drive early stopping (:func:`validation_split`): the
split table's ``validation_size`` (:data:`mfcore.models.params.SPLIT_PARAMETERS`)."""
SETTLE_SECONDS = 600.0
"""How long :func:`settle` waits at most for an interrupted run to end its current epoch."""


def split(ratings: Ratings, settings: dict) -> tuple[Ratings, Ratings]:
    """The train and test sets of ``settings`` (``test_size`` and ``seed``)."""
    return random_split(ratings, settings["test_size"], seed=settings["seed"])


def validation_split(train: Ratings, settings: dict) -> tuple[Ratings, Ratings]:
    """``train`` less the validation ratings that drive early stopping, and those ratings: the split of
    :func:`mfcore.evaluation.protocol.holdout` (the CLI's ``train --patience`` carves the same one)."""
    return protocol.validation_split(train, settings.get("validation_size", VALIDATION_SIZE), settings["seed"])


def check_memory(ratings: Ratings, n_factors: int, test_size: float, schedule: str = "per-rating") -> int:
    """The estimated peak bytes of training on ``ratings``; raises
    :class:`mfcore.evaluation.resources.MemoryGuardError` (a ValueError naming the numbers) over the cap, before
    anything is allocated."""
    return check_training_memory(ratings.n_users, ratings.n_items, len(ratings), n_factors, test_size,
                                 schedule, ratings.timestamps is not None)


def execute(run: Run, train: Ratings, render: Callable[[Run], None] | None = None,
            render_every: float = RENDER_EVERY, tick: Callable[[Run], None] | None = None,
            validation: Ratings | None = None) -> Run:
    """Train ``run.model`` on ``train`` (testing on ``run.test`` when it is not empty) as a job of the
    shared scheduler, appending each epoch to ``run.history``; ``render(run)`` is called when new
    epochs arrived and ``render_every`` seconds passed since the last render, and after the last one;
    ``tick(run)`` at every poll. The python engine trains on a sample when ``train`` is large
    (:func:`mfcore.evaluation.resources.work_sample`; ``run.note`` says so). Ends the run ``done``, ``diverged``
    or ``failed`` (its message says why), or ``stopped``: by Streamlit interrupting the script (Stop,
    page change; the interruption goes on) or by the work limit, with the model at its last
    completed epoch. ``validation`` (ratings held out of ``train``) is scored every epoch and drives
    early stopping."""
    run.driven = True
    model = run.model
    train, run.note = work_sample(train, model.engine, model.seed)

    def steps(job):
        yield from model.fit_iter(train, run.test if len(run.test) else None, validation)

    job = run.job = jobs.submit(steps, run.label, engines=(model.engine,), n_threads=model.n_threads,
                                n_ratings=len(train), schedule=model.schedule)
    run.history = job.results
    drawn = {"epochs": 0, "at": -math.inf}

    def poll(job: jobs.Job) -> None:
        if tick is not None:
            tick(run)
        done = len(run.history)
        if render is not None and done != drawn["epochs"] and (
                job.finished or time.perf_counter() - drawn["at"] > render_every):
            render(run)
            drawn.update(epochs=done, at=time.perf_counter())

    try:
        jobs.follow(job, poll)
    finally:
        if job.wait(JOB_END_WAIT):
            _finish(run, job)
        run.ended.set()
    return run


def _finish(run: Run, job: jobs.Job) -> None:
    """Record how ``job`` ended on ``run``."""
    if job.state == jobs.DONE:
        run.finish("done")
    elif isinstance(job.error, TrainingDiverged):
        run.finish("diverged", str(job.error))
    elif isinstance(job.error, ValueError):
        run.finish("failed", str(job.error))
    elif job.state == jobs.FAILED:  # the scheduler logged it
        run.finish("failed", "an internal error ended the run (the server log has the details).")
    else:
        run.finish("stopped", jobs.end_sentence(job, len(run.history)))


def interrupted(runs: list[Run]) -> list[Run]:
    """The runs still marked running: cut short by a Stop click or a page change."""
    return [run for run in runs if run.status == "running"]


def settle(runs: list[Run], timeout: float = SETTLE_SECONDS) -> None:
    """Let interrupted runs end as ``stopped`` with the model of their last completed epoch.

    Streamlit starts the new script run at once (``runner.fastReruns``) while the interrupted one
    still runs in its own thread until its next Streamlit call (a poll of its job, every
    :data:`dashboard.jobs.POLL` seconds); it then cancels the job, waits for it to end the epoch in
    progress and records the run as stopped. So a run being trained is waited for (up to
    ``timeout`` seconds), never scored while its kernel is still moving the factors; a run that no
    thread trains is marked stopped at once."""
    for run in interrupted(runs):
        if run.job is not None:
            run.job.cancel()
        if run.driven:
            run.ended.wait(timeout)
        if run.status == "running":
            run.finish("stopped", f"stopped after epoch {len(run.history)}")
