"""The files of one Train run (:func:`of_run`): its history CSV, its factors (.npz and CSV), its
reproduction script and its model file, each named after the run. Pages render them with
:func:`button`: the heavy ones are built when clicked (Streamlit's deferred downloads), and those
estimated over :data:`BIG_BYTES` behind a "Prepare" button that builds them under a spinner first;
always from the model the run held when the page ran, so a later run releasing it cannot change what
is served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from mfcore import Ratings
from mfcore.models.export import factors_csv, factors_npz, reproduction_snippet
from mfcore.models.base import is_fitted

from dashboard.logic import model_views
from dashboard.render import safe
from dashboard.logic import session_runs
from dashboard.server.run_record import Run

OCTET, CSV = "application/octet-stream", "text/csv"
BIG_BYTES = 5_000_000
"""Files estimated above this many bytes are prepared on request, with a spinner."""
CSV_BYTES_PER_VALUE = 16
"""Bytes a float32 takes in a CSV written by pandas (digits, sign, exponent, comma), roughly."""


@dataclass(frozen=True)
class Download:
    """One file to offer: ``data`` is the bytes (or text), or a function making them on click."""

    label: str
    data: bytes | str | Callable[[], bytes]
    file_name: str
    mime: str
    size: int = 0
    """About how many bytes ``data`` makes (0: small or already made)."""


def factors_csv_bytes(model) -> int:
    """About how many bytes :func:`mfcore.models.export.factors_csv` writes for ``model``."""
    rows = len(model.user_ids_) + len(model.item_ids_) + 1
    return rows * (model.P_.shape[1] + 3) * CSV_BYTES_PER_VALUE


def button(container, file: Download, key: str) -> None:
    """A download button for ``file``. Up to :data:`BIG_BYTES` its data is built when the button is
    clicked; above, a first button builds it under a spinner (held until it is downloaded)."""
    if file.size <= BIG_BYTES:
        safe.download_button(container, file.label, file.data, file.file_name, mime=file.mime,
                             on_click="ignore", key=key)
        return
    held = f"{key}-data"
    ready = st.session_state.get(held)
    size = f"about {file.size / 1e6:,.0f} MB"
    if ready is None and container.button(safe.md("Prepare {} ({})", file.label, size), key=f"{key}-prepare",
                                          help="A big file: it is built on request, which takes a while."):
        with container, st.spinner(safe.md("Building {} ({})...", file.label, size)):
            ready = st.session_state[held] = file.data() if callable(file.data) else file.data
    if ready is not None:
        safe.download_button(container, f"{file.label}: {len(ready) / 1e6:,.1f} MB ready", ready,
                             file.file_name, mime=file.mime, key=key,
                             on_click=lambda: st.session_state.pop(held, None))


def script(run: Run) -> str:
    """Python that loads the run's data, splits it the same way and trains the run's model for the
    epochs it completed."""
    trained = dict(run.model.get_params())
    if not run.closed_form:  # the item-item models have no epochs
        trained["n_epochs"] = len(run.history) or run.model.n_epochs
    if run.ranking:
        name = type(run.model).__name__
        arguments = "".join(f"\n    {key}={value!r}," for key, value in trained.items())
        return (f"from mfcore import {name}, load_ratings, random_split\n\n"
                f"ratings = load_ratings({run.data_path!r})\n"
                f"train, test = random_split(ratings, {run.settings['test_size']!r}, seed={run.settings['seed']!r})\n"
                f"model = {name}({arguments}\n)\n"
                + ("for result in model.fit_iter(train, test, k=10):  # one step: test NDCG@10 once\n"
                   if run.closed_form else
                   "for result in model.fit_iter(train, test, k=10):  # test NDCG@10 after every epoch\n")
                + "    print(result)\n")
    return reproduction_snippet(trained, run.data_path, run.settings["test_size"], run.settings["seed"])


def of_run(run: Run, ratings: Callable[[], Ratings | None]) -> list[Download]:
    """``run``'s own files: its history CSV and script always, its factors and model file when its
    model is held (else see :func:`dashboard.logic.run_driver.refit`). ``ratings()`` gives the ratings the run
    trained on (:func:`dashboard.server.saved_runs.ratings_source`), read only for the model file."""
    n = run.number
    files = [Download(f"History of {run.label} (CSV)", session_runs.history_csv([run]), f"history_run{n}.csv", CSV)]
    model = run.model
    if is_fitted(model) and not run.ranking:  # a ranking model's factors are in its model file
        files += [Download(f"Factors of {run.label} (.npz)", lambda: factors_npz(model),
                           f"factors_run{n}.npz", OCTET),
                  Download(f"Factors of {run.label} (CSV)", lambda: factors_csv(model),
                           f"factors_run{n}.csv", CSV, factors_csv_bytes(model))]
    files.append(Download(f"Python script for {run.label}", script(run), f"reproduce_run{n}.py",
                          "text/x-python"))
    if is_fitted(model):
        files.append(Download(f"Model of {run.label} (.npz, opens on Explore)",
                              lambda: _model_file(run, model, ratings), f"model_run{n}.npz", OCTET))
    return files


def no_model(run: Run) -> str:
    """Why ``run`` offers no factors or model file even after retraining (it ended without a
    model), or "" when it has them or :func:`dashboard.logic.run_driver.refit` can give them."""
    if is_fitted(run.model) or run.needs_refit or run.status == "running":
        return ""
    ended = "completed no epoch" if not run.history else run.status
    return f"{run.label} {ended}, so it has no model: its history and script are its only files."


def _model_file(run: Run, model, ratings: Callable[[], Ratings | None]) -> bytes:
    held = ratings()
    if held is None:
        raise ValueError(f"the dataset of {run.label} is no longer on this server; upload it again.")
    return model_views.run_file(run, held, model)
