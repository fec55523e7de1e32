"""One training run as data: its settings, the dataset it used, its model and test set, its curve,
status and scores (:class:`Run`). No Streamlit here: a training job's thread ends a run
(:meth:`Run.finish`) and stores it without touching a session.

The session's list of runs is kept by :mod:`dashboard.logic.session_runs`, on disk by
:mod:`dashboard.server.saved_runs`;
the run driver that trains (and retrains) a run's model is :mod:`dashboard.logic.run_driver`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from mfcore import EpochResult, Ratings, SGDFactorizer
from mfcore.models.base import is_fitted
from mfcore.models.persist import KINDS
from mfcore.models.ranking import RankingEpochResult

from dashboard.server import lease, store

JOB_END_WAIT = 30
"""Seconds a stopped run waits for its training job to finish the epoch it is in."""
REFITTABLE = ("done", "stopped", "interrupted")
"""Statuses whose model can be trained again exactly (a diverged or failed run has none)."""
SERVER = os.urandom(6).hex()
"""This server process's name in run records: a record still ``running`` under another name was cut
short by a server that stopped (killed, crashed, restarted) and is restored ``interrupted``."""
KIND_NAMES = {"sgd": "rating MF", "bpr": "BPR", "als": "ALS", "ease": "EASE", "itemknn": "item-kNN"}
"""How the runs table and the charts name a model kind (``persist.KINDS``'s keys)."""
CLOSED_FORM = ("ease", "itemknn")
"""Kinds fitted in one closed-form step (the item-item models): no epochs, a curve of one point."""


def model_kind(model) -> str:
    """``sgd``, ``bpr`` or ``als``: the model file kind of ``model``."""
    return getattr(model, "KIND", "sgd") if not isinstance(model, SGDFactorizer) else "sgd"


def is_ranking(model) -> bool:
    """Whether ``model`` is a ranking model (BPR, ALS, EASE, item-kNN): its curve is NDCG@k, not RMSE."""
    return model_kind(model) != "sgd"


def is_closed_form(model) -> bool:
    """Whether ``model`` is fitted in one closed-form step (EASE, item-kNN: :data:`CLOSED_FORM`)."""
    return model_kind(model) in CLOSED_FORM


def reached_words(done: int, unit: str = "epoch", one_step: bool = False) -> str:
    """How far a stopped job got: "after epoch 3", or "before its one step ended" for a model fitted
    in one step that had not finished it."""
    if one_step:
        return "after its one step" if done else "before its one step ended"
    return f"after {unit} {done}"


def seconds_text(seconds: float) -> str:
    """Seconds as the progress line and the runs table both write them: 2 decimals below 10 s, 1 above."""
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


@dataclass
class Run:
    """One training run: its settings, the dataset it used, and what it produced so far. ``status`` is
    running, done, stopped (by the user or by leaving the page), diverged, failed or interrupted (the
    server stopped during the run: restored from its record and curve file). ``name`` labels
    it in charts (default ``run N``). ``driven`` is set while a script thread trains it (see
    :func:`dashboard.logic.run_driver.execute`) and ``ended`` once that thread is done with it."""

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
    job: object = None  # the dashboard.server.jobs.Job training it, until it ends
    # kept by dashboard.server.saved_runs: the store key of the dataset it trains on (None until recorded),
    # the session that made it, its own store key (its file), and whether this browser session only
    # shows it (restored from a link or a reload: never written again from here)
    data_key: str | None = None
    session_name: str = field(default="", repr=False, compare=False)
    store_key: str = field(default="", repr=False, compare=False)
    read_only: bool = field(default=False, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or f"run {self.number}"

    @property
    def kind(self) -> str:
        return model_kind(self.model)

    @property
    def ranking(self) -> bool:
        return is_ranking(self.model)

    @property
    def closed_form(self) -> bool:
        """Fitted in one step, without epochs (EASE, item-kNN)."""
        return is_closed_form(self.model)

    @property
    def reached(self) -> str:
        """How far a run that ended early got: "after epoch 3", or "before its one step ended" for an
        item-item model (no epochs)."""
        return reached_words(len(self.history), one_step=self.closed_form)

    @property
    def kind_name(self) -> str:
        """How tables and charts name the run's model: "rating MF", "BPR", "ALS", "EASE", "item-kNN"."""
        return KIND_NAMES[self.kind]

    @property
    def progress_text(self) -> str:
        """One line for a progress bar: the epoch reached and its RMSEs, or how the run ended."""
        done, planned = len(self.history), self.model.n_epochs
        job = self.job
        if self.status == "running" and job is not None and job.state == "queued":
            return job.status_line()
        if self.closed_form:
            return self._closed_form_text()
        if self.status == "running" and not done:
            return f"{self.label}: epoch 1/{planned} running" + (f" ({job.elapsed:.1f} s)" if job else "")
        text = f"{self.label}: epoch {done}/{planned}"
        if done and self.ranking:
            last = self.history[-1]
            text += f", loss {last.loss:.4f}" if last.loss is not None else ""
            if last.test_ndcg is not None:
                text += f", test NDCG@{last.k} {last.test_ndcg:.4f}"
        elif done:
            last = self.history[-1]
            text += f", train RMSE {last.train_rmse:.4f}"
            if last.test_rmse is not None:
                text += f", test RMSE {last.test_rmse:.4f}"
        if self.status == "diverged":
            return f"{self.label}: diverged in epoch {done + 1}/{planned}"
        if self.status == "running":
            return text + (f" ({job.elapsed:.1f} s)" if job is not None else "")
        wall, fit = self.scores.get("wall seconds"), self.scores.get("seconds")
        if wall is not None and fit is not None:
            return f"{text} ({self.status} in {seconds_text(wall)} s, {seconds_text(fit)} s of it training)"
        return f"{text} ({self.status})"

    def _closed_form_text(self) -> str:
        """:attr:`progress_text` of an item-item model, which has no epochs: fitting, or fitted with its
        test scores."""
        job = self.job
        if self.status == "running":
            return f"{self.label}: fitting {self.kind_name} in one step" + (f" ({job.elapsed:.1f} s)" if job else "")
        if not self.history:
            return f"{self.label}: {self.kind_name} not fitted ({self.status})"
        last = self.history[-1]
        text = f"{self.label}: {self.kind_name} fitted in one step"
        if last.test_ndcg is not None:
            text += f", test NDCG@{last.k} {last.test_ndcg:.4f}, recall@{last.k} {last.test_recall:.4f}"
        wall, fit = self.scores.get("wall seconds"), self.scores.get("seconds")
        if wall is not None and fit is not None:
            return f"{text} ({self.status} in {seconds_text(wall)} s, {seconds_text(fit)} s of it fitting)"
        return f"{text} ({self.status})"

    @property
    def progress_fraction(self) -> float:
        """Epochs done over epochs planned, counting the running epoch's share as its seconds so far
        over the last epoch's seconds (at most 95% of an epoch until it reports)."""
        done, planned = len(self.history), self.model.n_epochs
        if self.job is None or self.status != "running" or not done:
            return min(1.0, done / planned)
        return self.job.fraction(done, planned, self.history[-1].seconds)

    @property
    def needs_refit(self) -> bool:
        """Whether the run ended with a model (done or stopped) that is not held now: restored after
        a reload, or released to keep the session small; :func:`dashboard.logic.run_driver.refit` trains it
        again exactly."""
        return bool(self.history) and self.status in REFITTABLE and not is_fitted(self.model)

    def finish(self, status: str, message: str = "") -> None:
        """Record the end of the run and score the model (as it is after its last completed epoch)
        on the test set when there is one."""
        job = self.job
        self.status, self.message, self.job = status, message, None
        if self.ranking and self.history and self.history[-1].test_ndcg is not None:
            last = self.history[-1]  # the test NDCG of the model after its last completed epoch
            self.scores = {f"ndcg@{last.k}": last.test_ndcg, f"recall@{last.k}": last.test_recall}
        elif is_fitted(self.model) and self.test is not None and len(self.test) and self.history:
            self.scores = self.model.evaluate(self.test)
        if self.history:
            self.scores.update({"seconds": self.model.fit_seconds_,
                                "updates/s": getattr(self.model, "updates_per_second_", None)})
            if job is not None and getattr(job, "started_at", None) is not None:
                self.scores["wall seconds"] = job.elapsed  # what the progress line counted
        self.save_session()

    def release_model(self) -> None:
        """Drop the fitted factors and the test set; the settings and seed reproduce them exactly
        (the engines are deterministic). The curve and the scores stay."""
        self.model = type(self.model)(**self.model.get_params())
        self.test = None

    def _row(self, result) -> list:
        if self.ranking:
            return [result.epoch, result.loss, result.seconds, result.test_ndcg, result.test_recall, result.k]
        return [result.epoch, result.train_rmse, result.test_rmse, result.seconds, result.validation_rmse]

    def record(self) -> dict:
        """A JSON-able record of the run (what :mod:`dashboard.server.store` keeps; :meth:`from_record`)."""
        return {"number": self.number, "settings": self.settings, "dataset": self.dataset,
                "data_path": self.data_path, "data_key": self.data_key or "",
                "params": dict(self.model.get_params()), "kind": self.kind,
                "status": self.status, "message": self.message, "scores": self.scores, "server": SERVER,
                "history": [self._row(result) for result in self.history]}

    def append_epoch(self, result) -> None:
        """Append ``result`` (the epoch just trained) to the run's curve file
        (:func:`dashboard.server.store.append_epoch`), from the training job's thread; a read-only run
        or one not recorded writes nothing."""
        if self.store_key and not self.read_only:
            store.append_epoch(self.store_key, self._row(result))

    @classmethod
    def from_record(cls, rec: dict, curve: list | None = None) -> Run:
        """The run of a :meth:`record`, with an unfitted model of the same parameters and seed. A run
        recorded as running takes its curve from ``curve`` (the rows :meth:`append_epoch` wrote) when
        that is longer; it is ``stopped`` when this server process recorded it (its session ended
        mid-run) or another one that still beats does (a replica training it: the epochs done so far),
        and ``interrupted`` when the process that recorded it is gone (its lease expired,
        :func:`dashboard.server.lease.server_alive`). Raises KeyError, TypeError or
        ValueError on a damaged record."""
        kind = rec.get("kind", "sgd")
        result = EpochResult if kind == "sgd" else _ranking_result
        rows = rec["history"]
        if rec["status"] == "running" and curve and len(curve) > len(rows):
            rows = curve
        run = cls(rec["number"], rec["settings"], rec["dataset"], rec["data_path"],
                  KINDS[kind](**rec["params"]), None, status=rec["status"], message=rec["message"],
                  scores=rec["scores"], history=[result(*row) for row in rows])
        run.data_key = rec.get("data_key", "")
        if run.status == "running" and rec.get("server") == SERVER:
            run.status, run.message = "stopped", f"stopped {run.reached}"
        elif run.status == "running" and lease.server_alive(str(rec.get("server", ""))):
            where = (f"fitting {run.kind_name} on another server" if run.closed_form
                     else f"training on another server at epoch {len(run.history)}")
            run.status, run.message = "stopped", f"was still {where} when this page read it"
        elif run.status == "running":
            run.status, run.message = "interrupted", ("interrupted before its one step ended" if run.closed_form
                                                      else f"interrupted at epoch {len(run.history)}")
        run.ended.set()
        return run

    def save_session(self) -> None:
        """Store this run in its own file (its key is set by :func:`dashboard.server.saved_runs.save`), never
        a read-only run. It touches no Streamlit state: the thread that trained the run may be
        stopping (Stop, page change), and it rewrites no other run, so two tabs never collide."""
        if self.store_key and not self.read_only:
            lease.start_heartbeat(SERVER)  # readers tell this process's running runs from a dead one's
            store.save_run(self.store_key, self.record())  # False: store.problem() says why


def _ranking_result(epoch, loss, seconds, ndcg, recall, k) -> RankingEpochResult:
    """A ranking run's curve row ``[epoch, loss, seconds, test NDCG, test recall, k]`` as its result."""
    return RankingEpochResult(epoch, loss, seconds, k=k, test_ndcg=ndcg, test_recall=recall)
