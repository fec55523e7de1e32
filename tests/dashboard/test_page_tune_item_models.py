"""AppTest of Tune's item-item models: EASE and item-kNN search their own table's parameters (ranges
bounded by what Train accepts), each trial is one step (the page says so: no epochs, no pruning), and
the best configuration is scored on the test set beside popularity and opens Train's form."""

from apptest_helpers import home, no_exception, plain
from streamlit.testing.v1 import AppTest

from mfcore.models.params import EASE_PARAMETERS, ITEMKNN_PARAMETERS


def tune_page(tmp_path, monkeypatch) -> AppTest:
    """The Tune page on the bundled sample, studies in ``tmp_path``."""
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    app = home()  # the bundled sample: its validation ratings hold positives
    app.default_timeout = 180
    return app.switch_page("pages/5_Tune.py").run()


def test_an_ease_search_is_one_step_per_trial_and_opens_train(tmp_path, monkeypatch):
    app = tune_page(tmp_path, monkeypatch)
    app.radio(key="tune_model").set_value("ease").run()
    no_exception(app)
    caption = " ".join(plain(c.value) for c in app.caption)
    assert "in one step (it has no epochs, so no trial is pruned)" in caption and "every epoch" not in caption
    low, high = app.number_input(key="tune_ease_reg_low"), app.number_input(key="tune_ease_reg_high")
    assert (low.min, high.max) == EASE_PARAMETERS["reg"].widget_range  # Train's bounds
    app.number_input(key="tune_budget").set_value(3)
    app.button(key="FormSubmitter:tune_form_ease-Start search").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    trials = app.dataframe[0].value
    assert len(trials) == 3 and "epochs run" not in trials and set(trials["state"]) == {"complete"}
    assert trials["Regularization λ"].between(low.value, high.value).all()
    scores = app.dataframe[1].value
    assert list(scores["model"])[1:] == ["popularity"]
    sentence = next(plain(m.value) for m in app.markdown if plain(m.value).startswith("Best trial"))
    assert "in its one step" in sentence and "epoch" not in sentence
    assert f"test NDCG@10 {scores['test NDCG@10'].iloc[0]:.4f}" in sentence
    assert any(plain(c.value).startswith("Best EASE settings: Regularization λ ") for c in app.caption)
    link = app.get("page_link")[0].proto
    assert "model=ease" in link.query_string and "reg=" in link.query_string and "n_epochs" not in link.query_string
    spec = app.get("plotly_chart")[0].proto.spec
    assert "of every trial, each one step" in spec


def test_an_itemknn_search_covers_its_tables_parameters(tmp_path, monkeypatch):
    app = tune_page(tmp_path, monkeypatch)
    app.radio(key="tune_model").set_value("itemknn").run()
    no_exception(app)
    searched = {w.key.removeprefix("tune_itemknn_").rsplit("_", 1)[0] for w in app.number_input
                if w.key.startswith("tune_itemknn_")}
    assert searched == set(ITEMKNN_PARAMETERS) - {"positive_level", "seed"}
    app.number_input(key="tune_itemknn_n_neighbors_high").set_value(50)
    app.number_input(key="tune_budget").set_value(2)
    app.button(key="FormSubmitter:tune_form_itemknn-Start search").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    trials = app.dataframe[0].value
    assert len(trials) == 2 and (trials["Neighbours k"] <= 50).all()
    assert any(plain(c.value).startswith("Best item-kNN settings: Neighbours k ") for c in app.caption)


def test_a_long_item_model_search_says_each_trial_is_one_step(tmp_path, monkeypatch):
    from dashboard.logic import long_work
    app = tune_page(tmp_path, monkeypatch)
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    app.radio(key="tune_model").set_value("ease").run()
    app.button(key="FormSubmitter:tune_form_ease-Start search").click().run()
    no_exception(app)
    warning = plain(app.warning[0].value)
    assert "(one step per trial, estimated from a measured fit and the load)" in warning and "pruned" not in warning
