"""The Tune page's engine: one background search per browser session, its table and figures.

A search runs as a job of the server's training scheduler (:mod:`dashboard.jobs`: it waits for a free
slot like every training, in its own thread), writing every trial and every epoch
to its study in Optuna's storage (a SQLite file per session under ``mfcore-data/studies/``); the page
only reads the study and renders, so a Stop click or a rerun never interrupts a trial half-written.
Each session has its own study name and file, so concurrent sessions never share trials.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass, field

import numpy as np
import optuna
import plotly.graph_objects as go

from dashboard import jobs, settings
from mfcore import Ratings, tuning
from mfcore.evaluation.protocol import Holdout, holdout
from mfcore.models.params import PARAMETERS, SPLIT_PARAMETERS

KEY = "tune_job"
TEST_SIZE = SPLIT_PARAMETERS["test_size"].default
"""Fraction of the ratings held out as the test set (random, seeded by the search's seed)."""
VALIDATION_SIZE = SPLIT_PARAMETERS["validation_size"].default
"""Fraction of the remaining training ratings held out to judge the trials (the split table's)."""
LABELS = {"n_factors": "factors K", "lr": "learning rate", "reg": "regularization",
          "n_epochs": "max epochs", "biased": "biases", "init_std": "init std"}
optuna.logging.set_verbosity(optuna.logging.ERROR)


@dataclass
class TuneJob:
    """One search: its study, the split it tunes on, its scheduled job and what it ended with."""

    study_name: str
    storage: str
    split: Holdout
    space: dict
    n_trials: int | None
    timeout: float | None
    seed: int
    dataset: str
    stop: threading.Event = field(default_factory=threading.Event)
    scheduled: jobs.Job | None = None
    error: str | None = None
    result: dict | None = None
    _reader: object = None

    @property
    def running(self) -> bool:
        """Queued for a training slot or searching."""
        return self.scheduled is not None and not self.scheduled.finished

    @property
    def elapsed(self) -> float:
        """Seconds the search has run (0 while it waits for a training slot)."""
        return self.scheduled.elapsed if self.scheduled is not None else 0.0

    def _steps(self, scheduled: jobs.Job):
        """The search as a job of the shared scheduler: it holds one training slot, and its work is
        bounded by the scheduler's limit (the search is stopped after the trial in progress then)."""
        limit = threading.Timer(scheduled.max_seconds, self.stop.set)
        limit.daemon = True
        limit.start()
        try:
            self._run()
        finally:
            limit.cancel()
        yield self.result

    def study(self) -> optuna.Study:
        """The study as stored now (read through one storage connection kept by the job)."""
        if self._reader is None:
            self._reader = tuning.open_storage(self.storage)
        return optuna.load_study(study_name=self.study_name, storage=self._reader)

    def _run(self) -> None:
        try:
            study = tuning.search(self.split, self.study_name, self.storage, n_trials=self.n_trials,
                                timeout=self.timeout, space=self.space, seed=self.seed,
                                fixed={"seed": self.seed}, stop=self.stop)
            self.result = tuning.final_scores(study, self.split, {"seed": self.seed})
        except ValueError as exc:
            self.error = str(exc)


def start(ratings: Ratings, dataset: str, space: dict, n_trials: int | None, timeout: float | None,
          seed: int, test_size: float = TEST_SIZE) -> TuneJob:
    """Split ``ratings`` (test, then validation out of train) and queue a search on the scheduler.
    Raises ValueError for a bad range or budget before anything starts."""
    for rng in space.values():
        rng.check()
    if n_trials is None and timeout is None:
        raise ValueError("give a budget: a number of trials or of seconds.")
    split = holdout(ratings, test_size, VALIDATION_SIZE, seed)
    name = f"session-{uuid.uuid4().hex[:12]}"
    job = TuneJob(name, tuning.default_storage(name), split, space, n_trials, timeout, seed, dataset)
    tuning.create_study(name, job.storage, seed)  # tables and study exist before the page reads them
    trial = PARAMETERS  # the trials train with the table's engine, schedule and threads
    job.scheduled = jobs.submit(job._steps, f"search {name}", engines=(trial["engine"].default,),
                                n_threads=trial["n_threads"].default, n_ratings=len(split.train),
                                schedule=trial["schedule"].default)
    return job


def table(study: optuna.Study) -> list[dict]:
    """The trials as table rows, with readable column names."""
    return [{LABELS.get(key, key): value for key, value in row.items()} for row in tuning.trials_table(study)]


def curves_figure(study: optuna.Study, max_epochs: int) -> go.Figure:
    """Every trial's validation RMSE per epoch in one chart: completed trials in blue, pruned ones
    grey and dashed (they stop where the pruner cut them), failed ones red, the best one thick."""
    figure = go.Figure()
    best = _best_number(study)
    style = {"complete": {"color": "#1f77b4", "width": 1.5},
             "pruned": {"color": "#999999", "width": 1, "dash": "dot"},
             "failed": {"color": "#d62728", "width": 1}, "running": {"color": "#ff7f0e", "width": 2}}
    finite = []
    for number, (state, epochs, values) in tuning.curves(study).items():
        if not len(epochs):
            continue
        line = {"color": "#2ca02c", "width": 4} if number == best else style.get(state, style["running"])
        figure.add_trace(go.Scatter(x=epochs, y=values, mode="lines", line=line,
                                    name=f"trial {number} ({state})", showlegend=False,
                                    hovertemplate=f"trial {number} ({state})<br>"
                                                  "epoch %{x}: %{y:.4f}<extra></extra>"))
        finite.extend(values[np.isfinite(values)])
    top = float(np.quantile(finite, 0.9)) if finite else None
    bottom = float(min(finite)) if finite else None
    figure.update_layout(title="Validation RMSE of every trial (dotted grey: pruned; thick green: best)",
                         xaxis_title="epoch", yaxis_title="validation RMSE", height=420,
                         xaxis_range=[0, max_epochs + 1], margin={"t": 50, "b": 40, "l": 60, "r": 20})
    if top is not None and top > bottom:
        figure.update_yaxes(range=[bottom - 0.01 * (top - bottom) - 0.002, top])
    return figure


def _best_number(study: optuna.Study) -> int | None:
    try:
        return study.best_trial.number
    except ValueError:
        return None


def optuna_figures(study: optuna.Study) -> dict[str, go.Figure]:
    """Optuna's own figures: optimization history, parameter importances (with 2+ completed trials
    whose parameters vary) and parallel coordinates."""
    from optuna import visualization
    figures = {"Optimization history": visualization.plot_optimization_history(study)}
    completed = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(completed) >= 2:
        with contextlib.suppress(ValueError, RuntimeError):  # e.g. every trial drew the same values
            figures["Parameter importances"] = visualization.plot_param_importances(study)
        figures["Parallel coordinates"] = visualization.plot_parallel_coordinate(study)
    return figures


def train_query(result: dict, test_size: float) -> dict[str, str]:
    """Train page URL parameters (the estimator's own names) that reproduce the best configuration:
    its sampled settings, its best epoch as the epoch count, and the same test size and random seed,
    so Train scores the same test set the search's result was scored on."""
    params = {**result["params"], "n_epochs": result["best_epoch"], "test_size": test_size}
    return settings.to_query({name: float(f"{value:.6g}") if isinstance(value, float) else value
                              for name, value in params.items()})


def summary(result: dict) -> str:
    """One sentence comparing the best configuration's test RMSE with the baselines, from the numbers."""
    baselines = result["baselines"]
    factors_gain = baselines["biases only"] - result["test_rmse"]
    verb = "lower" if factors_gain > 0 else "higher"
    mean_gain = baselines["global mean"] - result["test_rmse"]
    return (f"Best trial {result['best_trial']} (validation RMSE {result['validation_rmse']:.4f}), retrained "
            f"on train + validation for {result['best_epoch']} epochs: test RMSE {result['test_rmse']:.4f}, "
            f"{abs(factors_gain):.4f} {verb} than biases only ({baselines['biases only']:.4f}) and "
            f"{abs(mean_gain):.4f} {'lower' if mean_gain > 0 else 'higher'} than the global mean "
            f"({baselines['global mean']:.4f}).")
