"""The pages on the PostgreSQL backend (``MFP_DATABASE_URL``, a server started by the test): a session
uploads and trains two runs; a fresh session with its link (another replica) finds the dataset and
both runs in the database, with nothing written to the files store, and retrains a run exactly. A
Tune study lives in the same database, where a link finds it."""

from __future__ import annotations

import numpy as np
import postgres
import pytest
from apptest_helpers import ROOT, TOY, button, home, no_exception, upload
from streamlit.testing.v1 import AppTest

from dashboard.server import store, study_store


@pytest.fixture(scope="module")
def pg_server():
    with postgres.server() as url:
        yield url


@pytest.fixture
def database(pg_server, tmp_path, monkeypatch, request):
    url = postgres.fresh_database(pg_server, request.node.name.lower())
    # the database first: the process's heartbeat thread must never see the files root without it
    monkeypatch.setenv(store.DATABASE_SETTING, url)
    monkeypatch.setattr(store, "ROOT", tmp_path / "files")
    yield url
    store.database().close()


def fresh(page: str, **params) -> AppTest:
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for name, value in params.items():
        app.query_params[name] = value
    return app.run()


def test_a_link_opened_elsewhere_finds_the_dataset_and_both_runs_in_the_database(database, tmp_path):
    app = upload(home(), "toy.csv", TOY)
    app.switch_page("pages/1_Train.py").run()
    for _ in range(2):
        button(app, "Train").click().run()
        no_exception(app)
    params = dict(app.query_params)
    again = fresh("pages/1_Train.py", **params)
    no_exception(again)
    assert not again.warning and again.session_state["dataset"].name == "toy.csv"
    runs = again.session_state["runs"]
    assert [(run.number, run.status, len(run.history)) for run in runs] == [(1, "done", 20), (2, "done", 20)]
    assert [run.scores for run in runs] == [run.scores for run in app.session_state["runs"]]
    assert not (tmp_path / "files").exists(), "the database backend writes no files"
    button(again, "Retrain run 2 for its downloads").click().run()
    no_exception(again)
    np.testing.assert_array_equal(again.session_state["runs"][1].model.P_, app.session_state["runs"][1].model.P_)


def test_a_study_lives_in_the_database_and_its_name_finds_it(database):
    storage, study, problem = study_store.create("course-study", 0, {"dataset": "d", "seed": 0, "space": {}},
                                                 "minimize")
    assert (storage, problem) == (database, "")
    assert study_store.find("course-study") == database and study_store.find("no-such-study") is None


def test_a_cli_worker_joins_a_search_started_on_the_page(database, tmp_path, monkeypatch):
    import optuna
    from conftest import cli

    app = upload(home(), "toy.csv", TOY)
    app.default_timeout = 120
    app.switch_page("pages/5_Tune.py").run()
    app.number_input(key="tune_budget").set_value(3)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    name = app.query_params["study"]
    (tmp_path / "toy.csv").write_bytes(TOY)  # the file the page was given
    worker = cli("tune", tmp_path / "toy.csv", "--study", name, "--storage", database, "--trials", "2", "--json",
                 cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr
    trials = optuna.load_study(study_name=name, storage=database).trials
    assert len(trials) == 5 and len({trial.user_attrs["worker"] for trial in trials}) == 2
    again = fresh("pages/5_Tune.py", **dict(app.query_params))  # the page's link shows the worker's trials
    no_exception(again)
    assert len(again.dataframe[0].value) == 5
