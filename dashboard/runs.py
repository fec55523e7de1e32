"""Training runs kept in the session: their curves, final scores and the table that compares them."""

from __future__ import annotations

import threading
from pathlib import PurePath
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from mfcore import Ratings, SGDFactorizer
from mfcore.models.export import history_frame
from mfcore.models.base import is_fitted

from . import run_store
from .settings import FIELDS, LABELS

KEY = "runs"
MAX_RUNS = 12
JOB_END_WAIT = 30
"""Seconds a stopped run waits for its training job to finish the epoch it is in."""


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
    test: Ratings | None
    status: str = "running"
    history: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    message: str = ""
    name: str = ""
    driven: bool = False
    ended: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    note: str = ""  # what the work guard cut, e.g. the python engine's sample
    job: object = None  # the dashboard.jobs.Job training it, until it ends
    # kept by dashboard.run_store: the store key of the dataset it trains on (None until recorded),
    # and the session name and list of runs it is stored with
    data_key: str | None = None
    session_name: str = field(default="", repr=False, compare=False)
    session_runs: list | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or f"run {self.number}"

    @property
    def progress_text(self) -> str:
        """One line for a progress bar: the epoch reached and its RMSEs, or how the run ended."""
        done, planned = len(self.history), self.model.n_epochs
        job = self.job
        if self.status == "running" and job is not None and job.state == "queued":
            return job.status_line()
        if self.status == "running" and not done:
            return f"{self.label}: epoch 1/{planned} running" + (f" ({job.elapsed:.1f} s)" if job else "")
        text = f"{self.label}: epoch {done}/{planned}"
        if done:
            last = self.history[-1]
            text += f", train RMSE {last.train_rmse:.4f}"
            if last.test_rmse is not None:
                text += f", test RMSE {last.test_rmse:.4f}"
        if self.status == "diverged":
            return f"{self.label}: diverged in epoch {done + 1}/{planned}"
        if self.status == "running":
            return text + (f" ({job.elapsed:.1f} s)" if job is not None else "")
        return f"{text} ({self.status})"

    @property
    def progress_fraction(self) -> float:
        """Epochs done over epochs planned, counting the running epoch's share as its seconds so far
        over the last epoch's seconds (at most 95% of an epoch until it reports)."""
        done, planned = len(self.history), self.model.n_epochs
        if self.job is None or self.status != "running" or not done:
            return min(1.0, done / planned)
        return self.job.fraction(done, planned, self.history[-1].seconds)

    def finish(self, status: str, message: str = "") -> None:
        """Record the end of the run and score the model (as it is after its last completed epoch)
        on the test set when there is one."""
        self.status, self.message, self.job = status, message, None
        if is_fitted(self.model) and self.test is not None and len(self.test) and self.history:
            self.scores = self.model.evaluate(self.test)
        if self.history:
            self.scores.update({"seconds": self.model.fit_seconds_,
                                "updates/s": self.model.updates_per_second_})
        run_store.save_ended(self)

    def release_model(self) -> None:
        """Drop the fitted factors and the test set; the settings and seed reproduce them exactly
        (the engines are deterministic). The curve and the scores stay."""
        self.model = SGDFactorizer(**self.model.get_params())
        self.test = None


def all_runs() -> list[Run]:
    """The session's runs, oldest first (a new session restores them from the store, see run_store)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = run_store.restore(Run)
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
    run_store.save(runs)
    return run


def table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: status, epochs done, best test RMSE and its epoch, final RMSE/MAE, seconds,
    updates/s, then every setting under the estimator's name."""
    rows = []
    for run in runs:
        tested = [r for r in run.history if r.test_rmse is not None]
        best = min(tested, key=lambda r: r.test_rmse) if tested else None
        seconds = run.scores.get("seconds", 0.0)
        row = {
            "run": run.number, "status": run.status,
            "epochs": f"{len(run.history)}/{run.model.n_epochs}",
            "best test RMSE": best.test_rmse if best else None, "best epoch": best.epoch if best else None,
            "final RMSE": run.scores.get("rmse"), "final MAE": run.scores.get("mae"), "seconds": seconds,
            "updates/s": run.scores.get("updates/s") if seconds else None,
        }
        row.update({name: run.settings[name] for name in FIELDS
                    if name in run.settings and name != "n_epochs"})
        row["dataset"] = PurePath(run.data_path).name  # the file; the page caption gives the full name
        rows.append(row)
    return pd.DataFrame(rows)


NUMBER_FORMATS = {"best test RMSE": "{:.4f}", "final RMSE": "{:.4f}", "final MAE": "{:.4f}",
                  "seconds": "{:.3f}", "best epoch": "{:.0f}", LABELS["lr"]: "{:g}",
                  LABELS["reg"]: "{:g}", LABELS["test_size"]: "{:g}", LABELS["init_std"]: "{:g}"}
ALWAYS_SHOWN = ("n_factors", "lr", "reg")
"""Settings the runs table always shows; the others only when they differ between runs."""


def display_table(runs: list[Run]) -> pd.DataFrame:
    """:func:`table` as the page shows it: the form's names, the dataset next to the run, no
    updates/s (Speed measures those), and besides K, lr and reg only the settings that differ
    between the runs (:func:`shared_settings` says the others)."""
    frame = table(runs).drop(columns=["updates/s"])
    varying = [name for name in FIELDS if name in frame and name != "n_epochs"
               and (name in ALWAYS_SHOWN or frame[name].astype(str).nunique() > 1)]
    frame = frame[["run", "dataset", "status", "epochs", "best test RMSE", "best epoch", "final RMSE",
                   "final MAE", "seconds", *varying]]
    return frame.rename(columns={name: LABELS[name] for name in varying})


def shared_settings(runs: list[Run]) -> str:
    """The settings every run shares that :func:`display_table` leaves out, in the form's names."""
    frame = table(runs)
    same = [name for name in FIELDS if name in frame and name != "n_epochs" and name not in ALWAYS_SHOWN
            and frame[name].astype(str).nunique() == 1]
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
