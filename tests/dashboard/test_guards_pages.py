"""The guards as the pages show them: memory refusals name the numbers, the python engine's work
limit is stated, and no page shows an exception for bad inputs or hyperparameters at their limits."""

from apptest_helpers import button, home, no_exception

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
    assert len(app.error) == 1 and app.error[0].value.startswith("Not started: training K=500")
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
    from dashboard import jobs
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

    from dashboard import jobs, tuning
    from mfcore import load_ratings
    from mfcore.tuning import Range, default_space
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "MAX_SECONDS", 1.0)
    space = {**default_space(), "n_epochs": Range("n_epochs", 2, 3)}
    search = tuning.start(load_ratings(TOY), "toy", space, n_trials=100_000, timeout=None, seed=0)
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
