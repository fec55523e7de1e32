"""AppTest of the Speed page: every engine timed (python on a tiny budget), compile time apart, the
python-vs-numba agreement shown, and a paragraph per engine."""

from apptest_helpers import TOY, button, home, no_exception, plain, upload

from mfcore import ENGINES


def speed_page(app=None):
    return (app or home()).switch_page("pages/2_Speed.py").run()


def time_them(app, **widgets):
    app.number_input(key="speed_budget").set_value(widgets.get("budget", 0.1))
    app.slider(key="speed_epochs").set_value(1)
    app.slider(key="speed_k").set_value(widgets.get("k", 8))
    if "engines" in widgets:
        app.multiselect(key="speed_engines").set_value(widgets["engines"])
    return button(app, "Time engines").click().run()


def test_times_every_engine_and_checks_agreement():
    app = speed_page()
    no_exception(app)
    summaries = " ".join(m.value for m in app.markdown)
    assert all(f"**{name}**" in summaries for name in ENGINES)
    app = time_them(app)
    no_exception(app)
    assert not app.error
    table = app.dataframe[0].value
    assert list(table["engine"]) == list(ENGINES)
    assert (table["seconds/epoch"] > 0).all()
    python = table[table["engine"] == "python"].iloc[0]
    assert python["speed-up"] == "1.0x"
    assert python["test RMSE"] == "- (timed on a sample)"
    full = table[~table["timed on"].str.startswith("a sample")]
    assert full["test RMSE"].str.fullmatch(r"\d\.\d{4} after 1 epoch").all()  # never None after an epoch
    import json
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert [label.split(" ")[0] for label in bars["text"]] == list(table["speed-up"])  # bars say the rows' ratios
    assert python["timed on"].startswith("a sample of ") and python["timed on"].endswith(" ratings, extrapolated")
    assert "**In short:**" in " ".join(m.value for m in app.markdown)
    assert len(app.get("plotly_chart")) == 1
    assert any(m.label == "numba" and m.value.endswith(" s") for m in app.metric)
    assert not any("JIT compile time" in plain(m.value) for m in app.markdown)
    assert "max |python - numba|" in app.success[0].value


def test_works_on_an_uploaded_file_and_without_python():
    app = speed_page(upload(home(), "toy.csv", TOY))
    app = time_them(app, engines=["numba"], budget=1.0)
    no_exception(app)
    assert list(app.dataframe[0].value["engine"]) == ["numba"]
    assert "toy.csv" in app.subheader[0].value
    assert any("Include the python engine" in info.value for info in app.info)


def test_no_engine_is_a_one_line_error():
    app = time_them(speed_page(), engines=[])
    no_exception(app)
    assert len(app.error) == 1


def test_answers_whether_cython_was_worth_it_from_its_own_numbers():
    import pytest
    if "cython" not in ENGINES:
        pytest.skip("the cython engine is unavailable here (no C compiler)")
    app = time_them(speed_page(), engines=["python", "numpy", "cython", "numba", "numba-parallel"], budget=0.5)
    no_exception(app)
    table = app.dataframe[0].value
    assert list(table["engine"]) == ["python", "numpy", "cython", "numba", "numba-parallel"]
    verdict = next(m.value for m in app.markdown if "Was Cython worth it?" in m.value)
    seconds = dict(zip(table["engine"], table["seconds/epoch"]))
    ratio = seconds["cython"] / seconds["numba"]
    assert f"{seconds['cython']:.4f} s vs {seconds['numba']:.4f} s" in verdict
    if ratio > 1.05:
        assert "No." in verdict and f"{ratio:.2f}x" in verdict
    elif ratio < 0.95:
        assert "Yes" in verdict and f"{ratio:.2f}x" in verdict
    else:
        assert "No gain" in verdict


def test_own_defaults_said_against_train_and_a_long_timing_is_announced(monkeypatch):
    from dashboard.logic import long_work
    from dashboard.logic import settings
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    app = speed_page()
    assert app.slider(key="speed_k").value == 32 and app.slider(key="speed_epochs").value == 3
    caption = next(plain(c.value) for c in app.caption if plain(c.value).startswith("This page has its own defaults"))
    assert f"Factors K 32 (Train: {settings.DEFAULTS['n_factors']})" in caption
    app = time_them(app, engines=["numba"], budget=1.0)
    no_exception(app)
    assert len(app.warning) == 1 and "should take about" in app.warning[0].value
    assert app.warning[0].value.endswith("Start it?") and not app.dataframe  # asked first, nothing timed yet
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    assert not app.warning and list(app.dataframe[0].value["engine"]) == ["numba"]
    app = time_them(app, engines=["numba"], budget=1.0)
    app = button(app, "Don't start").click().run()
    assert "The timing was not started." in [i.value for i in app.info]
    assert list(app.dataframe[0].value["engine"]) == ["numba"]  # the earlier results stay


class FinishedJob:
    def __init__(self, results):
        self.results = results

    def wait(self, timeout=None):
        return True


def test_cancel_says_what_it_did_and_what_became_of_the_old_results():
    from dashboard.logic.speed_verdicts import cancel_sentence
    timing = {"job": FinishedJob(["numba result"]), "engines": ["numba", "python"]}
    assert cancel_sentence(timing, None) == ("Cancelled: the timing stopped after 1 of 2 engines (numba); nothing "
                                             "of it was kept. There are no earlier results to show.")
    saved = {"dataset": "toy.csv", "k": 8}
    assert cancel_sentence({**timing, "job": FinishedJob([])}, saved).endswith(
        "stopped before the first engine was timed; nothing of it was kept. The results below are the earlier "
        "timing's (toy.csv, K=8), unchanged.")
    app = time_them(speed_page(), engines=["numba"])
    app.session_state["speed_cancelled"] = True  # as Cancel's click leaves it
    app.session_state["speed_job"] = timing
    app.run()
    no_exception(app)
    assert any(plain(i.value).startswith("Cancelled: the timing stopped after 1 of 2 engines") for i in app.info)
    assert list(app.dataframe[0].value["engine"]) == ["numba"]
