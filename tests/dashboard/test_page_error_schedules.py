"""AppTest of the Error schedules page: four curves, per-epoch divergence reported, memory table."""

import json

from apptest_helpers import TOY, button, home, no_exception, plain, upload

from dashboard.server.datasets import Dataset
from mfcore import load_ratings
from mfcore.engines import SCHEDULES


def schedules_page(app=None):
    return (app or home()).switch_page("pages/4_Error_schedules.py").run()


def traces(app, key) -> dict:
    chart = next(c for c in app.get("plotly_chart") if key in c.proto.id)
    return {trace["name"]: trace["x"] for trace in json.loads(chart.proto.spec)["data"]}


def run(app, **widgets):
    if "lr" in widgets:  # one learning rate for all four, not each schedule's own
        app.checkbox(key="sch_own_lr").uncheck()
    for name, value in widgets.items():
        (app.slider if name in ("n_factors", "n_epochs") else app.number_input)(key=f"sch_{name}").set_value(value)
    return button(app, "Run all four schedules").click().run()


def test_four_curves_on_the_sample_and_the_memory_table():
    app = schedules_page()
    no_exception(app)
    memory = app.table[0].value
    assert memory.loc["Netflix Prize size", "dense float64"] == "68.3 GB"
    assert memory.loc["Netflix Prize size", "dense float32"] == "34.1 GB"
    app = run(app, n_factors=10, n_epochs=4, lr=0.003)
    no_exception(app)
    assert not app.error
    assert traces(app, "sch_epoch") == {name: [1, 2, 3, 4] for name in SCHEDULES}
    assert set(traces(app, "sch_seconds")) == set(SCHEDULES)
    table = app.dataframe[0].value
    assert list(table["status"]) == ["finished"] * 4
    findings = " ".join(m.value for m in app.markdown)
    assert "**Per epoch:** after epoch 4" in findings and "no schedule diverged" in findings


def test_stale_errors_diverge_at_a_high_learning_rate_and_others_finish():
    app = run(schedules_page(upload(home(), "toy.csv", TOY)), n_factors=3, n_epochs=30, lr=0.5)
    no_exception(app)
    table = app.dataframe[0].value.set_index("schedule")
    assert table.loc["per-epoch", "status"].startswith("diverged at epoch")
    assert table.loc["per-rating", "status"] == "finished"
    assert any("per-epoch" in plain(w.value) and "lower the learning rate" in plain(w.value) for w in app.warning)
    assert "**Stability:** per-epoch diverged" in " ".join(m.value for m in app.markdown)


def test_movielens_100k_four_curves(ml100k_path):
    app = home()
    app.session_state["dataset"] = Dataset("ml-100k", str(ml100k_path), "-", load_ratings(ml100k_path))
    app = run(schedules_page(app), n_factors=50, n_epochs=20, lr=0.003)
    no_exception(app)
    assert traces(app, "sch_epoch") == {name: list(range(1, 21)) for name in SCHEDULES}
    assert app.dataframe[0].value["training s"].sum() < 5


def test_defaults_are_the_pages_own_and_per_epoch_keeps_its_learning_rate(monkeypatch):
    """Small K and few epochs of its own, said where they differ from Train; each schedule's own
    learning rate, so the first click on the sample does not diverge; the time is estimated first."""
    from dashboard.logic import long_work
    from dashboard.logic import settings
    from mfcore.models.params import default_lr
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)  # every race counts as long here
    app = schedules_page()
    assert app.slider(key="sch_n_factors").value == 16 and app.slider(key="sch_n_epochs").value == 10
    differ = next(plain(c.value) for c in app.caption if plain(c.value).startswith("This page has its own defaults"))
    assert f"Factors K 16 (Train: {settings.DEFAULTS['n_factors']})" in differ
    assert f"per-epoch {default_lr('per-epoch'):g}" in differ
    app = button(app, "Run all four schedules").click().run()
    no_exception(app)
    assert not app.error
    assert len(app.warning) == 1 and "should take about" in app.warning[0].value
    assert app.warning[0].value.endswith("Start it?") and not app.dataframe  # asked first, nothing trained
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    assert not app.warning
    table = app.dataframe[0].value
    assert list(table["status"]) == ["finished"] * 4
    runs = app.session_state["schedule_results"]["runs"]
    assert {run.label: run.model.lr for run in runs}["per-epoch"] == default_lr("per-epoch")
