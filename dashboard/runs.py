"""Training runs kept in the session: their curves, final scores and the table that compares them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from mfcore import Ratings, SGDFactorizer
from mfcore.export import history_frame

KEY = "runs"
MAX_RUNS = 12
JOB_END_WAIT = 30  # seconds a stopped run waits for its job to finish the epoch it is in


@dataclass
class Run:
    """One press of Train: its settings, the dataset it used, and what it produced so far.
    ``status`` is running, done, stopped (by the user or by leaving the page) or diverged."""

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
    job: object = None  # the dashboard.jobs.Job training it, while it runs

    @property
    def label(self) -> str:
        return f"run {self.number}"

    def finish(self, status: str, message: str = "") -> None:
        """Record the end of the run and score the model on the test set when there is one."""
        self.status, self.message, self.job = status, message, None
        if hasattr(self.model, "P_") and self.test is not None and len(self.test) and self.history:
            self.scores = self.model.evaluate(self.test)
        if self.history:
            self.scores["seconds"] = self.model.fit_seconds_
            self.scores["updates/s"] = self.model.updates_per_second_

    def release_model(self) -> None:
        """Drop the fitted factors (the settings and seed reproduce them exactly: the engines are
        deterministic); the scores and the curve stay."""
        self.model = SGDFactorizer(**self.model.get_params())
        self.test = None


def all_runs() -> list[Run]:
    """The session's runs, oldest first."""
    return st.session_state.setdefault(KEY, [])


def start(settings: dict, dataset: str, data_path: str, model: SGDFactorizer,
          test: Ratings | None = None) -> Run:
    """A new run, appended to the session (dropping the oldest beyond ``MAX_RUNS``). Every earlier
    run but the last releases its model, so a session holds at most two fitted models."""
    runs = all_runs()
    for earlier in runs[:-1]:
        earlier.release_model()
    run = Run(runs[-1].number + 1 if runs else 1, dict(settings), dataset, data_path, model, test)
    runs.append(run)
    del runs[:-MAX_RUNS]
    return run


def finish_interrupted() -> None:
    """Runs still marked running were cut short by a Stop click or a page change: they are stopped,
    and keep the epochs they completed."""
    for run in all_runs():
        if run.status == "running":
            if run.job is not None:
                run.job.cancel()
                run.job.wait(JOB_END_WAIT)
            run.finish("stopped", f"stopped after epoch {len(run.history)}")


def table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: settings, best test RMSE and its epoch, final RMSE/MAE, seconds, updates/s."""
    rows = []
    for run in runs:
        s, tested = run.settings, [r for r in run.history if r.test_rmse is not None]
        best = min(tested, key=lambda r: r.test_rmse) if tested else None
        seconds = run.scores.get("seconds", run.model.fit_seconds_ if run.history else 0.0)
        rows.append({
            "run": run.number, "status": run.status,
            "best test RMSE": best.test_rmse if best else None, "best epoch": best.epoch if best else None,
            "final RMSE": run.scores.get("rmse"), "final MAE": run.scores.get("mae"), "seconds": seconds,
            "updates/s": run.scores.get("updates/s", run.model.updates_per_second_) if seconds else None,
            "K": s["k"], "lr": s["lr"], "reg": s["reg"], "epochs": f"{len(run.history)}/{s['epochs']}",
            "bias": s["bias"], "engine": s["engine"], "test size": s["test"], "seed": s["seed"],
            "dataset": run.dataset,
        })
    return pd.DataFrame(rows)


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
