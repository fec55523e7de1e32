"""The runs Explore offers, and a run's model brought back when it is picked.

Every run of the session (and of the session it was opened from, a reload or a link: those runs are
read-only) on the dataset in use that ended with a model (done or stopped after at least one epoch),
rating and ranking models alike, newest first. A session holds at most two fitted models
(:func:`dashboard.logic.session_runs.hold`) and a restored run holds none, so a picked run whose
model is not held is trained again by :func:`dashboard.logic.run_driver.refit` (its split, seed,
python-engine sample and guards; as a job of the shared scheduler), which gives the run's own
factors; the page says so in one sentence and shows the job's progress meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

from dashboard.logic import run_driver, session_runs
from dashboard.render.texts import md
from dashboard.server import saved_runs
from dashboard.server.run_record import KIND_NAMES, Run
from mfcore.models.base import is_fitted


def explorable(runs: list[Run], dataset: str) -> list[Run]:
    """The runs of ``runs`` on ``dataset`` that Explore can show, newest first: held models, and
    runs that ended with a model :func:`dashboard.logic.run_driver.refit` can train again. Runs of
    the item-item models (EASE, item-kNN), which have no factors to map, are not offered: they join a
    factor model's page as lists (:func:`dashboard.logic.ranking_views.join_train_runs`)."""
    return [run for run in reversed(runs) if run.dataset == dataset and run.status != "running"
            and not run.closed_form and (is_fitted(run.model) or run.needs_refit)]


def choice_text(run: Run) -> str:
    """How the model choice names ``run``: its label and model kind, e.g. "run 2 (BPR)"."""
    return f"{run.label} ({KIND_NAMES[run.kind]})"


def restore_sentence(run: Run) -> str:
    """Why the page trains ``run`` again before showing it (Markdown)."""
    why = ("it was restored after a reload or opened from a link, which keeps curves, not models"
           if run.read_only else "a session keeps the models of its newest run and the last one restored only")
    return md("The model of {} is not held on the server ({}): training it again "
              "with its settings, split and seed, which gives the same factors.", run.label, why)


def restore(run: Run, runs: list[Run], tick: Callable[[float, str], None]) -> str | None:
    """Train ``run``'s model again on the ratings it trained on (``tick(fraction, text)`` draws the
    progress) and keep it held with the newest run's; None, or the sentence saying why it could not."""
    try:
        run_driver.refit(run, saved_runs.ratings_of(run), tick)
    except ValueError as exc:
        return md("Could not restore {}: {}", run.label, exc)
    session_runs.hold(run, runs)
    return None
