"""The session's runs on disk (:mod:`dashboard.server.store`), so a reload or a shared link finds them.

One file per run and an index per session (:func:`dashboard.server.store.save_run`,
:func:`~dashboard.server.store.save_index`), each written atomically. A browser session writes only under
a session name it owns: a session opened from a link (a reload, a second tab, a copied link) shows
the linked session's runs read-only, and its first run forks it (:func:`dashboard.server.datasets.session_name`),
the new session's index starting with references to those runs. So two tabs never overwrite each
other, and nobody's ``MAX_RUNS`` trimming removes anything but references from their own index:
run files are only ever removed by age (:func:`dashboard.server.store.evict_runs`).

A run is kept as JSON (:meth:`dashboard.server.run_record.Run.record`): its number, settings, dataset name and
fingerprint, status, message, every epoch's figures and its scores (with fit seconds and updates/s).
A restored run gets an unfitted model with the same parameters and seed;
:func:`dashboard.logic.run_driver.refit` trains it again on the same split, which the engines make exact.
These functions read the session (the dataset in use, the session's name): call them from a page's
script, never from a training job.
"""

from __future__ import annotations

from collections.abc import Callable

from mfcore import Ratings

from dashboard.server import datasets
from dashboard.server import store
from dashboard.server.run_record import Run


def save(runs: list[Run]) -> None:
    """Store the session's runs under a session name this browser session owns (made, or forked from
    the linked one, on the first run); called from the script (a run's start). Each new run gets its
    own file, tagged with the dataset in use (the one it trains on), so that :meth:`Run.finish`
    rewrites that one file with no Streamlit call; runs seeded from another session stay read-only
    references. The index lists them all, in order."""
    session = datasets.session_name(create=bool(runs))
    if not session:
        return
    for run in runs:
        if run.data_key is None:
            run.data_key = datasets.current().key
        if not run.store_key:
            run.session_name, run.store_key = session, store.run_key(session, run.number)
            run.save_session()
    store.save_index(session, [run.store_key for run in runs])
    store.evict_runs()


def restore() -> list[Run]:
    """The runs the session's (linked) name shows, oldest first, read-only (damaged or missing records
    are skipped)."""
    restored = []
    for key in store.load_index(datasets.session_name()):
        rec = store.load_run(key)
        try:
            run = Run.from_record(rec, store.load_curve(key) if rec and rec.get("status") == "running" else None)
        except (KeyError, TypeError, ValueError):
            continue
        run.store_key, run.read_only = key, True
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
    dataset = datasets.sample() if key == "" else datasets.current()  # "": the bundled sample
    if key is None or key == dataset.key:  # None: not recorded yet, so the dataset in use
        return lambda: dataset.ratings

    def stored() -> Ratings | None:
        found = store.load_dataset(key)
        return found[2] if found is not None else None
    return stored
