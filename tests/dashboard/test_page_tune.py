"""AppTest for the Tune page: a small search on the toy data runs to the end, bad input says one thing."""

import pytest
from apptest_helpers import ROOT, TOY, home, no_exception, plain, upload
from streamlit.testing.v1 import AppTest

from dashboard.render.texts import escape_markdown


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
    assert any("Search **finished**: 12 trials" in plain(m.value) for m in app.markdown)
    sentence = next(m.value for m in app.markdown if plain(m.value).startswith("Best trial"))
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
        "Could not start the search: " + escape_markdown("Learning rate γ range [0.5, 0.05] is empty: low > high.")]
    assert not app.dataframe


def test_two_sessions_tune_their_own_studies_and_stop_keeps_finished_trials(tmp_path, monkeypatch):
    from dashboard.logic import search
    from mfcore import load_ratings
    from mfcore.tuning import Range, default_space
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    ratings = load_ratings(TOY)
    space = {**default_space(), "n_epochs": Range("n_epochs", 5, 10)}
    first = search.start(ratings, "toy", space, n_trials=6, timeout=None, seed=0)
    second = search.start(ratings, "toy", space, n_trials=1000, timeout=None, seed=1)
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


def test_a_finished_search_reopens_from_the_url_and_names_the_best_configuration(tmp_path, monkeypatch):
    """The study is named in the URL; a new session (a reload, a copied link) reads it from storage."""
    app = tune_page(tmp_path, monkeypatch)
    app.number_input(key="tune_n_epochs_high").set_value(10)
    app.number_input(key="tune_budget").set_value(6)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    name = app.query_params["study"][0] if isinstance(app.query_params["study"], list) else app.query_params["study"]
    words = next(m.value for m in app.markdown if plain(m.value).startswith("**Best configuration**"))
    assert "Factors K" in words and "Learning rate γ" in words and "Epochs" in words
    assert [b.label for b in app.button if b.label == "Explore it"]

    from dashboard.logic import search
    search._LIVE.clear()  # as after a server restart: read back from the study file
    again = upload(home(), "toy.csv", TOY)
    again.query_params["study"] = name
    again.switch_page("pages/5_Tune.py").run()
    no_exception(again)
    assert not again.error
    assert any("Search **finished**: 6 trials" in plain(m.value) for m in again.markdown), [
        m.value for m in again.markdown]
    assert words in [m.value for m in again.markdown]
    assert len(again.dataframe[0].value) == 6

    bad = AppTest.from_file(str(ROOT / "pages" / "5_Tune.py"), default_timeout=60)
    bad.query_params["study"] = "../../etc/passwd"
    bad.run()
    no_exception(bad)
    assert len(bad.error) == 1 and "does not keep" in bad.error[0].value


def test_a_long_search_is_announced_before_it_starts(tmp_path, monkeypatch):
    from dashboard.logic import long_work
    app = tune_page(tmp_path, monkeypatch)
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    app.number_input(key="tune_n_epochs_high").set_value(10)
    app.number_input(key="tune_budget").set_value(3)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    assert len(app.warning) == 1 and "This search should take about" in app.warning[0].value
    assert "at most, if no trial is pruned" in app.warning[0].value
    assert app.warning[0].value.endswith("Start it?") and search_job(app) is None  # asked first
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    assert not app.warning and search_job(app) is not None
    search_job(app).stop.set()


def search_job(app):
    from dashboard.logic import search
    return app.session_state[search.KEY] if search.KEY in app.session_state else None  # noqa: SIM401


def test_the_work_limit_and_stop_act_inside_a_trial(tmp_path, monkeypatch):
    """A trial longer than the work limit is cut after the epoch in progress, not run to its end."""
    from dashboard.server import jobs
    from dashboard.logic import search
    from mfcore import SGDFactorizer, from_arrays
    from mfcore.data.synthetic import make_ratings
    from mfcore.tuning import Range
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "MAX_SECONDS", 1.5)
    frame = make_ratings(3000, 2000, 300_000, rank=5, noise_std=0.5, seed=1)
    ratings = from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy())
    # 200 epochs of 300k ratings at K = 256 take several times the limit on any machine: the first
    # trial is the one cut
    space = {"n_factors": Range("n_factors", 256, 256), "lr": Range("lr", 0.0005, 0.0005),
             "n_epochs": Range("n_epochs", 200, 200)}
    # the kernel's one-off load from Numba's cache happens here, not inside the timed search: what is
    # tested is that epochs stop at the limit, not how long a fresh process takes to load machine code
    SGDFactorizer(n_factors=256, n_epochs=1, n_threads=1).fit(ratings.sample(2000))
    job = search.start(ratings, "big", space, n_trials=5, timeout=None, seed=0)
    assert job.scheduled.wait(60)
    assert job.elapsed < 1.5 + 1.0, "the search ran on past the work limit"
    assert job.timed_out
    trial = job.study().trials[-1]
    assert trial.state.name == "PRUNED" and len(trial.intermediate_values) < 200
    assert trial.user_attrs["fail_reason"].startswith("the search was stopped after epoch")


def test_a_trial_over_the_memory_cap_is_failed_with_the_reason(tmp_path, monkeypatch):
    from dashboard.logic import search
    from mfcore import load_ratings
    from mfcore.tuning import Range, default_space
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "20000")
    space = {**default_space(), "n_factors": Range("n_factors", 500, 500), "n_epochs": Range("n_epochs", 5, 5)}
    job = search.start(load_ratings(TOY), "toy", space, n_trials=2, timeout=None, seed=0)
    assert job.scheduled.wait(60)
    rows = search.table(job.study())
    assert [row["state"] for row in rows] == ["failed", "failed"]
    assert all("over the 20.0 kB cap per job" in row["reason"] and row["epochs run"] == 0 for row in rows)
    assert job.error == "no trial has completed yet, so there is no best configuration to score."


def test_ranges_are_bounded_by_what_train_accepts(tmp_path, monkeypatch):
    """The form's range inputs stop at the table's widget range (Train's), and a range past it is refused
    with one sentence before anything starts, so the best trial's "Train it" carries only values Train takes."""
    from mfcore.models.params import PARAMETERS
    app = tune_page(tmp_path, monkeypatch)
    for name in ("n_factors", "n_epochs", "lr", "reg", "init_std"):
        for end in ("low", "high"):
            widget = app.number_input(key=f"tune_{name}_{end}")
            assert (widget.proto.min, widget.proto.max) == pytest.approx(PARAMETERS[name].widget_range)
    from dashboard.logic import search
    from mfcore import load_ratings
    from mfcore.tuning import Range, default_space
    space = {**default_space(), "n_factors": Range("n_factors", 8, 100_000, log=True)}
    try:
        search.start(load_ratings(TOY), "toy", space, n_trials=1, timeout=None, seed=0)
    except ValueError as exc:
        assert str(exc) == ("n_factors range [8, 100000] must lie within [1, 500], the values a training form "
                            "accepts.")
    else:
        raise AssertionError("a range past Train's bounds started a search")


def test_a_ranking_search_maximises_ndcg_and_scores_it_beside_popularity(tmp_path, monkeypatch):
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    app = home()  # the bundled sample: its validation ratings hold positives
    app.default_timeout = 180
    app = app.switch_page("pages/5_Tune.py").run()
    app.radio(key="tune_model").set_value("bpr").run()
    no_exception(app)
    assert app.number_input(key="tune_bpr_lr_low").value == 0.005
    app.number_input(key="tune_bpr_n_epochs_low").set_value(2)
    app.number_input(key="tune_bpr_n_epochs_high").set_value(3)
    app.number_input(key="tune_bpr_n_factors_high").set_value(16)
    app.number_input(key="tune_budget").set_value(3)
    app.button(key="FormSubmitter:tune_form_bpr-Start search").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    trials = app.dataframe[0].value
    assert len(trials) == 3 and "validation NDCG@10" in trials.columns
    scores = app.dataframe[1].value
    assert list(scores["model"])[1:] == ["popularity"] and list(scores.columns) == ["model", "test NDCG@10"]
    sentence = next(plain(m.value) for m in app.markdown if plain(m.value).startswith("Best trial"))
    assert f"test NDCG@10 {scores['test NDCG@10'].iloc[0]:.4f}" in sentence and "popularity's" in sentence
    assert any(plain(c.value).startswith("Best BPR settings: Factors K ") for c in app.caption), [
        c.value for c in app.caption]
    link = app.get("page_link")[0].proto
    assert link.label == "Train it" and "model=bpr" in link.query_string and "n_factors=" in link.query_string
    spec = app.get("plotly_chart")[0].proto.spec
    assert "Validation NDCG@10 of every trial" in spec


def test_a_ranking_trial_over_the_memory_cap_is_failed_with_the_reason(tmp_path, monkeypatch):
    """The Tune page's BPR search: each trial is estimated as a BPR training (not as the rating
    model's), so a 20 MB cap that a rating trial of the same K fits under refuses it (its validation
    NDCG ranks 1,000 users x 1,700 items after every epoch)."""
    from dashboard.logic import search
    from mfcore import load_ratings
    from mfcore.evaluation.resources import training_peak_bytes
    from mfcore.tuning import Range, ranking_space
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "20e6")
    ratings = load_ratings(ROOT / "sample_data" / "ratings.csv")
    assert training_peak_bytes(ratings.n_users, ratings.n_items, len(ratings), 8, timestamps=True) < 20e6
    space = {**ranking_space("bpr"), "n_factors": Range("n_factors", 8, 8, model="bpr"),
             "n_epochs": Range("n_epochs", 2, 2, model="bpr")}
    job = search.start(ratings, "sample", space, n_trials=2, timeout=None, seed=0, model="bpr")
    assert job.scheduled.wait(60)
    rows = search.table(job.study())
    assert [row["state"] for row in rows] == ["failed", "failed"]
    assert all(row["reason"].startswith("training BPR K=8") and "over the 20.0 MB cap per job" in row["reason"]
               and row["epochs run"] == 0 for row in rows)


def test_an_internal_error_in_a_search_is_logged_and_told_in_one_sentence(tmp_path, monkeypatch, caplog):
    from dashboard.logic import search

    def broken(*args, **kwargs):
        raise KeyError("trial_id")

    monkeypatch.setattr(search.tuning, "search", broken)
    app = tune_page(tmp_path, monkeypatch)
    app.number_input(key="tune_budget").set_value(2)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    assert [e.value for e in app.error] == ["The search ended without a result: an internal error (KeyError) ended "
                                            "it; the server log has its traceback."]
    assert "KeyError: 'trial_id'" in caplog.text and "raise KeyError" in caplog.text


def test_a_search_another_server_runs_is_watched_until_its_end_is_recorded(tmp_path, monkeypatch):
    """A link opened on another replica: while the server that runs the search beats and has not
    recorded its end, the search reads as running (not "stopped"); once the end is recorded it reads
    as that end; a search whose server stopped beating without an end reads as stopped."""
    import threading
    import time

    from dashboard.logic import search
    from dashboard.server import lease, run_record, store, study_store
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(store, "ROOT", tmp_path / "store")
    monkeypatch.setattr(search, "ELSEWHERE_CHECK", 0.0)
    other = "0a1b2c3d4e5f"
    assert other != run_record.SERVER
    name = "session-00000000abcd"
    _, study, _ = study_store.create(name, 0, {"dataset": "a", "seed": 0, "space": {}}, "minimize")
    study.set_user_attr("dashboard_start", {
        "dataset": "toy", "dataset_key": "", "seed": 0, "n_trials": 5, "model": "sgd", "timeout": None,
        "space": {"lr": [0.001, 0.1, True]}, "server": other, "started": time.time() - 3.0})
    finish, ended = threading.Event(), threading.Event()

    def the_other_server():  # beats until told to finish, then records how its search ended
        while not finish.is_set():
            lease.beat(other)
            finish.wait(0.1)
        study.set_user_attr("dashboard_end", {"elapsed": 4.5, "stopped": False, "timed_out": False,
                                              "error": None, "result": None})
        ended.set()
    assert lease.beat(other)
    thread = threading.Thread(target=the_other_server)
    thread.start()
    try:
        job = search.reopen(name)
        assert job.running and not job.stop.is_set() and job.elapsed >= 3.0
        assert job.running  # still: its server beats and has recorded no end
    finally:
        finish.set()
    while job.running:
        time.sleep(0.05)
    thread.join()
    assert ended.is_set() and not job.stop.is_set() and job.elapsed == 4.5

    gone = "session-00000000dcba"
    _, silent, _ = study_store.create(gone, 0, {"dataset": "b", "seed": 0, "space": {}}, "minimize")
    silent.set_user_attr("dashboard_start", {**study.user_attrs["dashboard_start"], "server": "ffffffffffff"})
    dead = search.reopen(gone)
    assert not dead.running and dead.stop.is_set()
