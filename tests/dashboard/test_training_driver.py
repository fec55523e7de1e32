"""The dashboard's run driver: statuses, render throttling, and Stop keeping the last completed epoch."""

import numpy as np
import pytest
from apptest_helpers import ROOT

from dashboard.server.run_record import Run, seconds_text
from dashboard.logic.run_driver import execute, settle, split
from mfcore import SGDFactorizer, load_ratings


class Interrupted(BaseException):
    """Stands in for Streamlit's StopException/RerunException (BaseExceptions raised at an st call)."""


@pytest.fixture(scope="module")
def data():
    ratings = load_ratings(ROOT / "sample_data" / "toy.csv")
    return split(ratings, {"test_size": 0.2, "seed": 0})


def make_run(test, **params):
    return Run(1, params, "toy", "toy.csv", SGDFactorizer(**params), test)


def test_done_run_renders_first_and_last_epoch_and_scores_the_model(data):
    train, test = data
    rendered = []
    run = execute(make_run(test, n_factors=2, n_epochs=5, engine="python"), train,
                  lambda r: rendered.append(len(r.history)), render_every=3600)
    assert run.status == "done" and [r.epoch for r in run.history] == [1, 2, 3, 4, 5]
    assert rendered[-1] == 5 and len(rendered) <= 2  # polled: the first news, then (throttled) the last
    assert run.scores["rmse"] == pytest.approx(run.history[-1].test_rmse)
    wall, fit = run.scores["wall seconds"], run.scores["seconds"]
    assert 0 < fit <= wall and "epoch 5/5" in run.progress_text
    assert run.progress_text.endswith(f"(done in {seconds_text(wall)} s, {seconds_text(fit)} s of it training)")


def test_an_interrupted_run_keeps_the_model_of_its_last_completed_epoch(data):
    train, test = data

    def stop_at_first_render(run):
        raise Interrupted

    run = make_run(test, n_factors=2, n_epochs=100_000, engine="python")
    with pytest.raises(Interrupted):
        execute(run, train, stop_at_first_render, render_every=0)
    done = len(run.history)
    assert run.status == "stopped" and 1 <= done < 100_000 and run.job is None
    assert run.scores["rmse"] == pytest.approx(run.history[-1].test_rmse, abs=1e-12)
    same_epochs = SGDFactorizer(n_factors=2, n_epochs=done, engine="python").fit(train)
    np.testing.assert_array_equal(run.model.P_, same_epochs.P_)


def test_divergence_and_bad_settings_end_the_run_with_a_message(data):
    train, test = data
    diverged = execute(make_run(test, n_factors=3, n_epochs=50, lr=5.0, reg=0.0), train)
    assert diverged.status == "diverged" and "lower the learning rate" in diverged.message
    assert f"diverged in epoch {len(diverged.history) + 1}/50" in diverged.progress_text
    failed = execute(make_run(test, n_factors=0), train)
    assert failed.status == "failed" and "n_factors == 0" in failed.message and not failed.history


def test_settle_waits_for_the_thread_still_training_the_run(data):
    """As with Streamlit's fast reruns: the new script run settles the runs while the interrupted
    one's thread still follows the job training it; settling cancels the job, and the run must end
    with the model of a completed epoch."""
    import threading

    train, test = data
    run = make_run(test, n_factors=2, n_epochs=100_000, engine="python")
    trained = threading.Event()
    thread = threading.Thread(target=execute, args=(run, train, lambda current: trained.set()),
                              kwargs={"render_every": 0})
    thread.start()
    assert trained.wait(30)
    settle([run])
    done = len(run.history)
    assert run.status == "stopped" and 1 <= done < 100_000
    assert run.scores["rmse"] == pytest.approx(run.history[-1].test_rmse, abs=1e-12)
    np.testing.assert_array_equal(run.model.P_, SGDFactorizer(n_factors=2, n_epochs=done,
                                                              engine="python").fit(train).P_)
    thread.join(30)


def test_settle_stops_a_run_nobody_trains(data):
    train, test = data
    run = make_run(test, n_factors=2, n_epochs=5)
    run.history.append(next(run.model.fit_iter(train, test)))
    settle([run])
    assert run.status == "stopped" and run.message == "stopped after epoch 1"


def test_an_item_model_stopped_before_its_one_step_says_so_without_epochs(data):
    """EASE and item-kNN have no epochs: a run stopped, interrupted or still fitting elsewhere before
    its one step is told in those words, never "after epoch 0"."""
    from dashboard.logic.session_runs import ending
    from dashboard.server import jobs, run_record
    from mfcore.models.neighbors import EASE

    _, test = data
    run = Run(1, {}, "toy", "toy.csv", EASE(), test)
    settle([run])
    assert run.status == "stopped" and run.message == "stopped before its one step ended"
    assert ending(run) == "run 1 stopped before its one step ended: it has no EASE model."
    job = jobs.Job("EASE", "owner", lambda job: iter(()))
    job.state = jobs.CANCELLED
    assert jobs.end_sentence(job, 0, one_step=True) == "stopped before its one step ended"
    record = {"number": 2, "settings": {}, "dataset": "d", "data_path": "d", "params": EASE().get_params(),
              "kind": "ease", "status": "running", "message": "", "scores": {}, "history": [],
              "server": "a process long gone"}
    crashed = run_record.Run.from_record(record, [])
    assert crashed.status == "interrupted" and crashed.message == "interrupted before its one step ended"
    assert ending(crashed) == ("run 2 interrupted before its one step ended: the server stopped while it fitted, "
                               "so it has no EASE model.")
