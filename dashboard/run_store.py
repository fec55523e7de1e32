"""The session's runs on disk (:mod:`dashboard.store`), so a reload or a shared link finds them.

A run is kept as JSON (:meth:`dashboard.run.Run.record`): its number, settings, dataset name and
fingerprint, status, message, every epoch's figures and its scores (with fit seconds and updates/s).
A restored run gets an unfitted model with the same parameters and seed;
:func:`dashboard.training.refit` trains it again on the same split, which the engines make exact.
These functions read the session (the dataset in use, the session's name): call them from a page's
script, never from a training job.
"""

from __future__ import annotations

from collections.abc import Callable

from mfcore import Ratings

from . import data, store
from .run import Run


def save(runs: list[Run]) -> None:
    """Store the session's runs under the session's name (made on the first run); called from the
    script (a run's start). Each run is tagged with the dataset in use (the one it trains on), the
    session name and the session's list of runs, so that :meth:`Run.finish` needs no Streamlit call."""
    session = data.session_name(create=bool(runs))
    for run in runs:
        if run.data_key is None:
            run.data_key = data.current().key
        run.session_name, run.session_runs = session, runs
    store.save_runs(session, [run.record() for run in runs])


def restore() -> list[Run]:
    """The runs stored for this session's name, oldest first (damaged records are skipped)."""
    restored = []
    for rec in store.load_runs(data.session_name()):
        try:
            run = Run.from_record(rec)
        except (KeyError, TypeError, ValueError):
            continue
        run.session_name, run.session_runs = data.session_name(), restored
        restored.append(run)
    return restored


def ratings_of(run: Run) -> Ratings | None:
    """The ratings ``run`` trained on: the session's dataset or the store's copy, None when the
    server no longer has them."""
    return ratings_source(run)()


def ratings_source(run: Run) -> Callable[[], Ratings | None]:
    """A function giving the ratings ``run`` trained on (None when the server no longer has them)
    that makes no Streamlit call, so a download may call it after the script moved on."""
    key = run.data_key
    dataset = data.sample() if key == "" else data.current()  # "": the bundled sample
    if key is None or key == dataset.key:  # None: not recorded yet, so the dataset in use
        return lambda: dataset.ratings

    def stored() -> Ratings | None:
        found = store.load_dataset(key)
        return found[2] if found is not None else None
    return stored
