"""Runs stored so that nothing is lost (issue 18): one file per run written atomically, a session
opened from a link is forked at its first run (copy-on-write: seeded with the linked runs, read-only),
so two tabs on one link never overwrite each other and a visitor training past MAX_RUNS never erases
the owner's runs."""

import json
import threading

from apptest_helpers import ROOT, TOY, button, home, no_exception, upload
from streamlit.testing.v1 import AppTest

from dashboard.logic import session_runs as runs_module
from dashboard.server import store


def fresh(page: str, **params) -> AppTest:
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for name, value in params.items():
        app.query_params[name] = value
    return app.run()


def train(app: AppTest, epochs: int = 2) -> AppTest:
    next(w for kind in ("slider", "number_input") for w in app.get(kind) if w.key == "train_n_epochs").set_value(epochs)
    button(app, "Train").click().run()
    no_exception(app)
    return app


def shown(app: AppTest) -> list[tuple[int, int, str]]:
    return [(run.number, len(run.history), run.status) for run in app.session_state["runs"]]


def owner_with_runs(count: int) -> tuple[AppTest, dict]:
    app = upload(home(), "toy.csv", TOY)
    app.switch_page("pages/1_Train.py").run()
    for n in range(count):
        train(app, epochs=2 + n)
    return app, dict(app.query_params)


def test_two_tabs_on_one_link_train_and_neither_run_is_lost():
    owner, link = owner_with_runs(1)
    first, second = fresh("pages/1_Train.py", **link), fresh("pages/1_Train.py", **link)
    train(first, epochs=3)
    train(second, epochs=4)
    sessions = {link["session"], first.query_params["session"], second.query_params["session"]}
    assert len(sessions) == 3, "each tab writes a session of its own"
    # reload both: each finds the owner's run and its own
    assert shown(fresh("pages/1_Train.py", **dict(first.query_params))) == [(1, 2, "done"), (2, 3, "done")]
    assert shown(fresh("pages/1_Train.py", **dict(second.query_params))) == [(1, 2, "done"), (2, 4, "done")]
    assert shown(fresh("pages/1_Train.py", **link)) == [(1, 2, "done")]  # the owner's link is unchanged
    assert shown(owner) == [(1, 2, "done")]


def test_a_visitor_training_past_max_runs_never_erases_the_owner_runs(monkeypatch):
    monkeypatch.setattr(runs_module, "MAX_RUNS", 2)
    owner, link = owner_with_runs(2)
    visitor = fresh("pages/1_Train.py", **link)
    for n in range(3):
        train(visitor, epochs=5 + n)
    assert [number for number, _, _ in shown(visitor)] == [4, 5]  # the visitor's view is trimmed
    assert shown(fresh("pages/1_Train.py", **link)) == [(1, 2, "done"), (2, 3, "done")]
    keys = store.load_index(link["session"])
    assert all(store.load_run(key)["status"] == "done" for key in keys) and len(keys) == 2


def test_a_session_from_a_link_writes_nothing_until_it_trains(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "ROOT", tmp_path)
    owner, link = owner_with_runs(1)
    before = sorted(p.name for p in (tmp_path / "runs").iterdir())
    visitor = fresh("pages/1_Train.py", **link)
    no_exception(visitor)
    assert visitor.query_params["session"] == link["session"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == before


def test_run_files_are_written_atomically_and_concurrently(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "ROOT", tmp_path)
    session = store.new_session()
    keys = [store.run_key(session, n) for n in range(1, 41)]

    def write(key):
        for version in range(20):
            store.save_run(key, {"key": key, "version": version, "pad": "x" * 5000})
    threads = [threading.Thread(target=write, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.save_index(session, keys)
    assert store.load_index(session) == keys
    assert [store.load_run(key) for key in keys] == [{"key": key, "version": 19, "pad": "x" * 5000} for key in keys]
    assert not list((tmp_path / "runs" / session).glob("*.tmp"))
    assert store.load_run("../../etc/passwd") is None and store.load_index("../x") == []
    (tmp_path / "runs" / session / "0001.json").write_text("{not json")
    assert store.load_run(keys[0]) is None
    assert json.loads((tmp_path / "runs" / session / "index.json").read_text()) == keys


def test_old_sessions_are_evicted_by_age_only(tmp_path, monkeypatch):
    import os
    import time
    monkeypatch.setattr(store, "ROOT", tmp_path)
    old, new = store.new_session(), store.new_session()
    store.save_run(store.run_key(old, 1), {"n": 1})
    store.save_run(store.run_key(new, 1), {"n": 1})
    past = time.time() - 30 * 86400
    os.utime(tmp_path / "runs" / old, (past, past))
    assert store.evict_runs(14) == [old]
    assert store.load_run(store.run_key(new, 1)) == {"n": 1}


def test_a_curve_file_keeps_every_epoch_and_drops_a_torn_last_line(tmp_path, monkeypatch):
    from dashboard.server import run_record, store as run_store
    from dashboard.logic.session_runs import ending
    from mfcore import SGDFactorizer
    monkeypatch.setattr(run_store, "ROOT", tmp_path)
    key = run_store.run_key("0123456789ab", 1)
    for epoch in (1, 2, 3):
        assert run_store.append_epoch(key, [epoch, 1.0 / epoch, 1.1 / epoch, 0.1, None])
    with open(tmp_path / "runs" / "0123456789ab" / "0001.curve", "a") as file:
        file.write('[4, 0.2')  # the kill came in the middle of a write
    assert [row[0] for row in run_store.load_curve(key)] == [1, 2, 3]
    model = SGDFactorizer(n_epochs=10)
    record = {"number": 1, "settings": {}, "dataset": "d", "data_path": "d", "params": model.get_params(),
              "kind": "sgd", "status": "running", "message": "", "scores": {}, "history": [],
              "server": "another process"}
    run = run_record.Run.from_record(record, run_store.load_curve(key))
    assert run.status == "interrupted" and len(run.history) == 3 and run.needs_refit
    assert ending(run).startswith("run 1 was interrupted at epoch 3 of 10: ") and "those 3 epochs" in ending(run)
    same_server = run_record.Run.from_record({**record, "server": run_record.SERVER}, [])
    assert same_server.status == "stopped" and "no curve" in ending(same_server)
    run_store.save_run(key, {**record, "status": "done"})
    assert run_store.load_curve(key) == []  # the final record holds the curve; its file is gone
