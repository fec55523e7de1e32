"""AppTest of Train's item-item models (EASE, item-kNN): their forms come from their parameter tables,
a fit is one step whose curve is one point and whose every sentence says so, the runs table shows its
test NDCG@10 and recall@10, its files include the model file, and EASE refuses a catalogue whose Gram
matrix would not fit the memory cap with one sentence."""

import json

from apptest_helpers import no_exception, plain, shown_table, train_kind as train, train_page

from dashboard.logic import downloads, settings
from dashboard.server import saved_runs
from mfcore.models.params import EASE_PARAMETERS, ITEMKNN_PARAMETERS


def test_the_forms_show_each_tables_parameters_and_say_there_are_no_epochs():
    app = train_page()
    for kind, table in (("ease", EASE_PARAMETERS), ("itemknn", ITEMKNN_PARAMETERS)):
        app.radio(key="train_kind").set_value(kind).run()
        no_exception(app)
        shown = {w.key.removeprefix(f"train_{kind}_"): w for w in [*app.number_input, *app.slider, *app.selectbox]
                 if w.key.startswith(f"train_{kind}_")}
        assert set(shown) == set(table) | {"test_size"}
        assert all(shown[name].value == param.default for name, param in table.items() if name in shown)
        assert {shown[name].label for name in table} == {settings.LABELS[name] for name in table}
        caption = " ".join(plain(c.value) for c in app.caption)
        assert "It has no epochs: one step" in caption and "after every epoch" not in caption


def test_ease_and_itemknn_fit_in_one_step_and_join_the_runs_table():
    app = train(train_page(), "ease", reg=50.0)
    no_exception(app)
    assert not app.error
    run = app.session_state["runs"][-1]
    assert run.status == "done" and len(run.history) == 1 and run.scores["ndcg@10"] > 0
    assert run.model.reg == 50.0
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    line = spec["data"][-1]
    assert line["name"] == f"run 1 (EASE, one step, no epochs) test NDCG {run.scores['ndcg@10']:.3f}"
    assert line["y"] == [run.scores["ndcg@10"]] * 2  # a level line: one value, no epochs
    assert spec["layout"]["xaxis"]["visible"] is False  # no epoch axis when no run has epochs
    progress = app.get("progress")[0].proto.text
    assert "fitted in one step" in progress and "epoch" not in progress.replace("no epochs", "")
    files = {file.file_name: file for file in downloads.of_run(run, saved_runs.ratings_source(run))}
    assert "model_run1.npz" in files and not any(name.startswith("factors") for name in files)
    script = files["reproduce_run1.py"].data
    assert "EASE(" in script and "one step" in script and "epoch" not in script

    app = train(app, "itemknn", n_neighbors=20)
    no_exception(app)
    app = train(app, "als", n_factors=8, n_epochs=2)
    no_exception(app)
    table = shown_table(app.table[0])
    assert list(table["model"]) == ["EASE", "item-kNN", "ALS"]
    assert list(table["epochs"]) == ["one step", "one step", "2/2"]
    assert table["best test NDCG@10"].notna().all() and table["test recall at 10"].notna().all()
    assert table["best epoch"].isna().tolist() == [True, True, False]  # shown as "–": no epochs
    runs = app.session_state["runs"]
    assert table["test recall at 10"].tolist() == [run.scores["recall@10"] for run in runs]
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)  # ALS's curve over the two level lines
    assert [trace["name"].split(" (")[1].split(",")[0].split(")")[0] for trace in spec["data"]] == [
        "EASE", "item-kNN", "ALS"]
    assert spec["layout"]["xaxis"]["title"]["text"] == "epoch"


def test_ease_refuses_a_catalogue_over_the_memory_cap(monkeypatch):
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", str(2**20))
    app = train(train_page(), "ease")
    no_exception(app)
    assert not app.session_state["runs"]
    assert len(app.error) == 1
    text = plain(app.error[0].value)
    assert text.startswith("Not started: EASE on ") and "item-item matrix" in text and text.count(". ") == 0
