"""AppTest of the Train page: training streams a curve, runs are kept and compared, the URL holds
the settings, divergence and stopped runs are shown, downloads are offered."""

import json

import numpy as np
from apptest_helpers import ROOT, TOY, button, home, no_exception, plain, upload
from streamlit.testing.v1 import AppTest

from dashboard.logic.session_runs import start
from dashboard.server.run_record import seconds_text
from dashboard.render.texts import escape_markdown
from mfcore import PARAMETERS, SGDFactorizer, load_ratings, random_split


def train_page(query: dict | None = None) -> AppTest:
    app = home()
    for name, value in (query or {}).items():
        app.query_params[name] = value
    return app.switch_page("pages/1_Train.py").run()


def train(app: AppTest, **widgets) -> AppTest:
    for name, value in widgets.items():
        getattr(app, "slider" if name in ("n_factors", "n_epochs", "test_size") else
                "checkbox" if name == "biased" else "selectbox" if name == "engine" else
                "number_input")(key=f"train_{name}").set_value(value)
    return button(app, "Train").click().run()


def layout(app: AppTest) -> dict:
    return json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]


def test_empty_chart_has_no_axes_to_misread():
    app = train_page()
    no_exception(app)
    assert layout(app)["xaxis"]["visible"] is False and layout(app)["yaxis"]["visible"] is False


def curve_points(app: AppTest, trace_name: str) -> list:
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    return next(trace["x"] for trace in spec["data"] if trace["name"] == trace_name)


def test_trains_on_the_sample_and_records_the_run():
    app = train(train_page(), n_factors=8, n_epochs=3)
    no_exception(app)
    assert not app.error
    assert curve_points(app, "run 1 test") == [1, 2, 3]
    assert curve_points(app, "run 1 train") == [1, 2, 3]
    table = app.table[0].value
    assert len(table) == 1
    row = table.iloc[0]
    assert row["status"] == "done" and row["epochs"] == "3/3" and row["Factors K"] == 8
    assert row["best epoch"] in (1, 2, 3) and 0 < row["training s"] <= row["wall s"]
    assert "n_factors" not in table and "updates/s" not in table and "final RMSE" not in table
    assert any(plain(c.value).startswith("Every run: Engine numba-parallel") for c in app.caption)
    assert any("training s: the model's own training time" in plain(c.value) for c in app.caption)
    text = app.get("progress")[0].proto.text  # the progress line says the table's two times
    assert f"(done in {seconds_text(row['wall s'])} s, {seconds_text(row['training s'])} s of it training)" in text
    assert {"final RMSE", "final MAE", "dataset", "Engine"} <= set(app.multiselect(key="train_runs_more").options)
    app.multiselect(key="train_runs_more").set_value(["final RMSE", "final MAE", "dataset"]).run()
    row = app.table[0].value.iloc[0]
    assert 0.5 < row["final RMSE"] < 1.2 and row["final MAE"] < row["final RMSE"]
    assert row["dataset"] == "ratings.csv"
    assert app.query_params["n_factors"] == "8" and app.query_params["n_epochs"] == "3"


def test_a_second_run_overlays_the_first_and_both_are_in_the_table():
    app = train(train_page(), n_factors=4, n_epochs=2)
    app = train(app, n_factors=6, n_epochs=3, lr=0.01)
    no_exception(app)
    assert curve_points(app, "run 1 test") == [1, 2]
    assert curve_points(app, "run 2 test") == [1, 2, 3]
    table = app.table[0].value
    assert list(table["run"]) == [1, 2] and list(table["Factors K"]) == [4, 6]


def test_link_settings_fill_the_form_and_bad_ones_are_reported():
    app = train_page({"n_factors": "12", "lr": "0.02", "biased": "false", "engine": "numpy",
                      "n_epochs": "oops", "reg": "-1"})
    no_exception(app)
    assert app.slider(key="train_n_factors").value == 12
    assert app.number_input(key="train_lr").value == 0.02
    assert app.checkbox(key="train_biased").value is False
    assert app.selectbox(key="train_engine").value == "numpy"
    assert len(app.error) == 1
    assert escape_markdown("Epochs='oops' (must be a whole number from 1 to 200)") in app.error[0].value
    assert escape_markdown("Regularization λ='-1' (must be a number from 0 to 1)") in app.error[0].value
    assert "n_epochs" not in app.error[0].value and "reg=" not in app.error[0].value
    assert app.slider(key="train_n_epochs").value == SGDFactorizer().n_epochs


def test_trains_on_an_uploaded_file_after_a_bad_one():
    app = upload(upload(home(), "toy.csv", TOY), "bad.csv", b"a,b\n")
    assert app.error
    app.switch_page("pages/1_Train.py").run()
    app = train(app, n_factors=2, n_epochs=4, test_size=0.2)
    no_exception(app)
    assert curve_points(app, "run 1 test") == [1, 2, 3, 4]
    app.multiselect(key="train_runs_more").set_value(["dataset"]).run()
    assert app.table[0].value.iloc[0]["dataset"] == "toy.csv"


def test_divergence_shows_advice_not_a_broken_chart():
    app = train(train_page(), n_factors=50, n_epochs=5, lr=1.0, reg=0.0)
    no_exception(app)
    assert len(app.error) == 1
    assert "diverged" in app.error[0].value and "learning rate" in app.error[0].value
    assert app.table[0].value.iloc[0]["status"] == "diverged"
    assert "diverged in epoch" in app.get("progress")[0].proto.text  # not stuck at "starting"


def test_an_interrupted_run_is_kept_as_stopped():
    app = train_page()
    ratings = load_ratings(TOY)
    train_set, test_set = random_split(ratings, 0.2, seed=0)
    model = SGDFactorizer(n_factors=2, n_epochs=10)
    run = start({**app.session_state["train_settings"], "n_epochs": 10}, "toy.csv", "toy.csv", model,
                test_set)
    epochs = model.fit_iter(train_set, test_set)
    run.history += [next(epochs), next(epochs)]
    app.session_state["runs"] = [run]
    app.run()
    no_exception(app)
    row = app.table[0].value.iloc[0]
    assert row["status"] == "stopped" and row["epochs"] == "2/10" and row["best test RMSE"] > 0
    assert "partial curve" in app.info[0].value
    assert curve_points(app, "run 1 test") == [1, 2]
    assert layout(app)["xaxis"]["range"] == [0.5, 2.5]  # the 2 epochs done, not the 10 planned


def test_downloads_are_offered_and_the_snippet_reproduces_the_run(tmp_path):
    app = train(train_page(), n_factors=4, n_epochs=2)
    labels = [plain(element.proto.label) for element in app.get("download_button")]
    assert labels == ["Run history (CSV)", "History of run 1 (CSV)", "Factors of run 1 (.npz)",
                      "Factors of run 1 (CSV)", "Python script for run 1",
                      "Model of run 1 (.npz, opens on Explore)"]
    snippet = app.code[0].value
    assert "n_factors=4" in snippet and "sample_data/ratings.csv" in snippet
    assert all(f"\n    {name}=" in snippet for name in PARAMETERS)  # every parameter, defaults too
    model = app.session_state["runs"][0].model
    script = tmp_path / "run.py"
    sample = repr(str(ROOT / "sample_data" / "ratings.csv"))
    script.write_text(snippet.replace("'sample_data/ratings.csv'", sample))
    namespace = {}
    exec(compile(script.read_text(), str(script), "exec"), namespace)
    np.testing.assert_allclose(namespace["model"].P_, model.P_, atol=1e-6)


def test_a_big_factors_csv_is_prepared_on_request_and_a_long_run_is_announced(monkeypatch):
    """Issue 19: a download over a few MB is built only when asked (under a spinner); a run estimated
    over the warning threshold says so before it starts."""
    from dashboard.logic import downloads
    from dashboard.logic import long_work
    monkeypatch.setattr(downloads, "BIG_BYTES", 0)
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    app = train(train_page(), n_factors=4, n_epochs=2)
    no_exception(app)
    assert any("This run should take about" in plain(w.value) and w.value.endswith("Start it?") for w in app.warning)
    assert not app.session_state["runs"]  # asked first: nothing started
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    assert len(app.session_state["runs"]) == 1 and not app.warning
    assert any("This run should take about" in plain(i.value) for i in app.info)
    prepare = button(app, "Prepare Factors of run 1 (CSV) (about 0 MB)")
    assert "download-1-factors_run1.csv-data" not in app.session_state  # nothing built yet
    app = prepare.click().run()
    no_exception(app)
    built = app.session_state["download-1-factors_run1.csv-data"]
    assert built.startswith(b"kind,id,bias,f0")
    labels = [plain(element.proto.label) for element in app.get("download_button")]
    assert any(label.startswith("Factors of run 1 (CSV): ") and label.endswith(" MB ready") for label in labels)
