"""AppTest of Train's ranking models: the model kind picks the form (that kind's parameters from its
table), a BPR or ALS run draws its test NDCG@10 per epoch, and runs of different kinds share the runs
table, the history CSV and Explore."""

import json

import numpy as np
import pandas as pd
from apptest_helpers import ROOT, button, home, no_exception, plain, shown_table, train_kind as train, train_page

from dashboard.logic import session_runs
from dashboard.logic import settings
from dashboard.server.run_record import Run
from mfcore import BPRFactorizer, load_ratings, random_split
from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS


def test_the_form_shows_the_kinds_own_parameters():
    app = train_page()
    app.radio(key="train_kind").set_value("als").run()
    shown = {w.key.removeprefix("train_als_") for w in [*app.number_input, *app.slider, *app.selectbox]
             if w.key.startswith("train_als_")}
    assert shown == set(ALS_PARAMETERS) - {"n_threads"} | {"test_size"}
    assert app.number_input(key="train_als_alpha").value == ALS_PARAMETERS["alpha"].default
    app.radio(key="train_kind").set_value("bpr").run()
    assert app.number_input(key="train_bpr_negatives").value == BPR_PARAMETERS["negatives"].default


def test_a_ranking_link_opens_that_kinds_form_filled_and_reports_bad_values():
    """Tune's "Train it" for a ranking model: ``model=als`` and the settings in the URL pick ALS and
    fill its form; a value outside its table's range is reported and left at the default."""
    app = home()
    query = {**settings.ranking_query("als", {"n_factors": 24, "alpha": 12.5, "n_epochs": 6, "test_size": 0.2}),
             "cg_steps": "999"}
    for name, value in query.items():
        app.query_params[name] = value
    app = app.switch_page("pages/1_Train.py").run()
    no_exception(app)
    assert app.radio(key="train_kind").value == "als"
    assert app.slider(key="train_als_n_factors").value == 24 and app.slider(key="train_als_n_epochs").value == 6
    assert app.number_input(key="train_als_alpha").value == 12.5
    assert app.slider(key="train_als_test_size").value == 0.2
    assert app.number_input(key="train_als_cg_steps").value == ALS_PARAMETERS["cg_steps"].default
    assert len(app.error) == 1 and "CG steps='999' (must be a whole number from 1 to 20)" in app.error[0].value
    assert "model" not in app.query_params  # the form took the link's settings; the URL is Train's again
    app = button(app, "Train").click().run()
    no_exception(app)
    run = app.session_state["runs"][-1]
    assert run.status == "done" and len(run.history) == 6
    assert (run.model.n_factors, run.model.alpha, run.settings["test_size"]) == (24, 12.5, 0.2)


def test_bpr_and_als_runs_draw_ndcg_and_join_the_runs_table():
    app = train(train_page(), "bpr", n_factors=8, n_epochs=3)
    no_exception(app)
    assert not app.error
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert spec["data"][-1]["name"] == "run 1 (BPR) test NDCG" and spec["data"][-1]["x"] == [1, 2, 3]
    assert spec["layout"]["yaxis"]["title"]["text"].startswith("test NDCG@10")
    run = app.session_state["runs"][-1]
    assert run.status == "done" and run.scores["ndcg@10"] == run.history[-1].test_ndcg > 0

    ratings = load_ratings(ROOT / "sample_data" / "ratings.csv")  # the same run again, by hand
    train_set, test = random_split(ratings, run.settings["test_size"], seed=run.settings["seed"])
    again = BPRFactorizer(**settings.ranking_params("bpr", run.settings))
    np.testing.assert_array_equal([r.test_ndcg for r in again.fit_iter(train_set, test, k=10, max_users=1000)],
                                  [r.test_ndcg for r in run.history])

    app = train(app, "als", n_factors=8, n_epochs=2)
    no_exception(app)
    app.radio(key="train_kind").set_value("sgd").run()
    app = button(app, "Train").click().run()
    table = shown_table(app.table[0])
    assert list(table["model"]) == ["BPR", "ALS", "rating MF"]
    assert table["best test NDCG@10"].notna().tolist()[:2] == [True, True]
    history = pd.read_csv(pd.io.common.BytesIO(session_runs.history_csv(app.session_state["runs"])))
    assert {"test_ndcg", "train_rmse"} <= set(history.columns) and len(history) == 3 + 2 + 20


def test_a_ranking_run_survives_a_reload_record():
    model = BPRFactorizer(n_factors=4, n_epochs=2, n_threads=1)
    ratings = load_ratings(ROOT / "sample_data" / "toy.csv")
    train_set, test = random_split(ratings, 0.2, seed=0)
    history = list(model.fit_iter(train_set, test, k=10))
    run = Run(1, {"kind": "bpr", "test_size": 0.2, "seed": 0}, "toy", "toy.csv", model, test, status="done",
              history=history)
    again = Run.from_record(json.loads(json.dumps(run.record())))
    assert isinstance(again.model, BPRFactorizer) and again.needs_refit
    assert [(r.epoch, r.loss, r.k) for r in again.history] == [(r.epoch, r.loss, r.k) for r in history]


def test_a_long_ranking_run_asks_before_it_starts(monkeypatch):
    from dashboard.logic import long_work
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    app = train(train_page(), "als", n_epochs=2)
    no_exception(app)
    assert any("This run should take about" in plain(w.value) and w.value.endswith("Start it?") for w in app.warning)
    assert not app.session_state["runs"]
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    runs = app.session_state["runs"]
    assert len(runs) == 1 and runs[0].kind == "als" and len(runs[0].history) == 2 and not app.warning
