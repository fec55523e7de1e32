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

from dashboard.server import saved_runs
from dashboard.server.run_record import KIND_NAMES, Run
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
    NDCG@10 (ranking runs) and its epoch, final RMSE/MAE, seconds, updates/s, then every setting under
    the estimator's name (a ranking kind's own settings after the rating model's)."""
    rows = []
    for run in runs:
        if run.ranking:
            tested = [r for r in run.history if r.validation_ndcg is not None]
            best = max(tested, key=lambda r: r.validation_ndcg) if tested else None
        else:
            tested = [r for r in run.history if r.test_rmse is not None]
            best = min(tested, key=lambda r: r.test_rmse) if tested else None
        seconds = run.scores.get("seconds", 0.0)
        row = {
            "run": run.number, "model": KIND_NAMES[run.kind], "status": run.status,
            "epochs": f"{len(run.history)}/{run.model.n_epochs}",
            "best test RMSE": best.test_rmse if best and not run.ranking else None,
            "best test NDCG@10": best.validation_ndcg if best and run.ranking else None,
            "best epoch": best.epoch if best else None,
            "final RMSE": run.scores.get("rmse"), "final MAE": run.scores.get("mae"), "seconds": seconds,
            "updates/s": run.scores.get("updates/s") if seconds else None,
        }
        row.update({name: run.settings[name] for name in FIELDS
                    if name in run.settings and name != "n_epochs"})
        row.update({name: value for name, value in run.settings.items()
                    if name not in FIELDS and name not in ("kind", "n_epochs")})
        row["dataset"] = PurePath(run.data_path).name  # the file; the page caption gives the full name
        rows.append(row)
    return pd.DataFrame(rows)


NUMBER_FORMATS = {"best test RMSE": "{:.4f}", "best test NDCG@10": "{:.4f}", "final RMSE": "{:.4f}",
                  "final MAE": "{:.4f}", LABELS["positive_level"]: "{:g}", LABELS["alpha"]: "{:g}",
                  LABELS["reg_exponent"]: "{:g}", LABELS["negatives"]: "{:.0f}", LABELS["cg_steps"]: "{:.0f}",
                  "seconds": "{:.3f}", "best epoch": "{:.0f}", LABELS["lr"]: "{:g}",
                  LABELS["reg"]: "{:g}", LABELS["test_size"]: "{:g}", LABELS["init_std"]: "{:g}"}
ALWAYS_SHOWN = ("n_factors", "lr", "reg")
"""Settings the runs table always shows; the others only when they differ between runs."""


def display_table(runs: list[Run]) -> pd.DataFrame:
    """:func:`table` as the page shows it: the form's names, the dataset next to the run, no
    updates/s (Speed measures those), and besides K, lr and reg only the settings that differ
    between the runs (:func:`shared_settings` says the others). With a ranking run among them, the
    model kind, the best test NDCG@10 and the ranking kinds' own settings too."""
    frame = table(runs).drop(columns=["updates/s"])
    ranking = any(run.ranking for run in runs)
    varying = [name for name in FIELDS if name in frame and name != "n_epochs"
               and (name in ALWAYS_SHOWN or frame[name].isna().any() or frame[name].astype(str).nunique() > 1)]
    own = [name for name in frame.columns if ranking and name not in FIELDS and name in LABELS]
    frame = frame[["run", *(["model"] if ranking else []), "dataset", "status", "epochs", "best test RMSE",
                   *(["best test NDCG@10"] if ranking else []), "best epoch", "final RMSE", "final MAE", "seconds",
                   *varying, *own]]
    return frame.rename(columns={name: LABELS[name] for name in [*varying, *own]})


def shared_settings(runs: list[Run]) -> str:
    """The settings every run shares that :func:`display_table` leaves out, in the form's names."""
    frame = table(runs)
    same = [name for name in FIELDS if name in frame and name != "n_epochs" and name not in ALWAYS_SHOWN
            and frame[name].notna().all() and frame[name].astype(str).nunique() == 1]
    if not same:
        return ""
    shown = ", ".join(f"{LABELS[name]} {_text(frame[name].iloc[0])}" for name in same)
    return f"Every run: {shown}."


def _text(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def styled_table(runs: list[Run]):
    """:func:`display_table` formatted for display as a static table, which wraps instead of truncating."""
    frame = display_table(runs)
    formats = {name: text for name, text in NUMBER_FORMATS.items() if name in frame}
    return frame.style.format(formats, na_rep="–").hide(axis="index")  # a lone "-" renders as a list bullet


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
