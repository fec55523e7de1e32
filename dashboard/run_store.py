"""The session's runs on disk (:mod:`dashboard.store`), so a reload or a shared link finds them.

A run is kept as JSON: its number, settings, dataset name and fingerprint, status, message, every
epoch's figures and its scores (with fit seconds and updates/s). A restored run gets an unfitted model with the same
parameters and seed; :func:`refit` trains it again on the same split, which the engines make exact.
"""

from __future__ import annotations

from mfcore import EpochResult, Ratings, SGDFactorizer
from mfcore.models.base import is_fitted

from . import data, store


def record(run) -> dict:
    """A JSON-able record of ``run`` (a :class:`dashboard.runs.Run`)."""
    return {"number": run.number, "settings": run.settings, "dataset": run.dataset,
            "data_path": run.data_path, "data_key": run.data_key or "",
            "params": {k: v for k, v in run.model.get_params().items()},
            "status": run.status, "message": run.message, "scores": run.scores,
            "history": [[r.epoch, r.train_rmse, r.test_rmse, r.seconds, r.validation_rmse]
                        for r in run.history]}


def save(runs: list) -> None:
    """Store the session's runs under the session's name (made on the first run); called from the
    script (a run's start). Each run is tagged with the dataset in use (the one it trains on), the
    session name and the session's list of runs, so that :func:`save_ended` needs no Streamlit call."""
    session = data.session_name(create=bool(runs))
    for run in runs:
        if run.data_key is None:
            run.data_key = data.current().key
        run.session_name, run.session_runs = session, runs
    store.save_runs(session, [record(run) for run in runs])


def save_ended(run) -> None:
    """Store the runs of ``run``'s session after ``run`` ended. It touches no Streamlit state: the
    thread that trained the run may be stopping (Stop, page change, reload)."""
    if run.session_runs is not None:
        store.save_runs(run.session_name, [record(other) for other in run.session_runs])


def restore(run_class) -> list:
    """The runs stored for this session's name (instances of ``run_class``), oldest first."""
    restored = []
    for rec in store.load_runs(data.session_name()):
        try:
            model = SGDFactorizer(**rec["params"])
            run = run_class(rec["number"], rec["settings"], rec["dataset"], rec["data_path"], model,
                            None, status=rec["status"], message=rec["message"], scores=rec["scores"],
                            history=[EpochResult(*row) for row in rec["history"]])
        except (KeyError, TypeError, ValueError):
            continue
        run.data_key = rec.get("data_key", "")
        if run.status == "running":  # its session ended mid-run without recording the end
            run.status, run.message = "stopped", f"stopped after epoch {len(run.history)}"
        run.ended.set()
        run.session_name, run.session_runs = data.session_name(), restored
        restored.append(run)
    return restored


def needs_refit(run) -> bool:
    """Whether ``run`` was restored after a reload and has no trained model yet."""
    return bool(run.history) and not is_fitted(run.model)


def ratings_of(run) -> Ratings | None:
    """The ratings ``run`` trained on: the session's dataset or the store's copy, None when the
    server no longer has them. Called from the script (it reads the session), never from a job."""
    dataset = data.current()
    if run.data_key == dataset.key:
        return dataset.ratings
    stored = store.load_dataset(run.data_key)
    return stored[2] if stored is not None else None


def refit(run, ratings: Ratings | None) -> None:
    """Train a restored run's model again on ``ratings`` (:func:`ratings_of`): same parameters, seed,
    split (and validation split under early stopping) and number of completed epochs, so the same
    factors (the engines are exact given the seed). The run's recorded curve is kept. Makes no
    Streamlit call, so a training job may run it."""
    from . import training  # training imports runs, which imports this module

    if ratings is None:
        raise ValueError(f"the dataset of {run.label} is no longer on this server; upload it again.")
    train, test = training.split(ratings, run.settings)
    validation = None
    if run.model.patience is not None:
        train, validation = training.validation_split(train, run.settings)
    epochs = run.model.fit_iter(train, test if len(test) else None, validation)
    for result in epochs:  # stop where the recorded run stopped (Stop keeps the model at that epoch)
        if result.epoch == len(run.history):
            break
    epochs.close()
    run.test = test
