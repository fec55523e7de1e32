"""AppTest: Explore offers every run of the session on the dataset in use, rating and ranking alike,
and a picked run whose model is not held (restored after a reload, or released) is trained again
through the run driver, with a sentence and a progress bar, into the run's own factors."""

import numpy as np
from apptest_helpers import ROOT, no_exception
from streamlit.testing.v1 import AppTest

from dashboard.server import datasets
from dashboard.server.run_record import Run
from mfcore import ALSFactorizer, BPRFactorizer, SGDFactorizer, random_split

SPLIT = {"test_size": 0.2, "seed": 0}


def three_runs(held: bool):
    """The bundled sample and three finished runs on it, SGD, BPR and ALS (models fitted, or as a
    reload leaves them: unfitted with the same parameters)."""
    app = AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=180)
    dataset = datasets.load("ratings.csv", "ratings.csv", (ROOT / "sample_data" / "ratings.csv").read_bytes())
    train, test = random_split(dataset.ratings, SPLIT["test_size"], seed=SPLIT["seed"])
    runs, fitted = [], []
    for number, model in enumerate((SGDFactorizer(n_factors=8, n_epochs=3, engine="numba"),
                                    BPRFactorizer(n_factors=8, n_epochs=3, n_threads=1),
                                    ALSFactorizer(n_factors=8, n_epochs=2, n_threads=1)), start=1):
        model.fit(train, test) if number == 1 else model.fit(train)
        fitted.append(model)
        kept = model if held else type(model)(**model.get_params())
        settings = {**SPLIT, **model.get_params()}
        runs.append(Run(number, settings, dataset.name, dataset.path, kept, test, status="done",
                        history=list(model.history_), read_only=not held))
    app.session_state["dataset"] = dataset
    app.session_state["runs"] = runs
    return app, runs, fitted


def test_every_kind_of_run_is_offered_newest_first():
    app, runs, _ = three_runs(held=True)
    app.run()
    no_exception(app)
    choice = app.radio(key="explore_source")
    assert choice.options == ["run 3 (ALS)", "run 2 (BPR)", "run 1 (rating MF)", "Upload a model file"]
    assert choice.value == "run 3"
    assert app.radio(key="explore_model").options[0] == "ALS (run 3)"


def test_a_ranking_run_is_explored_as_its_own_model():
    app, runs, fitted = three_runs(held=True)
    app.run()
    app.radio(key="explore_source").set_value("run 2").run()
    no_exception(app)
    assert app.radio(key="explore_model").options == ["BPR (run 2)", "ALS"]  # run 3 joins: the same split
    assert not [n for n in app.number_input if n.key == "explore_support"]  # support filters rating lists only
    app.selectbox(key="explore_user").set_value(0).run()
    no_exception(app)
    shown = next(f.value for f in app.table if "score" in f.value.columns)
    expected = fitted[1].recommend(fitted[1].user_ids_[0], 10)
    np.testing.assert_allclose(shown["score"].to_numpy(), expected["score"].to_numpy(), rtol=1e-6)
    assert any("BPR (run 2)" in t.value.columns for t in app.table)  # the side-by-side lists name it so too


def test_a_run_not_held_is_restored_with_a_sentence_and_its_own_factors():
    app, runs, fitted = three_runs(held=False)
    app.run()
    no_exception(app)
    assert app.radio(key="explore_source").value == "run 3"
    assert not app.get("help") and not app.get("json")  # no stray value written by Streamlit's magic
    assert not [info for info in app.info if "not held" in info.value]  # gone once trained (the browser test
    # sees the sentence and the bar while it trains)
    np.testing.assert_array_equal(runs[2].model.P_, fitted[2].P_)  # the run's own factors, exactly
    app.radio(key="explore_source").set_value("run 1").run()
    no_exception(app)
    np.testing.assert_array_equal(runs[0].model.P_, fitted[0].P_)
    assert hasattr(runs[0].model, "P_") and hasattr(runs[2].model, "P_")  # the newest and the picked: held
    assert not hasattr(runs[1].model, "P_")
    assert app.radio(key="explore_model").options[0] == "rating model"


def test_the_restore_sentence_says_why_the_model_is_trained_again():
    from dashboard.logic import explore_runs

    _, runs, _ = three_runs(held=False)
    assert explore_runs.restore_sentence(runs[0]) == (
        "The model of run 1 is not held on the server (it was restored after a reload or opened from a link, "
        "which keeps curves, not models): training it again with its settings, split and seed, which gives "
        "the same factors.")
    runs[0].read_only = False
    assert "keeps the models of its newest run and the last one restored only" in explore_runs.restore_sentence(
        runs[0])
    assert [run.label for run in explore_runs.explorable(runs, runs[0].dataset)] == ["run 3", "run 2", "run 1"]
    runs[1].status, runs[2].history = "running", []
    assert [run.label for run in explore_runs.explorable(runs, runs[0].dataset)] == ["run 1"]
    assert explore_runs.explorable(runs, "another dataset") == []


def test_a_run_that_cannot_be_restored_says_why_in_one_sentence(monkeypatch):
    app, runs, _ = three_runs(held=False)
    from mfcore.evaluation import resources
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "1000")
    assert resources.memory_cap_bytes() == 1000
    app.run()
    no_exception(app)
    assert len(app.error) == 1 and app.error[0].value.startswith("Could not restore run 3: ")
