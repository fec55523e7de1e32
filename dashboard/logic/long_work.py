"""How long work will take, said before it starts; above :data:`WARN_SECONDS` a page asks first (:func:`gate`).

The training time comes from :func:`mfcore.evaluation.estimate.estimate_seconds` (a per-process
calibration of each engine's cost per update); this module adds what a page does besides training
(queueing, the per-epoch scoring and renders: :data:`RUN_OVERHEAD`), the server's current load (the
machine is shared: :func:`load_factor`), the Speed page's budget rule, and the sentence the warning
says.
"""

from __future__ import annotations

import os

import streamlit as st

from mfcore.evaluation.estimate import ITEM_KINDS, estimate_item_seconds, estimate_ranking_seconds, estimate_seconds
from mfcore.evaluation.resources import PYTHON_MAX_RATINGS

from dashboard.render import safe

WARN_SECONDS = 10.0
"""Work estimated above this many seconds waits for a Start click under its estimate (:func:`gate`)."""
PENDING = "long_work_pending"
"""Session key of the work that waits for its Start click, by page."""
RUN_OVERHEAD = 0.25
"""Seconds a training run spends besides its epochs (queueing, the epoch plan, the page's renders)."""
TIMING_OVERHEAD = 0.5
"""Seconds per engine the Speed page spends besides its timed epochs on an idle machine (the probe
fit, scoring after every epoch, its share of the python/numba agreement check)."""


def load_factor() -> float:
    """How many times slower than on an idle machine work runs now: the last minute's load average
    per core, at least 1 (a calibration measured earlier does not see today's neighbours)."""
    try:
        return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    except OSError:  # no load average on this platform
        return 1.0


def training_seconds(n_train: int, n_epochs: int, n_factors: int, engine: str, schedule: str = "per-rating",
                     threads: int | None = None) -> float:
    """Estimated seconds of a run of ``n_epochs`` over ``n_train`` training ratings (the python
    engine's sample when it is capped)."""
    if engine == "python":
        n_train = min(n_train, PYTHON_MAX_RATINGS)
    return load_factor() * (RUN_OVERHEAD + estimate_seconds(engine, n_train, n_factors, n_epochs, schedule, threads))


def ranking_seconds(kind: str, n_train: int, n_epochs: int, n_factors: int) -> float:
    """Estimated seconds of a one-thread ranking run (``bpr``, ``als``) of ``n_epochs`` over ``n_train``
    training ratings (:func:`mfcore.evaluation.estimate.estimate_ranking_seconds`, the page's overhead
    and the load)."""
    return load_factor() * (RUN_OVERHEAD + estimate_ranking_seconds(kind, n_train, n_factors, n_epochs))


def closed_form_seconds(kind: str, n_items: int) -> float:
    """Estimated seconds of fitting an item-item model (``ease``, ``itemknn``) on ``n_items`` items
    (:func:`mfcore.evaluation.estimate.estimate_item_seconds`, the page's overhead and the load)."""
    return load_factor() * (RUN_OVERHEAD + estimate_item_seconds(kind, n_items))


def refit_seconds(run, n_ratings: int, n_items: int = 0) -> float:
    """Estimated seconds of training ``run`` (a :class:`dashboard.server.run_record.Run`) again on its
    dataset of ``n_ratings`` ratings (and ``n_items`` items, what an item-item model's time grows
    with): its epochs done, its K, engine or kind, less its test set."""
    if run.kind in ITEM_KINDS:
        return closed_form_seconds(run.kind, n_items)
    n_train = int(n_ratings * (1 - run.settings.get("test_size", 0.0)))
    epochs, model = max(len(run.history), 1), run.model
    if run.ranking:
        return ranking_seconds(run.kind, n_train, epochs, model.n_factors)
    return training_seconds(n_train, epochs, model.n_factors, model.engine, model.schedule, model.n_threads)


def timing_seconds(engines, n_train: int, n_epochs: int, n_factors: int, budget: float) -> float:
    """Estimated seconds of the Speed page's timings (``mfcore.evaluation.bench.time_engine``): per
    engine, its epochs, stopped once the next would pass the budget (at least one), or half the
    budget on a sample when one epoch would not fit in it."""
    total, load = 0.0, load_factor()
    for engine in engines:
        epoch = load * estimate_seconds(engine, n_train, n_factors, 1)
        total += load * TIMING_OVERHEAD + (budget / 2 if epoch > budget else min(n_epochs * epoch, max(budget, epoch)))
    return total


def sentence(seconds: float, what: str, basis: str = "estimated from its measured speed and load") -> str:
    """``what`` will take about ``seconds``, said in words, with what the number rests on."""
    return f"{what} should take about {about(seconds)} on this server ({basis})."


def is_long(seconds: float) -> bool:
    return seconds > WARN_SECONDS


def about(seconds: float) -> str:
    """``seconds`` as the estimates say them: "75 s", "2.5 minutes"."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def gate(slot, key: str, request=None, seconds: float = 0.0, text: str = "", what: str = "The work"):
    """Whether work may start now: ``(request, seconds)`` to start it, or None.

    A page calls it on every run. With a new ``request`` (whatever the page needs to start the work,
    e.g. its form's settings) estimated at ``seconds``: short work is returned at once; long work
    (:func:`is_long`) waits under ``key`` while ``slot`` shows ``text`` (the estimate, from
    :func:`sentence`, and how to shorten it) and two buttons, Start and Don't start. Without one, a
    waiting request is shown again, and returned on the run its Start click starts; Don't start
    forgets it and says that ``what`` was not started. So the estimate and the choice come before the
    work, never after it has begun."""
    waiting = st.session_state.setdefault(PENDING, {})
    if request is not None:
        if not is_long(seconds):
            waiting.pop(key, None)
            return request, seconds
        waiting[key] = (request, seconds, text, what)
    if key not in waiting:
        return None
    request, seconds, text, what = waiting[key]
    box = slot.container()
    safe.warning(box, "{} Start it?", text)
    start_column, drop_column, _ = box.columns([2, 2, 5])
    if start_column.button(safe.md("Start ({})", about(seconds)), key=f"{key}_long_start", type="primary"):
        del waiting[key]
        slot.empty()
        return request, seconds
    if drop_column.button("Don't start", key=f"{key}_long_drop"):
        del waiting[key]
        safe.info(slot, "{} was not started.", what)
    return None


def forget(key: str) -> None:
    """Drop the work waiting under ``key`` for its Start click (the page started other work)."""
    st.session_state.get(PENDING, {}).pop(key, None)
