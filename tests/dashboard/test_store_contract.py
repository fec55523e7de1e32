"""The store's one contract, run on both backends: the files of ``MFP_STORE_DIR`` (the default) and a
PostgreSQL database named by ``MFP_DATABASE_URL`` (a server started by the test; skipped with the
reason when PostgreSQL is not installed). Datasets round-trip exactly and are evicted least recently
used first; runs, curves and indexes round-trip, concurrent writers (threads, and two processes as
two replicas) lose nothing; old sessions go by age; a server's heartbeat tells a live replica's
running run from a dead one's."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import postgres
import pytest
from conftest import ROOT as REPO

from dashboard.server import lease, run_record, store
from mfcore import SGDFactorizer
from mfcore.data import from_arrays

BACKENDS = ("files", "postgresql")
_numbers = itertools.count()


@pytest.fixture(scope="module")
def pg_server():
    with postgres.server() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, monkeypatch):
    """The store on a fresh folder, or on a fresh database of the test's PostgreSQL server."""
    monkeypatch.setattr(store, "ROOT", tmp_path)
    monkeypatch.setattr(store, "_state", {"failure": "", "probed_at": -float("inf"), "probe": ""})
    if request.param == "files":
        monkeypatch.delenv(store.DATABASE_SETTING, raising=False)
    else:
        url = postgres.fresh_database(request.getfixturevalue("pg_server"), f"contract{next(_numbers)}")
        monkeypatch.setenv(store.DATABASE_SETTING, url)
    yield request.param
    if store.database() is not None:
        store.database().close()


def _ratings(seed: int = 0, n: int = 500):
    rng = np.random.default_rng(seed)
    users = np.array([f"user {u}" for u in rng.integers(0, 40, n)], dtype=object)
    items = rng.integers(0, 30, n)
    frame = pd.DataFrame({"user": users, "item": items, "rating": rng.integers(1, 6, n).astype(float),
                          "timestamp": rng.integers(0, 10**9, n)}).drop_duplicates(["user", "item"])
    ratings = from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy(),
                          timestamps=frame["timestamp"].to_numpy())
    return ratings


def _age(backend: str, session: str, days: float) -> None:
    """Make ``session`` look unread for ``days`` days."""
    past = time.time() - days * 86400
    if backend == "files":
        os.utime(store.ROOT / "runs" / session, (past, past))
        return
    with store.database().transaction() as cursor:
        cursor.execute("UPDATE mfp_sessions SET used = to_timestamp(%s) WHERE name = %s", (past, session))


def test_a_dataset_round_trips_exactly(backend):
    ratings = _ratings()
    ratings = dataclasses.replace(ratings, item_info=pd.DataFrame(
        {"item": ratings.item_ids, "title": [f"<b>t{i}</b>" for i in ratings.item_ids]}))
    key = store.fingerprint(b"one")
    assert store.load_dataset(key) is None and store.load_dataset("../../etc") is None
    assert store.save_dataset(key, "one.csv", "data/one.csv", ratings)
    assert store.save_dataset(key, "one.csv", "data/one.csv", ratings), "a second save of one key is a no-op"
    name, path, back = store.load_dataset(key)
    assert (name, path) == ("one.csv", "data/one.csv")
    for column in ("users", "items", "values", "timestamps"):
        np.testing.assert_array_equal(getattr(back, column), getattr(ratings, column))
    assert list(back.user_ids) == list(ratings.user_ids) and list(back.item_ids) == list(ratings.item_ids)
    assert back.scale == ratings.scale and back.summary == ratings.summary
    pd.testing.assert_frame_equal(back.item_info, ratings.item_info)
    assert store.problem() == ""


def test_datasets_are_evicted_least_recently_used_first(backend, monkeypatch):
    keys = [store.fingerprint(bytes([n])) for n in range(3)]
    for n, key in enumerate(keys):
        assert store.save_dataset(key, f"d{n}", f"d{n}", _ratings(n))
        time.sleep(0.02)
    assert store.load_dataset(keys[0]) is not None  # the read makes the first one the most recent
    time.sleep(0.02)
    assert sorted(store.evict(max_bytes=1)) == sorted(keys[1:])
    assert store.load_dataset(keys[0]) is not None and store.load_dataset(keys[1]) is None


def test_runs_curves_and_indexes_round_trip(backend):
    session = store.new_session()
    keys = [store.run_key(session, n) for n in (1, 2)]
    assert store.load_run(keys[0]) is None and store.load_curve(keys[0]) == [] and store.load_index(session) == []
    for epoch in (1, 2, 3):
        assert store.append_epoch(keys[0], [epoch, 1.0 / epoch, None])
    assert store.load_curve(keys[0]) == [[1, 1.0, None], [2, 0.5, None], [3, 1 / 3, None]]
    assert store.save_run(keys[0], {"status": "running", "history": [], "text": "é \u2028 <a>"})
    assert store.load_curve(keys[0]) != [], "a running record keeps its curve"
    assert store.save_run(keys[0], {"status": "done", "history": [[1], [2], [3]]})
    assert store.load_curve(keys[0]) == [], "the final record holds the curve"
    assert store.load_run(keys[0]) == {"status": "done", "history": [[1], [2], [3]]}
    assert store.save_index(session, [*keys, "../../x"])
    assert store.load_index(session) == keys
    assert store.load_run("../../etc/passwd") is None and store.load_index("../x") == []
    assert not store.save_run("not a key", {}) and not store.append_epoch("x/y", [1])


def test_concurrent_writers_lose_nothing(backend):
    session = store.new_session()
    keys = [store.run_key(session, n) for n in range(1, 17)]

    def write(key):
        for version in range(10):
            assert store.save_run(key, {"key": key, "version": version, "status": "running"})
            assert store.append_epoch(key, [version])
    threads = [threading.Thread(target=write, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [store.load_run(key) for key in keys] == [{"key": key, "version": 9, "status": "running"} for key in keys]
    assert all(store.load_curve(key) == [[n] for n in range(10)] for key in keys)


REPLICA = """
import sys
from dashboard.server import store
session, first = sys.argv[1], int(sys.argv[2])
for number in range(first, first + 20):
    key = store.run_key(session, number)
    for epoch in range(3):
        assert store.append_epoch(key, [epoch])
    assert store.save_run(key, {"number": number, "status": "done"})
"""


def test_two_replicas_writing_one_session_keep_every_run(backend):
    session = store.new_session()
    env = {**os.environ, "MFP_STORE_DIR": str(store.ROOT), "PYTHONPATH": str(REPO)}
    replicas = [subprocess.Popen([sys.executable, "-c", REPLICA, session, str(first)], cwd=REPO, env=env,
                                 stderr=subprocess.PIPE, text=True) for first in (1, 21)]
    for replica in replicas:
        assert replica.wait(timeout=120) == 0, replica.stderr.read()
    assert [store.load_run(store.run_key(session, n)) for n in range(1, 41)] == [
        {"number": n, "status": "done"} for n in range(1, 41)]


def test_old_sessions_go_by_age_with_their_runs(backend):
    old, new = store.new_session(), store.new_session()
    for session in (old, new):
        store.save_run(store.run_key(session, 1), {"n": 1})
        store.save_index(session, [store.run_key(session, 1)])
    _age(backend, old, 30)
    assert store.evict_runs(14) == [old]
    assert store.load_run(store.run_key(old, 1)) is None
    assert store.load_run(store.run_key(new, 1)) == {"n": 1}


def _running_record(server: str) -> dict:
    model = SGDFactorizer(n_epochs=10)
    return {"number": 1, "settings": {}, "dataset": "d", "data_path": "d", "params": model.get_params(),
            "kind": "sgd", "status": "running", "message": "", "scores": {}, "history": [], "server": server}


def test_a_running_run_of_a_dead_server_is_interrupted_and_of_a_live_one_is_not(backend, monkeypatch):
    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(lease, "LEASE_SECONDS", 0.8)
    dead, alive = store.new_session(), store.new_session()
    curve = [[1, 1.0, 1.1, 0.1, None], [2, 0.9, 1.0, 0.1, None]]
    assert lease.beat(dead) and lease.beat_age(dead) < 0.8
    time.sleep(0.9)
    started = time.monotonic()
    run = run_record.Run.from_record(_running_record(dead), curve)
    assert run.status == "interrupted" and run.message == "interrupted at epoch 2"
    assert time.monotonic() - started < 0.5, "a lease already expired is not waited for"
    assert lease.beat_age("never beat") is None and not lease.server_alive(store.new_session())

    stop = threading.Event()

    def beating():
        while not stop.is_set():
            lease.beat(alive)
            time.sleep(0.2)
    thread = threading.Thread(target=beating)
    thread.start()
    try:
        time.sleep(0.3)
        run = run_record.Run.from_record(_running_record(alive), curve)
        assert run.status == "stopped" and "still training on another server at epoch 2" in run.message
    finally:
        stop.set()
        thread.join()
    started = time.monotonic()
    run = run_record.Run.from_record(_running_record(alive), curve)  # killed just now: one lease at most
    assert run.status == "interrupted" and time.monotonic() - started < 1.2
    lease.beat(alive)
    time.sleep(0.3)
    lease.forget(1.5)  # the dead server beat at least 1.8 s ago
    assert lease.beat_age(dead) is None and lease.beat_age(alive) is not None, "old heartbeats are removed"


def test_the_schema_is_created_once_and_versioned(pg_server, monkeypatch):
    from dashboard.server.pg_store import MIGRATIONS, PostgresStore
    url = postgres.fresh_database(pg_server, "schema")
    stores = [PostgresStore(url) for _ in range(4)]
    threads = [threading.Thread(target=one.migrate) for one in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(one._migrated for one in stores)
    with stores[0].transaction() as cursor:
        cursor.execute("SELECT version FROM mfp_schema")
        assert cursor.fetchall() == [(len(MIGRATIONS),)]
    assert stores[0].migrate() == len(MIGRATIONS)


def test_a_database_that_cannot_be_reached_fails_no_page_and_hides_its_password(tmp_path, monkeypatch):
    from conftest import _free_port
    monkeypatch.setattr(store, "ROOT", tmp_path)
    monkeypatch.setenv(store.DATABASE_SETTING, f"postgresql://teacher:S3cretPass@127.0.0.1:{_free_port()}/course")
    key = store.run_key(store.new_session(), 1)
    assert store.load_dataset(store.fingerprint(b"x")) is None and store.load_run(key) is None
    assert not store.save_run(key, {"status": "done"}) and store.load_index(key.partition("/")[0]) == []
    sentence = store.problem()
    assert sentence.startswith("The server's database cannot be used (MFP_DATABASE_URL=postgresql://***@127.0.0.1:")
    assert "S3cretPass" not in sentence and "teacher" not in sentence and "\n" not in sentence
    assert not list(tmp_path.iterdir()), "nothing falls back to the files silently"
