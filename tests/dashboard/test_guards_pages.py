"""The guards as the pages show them: memory refusals name the numbers, the python engine's work
limit is stated, and no page shows an exception for bad inputs or hyperparameters at their limits."""

from apptest_helpers import button, home, no_exception, plain

from mfcore.evaluation.resources import training_peak_bytes


def train_page():
    return home().switch_page("pages/1_Train.py").run()


def test_train_refuses_over_the_memory_cap_with_the_estimate(monkeypatch):
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "10e6")
    app = train_page()
    app.slider(key="train_n_factors").set_value(500)
    app = button(app, "Train").click().run()
    no_exception(app)
    estimate = training_peak_bytes(1_000, 1_700, 100_000, 500, 0.1, timestamps=True)
    assert len(app.error) == 1 and plain(app.error[0].value).startswith("Not started: training K=500")
    assert f"{estimate:,} bytes" in app.error[0].value and "10.0 MB cap" in app.error[0].value
    assert "runs" not in app.session_state or not app.session_state["runs"]


def test_python_engine_sample_is_stated(monkeypatch):
    from mfcore.evaluation import resources
    monkeypatch.setattr(resources, "PYTHON_MAX_RATINGS", 2_000)
    app = train_page()
    app.selectbox(key="train_engine").set_value("python")
    app.slider(key="train_n_factors").set_value(2)
    app.slider(key="train_n_epochs").set_value(1)
    app = button(app, "Train").click().run()
    no_exception(app)
    assert not app.error
    assert any("random sample of 2,000 of the 90,000 training ratings" in info.value for info in app.info)
    assert app.session_state["runs"][-1].status == "done"


def test_an_upload_over_the_memory_cap_is_refused_and_the_previous_dataset_kept(monkeypatch):
    from apptest_helpers import TOY, upload
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "1000")
    app = upload(home(), "toy.csv", TOY)
    no_exception(app)
    assert len(app.error) == 1 and "50 ratings (8 users x 10 items)" in app.error[0].value
    assert "over the 1.0 kB cap" in app.error[0].value
    assert app.session_state["dataset"].name != "toy.csv"


def test_a_run_over_the_work_limit_is_stopped_and_says_so(monkeypatch):
    from dashboard.server import jobs
    monkeypatch.setattr(jobs, "MAX_SECONDS", 0.0)
    app = train_page()
    app.slider(key="train_n_epochs").set_value(5)
    app = button(app, "Train").click().run()
    no_exception(app)
    run = app.session_state["runs"][-1]
    assert run.status == "stopped" and len(run.history) == 1
    assert any("stopped at the work limit of 0 s per job after epoch 1" in info.value for info in app.info)


def test_a_tune_search_is_a_scheduled_job_bounded_by_the_work_limit(tmp_path, monkeypatch):
    from apptest_helpers import TOY

    from dashboard.server import jobs
    from dashboard.logic import search
    from mfcore import load_ratings
    from mfcore.tuning import Range, default_space
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "MAX_SECONDS", 1.0)
    space = {**default_space(), "n_epochs": Range("n_epochs", 2, 3)}
    search = search.start(load_ratings(TOY), "toy", space, n_trials=100_000, timeout=None, seed=0)
    assert search.scheduled in jobs.scheduler().running() + jobs.scheduler().queued()
    assert search.scheduled.wait(60) and search.stop.is_set() and not search.running
    assert 1 <= len(search.study().trials) < 100_000


def test_the_server_is_configured_for_a_shared_deployment():
    import tomllib

    from apptest_helpers import ROOT
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none" and config["client"]["toolbarMode"] == "viewer"
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["fileWatcherType"] == "none"
    assert config["server"]["maxUploadSize"] == 200 and config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["postScriptGC"] is False  # a full collection per script run stalled every page


def test_train_refuses_a_ranking_run_by_its_own_estimate(monkeypatch):
    """BPR with the Train page's defaults needs several times the rating model's estimate (its test
    NDCG ranks 1,000 users x 1,700 items after every epoch): a cap between the two refuses it."""
    from mfcore import BPRFactorizer, load_ratings
    from mfcore.evaluation.resources import ranking_options, ranking_peak_bytes

    from apptest_helpers import ROOT
    from dashboard.logic import settings
    from dashboard.logic.run_driver import RANKING_EVAL_USERS

    model = BPRFactorizer(**settings.ranking_params("bpr", {}))
    options = {key: value for key, value in
               ranking_options(model, load_ratings(ROOT / "sample_data" / "ratings.csv")).items() if key != "kind"}
    estimate = ranking_peak_bytes("bpr", 1_000, 1_700, 100_000, model.n_factors, 0.1, timestamps=True,
                                  eval_users=RANKING_EVAL_USERS, **options)
    assert training_peak_bytes(1_000, 1_700, 100_000, model.n_factors, 0.1, timestamps=True) < 20e6 < estimate
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "20e6")
    app = train_page()
    app.radio(key="train_kind").set_value("bpr").run()
    app = button(app, "Train").click().run()
    no_exception(app)
    assert len(app.error) == 1
    assert plain(app.error[0].value).startswith(f"Not started: training BPR K={model.n_factors} on")
    assert f"{estimate:,} bytes" in app.error[0].value and "20.0 MB cap" in app.error[0].value
    assert "runs" not in app.session_state or not app.session_state["runs"]


def test_refit_of_a_ranking_run_is_refused_over_the_cap(monkeypatch):
    import pytest

    from apptest_helpers import ROOT
    from dashboard.server.run_record import Run
    from dashboard.logic.run_driver import refit
    from mfcore import ALSFactorizer, load_ratings
    from mfcore.evaluation.resources import MemoryGuardError
    from mfcore.models.ranking import RankingEpochResult

    ratings = load_ratings(ROOT / "sample_data" / "ratings.csv")
    run = Run(1, {"kind": "als", "test_size": 0.1, "seed": 0}, "sample", "ratings.csv",
              ALSFactorizer(n_factors=8, n_epochs=2, n_threads=1), ratings.take(slice(0, 0)), status="done",
              history=[RankingEpochResult(1, None, 0.1), RankingEpochResult(2, None, 0.1)])
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "20e6")
    with pytest.raises(MemoryGuardError, match=r"^training ALS K=8 on 100,000 ratings .* over the 20.0 MB cap"):
        refit(run, ratings)
