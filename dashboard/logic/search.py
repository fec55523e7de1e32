"""The Tune page's engine: one background search per browser session, its table and figures.

A search runs as a job of the server's training scheduler (:mod:`dashboard.server.jobs`: it waits for a free
slot like every training, in its own thread), writing every trial and every epoch
to its study in Optuna's storage (a SQLite file per session under ``mfcore-data/studies/``); the page
only reads the study and renders, so a Stop click or a rerun never interrupts a trial half-written.
Each session has its own study name and file, so concurrent sessions never share trials. A search
belongs to the browser session that started it (:func:`owns`): others holding its ``?study=`` link
watch it and copy its best settings, but only its owner stops it or replaces it. When the study
folder cannot be written the study lives in memory (:mod:`dashboard.server.study_store`).

Each range is bounded by the table's widget range, which Train's form and URL accept
(:meth:`mfcore.tuning.Range.check`), so "Train it" never carries a value Train refuses.

A search is under the same guards as every training: each trial's memory is estimated before it
starts (a trial over the cap is recorded as failed with the reason, not run), trials train with one
thread (the job holds one slot of the scheduler, so it may use one core), and Stop, the scheduler's
cancel and the work time limit (:data:`dashboard.server.jobs.MAX_SECONDS`) end the running trial after its
current epoch (:class:`mfcore.tuning.SearchStopped`), not after the whole trial.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd

from dashboard.logic import long_work
from dashboard.server import jobs, lease, run_record
from dashboard.server import study_store
from dashboard.logic import session_runs
from dashboard.logic import settings
from dashboard.logic import run_driver
from dashboard.render.texts import Markdown, md
from mfcore import Ratings, SGDFactorizer, tuning
from mfcore.evaluation import metrics
from mfcore.evaluation.protocol import Holdout, holdout
from mfcore.models.params import PARAMETERS, SPLIT_PARAMETERS
from mfcore.tuning import Range
from mfcore.tuning.storage import identity as study_identity

KEY = "tune_job"
TEST_SIZE = SPLIT_PARAMETERS["test_size"].default
"""Fraction of the ratings held out as the test set (random, seeded by the search's seed)."""
VALIDATION_SIZE = SPLIT_PARAMETERS["validation_size"].default
"""Fraction of the remaining training ratings held out to judge the trials (the split table's)."""
TRIAL_THREADS = 1
"""Threads per trial: the search holds one slot of the shared scheduler, so it may use one core."""
LABELS = {**{name: settings.LABELS[name] for name in ("n_factors", "lr", "reg", "init_std", "alpha", "n_neighbors",
                                                      "shrinkage")},
          "n_epochs": "Max epochs", "biased": "Learn biases"}
"""The form's names of the searched settings (a trial's epoch count is a cap: early stopping and
pruning end it sooner)."""
STUDY_PARAM = "study"
"""The URL parameter naming the session's search, so that a reload or a copied link reopens it."""
_STUDY_NAME = re.compile(r"^session-[0-9a-f]{12}$")
_LIVE: dict[str, TuneJob] = {}
"""Searches started by this server process, by study name: a reload during a search follows it."""
_LIVE_KEPT = 20
ELSEWHERE_CHECK = 1.0
"""Seconds between two reads of a search's study while another server runs it: has it ended?"""
MODELS = {"sgd": "rating MF (validation RMSE, minimised)", **{kind: f"{name} (validation NDCG@10, maximised)" for
          kind, name in (("bpr", "BPR"), ("als", "implicit ALS"), ("ease", "EASE"), ("itemknn", "item-kNN"))}}
"""The models Tune searches, by model file kind (the ranking models by their validation NDCG@10)."""
ONE_STEP = settings.ITEM_KINDS  # a trial is one closed-form step: no epochs, nothing to prune


def default_space(model: str = "sgd") -> dict:
    """The search ranges the form starts from for ``model``."""
    return tuning.default_space() if model == "sgd" else tuning.ranking_space(model)
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
    dataset_key: str = ""
    model: str = "sgd"
    stop: threading.Event = field(default_factory=threading.Event)
    scheduled: jobs.Job | None = None
    error: str | None = None
    result: dict | None = None
    stored_elapsed: float = 0.0
    timed_out: bool = False
    owner: str = ""
    memory_note: str = ""
    elsewhere: str = ""
    started_at: float = 0.0
    _reader: object = None
    _checked_at: float = 0.0

    @property
    def fixed(self) -> dict:
        """The estimator settings every trial shares: the seed and :data:`TRIAL_THREADS`."""
        return {"seed": self.seed, "n_threads": TRIAL_THREADS}

    @property
    def running(self) -> bool:
        """Queued for a training slot or searching, on this server or on the live server
        :attr:`elsewhere` that started it (read from its study at most every :data:`ELSEWHERE_CHECK`
        seconds: the search runs there until its end is recorded or that server stops beating)."""
        if self.scheduled is not None:
            return not self.scheduled.finished
        if self.elsewhere and time.monotonic() - self._checked_at >= ELSEWHERE_CHECK:
            self._checked_at = time.monotonic()
            end = self._stored_end()
            if end is not None:
                self._take_end(end)
            elif not lease.beating(self.elsewhere):
                self._take_end(None)
        return bool(self.elsewhere)

    @property
    def elapsed(self) -> float:
        """Seconds the search has run (0 while it waits for a training slot; a search reopened from
        storage: the seconds it ran; one running on another server: the seconds since it started)."""
        if self.scheduled is not None:
            return self.scheduled.elapsed
        if self.elsewhere:
            return max(0.0, time.time() - self.started_at)
        return self.stored_elapsed

    def _stored_end(self) -> dict | None:
        """How the search ended as its study records it (None while it runs, or when unreadable)."""
        with contextlib.suppress(Exception):
            return self.study().user_attrs.get("dashboard_end")
        return None

    def _watch(self, server: str) -> None:
        """Follow this search as the live ``server`` runs it (see :attr:`running`)."""
        self.elsewhere, self._checked_at = server, time.monotonic()

    def _take_end(self, end: dict | None) -> None:
        """Take how the search ended (None: the server running it stopped without recording it, which
        reads as stopped) and stop watching another server."""
        end = end or {"elapsed": 0.0, "stopped": True, "error": None, "result": None}
        self.error, self.result = end["error"], end["result"]
        self.stored_elapsed, self.timed_out = end["elapsed"], end.get("timed_out", False)
        if end["stopped"]:
            self.stop.set()
        self.elsewhere = ""

    def _steps(self, scheduled: jobs.Job):
        """The search as a job of the shared scheduler: it holds one training slot, and its work is
        bounded by the scheduler's limit; the limit, the scheduler's cancel and Stop all end the running
        trial after its current epoch (the search checks :meth:`stopping` after every epoch)."""
        limit = threading.Timer(scheduled.max_seconds, self._time_up)
        limit.daemon = True
        limit.start()
        try:
            self._run()
        finally:
            limit.cancel()
            self._record(scheduled.elapsed)
            self.split = None  # the ratings are not needed any more; the study keeps the trials
        yield self.result

    def _record(self, elapsed: float) -> None:
        """Keep how the search ended in its study, so that a reload or a link reopens it."""
        with contextlib.suppress(Exception):  # a failed write only costs the reopening
            study = optuna.load_study(study_name=self.study_name, storage=tuning.open_storage(self.storage))
            study.set_user_attr("dashboard_end", {"elapsed": float(elapsed), "stopped": self.is_set(),
                                                  "timed_out": self.timed_out, "error": self.error,
                                                  "result": _plain(self.result)})

    def _time_up(self) -> None:
        self.timed_out = True
        self.stop.set()

    def is_set(self) -> bool:
        """True once the search must stop: Stop clicked, the job cancelled, or the work limit reached
        (the search's ``stop`` event is this object)."""
        return self.stop.is_set() or (self.scheduled is not None and self.scheduled.cancelled)

    def study(self) -> optuna.Study:
        """The study as stored now (read through one storage connection kept by the job)."""
        if self._reader is None:
            self._reader = tuning.open_storage(self.storage)
        return optuna.load_study(study_name=self.study_name, storage=self._reader)

    def _run(self) -> None:
        if self.model != "sgd":  # a ranking model: validation NDCG@10, maximised (mfcore.tuning.ranking)
            try:
                study = tuning.ranking_search(self.model, self.split, self.study_name, self.storage,
                                              n_trials=self.n_trials, timeout=self.timeout, space=self.space,
                                              seed=self.seed, fixed=self.fixed, stop=self, worker=0)
                self.result = tuning.ranking_final_scores(self.model, study, self.split, self.fixed)
            except ValueError as exc:
                jobs.log_failure(self.study_name, exc)
                self.error = str(exc)
            return
        try:
            study = tuning.search(self.split, self.study_name, self.storage, n_trials=self.n_trials,
                                  timeout=self.timeout, space=self.space, seed=self.seed,
                                  fixed=self.fixed, stop=self, worker=0)
            self.result = tuning.final_scores(study, self.split, self.fixed)
        except ValueError as exc:
            jobs.log_failure(self.study_name, exc)
            self.error = str(exc)


def start(ratings: Ratings, dataset: str, space: dict, n_trials: int | None, timeout: float | None,
          seed: int, test_size: float = TEST_SIZE, dataset_key: str = "", model: str = "sgd") -> TuneJob:
    """Split ``ratings`` (test, then validation out of train) and queue a search of ``model`` (``sgd``:
    validation RMSE; ``bpr``, ``als``: validation NDCG@10, maximised) on the scheduler.
    Raises ValueError for a bad range or budget before anything starts."""
    for rng in space.values():
        rng.check(bounded=True)
    if n_trials is None and timeout is None:
        raise ValueError("give a budget: a number of trials or of seconds.")
    split = holdout(ratings, test_size, VALIDATION_SIZE, seed)
    name = f"session-{uuid.uuid4().hex[:12]}"
    storage, study, problem = study_store.create(name, seed, study_identity(tuning.fingerprint(split), seed, space),
                                                 "minimize" if model == "sgd" else "maximize")
    job = TuneJob(name, storage, split, space, n_trials, timeout, seed, dataset, dataset_key, model,
                  owner=jobs.session_owner(), memory_note=problem)
    study.set_user_attr("dashboard_start", {
        "dataset": dataset, "dataset_key": dataset_key, "seed": seed, "n_trials": n_trials, "model": model,
        "timeout": timeout, "space": {key: [rng.low, rng.high, rng.log] for key, rng in space.items()},
        "server": run_record.SERVER, "started": time.time()})
    # Optuna's bookkeeping is Python (every epoch's report and prune question, the sampler): a search
    # holds the GIL most of its time, so it runs as a GIL-bound job, one at a time, like the python
    # engine; two at once starved every page's script (the mixed load test: page loads up to 20 s).
    job.scheduled = jobs.scheduler().submit(job._steps, f"search {name}", owner=jobs.session_owner(),
                                            cost=TRIAL_THREADS, holds_gil=True)
    _LIVE[name] = job
    for old in list(_LIVE)[:-_LIVE_KEPT]:
        _LIVE.pop(old, None)
    return job


def owns(job: TuneJob | None) -> bool:
    """Whether this browser session started ``job`` (only it may stop or replace it)."""
    return job is not None and bool(job.owner) and job.owner == jobs.session_owner()


def estimated_seconds(space: dict, n_trials: int | None, timeout: float | None, n_ratings: int,
                      model: str = "sgd", n_items: int = 0) -> float:
    """How long a search should take at most: its seconds budget, else every trial running its
    middle epoch count at its middle K on the training ratings (pruning and early stopping cut that);
    a one-step model's trial is its fit on ``n_items`` items (:func:`long_work.closed_form_seconds`)."""
    if timeout is not None:
        return float(timeout)
    if model in ONE_STEP:
        return n_trials * long_work.closed_form_seconds(model, n_items)
    epochs = (space["n_epochs"].low + space["n_epochs"].high) / 2 if "n_epochs" in space else 20
    k = float(np.sqrt(space["n_factors"].low * space["n_factors"].high)) if "n_factors" in space else 100
    n_train = int(n_ratings * (1 - TEST_SIZE) * (1 - VALIDATION_SIZE))
    trial = PARAMETERS  # the trials train with the table's engine and schedule, on TRIAL_THREADS
    return n_trials * long_work.training_seconds(n_train, int(epochs), int(k), trial["engine"].default,
                                                trial["schedule"].default, TRIAL_THREADS)


def _plain(value):
    """``value`` with NumPy numbers made Python ones (JSON for the study's attributes)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def reopen(name: str) -> TuneJob | None:
    """The search named ``name`` (a URL's ``?study=``): the live one when this server runs it; one
    that another live server (a replica) still runs, watched through its study until it ends; else
    the ended one read back from its study; None when the name is not a search's name or the store no
    longer has it."""
    if not _STUDY_NAME.match(name or ""):
        return None
    if name in _LIVE:
        return _LIVE[name]
    storage = study_store.find(name)
    if storage is None:
        return None
    try:
        attrs = optuna.load_study(study_name=name, storage=tuning.open_storage(storage)).user_attrs
    except (KeyError, ValueError, RuntimeError):
        return None
    begun, end = attrs.get("dashboard_start"), attrs.get("dashboard_end")
    if begun is None:
        return None
    model = begun.get("model", "sgd")
    space = {key: Range(key, low, high, log, model) for key, (low, high, log) in begun["space"].items()}
    job = TuneJob(name, storage, None, space, begun["n_trials"], begun["timeout"], begun["seed"],
                  begun["dataset"], begun["dataset_key"], model, started_at=float(begun.get("started", 0.0)))
    server = str(begun.get("server", ""))
    if end is None and server and server != run_record.SERVER and lease.server_alive(server):
        job._watch(server)
    else:
        job._take_end(end)
    return job


def table(study: optuna.Study) -> list[dict]:
    """The trials as table rows, with readable column names."""
    return [{LABELS.get(key, key): value for key, value in row.items()} for row in tuning.trials_table(study)]


def _best_settings(result: dict, test_size: float) -> dict:
    """The best configuration as form settings: its sampled settings (floats to 6 significant
    digits), its best epoch as the epoch count, and ``test_size``."""
    params = {**result["params"], "n_epochs": result["best_epoch"], "test_size": test_size}
    return {name: float(f"{value:.6g}") if isinstance(value, float) else value for name, value in params.items()}


def train_query(result: dict, test_size: float) -> dict[str, str]:
    """Train page URL parameters (the estimator's own names) that reproduce the best configuration:
    its sampled settings, its best epoch as the epoch count, and the same test size and random seed,
    so Train scores the same test set the search's result was scored on. (``n_threads``, the search's
    one thread per trial, is this server's, not a setting: the URL does not carry it.)"""
    return settings.to_query(_best_settings(result, test_size))


def ranking_train_query(result: dict, model: str, test_size: float = TEST_SIZE) -> dict[str, str]:
    """Train page URL parameters that open ranking model ``model``'s form (``bpr``, ``als``) with the
    best configuration: its settings, its best epoch as the epoch count, the search's seed and test size."""
    return settings.ranking_query(model, _best_settings(result, test_size))


def train_settings(result: dict, base: dict, test_size: float = TEST_SIZE) -> dict:
    """Train form settings (``base``, e.g. the session's, for what the search did not decide) that
    reproduce the best configuration: its sampled settings, its best epoch as the epoch count, the
    search's seed and test size (so the same test set is scored)."""
    params = {**result["params"], "n_epochs": result["best_epoch"], "test_size": test_size}
    return {**base, **{name: value for name, value in params.items() if name in settings.FIELDS}}


def best_in_words(result: dict) -> Markdown:
    """The best configuration in the Train form's names, as one sentence."""
    params = result["params"]
    parts = [f"{settings.LABELS['n_factors']} {params['n_factors']}" if "n_factors" in params else None,
             f"{settings.LABELS['lr']} {params['lr']:.4g}" if "lr" in params else None,
             f"{settings.LABELS['reg']} {params['reg']:.4g}" if "reg" in params else None,
             f"{settings.LABELS['n_epochs']} {result['best_epoch']} (the trial's best epoch)",
             f"biases {'on' if params.get('biased', True) else 'off (Funk)'}",
             f"{settings.LABELS['init_std']} {params['init_std']:.4g}" if "init_std" in params else None]
    return md("**Best configuration** (trial {}): {}.", result["best_trial"], ", ".join(part for part in parts if part))


def explore_run(result: dict, dataset, tick) -> session_runs.Run:
    """Train the best configuration as a new run of the session (Train's split: the search's seed and
    test size give the same test set), calling ``tick(run)`` while it trains; the run ends ``done``
    or says why not."""
    chosen = train_settings(result, settings.current())
    run_driver.check_memory(dataset.ratings, chosen["n_factors"], chosen["test_size"], engine=chosen["engine"])
    train, test = run_driver.split(dataset.ratings, chosen)
    run = session_runs.start(chosen, dataset.name, dataset.path, SGDFactorizer(**settings.model_params(chosen)), test)
    return run_driver.execute(run, train, tick=tick)


def scores_table(result: dict) -> tuple[pd.DataFrame, str]:
    """The best configuration's test score beside the baselines', and the score's column name."""
    metric = "test NDCG@10" if "test_ndcg" in result else "test RMSE"
    best = result["test_ndcg"] if "test_ndcg" in result else result["test_rmse"]
    rows = [{"model": f"best trial {result['best_trial']}", metric: best}]
    return pd.DataFrame(rows + [{"model": name, metric: value} for name, value in result["baselines"].items()]), metric


def settings_sentence(result: dict, model: str) -> str:
    """A ranking model's best settings in the Train form's names, for the "Train it" link beside it."""
    params = result["params"]
    values = ", ".join(f"{settings.LABELS.get(name, name)} {params[name]:.4g}" if isinstance(params[name], float)
                       else f"{settings.LABELS.get(name, name)} {params[name]}"
                       for name in settings.ranking_fields(model) if name in params)
    return f"Best {MODELS[model].split(' (')[0]} settings: {values}."


def _epochs(n: int) -> str:
    return f"{n} epoch{'s' * (n != 1)}"


def summary(result: dict) -> str:
    """One sentence comparing the best configuration's test RMSE (or a ranking model's test NDCG@10)
    with the baselines, from the numbers."""
    if "test_ndcg" in result:
        popular = result["baselines"]["popularity"]
        versus = (f"{metrics.times(result['test_ndcg'], popular)} popularity's {popular:.4f}" if popular > 0
                  else f"popularity {popular:.4f}")
        how = (f"for {_epochs(result['best_epoch'])}" if "n_epochs" in result["params"]
               else "in its one step")  # the item-item models have no epochs
        return (f"Best trial {result['best_trial']} (validation NDCG@10 {result['validation_ndcg']:.4f}), "
                f"retrained on train + validation {how}: test NDCG@10 "
                f"{result['test_ndcg']:.4f} (recall@10 {result['test_recall']:.4f}), {versus}.")
    baselines = result["baselines"]
    factors_gain = baselines["biases only"] - result["test_rmse"]
    verb = "lower" if factors_gain > 0 else "higher"
    mean_gain = baselines["global mean"] - result["test_rmse"]
    return (f"Best trial {result['best_trial']} (validation RMSE {result['validation_rmse']:.4f}), retrained "
            f"on train + validation for {_epochs(result['best_epoch'])}: test RMSE {result['test_rmse']:.4f}, "
            f"{abs(factors_gain):.4f} {verb} than biases only ({baselines['biases only']:.4f}) and "
            f"{abs(mean_gain):.4f} {'lower' if mean_gain > 0 else 'higher'} than the global mean "
            f"({baselines['global mean']:.4f}).")
