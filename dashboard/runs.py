"""Training runs kept in the session: their curves, final scores and the table that compares them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from mfcore import Ratings, SGDFactorizer
from mfcore.export import history_frame

from . import run_store

KEY = "runs"
MAX_RUNS = 12


@dataclass
class Run:
    """One press of Train: its settings, the dataset it used, and what it produced so far.
    ``status`` is running, done, stopped (by the user or by leaving the page) or diverged."""

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
    seconds: float = 0.0
    updates_per_second: float | None = None

    @property
    def label(self) -> str:
        return f"run {self.number}"

    def finish(self, status: str, message: str = "") -> None:
        """Record the end of the run and score the model on the test set when there is one."""
        self.status, self.message = status, message
        if hasattr(self.model, "P_") and len(self.test) and self.history:
            self.scores = self.model.evaluate(self.test)
        if hasattr(self.model, "fit_seconds_") and self.history:
            self.seconds, self.updates_per_second = self.model.fit_seconds_, self.model.updates_per_second_
        run_store.save(all_runs())


def all_runs() -> list[Run]:
    """The session's runs, oldest first (a new session restores them from the store, see run_store)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = run_store.restore(Run)
    return st.session_state[KEY]


def start(settings: dict, dataset: str, data_path: str, model: SGDFactorizer, test: Ratings) -> Run:
    """A new run, appended to the session (dropping the oldest beyond ``MAX_RUNS``)."""
    runs = all_runs()
    run = Run(runs[-1].number + 1 if runs else 1, dict(settings), dataset, data_path, model, test)
    runs.append(run)
    del runs[:-MAX_RUNS]
    run_store.save(runs)
    return run


def finish_interrupted() -> None:
    """Runs still marked running were cut short by a Stop click or a page change: they are stopped,
    and keep the epochs they completed."""
    for run in all_runs():
        if run.status == "running":
            run.finish("stopped", f"stopped after epoch {len(run.history)}")


def table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: settings, best test RMSE and its epoch, final RMSE/MAE, seconds, updates/s."""
    rows = []
    for run in runs:
        s, tested = run.settings, [r for r in run.history if r.test_rmse is not None]
        best = min(tested, key=lambda r: r.test_rmse) if tested else None
        seconds = run.seconds if run.history else 0.0
        rows.append({
            "run": run.number, "status": run.status,
            "best test RMSE": best.test_rmse if best else None, "best epoch": best.epoch if best else None,
            "final RMSE": run.scores.get("rmse"), "final MAE": run.scores.get("mae"), "seconds": seconds,
            "updates/s": run.updates_per_second if seconds else None,
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
