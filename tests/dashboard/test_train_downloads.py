"""Every run's files from Train's runs table (issue 19 item 3): after three runs, picking run 1 and
retraining it on demand serves run 1's model, factors, history and script, not the newest run's; and
the retraining goes through the run driver (sample, split, one job per epoch step, cancellable)."""

from __future__ import annotations

import io
import sys
import time

import numpy as np
import pandas as pd
import pytest
from streamlit.delta_generator import DeltaGenerator

from apptest_helpers import ROOT, button, home, no_exception
from dashboard.logic import downloads
from dashboard.server import jobs
from dashboard.logic import run_driver
from dashboard.server.run_record import Run
from mfcore import EpochResult, SGDFactorizer, load_ratings
from mfcore.models.persist import load_bundle

SETTINGS = ({"n_factors": 2, "n_epochs": 2, "lr": 0.02}, {"n_factors": 3, "n_epochs": 3, "lr": 0.015},
            {"n_factors": 4, "n_epochs": 4, "lr": 0.01})


@pytest.fixture
def offered(monkeypatch):
    """Every download the page hands to Streamlit in its last script run: ``{label: (data, file_name)}``
    (AppTest cannot click a download, so the test calls the page's own data functions)."""
    seen: dict = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        seen[label] = (data, kwargs.get("file_name"))
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    return seen


def content(entry) -> bytes:
    data = entry[0]() if callable(entry[0]) else entry[0]
    return data.encode() if isinstance(data, str) else data


def train(app, **widgets):
    for name, value in widgets.items():
        (app.slider if name in ("n_factors", "n_epochs") else app.number_input)(key=f"train_{name}").set_value(value)
    return button(app, "Train").click().run()


def files_picker(app):
    return next(box for box in app.selectbox if box.label == "Files of run")


def test_run_1_of_three_is_retrained_and_its_own_files_are_served(offered):
    app = home().switch_page("pages/1_Train.py").run()
    trained = []
    for settings in SETTINGS:
        app = train(app, **settings)
        no_exception(app)
        newest = app.session_state["runs"][-1]
        trained.append((newest.model.P_.copy(), newest.model.Q_.copy(), newest.model.get_params()))
        assert files_picker(app).value == newest.label  # the picker follows the newest run
    runs = app.session_state["runs"]
    assert [run.status for run in runs] == ["done"] * 3
    assert runs[0].needs_refit and not runs[1].needs_refit  # a session holds two fitted models

    offered.clear()
    files_picker(app).set_value("run 1").run()
    no_exception(app)
    assert "Factors of run 1 (.npz)" not in offered and "Factors of run 3 (.npz)" not in offered
    assert {"History of run 1 (CSV)", "Python script for run 1"} <= set(offered)
    offered.clear()
    button(app, "Retrain run 1 for its downloads").click().run()
    no_exception(app)
    assert not app.error
    assert files_picker(app).value == "run 1"
    P, Q, params = trained[0]

    bundle = load_bundle(io.BytesIO(content(offered["Model of run 1 (.npz, opens on Explore)"])))
    assert offered["Model of run 1 (.npz, opens on Explore)"][1] == "model_run1.npz"
    assert bundle.model.get_params() == params and bundle.model.n_factors == 2
    np.testing.assert_array_equal(bundle.model.P_, P)
    np.testing.assert_array_equal(bundle.model.Q_, Q)
    assert not np.array_equal(bundle.model.Q_[:, :2], trained[2][1][:, :2])  # not run 3's

    factors = np.load(io.BytesIO(content(offered["Factors of run 1 (.npz)"])), allow_pickle=False)
    np.testing.assert_array_equal(factors["P"], P)
    history = pd.read_csv(io.BytesIO(content(offered["History of run 1 (CSV)"])))
    assert list(history["run"]) == [1, 1] and set(history["n_factors"]) == {2}
    script = content(offered["Python script for run 1"]).decode()
    assert "n_factors=2," in script and "n_epochs=2," in script and "lr=0.02," in script
    assert not any("run 3" in label for label in offered if label != "Run history (CSV)")

    # the newest run keeps its model; the one in between was released for run 1's
    runs = app.session_state["runs"]
    assert not runs[0].needs_refit and runs[1].needs_refit and not runs[2].needs_refit
    offered.clear()
    files_picker(app).set_value("run 3").run()
    bundle = load_bundle(io.BytesIO(content(offered["Model of run 3 (.npz, opens on Explore)"])))
    np.testing.assert_array_equal(bundle.model.P_, trained[2][0])


@pytest.fixture(scope="module")
def ratings():
    return load_ratings(ROOT / "sample_data" / "toy.csv")


def recorded(ratings, status="done", early=False, **params):
    """A run trained by the driver, then released as after a reload (curve kept, model dropped)."""
    settings = {"test_size": 0.2, "seed": 0}
    model = SGDFactorizer(**params, **({"patience": 2} if early else {}))
    train, test, validation = run_driver.prepare(ratings, settings, early)
    run = run_driver.execute(Run(1, settings, "toy", "toy.csv", model, test), train, validation=validation)
    kept = run.model
    run.release_model()
    run.status = status
    return run, kept


@pytest.mark.parametrize("engine", ["python", "numba"])
def test_refit_gives_the_same_factors_epoch_by_epoch_through_a_job(ratings, engine):
    run, kept = recorded(ratings, n_factors=3, n_epochs=4, engine=engine)
    drawn = []
    run_driver.refit(run, ratings, tick=lambda fraction, text: drawn.append((fraction, text)))
    np.testing.assert_array_equal(run.model.P_, kept.P_)
    assert run.test is not None and len(run.history) == 4 and drawn[-1][0] == 1.0
    assert drawn[-1][1].startswith("retraining run 1: done")


def test_refit_samples_the_python_engine_like_the_driver(ratings, monkeypatch):
    train, _ = run_driver.split(ratings, {"test_size": 0.2, "seed": 0})
    resources = sys.modules[run_driver.work_sample.__module__]  # mfcore's work guard
    monkeypatch.setattr(resources, "PYTHON_MAX_RATINGS", len(train) // 2)
    run, kept = recorded(ratings, n_factors=3, n_epochs=3, engine="python")
    assert "random sample" in run.note
    run.note = ""
    run_driver.refit(run, ratings)
    np.testing.assert_array_equal(run.model.P_, kept.P_)
    assert "random sample" in run.note
    unsampled = SGDFactorizer(**run.model.get_params()).fit(train)
    assert not np.array_equal(unsampled.P_, kept.P_)  # the sample matters: all ratings give other factors


def test_refit_of_a_stopped_run_stops_at_its_epoch_and_early_stopping_keeps_its_split(ratings):
    run, _ = recorded(ratings, n_factors=3, n_epochs=6, engine="numba")
    del run.history[3:]  # as if Stop had ended it after epoch 3
    run.status = "stopped"
    run_driver.refit(run, ratings)
    model = SGDFactorizer(**run.model.get_params())
    train, test = run_driver.split(ratings, run.settings)
    epochs = model.fit_iter(train, test)
    for _ in range(3):
        next(epochs)
    epochs.close()
    np.testing.assert_array_equal(run.model.P_, model.P_)

    early, kept = recorded(ratings, early=True, n_factors=3, n_epochs=30, lr=0.05, engine="numba")
    assert early.status == "done" and len(early.history) < 30  # it stopped early
    run_driver.refit(early, ratings)
    assert early.model.best_epoch_ == kept.best_epoch_
    np.testing.assert_array_equal(early.model.P_, kept.P_)


def test_refit_is_a_cancellable_job_and_failures_are_one_sentence(ratings, monkeypatch):
    run, _ = recorded(ratings, n_factors=3, n_epochs=4, engine="numba")
    with pytest.raises(ValueError, match="no longer on this server; upload it again"):
        run_driver.refit(run, None)

    class Interrupted(BaseException):
        """Stands in for Streamlit's StopException raised at an st call."""

    class Slow(SGDFactorizer):
        def fit_iter(self, *args, **kwargs):  # an epoch lasts longer than a poll
            for result in super().fit_iter(*args, **kwargs):
                time.sleep(jobs.POLL)
                yield result

    monkeypatch.setattr(run_driver, "SGDFactorizer", Slow)
    submitted = []
    real_submit = jobs.submit
    monkeypatch.setattr(jobs, "submit", lambda *a, **k: submitted.append(real_submit(*a, **k)) or submitted[-1])

    def stop(fraction, text):
        raise Interrupted

    with pytest.raises(Interrupted):
        run_driver.refit(run, ratings, tick=stop)
    assert submitted[-1].cancelled and submitted[-1].wait(30) and submitted[-1].state == jobs.CANCELLED
    assert run.needs_refit  # a cut retraining leaves no half-trained model behind

    monkeypatch.setattr(jobs, "submit",
                        lambda steps, label, **k: jobs.scheduler().submit(steps, label, max_seconds=0.0))
    limit = r"^the retraining stopped at the work limit of 0 s per job after epoch 1 of 4\.$"
    with pytest.raises(ValueError, match=limit):
        run_driver.refit(run, ratings)
    assert run.needs_refit



def test_a_diverged_run_offers_its_history_and_script_and_says_why_not_more():
    run = Run(4, {"test_size": 0.2, "seed": 0}, "toy", "toy.csv", SGDFactorizer(n_factors=2), None,
              status="diverged", history=[EpochResult(1, 1.1, 1.2, 0.01, None)])
    assert not run.needs_refit
    files = downloads.of_run(run, lambda: None)
    assert [file.label for file in files] == ["History of run 4 (CSV)", "Python script for run 4"]
    assert downloads.no_model(run) == "run 4 diverged, so it has no model: its history and script are its only files."



def test_a_long_retraining_asks_first(monkeypatch):
    from dashboard.logic import long_work
    app = home().switch_page("pages/1_Train.py").run()
    for settings in SETTINGS:
        app = train(app, **settings)
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    files_picker(app).set_value("run 1").run()
    button(app, "Retrain run 1 for its downloads").click().run()
    no_exception(app)
    assert any(w.value.startswith("Retraining run 1 should take about") and w.value.endswith("Start it?")
               for w in app.warning)
    assert app.session_state["runs"][0].needs_refit  # nothing retrained yet
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    assert not app.session_state["runs"][0].needs_refit and not app.warning
