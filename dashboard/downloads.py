"""The files of one Train run (:func:`of_run`): its history CSV, its factors (.npz and CSV), its
reproduction script and its model file, each named after the run. Pages render them as download
buttons; the heavy ones are built when clicked (Streamlit's deferred downloads), from the model the
run held when the page ran, so a later run releasing it cannot change what is served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mfcore import Ratings
from mfcore.models.export import factors_csv, factors_npz, reproduction_snippet
from mfcore.models.base import is_fitted

from . import explore, runs
from .run import Run

OCTET, CSV = "application/octet-stream", "text/csv"


@dataclass(frozen=True)
class Download:
    """One file to offer: ``data`` is the bytes (or text), or a function making them on click."""

    label: str
    data: bytes | str | Callable[[], bytes]
    file_name: str
    mime: str


def script(run: Run) -> str:
    """Python that loads the run's data, splits it the same way and trains the run's model for the
    epochs it completed."""
    trained = {**run.model.get_params(), "n_epochs": len(run.history) or run.model.n_epochs}
    return reproduction_snippet(trained, run.data_path, run.settings["test_size"], run.settings["seed"])


def of_run(run: Run, ratings: Callable[[], Ratings | None]) -> list[Download]:
    """``run``'s own files: its history CSV and script always, its factors and model file when its
    model is held (else see :func:`dashboard.training.refit`). ``ratings()`` gives the ratings the run
    trained on (:func:`dashboard.run_store.ratings_source`), read only for the model file."""
    n = run.number
    files = [Download(f"History of {run.label} (CSV)", runs.history_csv([run]), f"history_run{n}.csv", CSV)]
    model = run.model
    if is_fitted(model):
        files += [Download(f"Factors of {run.label} (.npz)", lambda: factors_npz(model),
                           f"factors_run{n}.npz", OCTET),
                  Download(f"Factors of {run.label} (CSV)", lambda: factors_csv(model),
                           f"factors_run{n}.csv", CSV)]
    files.append(Download(f"Python script for {run.label}", script(run), f"reproduce_run{n}.py",
                          "text/x-python"))
    if is_fitted(model):
        files.append(Download(f"Model of {run.label} (.npz, opens on Explore)",
                              lambda: _model_file(run, model, ratings), f"model_run{n}.npz", OCTET))
    return files


def no_model(run: Run) -> str:
    """Why ``run`` offers no factors or model file even after retraining (it ended without a
    model), or "" when it has them or :func:`dashboard.training.refit` can give them."""
    if is_fitted(run.model) or run.needs_refit or run.status == "running":
        return ""
    ended = "completed no epoch" if not run.history else run.status
    return f"{run.label} {ended}, so it has no model: its history and script are its only files."


def _model_file(run: Run, model, ratings: Callable[[], Ratings | None]) -> bytes:
    held = ratings()
    if held is None:
        raise ValueError(f"the dataset of {run.label} is no longer on this server; upload it again.")
    return explore.run_file(run, held, model)
