"""The one run driver of the dashboard: split the ratings, train a :class:`~dashboard.server.run_record.Run`'s model
epoch by epoch on the server's training scheduler (:mod:`dashboard.server.jobs`), render at most every
:data:`RENDER_EVERY` seconds, and record how the run ended; and train a run's model again
(:func:`refit`) through the same split, sample, loop and scheduler when its model is not held.

Pages call :func:`check_memory`, :func:`prepare` and :func:`execute` and only draw what ``render(run)``
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

from mfcore import Ratings, SGDFactorizer, TrainingDiverged, random_split
from mfcore.engines import threads_used
from mfcore.evaluation import protocol
from mfcore.evaluation.resources import check_training_memory, ranking_options, work_sample

from dashboard.server import jobs
from dashboard.server.run_record import JOB_END_WAIT, Run, is_ranking

RENDER_EVERY = 0.25
"""Seconds between two renders while training (the last epoch is always rendered)."""
VALIDATION_SIZE = protocol.VALIDATION_SIZE
"""Fraction of the training ratings held out to drive early stopping (:func:`validation_split`): the
split table's ``validation_size`` (:data:`mfcore.models.params.SPLIT_PARAMETERS`)."""
SETTLE_SECONDS = 600.0
"""How long :func:`settle` waits at most for an interrupted run to end its current epoch."""
RANKING_K = 10
"""A ranking run's curve is its test NDCG@k per epoch at this k."""
RANKING_EVAL_USERS = 1000
"""A ranking run ranks at most this many test users (a seeded sample) after each epoch, to keep an
epoch's evaluation under its training time: on MovieLens 1M (6,040 users, 3,706 items, K = 64, one
thread) ranking 1,000 users' unseen items took 0.18 s against 0.31-0.38 s for a BPR epoch (and ALS's
epochs take about as long), measured on a busy 2-core machine."""


def split(ratings: Ratings, settings: dict) -> tuple[Ratings, Ratings]:
    """The train and test sets of ``settings`` (``test_size`` and ``seed``)."""
    return random_split(ratings, settings["test_size"], seed=settings["seed"])


def validation_split(train: Ratings, settings: dict) -> tuple[Ratings, Ratings]:
    """``train`` less the validation ratings that drive early stopping, and those ratings: the split of
    :func:`mfcore.evaluation.protocol.holdout` (the CLI's ``train --patience`` carves the same one)."""
    return protocol.validation_split(train, settings.get("validation_size", VALIDATION_SIZE), settings["seed"])


def prepare(ratings: Ratings, settings: dict, early_stopping: bool = False
            ) -> tuple[Ratings, Ratings, Ratings | None]:
    """``(train, test, validation)`` for a run of ``settings`` on ``ratings``: :func:`split`, then under
    early stopping :func:`validation_split` of the training ratings (else validation is None). Every
    training of a run and its :func:`refit` split this way."""
    train, test = split(ratings, settings)
    validation = None
    if early_stopping:
        train, validation = validation_split(train, settings)
    return train, test, validation


def check_memory(ratings: Ratings, n_factors: int, test_size: float, schedule: str = "per-rating", *,
                 engine: str = "numba", model=None, eval_users: int | None = RANKING_EVAL_USERS) -> int:
    """The estimated peak bytes of training on ``ratings`` (split by ``test_size``) with ``engine`` on
    the threads it will run (:func:`mfcore.engines.threads_used`, every core asked for); raises
    :class:`mfcore.evaluation.resources.MemoryGuardError` (a ValueError naming the numbers) over the cap, before
    anything is allocated. A ranking ``model`` (BPR, ALS) is estimated as such (its kind, positives,
    negatives and threads: :func:`mfcore.evaluation.resources.ranking_options`), with its per-epoch
    NDCG on at most ``eval_users`` test users (:func:`fit_steps`; 0: no evaluation, as Explore's)."""
    if model is not None and is_ranking(model):
        return check_training_memory(ratings.n_users, ratings.n_items, len(ratings), model.n_factors, test_size,
                                     timestamps=ratings.timestamps is not None, eval_users=eval_users,
                                     **ranking_options(model, ratings))
    threads = threads_used(engine, schedule, round(len(ratings) * (1 - test_size)))
    return check_training_memory(ratings.n_users, ratings.n_items, len(ratings), n_factors, test_size,
                                 schedule, ratings.timestamps is not None, n_threads=threads)


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
    if not run.ranking:
        train, run.note = work_sample(train, model.engine, model.seed)

    def steps(job):
        for result in fit_steps(model, train, run.test if len(run.test) else None, validation):
            run.append_epoch(result)  # on disk before the page sees it: a killed server keeps the curve
            yield result

    job = run.job = _submit(steps, run.label, model, len(train))
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


def fit_steps(model, train: Ratings, test: Ratings | None, validation: Ratings | None = None):
    """``model.fit_iter``'s epochs: a rating model scores ``test`` (and ``validation`` for early
    stopping) by RMSE; a ranking model ranks ``test``'s positives (NDCG@:data:`RANKING_K` on at most
    :data:`RANKING_EVAL_USERS` users) after every epoch."""
    if is_ranking(model):
        return model.fit_iter(train, test, k=RANKING_K, max_users=RANKING_EVAL_USERS)
    return model.fit_iter(train, test, validation)


def _submit(steps, label: str, model, n_ratings: int) -> jobs.Job:
    """Queue ``steps`` on the shared scheduler at the cost of training ``model`` on ``n_ratings``
    ratings: the threads its engine will run on them (:func:`dashboard.server.jobs.engine_cost`; a ranking
    model's kernels run ``n_threads`` like numba-parallel's; an item-item model, which has none, one)."""
    if is_ranking(model):
        return jobs.submit(steps, label, engines=("numba-parallel",), n_threads=getattr(model, "n_threads", 1),
                           n_ratings=n_ratings)
    return jobs.submit(steps, label, engines=(model.engine,), n_threads=model.n_threads, n_ratings=n_ratings,
                       schedule=model.schedule)


def refit(run: Run, ratings: Ratings | None, tick: Callable[[float, str], None] | None = None) -> Run:
    """Train ``run``'s model again (a run restored after a reload, or one whose model was released)
    the way :func:`execute` trained it: the same :func:`prepare` split (with the validation split
    under early stopping), the same python-engine sample, ``fit_iter`` as a job of the shared
    scheduler, stopped after the epoch the recorded run ended with (a stopped run) or at the loop's own
    end (done, early stopping included). The engines are exact given the seed, so these are the run's
    factors. ``tick(fraction, text)`` draws the progress at every poll; it makes the Streamlit calls at
    which a Stop click or leaving the page cancels the job. The recorded curve and scores are kept;
    ``run.model`` and ``run.test`` change only when the retraining completed. Raises ValueError with
    one sentence when it cannot (``ratings`` None: the server lost the dataset; over the memory cap;
    the work limit; an error in training)."""
    if ratings is None:
        raise ValueError(f"the dataset of {run.label} is no longer on this server; upload it again.")
    if not run.history:
        raise ValueError(f"{run.label} completed no epoch, so it has no model to train again.")
    model = (type(run.model) if is_ranking(run.model) else SGDFactorizer)(**run.model.get_params())
    check_memory(ratings, model.n_factors, run.settings["test_size"], getattr(model, "schedule", "per-rating"),
                 engine=getattr(model, "engine", "numba"), model=model)
    train, test, validation = prepare(ratings, run.settings, getattr(model, "patience", None) is not None)
    note = ""
    if not is_ranking(model):
        train, note = work_sample(train, model.engine, model.seed)
    target, cut = len(run.history), run.status != "done"

    def steps(job):
        for result in fit_steps(model, train, test if len(test) else None, validation):
            yield result
            if cut and result.epoch >= target:  # the recorded run was stopped after this epoch
                return

    job = _submit(steps, f"retraining {run.label}", model, len(train))

    def poll(job: jobs.Job) -> None:
        if tick is not None:
            done = len(job.results)
            seconds = job.results[-1].seconds if job.results else None
            tick(job.fraction(done, target, seconds),
                 job.status_line() if job.state == jobs.QUEUED else
                 job.status_line(f"epoch {min(done + 1, target)}/{target}" if job.state == jobs.RUNNING
                                 else f"{done}/{target} epochs"))

    jobs.follow(job, poll)
    if job.state == jobs.DONE and len(job.results) == target:
        run.model, run.test, run.note = model, test, note
        return run
    if job.state == jobs.FAILED:
        raise ValueError(f"{jobs.failure(job)}.")
    if job.state == jobs.DONE:
        raise ValueError(f"the retraining ran {len(job.results)} epochs where {run.label} ran {target}, "
                         "so its model would not be the run's.")
    raise ValueError(f"the retraining {jobs.end_sentence(job, len(job.results))} of {target}.")


def _finish(run: Run, job: jobs.Job) -> None:
    """Record how ``job`` ended on ``run``."""
    if job.state == jobs.DONE:
        run.finish("done")
    elif isinstance(job.error, TrainingDiverged):
        run.finish("diverged", str(job.error))
    elif job.state == jobs.FAILED:  # the scheduler logged it with its traceback
        run.finish("failed", f"{jobs.failure(job)}.")
    else:
        run.finish("stopped", jobs.end_sentence(job, len(run.history), one_step=run.closed_form))


def interrupted(runs: list[Run]) -> list[Run]:
    """The runs still marked running: cut short by a Stop click or a page change."""
    return [run for run in runs if run.status == "running"]


def settle(runs: list[Run], timeout: float = SETTLE_SECONDS) -> None:
    """Let interrupted runs end as ``stopped`` with the model of their last completed epoch.

    Streamlit starts the new script run at once (``runner.fastReruns``) while the interrupted one
    still runs in its own thread until its next Streamlit call (a poll of its job, every
    :data:`dashboard.server.jobs.POLL` seconds); it then cancels the job, waits for it to end the epoch in
    progress and records the run as stopped. So a run being trained is waited for (up to
    ``timeout`` seconds), never scored while its kernel is still moving the factors; a run that no
    thread trains is marked stopped at once."""
    for run in interrupted(runs):
        if run.job is not None:
            run.job.cancel()
        if run.driven:
            run.ended.wait(timeout)
        if run.status == "running":
            run.finish("stopped", f"stopped {run.reached}")
