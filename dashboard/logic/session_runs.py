"""The session's training runs (:class:`dashboard.server.run_record.Run`): the list kept in ``st.session_state``,
how a new run joins it, which models stay held, and the table that compares them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import PurePath

import numpy as np
import pandas as pd
import streamlit as st

from mfcore import Ratings, SGDFactorizer
from mfcore.models.export import history_frame
from mfcore.models.base import is_fitted

from dashboard.render import safe
from dashboard.server import saved_runs
from dashboard.server.run_record import KIND_NAMES, Run, seconds_text
from dashboard.logic.settings import FIELDS, LABELS

KEY = "runs"
MAX_RUNS = 12


def all_runs() -> list[Run]:
    """The session's runs, oldest first (a new session restores them from the store, see run_store)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = saved_runs.restore()
    return st.session_state[KEY]


def start(settings: dict, dataset: str, data_path: str, model: SGDFactorizer, test: Ratings) -> Run:
    """A new run, appended to the session (dropping the oldest beyond ``MAX_RUNS``). Every earlier
    run but the last releases its model, so a session holds at most two fitted models."""
    runs = all_runs()
    for earlier in runs[:-1]:
        earlier.release_model()
    run = Run(runs[-1].number + 1 if runs else 1, dict(settings), dataset, data_path, model, test)
    runs.append(run)
    del runs[:-MAX_RUNS]
    saved_runs.save(runs)
    return run


def hold(run: Run, runs: list[Run]) -> None:
    """Keep at most two fitted models, the newest run's and ``run``'s (just retrained for its
    downloads): every other run releases its model."""
    for other in runs[:-1]:
        if other is not run and is_fitted(other.model):
            other.release_model()


def ending(run: Run) -> str:
    """The sentence under a stopped or interrupted run's chart, from the run itself: the epochs it
    completed are the points its chart shows."""
    done = len(run.history)
    if run.closed_form and done:
        return f"{run.label} {run.message}: its {run.kind_name} model and scores are kept."
    if run.closed_form:
        why = "the server stopped while it fitted, so " if run.status == "interrupted" else ""
        return f"{run.label} {run.message}: {why}it has no {run.kind_name} model."
    if run.status == "interrupted":
        return (f"{run.label} was interrupted at epoch {done} of {run.model.n_epochs}: the server stopped while "
                "it trained. " + (f"Its curve of those {done} epochs is kept below; retrain it under Reproduce "
                                  "and share for its model and files." if done else
                                  "It had completed no epoch, so it has no curve."))
    if not done:
        return f"{run.label} {run.message}: it completed no epoch, so it has no curve and no model."
    scored = f" (test RMSE {run.scores['rmse']:.4f})" if "rmse" in run.scores else ""
    return (f"{run.label} {run.message}; its partial curve ({done} epochs) is kept below, and its scores and "
            f"downloads are those of the model after epoch {done}{scored}.")


def by_label(runs: list[Run], label: str | None) -> Run | None:
    """The run labelled ``label``, or the newest one when there is none such."""
    return next((run for run in runs if run.label == label), runs[-1] if runs else None)


def table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: its model kind, status, epochs done, best test RMSE (rating runs) or test
    NDCG@10 (ranking runs) and its epoch, final RMSE/MAE, the model's training seconds and the job's
    wall seconds, updates/s, the dataset, then every setting under the estimator's name (a ranking
    kind's own settings after the rating model's)."""
    rows = []
    for run in runs:
        if run.ranking:
            tested = [r for r in run.history if r.test_ndcg is not None]
            best = max(tested, key=lambda r: r.test_ndcg) if tested else None
        else:
            tested = [r for r in run.history if r.test_rmse is not None]
            best = min(tested, key=lambda r: r.test_rmse) if tested else None
        seconds = run.scores.get("seconds", 0.0)
        row = {
            "run": run.number, "model": KIND_NAMES[run.kind], "status": run.status,
            "epochs": ((ONE_STEP if run.history else "0") if run.closed_form
                       else f"{len(run.history)}/{run.model.n_epochs}"),
            "best test RMSE": best.test_rmse if best and not run.ranking else None,
            "best test NDCG@10": best.test_ndcg if best and run.ranking else None,
            "test recall at 10": best.test_recall if best and run.ranking else None,
            "best epoch": best.epoch if best and not run.closed_form else None,
            "final RMSE": run.scores.get("rmse"), "final MAE": run.scores.get("mae"),
            TRAINING_SECONDS: seconds, WALL_SECONDS: run.scores.get("wall seconds"),
            "updates/s": run.scores.get("updates/s") if seconds else None,
            "dataset": PurePath(run.data_path).name,  # the file; the page caption gives the full name
        }
        row.update({name: run.settings[name] for name in FIELDS
                    if name in run.settings and name != "n_epochs"})
        row.update({name: value for name, value in run.settings.items()
                    if name not in FIELDS and name not in ("kind", "n_epochs")})
        rows.append(row)
    return pd.DataFrame(rows)


ONE_STEP = "one step"
"""The epochs cell of a run fitted in one closed-form step (EASE, item-kNN): it has no epochs."""
TRAINING_SECONDS, WALL_SECONDS = "training s", "wall s"
SECONDS_SENTENCE = (f"{TRAINING_SECONDS}: the model's own training time (its epochs and their preparation); "
                    f"{WALL_SECONDS}: the run from its start to its end, the seconds its progress line counts "
                    "(with the test scores after every epoch and the page's drawing).")
"""What the runs table's two times measure, in the words the page prints under it."""
NUMBER_FORMATS = {"best test RMSE": "{:.4f}", "best test NDCG@10": "{:.4f}", "test recall at 10": "{:.4f}",
                  "final RMSE": "{:.4f}",
                  "final MAE": "{:.4f}", LABELS["positive_level"]: "{:g}", LABELS["alpha"]: "{:g}",
                  LABELS["reg_exponent"]: "{:g}", LABELS["negatives"]: "{:.0f}", LABELS["cg_steps"]: "{:.0f}",
                  LABELS["shrinkage"]: "{:g}", LABELS["n_neighbors"]: "{:.0f}",
                  TRAINING_SECONDS: seconds_text, WALL_SECONDS: seconds_text, "best epoch": "{:.0f}",
                  LABELS["lr"]: "{:g}", LABELS["reg"]: "{:g}", LABELS["test_size"]: "{:g}", LABELS["init_std"]: "{:g}",
                  "updates/s": "{:,.0f}", LABELS["n_factors"]: "{:.0f}", LABELS["seed"]: "{:.0f}",
                  LABELS["biased"]: lambda on: "on" if on else "off"}
ALWAYS_SHOWN = ("n_factors", "lr", "reg")
"""Settings the runs table shows when they fit even if every run shares them."""
FIT_PIXELS = 820
"""The runs table's width budget: the page's main column in a 1280 px window with the sidebar open.
Columns beyond it wait in the "More columns" chooser, so the table never scrolls sideways unasked."""
CHAR_PIXELS, CELL_PIXELS = 8.5, 14
"""Pixels per character of the table's text, and per cell besides its text (padding, border)."""
OPTIONAL = ("dataset", "final RMSE", "final MAE", "updates/s")
"""Columns shown only when chosen (or, for the dataset, when runs differ in it)."""


def _core(runs: list[Run]) -> list[str]:
    ranking, rating = any(run.ranking for run in runs), any(not run.ranking for run in runs)
    return ["run", *(["model"] if ranking else []), "status", "epochs", *(["best test RMSE"] if rating else []),
            *(["best test NDCG@10", "test recall at 10"] if ranking else []), "best epoch", TRAINING_SECONDS,
            WALL_SECONDS]


def _settings(frame: pd.DataFrame) -> list[str]:
    """The setting columns of :func:`table`'s ``frame``: the rating model's form order, then the
    ranking kinds' own, then the dataset."""
    own = [name for name in frame.columns if name not in FIELDS and name in LABELS]
    return [*[name for name in FIELDS if name in frame and name != "n_epochs"], *own, "dataset"]


def _varies(column: pd.Series) -> bool:
    return bool(column.isna().any() or column.astype(str).nunique() > 1)


def header(name: str) -> str:
    """Column ``name`` of :func:`table` as the page heads it (a setting by its form label)."""
    return LABELS.get(name, name)


def _cell_text(name: str, value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    fmt = NUMBER_FORMATS.get(header(name))
    if callable(fmt):
        return fmt(value)
    return fmt.format(value) if fmt and isinstance(value, (int, float, np.number)) else str(value)


def column_pixels(frame: pd.DataFrame, name: str) -> float:
    """About how wide column ``name`` of :func:`table`'s ``frame`` is drawn: its header wraps at
    spaces, so its longest word or its longest cell, whichever is wider."""
    words = max(len(word) for word in header(name).split())
    cells = max([len(_cell_text(name, value)) for value in frame[name]] + [0])
    return CHAR_PIXELS * max(words, cells) + CELL_PIXELS


def column_choice(runs: list[Run]) -> tuple[list[str], list[str]]:
    """``(shown, more)`` columns of :func:`table` by estimator name: the scores and times, then the
    settings that differ between the runs (and K, lr, reg) while the table fits :data:`FIT_PIXELS`;
    ``more`` the rest a chooser offers (settings every run shares, those that did not fit, final
    RMSE/MAE, updates/s)."""
    frame = table(runs)
    shown = [name for name in _core(runs) if name in frame]
    width = sum(column_pixels(frame, name) for name in shown)
    settings = [name for name in _settings(frame) if name in frame]
    wanted = [name for name in settings if _varies(frame[name]) or name in ALWAYS_SHOWN]
    for name in wanted:
        if width + column_pixels(frame, name) <= FIT_PIXELS:
            shown.append(name)
            width += column_pixels(frame, name)
    more = [name for name in [*OPTIONAL, *settings] if name in frame and name not in shown]
    return shown, list(dict.fromkeys(more))


def display_table(runs: list[Run], extra: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """:func:`table` as the page shows it: the columns :func:`column_choice` shows, plus ``extra``
    (picked from its ``more``), under the form's names."""
    frame = table(runs)
    shown, more = column_choice(runs)
    columns = [*shown, *[name for name in more if name in extra]]
    return frame[columns].rename(columns={name: header(name) for name in columns})


def shared_settings(runs: list[Run]) -> str:
    """The settings every run shares that the table leaves out, in the form's names."""
    frame = table(runs)
    shown, _ = column_choice(runs)
    same = [name for name in _settings(frame) if name in frame and name not in shown and name != "dataset"
            and frame[name].notna().all() and not _varies(frame[name])]
    if not same:
        return ""
    listed = ", ".join(f"{LABELS[name]} {_text(frame[name].iloc[0])}" for name in same)
    return f"Every run: {listed}."


def _text(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def show_table(container, runs: list[Run], extra: tuple[str, ...] | list[str] = ()) -> None:
    """:func:`display_table` (with the ``extra`` columns) as a static table in ``container``, which wraps
    instead of truncating."""
    frame = display_table(runs, extra)
    formats = {name: text for name, text in NUMBER_FORMATS.items() if name in frame}
    safe.table(container, frame, formats, na_rep="–", hide_index=True)  # a lone "-" renders as a list bullet


def history_csv(runs: list[Run]) -> bytes:
    """Every epoch of every run, with the run's settings, as CSV."""
    frames = []
    for run in runs:
        frame = (pd.DataFrame([asdict(r) for r in run.history]) if run.ranking
                 else history_frame(run.history))
        for name, value in run.settings.items():
            frame[name] = value
        frame.insert(0, "run", run.number)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).to_csv(index=False).encode() if frames else b""
