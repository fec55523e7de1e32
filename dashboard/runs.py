"""Training runs kept in the session: their curves, final scores and the table that compares them."""

from __future__ import annotations

import threading
from pathlib import PurePath
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from mfcore import Ratings, SGDFactorizer
from mfcore.export import history_frame
from mfcore.model import is_fitted

from .settings import FIELDS

KEY = "runs"
MAX_RUNS = 12


@dataclass
class Run:
    """One training run: its settings, the dataset it used, and what it produced so far. ``status`` is
    running, done, stopped (by the user or by leaving the page), diverged or failed. ``name`` labels
    it in charts (default ``run N``). ``driven`` is set while a script thread trains it (see
    :func:`dashboard.training.execute`) and ``ended`` once that thread is done with it."""

    number: int
    settings: dict
    dataset: str
    data_path: str
    model: SGDFactorizer
    test: Ratings
    status: str = "running"
    history: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    message: str = ""
    name: str = ""
    driven: bool = False
    ended: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or f"run {self.number}"

    @property
    def progress_text(self) -> str:
        """One line for a progress bar: the epoch reached and its RMSEs, or how the run ended."""
        done, planned = len(self.history), self.model.n_epochs
        if self.status == "running" and not done:
            return f"{self.label}: starting"
        text = f"{self.label}: epoch {done}/{planned}"
        if done:
            last = self.history[-1]
            text += f", train RMSE {last.train_rmse:.4f}"
            if last.test_rmse is not None:
                text += f", test RMSE {last.test_rmse:.4f}"
        if self.status == "diverged":
            return f"{self.label}: diverged in epoch {done + 1}/{planned}"
        return text if self.status == "running" else f"{text} ({self.status})"

    def finish(self, status: str, message: str = "") -> None:
        """Record the end of the run and score the model (as it is after its last completed epoch)
        on the test set when there is one."""
        self.status, self.message = status, message
        if is_fitted(self.model) and len(self.test) and self.history:
            self.scores = self.model.evaluate(self.test)


def all_runs() -> list[Run]:
    """The session's runs, oldest first."""
    return st.session_state.setdefault(KEY, [])


def start(settings: dict, dataset: str, data_path: str, model: SGDFactorizer, test: Ratings) -> Run:
    """A new run, appended to the session (dropping the oldest beyond ``MAX_RUNS``)."""
    runs = all_runs()
    run = Run(runs[-1].number + 1 if runs else 1, dict(settings), dataset, data_path, model, test)
    runs.append(run)
    del runs[:-MAX_RUNS]
    return run


def table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: status, epochs done, best test RMSE and its epoch, final RMSE/MAE, seconds,
    updates/s, then every setting under the estimator's name."""
    rows = []
    for run in runs:
        tested = [r for r in run.history if r.test_rmse is not None]
        best = min(tested, key=lambda r: r.test_rmse) if tested else None
        seconds = run.model.fit_seconds_ if run.history else 0.0
        row = {
            "run": run.number, "status": run.status,
            "epochs": f"{len(run.history)}/{run.model.n_epochs}",
            "best test RMSE": best.test_rmse if best else None, "best epoch": best.epoch if best else None,
            "final RMSE": run.scores.get("rmse"), "final MAE": run.scores.get("mae"), "seconds": seconds,
            "updates/s": run.model.updates_per_second_ if seconds else None,
        }
        row.update({name: run.settings[name] for name in FIELDS
                    if name in run.settings and name != "n_epochs"})
        row["dataset"] = PurePath(run.data_path).name  # the file; the page caption gives the full name
        rows.append(row)
    return pd.DataFrame(rows)


NUMBER_FORMATS = {"best test RMSE": "{:.4f}", "final RMSE": "{:.4f}", "final MAE": "{:.4f}",
                  "seconds": "{:.3f}", "updates/s": "{:,.0f}", "best epoch": "{:.0f}", "lr": "{:g}",
                  "reg": "{:g}", "test_size": "{:g}"}


def styled_table(runs: list[Run]):
    """:func:`table` formatted for display as a static table, which wraps instead of truncating."""
    frame = table(runs)
    formats = {name: text for name, text in NUMBER_FORMATS.items() if name in frame}
    return frame.style.format(formats, na_rep="-").hide(axis="index")


def history_csv(runs: list[Run]) -> bytes:
    """Every epoch of every run, with the run's settings, as CSV."""
    frames = []
    for run in runs:
        frame = history_frame(run.history)
        for name, value in run.settings.items():
            frame[name] = value
        frame.insert(0, "run", run.number)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).to_csv(index=False).encode() if frames else b""
