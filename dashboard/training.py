"""The one run driver of the dashboard: split the ratings, train a :class:`~dashboard.runs.Run`'s model
epoch by epoch, render at most every :data:`RENDER_EVERY` seconds, and record how the run ended.

Pages call :func:`split` and :func:`execute` and only draw what ``render(run)`` is given; statuses are
``running``, ``done``, ``stopped`` (Stop clicked or the page left: Streamlit interrupts the script at
its next call, which is always between epochs here), ``diverged`` and ``failed`` (bad settings).
The non-UI part, the loop itself, is :meth:`mfcore.SGDFactorizer.fit_iter`; :func:`settle` makes a
new script run wait for an interrupted one to end its epoch, so what is scored and exported is the
model of the last completed epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from mfcore import Ratings, TrainingDiverged, random_split

from .runs import Run

RENDER_EVERY = 0.25
"""Seconds between two renders while training (the last epoch is always rendered)."""
SETTLE_SECONDS = 600.0
"""How long :func:`settle` waits at most for an interrupted run to end its current epoch."""


def split(ratings: Ratings, settings: dict) -> tuple[Ratings, Ratings]:
    """The train and test sets of ``settings`` (``test_size`` and ``seed``)."""
    return random_split(ratings, settings["test_size"], seed=settings["seed"])


def execute(run: Run, train: Ratings, render: Callable[[Run], None] | None = None,
            render_every: float = RENDER_EVERY) -> Run:
    """Train ``run.model`` on ``train`` (testing on ``run.test`` when it is not empty), appending each
    epoch to ``run.history`` and calling ``render(run)`` after an epoch when ``render_every`` seconds
    have passed since the last render, and after the last epoch. Ends the run ``done``, ``diverged``
    or ``failed`` (its message says why); interrupted by Streamlit (Stop, page change) it ends
    ``stopped`` with the model at its last completed epoch, and the interruption goes on."""
    run.driven = True
    last_render = -math.inf  # the first epoch is always drawn
    epochs = run.model.fit_iter(train, run.test if len(run.test) else None)
    try:
        for result in epochs:
            run.history.append(result)
            if render is not None and (result.epoch == run.model.n_epochs
                                       or time.perf_counter() - last_render > render_every):
                render(run)
                last_render = time.perf_counter()
        run.finish("done")
    except TrainingDiverged as exc:
        run.finish("diverged", str(exc))
    except ValueError as exc:
        run.finish("failed", str(exc))
    finally:
        epochs.close()
        if run.status == "running":
            run.finish("stopped", f"stopped after epoch {len(run.history)}")
        run.ended.set()
    return run


def interrupted(runs: list[Run]) -> list[Run]:
    """The runs still marked running: cut short by a Stop click or a page change."""
    return [run for run in runs if run.status == "running"]


def settle(runs: list[Run], timeout: float = SETTLE_SECONDS) -> None:
    """Let interrupted runs end as ``stopped`` with the model of their last completed epoch.

    Streamlit starts the new script run at once (``runner.fastReruns``) while the interrupted one
    still runs in its own thread until its next Streamlit call, i.e. until the epoch in progress
    ends; that thread then records the run as stopped. So a run being trained is waited for (up to
    ``timeout`` seconds), never scored while its kernel is still moving the factors; a run that no
    thread trains is marked stopped at once."""
    for run in interrupted(runs):
        if run.driven:
            run.ended.wait(timeout)
        if run.status == "running":
            run.finish("stopped", f"stopped after epoch {len(run.history)}")
