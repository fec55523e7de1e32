"""AppTest for the Tune page: a small search on the toy data runs to the end, bad input says one thing."""

from apptest_helpers import TOY, home, no_exception, upload
from streamlit.testing.v1 import AppTest

from dashboard.texts import escape_markdown


def tune_page(tmp_path, monkeypatch) -> AppTest:
    """The Tune page on the toy data (50 ratings), studies in ``tmp_path``."""
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    app = upload(home(), "toy.csv", TOY)
    app.default_timeout = 120
    return app.switch_page("pages/5_Tune.py").run()


def test_a_search_fills_the_table_and_scores_the_best_on_the_test_set(tmp_path, monkeypatch):
    app = tune_page(tmp_path, monkeypatch)
    no_exception(app)
    app.number_input(key="tune_n_epochs_high").set_value(30)
    app.number_input(key="tune_budget").set_value(12)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    trials = app.dataframe[0].value
    assert len(trials) == 12 and set(trials["state"]) <= {"complete", "pruned", "failed"}
    assert (trials["epochs run"] <= 30).all()
    assert any("Search **finished**: 12 trials" in m.value for m in app.markdown)
    sentence = next(m.value for m in app.markdown if m.value.startswith("Best trial"))
    scores = app.dataframe[1].value
    best = scores["test RMSE"].iloc[0]
    assert f"test RMSE {best:.4f}" in sentence
    assert f"({scores['test RMSE'].iloc[2]:.4f})" in sentence  # biases only
    assert list(scores["model"])[1:] == ["global mean", "biases only"]
    studies = list((tmp_path / "studies").glob("session-*.sqlite3"))
    assert len(studies) == 1


def test_an_empty_range_is_one_error_and_nothing_starts(tmp_path, monkeypatch):
    app = tune_page(tmp_path, monkeypatch)
    app.number_input(key="tune_lr_low").set_value(0.5)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    assert [e.value for e in app.error] == [
        "Could not start the search: " + escape_markdown("lr range [0.5, 0.05] is empty: low > high.")]
    assert not app.dataframe


def test_two_sessions_tune_their_own_studies_and_stop_keeps_finished_trials(tmp_path, monkeypatch):
    from dashboard import tuning
    from mfcore import load_ratings
    from mfcore.tuning import Range, default_space
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    ratings = load_ratings(TOY)
    space = {**default_space(), "n_epochs": Range("n_epochs", 5, 10)}
    first = tuning.start(ratings, "toy", space, n_trials=6, timeout=None, seed=0)
    second = tuning.start(ratings, "toy", space, n_trials=1000, timeout=None, seed=1)
    while len(second.study().trials) < 3:
        second.scheduled.wait(0.05)
    second.stop.set()
    first.scheduled.wait(60)
    second.scheduled.wait(60)
    assert first.study_name != second.study_name and first.storage != second.storage
    assert len(first.study().trials) == 6
    kept = second.study().trials
    assert 3 <= len(kept) < 1000 and all(trial.state.is_finished() for trial in kept)
    assert second.result is not None and second.result["best_trial"] < len(kept)
