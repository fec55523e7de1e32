"""The dashboard's on-disk store: datasets round-trip exactly (no pickle), the least recently used are
evicted past the size cap, and a fresh session (a reload, a shared link) finds dataset and runs by URL."""

import os
import time

import numpy as np
import pytest
from apptest_helpers import ROOT, TOY, button, home, no_exception, upload
from paths import CORPUS
from streamlit.testing.v1 import AppTest

from dashboard.server import store
from mfcore import load_ratings

ZIP_LAYOUT = (b"userId,movieId,rating,timestamp\n1,1,4.5,964982703\n1,3,4.0,964981247\n2,1,2.5,964982224\n"
              b"2,6,0.5,964982224\n")


@pytest.fixture
def private_store(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "ROOT", tmp_path)
    return tmp_path


def test_fingerprint_is_short_stable_and_depends_on_options():
    assert store.fingerprint(b"abc") == store.fingerprint(b"abc") and store.is_fingerprint(store.fingerprint(b"abc"))
    assert store.fingerprint(b"abc", ("last",)) != store.fingerprint(b"abc", ("mean",))
    assert not store.is_fingerprint("../../etc") and not store.is_fingerprint("0123456789AB")


def test_dataset_round_trip_keeps_arrays_titles_and_summary(private_store):
    ratings = load_ratings(CORPUS / "odd" / "duplicates.csv",
                           items=b"item,title,genres\n10,\"Heat, the (1995)\",Crime\n")
    store.save_dataset("0123456789ab", "dup.csv", "dup.csv", ratings)
    name, path, back = store.load_dataset("0123456789ab")
    assert (name, path) == ("dup.csv", "dup.csv")
    for field in ("users", "items", "values", "user_ids", "item_ids"):
        np.testing.assert_array_equal(getattr(back, field), getattr(ratings, field))
    assert list(back.item_titles) == ["Heat, the (1995)", "11"] and back.summary == ratings.summary
    with np.load(private_store / "datasets" / "0123456789ab" / "ratings.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    text = load_ratings(TOY)
    store.save_dataset("00000000000a", "toy", "toy", text)
    assert list(store.load_dataset("00000000000a")[2].user_ids) == list(text.user_ids)
    assert store.load_dataset("ffffffffffff") is None and store.load_dataset("../x") is None


def test_least_recently_used_datasets_are_evicted_first(private_store):
    ratings = load_ratings(TOY)
    keys = [f"{n:012x}" for n in range(4)]
    for n, key in enumerate(keys):
        store.save_dataset(key, key, key, ratings)
        os.utime(private_store / "datasets" / key, (time.time() - 100 + n, time.time() - 100 + n))
    store.load_dataset(keys[0])  # a read makes keys[0] the most recent
    one = sum(f.stat().st_size for f in (private_store / "datasets" / keys[0]).iterdir())
    removed = store.evict(max_bytes=2 * one)
    assert removed == [keys[1], keys[2]]
    assert store.load_dataset(keys[3]) is not None and store.load_dataset(keys[0]) is not None


def fresh(page: str, **params) -> AppTest:
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for name, value in params.items():
        app.query_params[name] = value
    return app.run()


def test_a_reload_finds_the_uploaded_dataset_and_a_lost_one_is_said():
    app = upload(home(), "toy.csv", TOY)
    key = app.session_state["dataset"].key
    assert store.is_fingerprint(key) and app.query_params["data"] == key
    again = fresh("Home.py", data=key)
    no_exception(again)
    assert app.session_state["dataset"].name == "toy.csv" == again.session_state["dataset"].name
    assert again.radio(key="home_source").value == "Upload a file"
    lost = fresh("Home.py", data="0123456789ab")
    no_exception(lost)
    assert "no longer keeps" in lost.warning[0].value
    assert lost.session_state["dataset"].key == "" and not lost.error


def test_a_movielens_zip_loads_with_titles_on_home():
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-latest-small/ratings.csv", ZIP_LAYOUT)
        archive.writestr("ml-latest-small/movies.csv",
                         b'movieId,title,genres\n1,Toy Story (1995),Animation\n3,"American President, The (1995)",'
                         b"Comedy|Drama\n")
    app = upload(home(), "ml-latest-small.zip", buffer.getvalue())
    no_exception(app)
    assert not app.error
    shown = " ".join(c.value for c in app.caption).replace("\\", "")  # Markdown escapes, as a browser drops them
    assert "Titles from movies.csv: 2 of 3 items matched" in shown
    first_rows = app.dataframe[0].value
    assert "American President, The (1995)" in set(first_rows["title"])


def test_runs_survive_a_new_session_with_the_link():
    app = upload(home(), "toy.csv", TOY)
    app.switch_page("pages/1_Train.py").run()
    button(app, "Train").click().run()
    no_exception(app)
    params = dict(app.query_params)
    assert store.is_fingerprint(params["session"])
    again = fresh("pages/1_Train.py", **params)
    no_exception(again)
    runs = again.session_state["runs"]
    assert [(r.number, r.status, len(r.history)) for r in runs] == [(1, "done", 20)]
    assert again.session_state["dataset"].name == "toy.csv"
    assert runs[0].scores == app.session_state["runs"][0].scores
    assert not hasattr(runs[0].model, "P_")
    button(again, "Retrain run 1 for its downloads").click().run()
    no_exception(again)
    refit = again.session_state["runs"][0].model
    np.testing.assert_array_equal(refit.P_, app.session_state["runs"][0].model.P_)
    assert any(b.label == "Factors of run 1 (.npz)" for b in again.get("download_button"))


def test_an_early_stopped_run_survives_a_new_session_and_retrains_exactly():
    app = upload(home(), "toy.csv", TOY)
    app.switch_page("pages/1_Train.py").run()
    app.checkbox(key="train_early_stopping").check()
    button(app, "Train").click().run()
    no_exception(app)
    trained = app.session_state["runs"][0]
    again = fresh("pages/1_Train.py", **dict(app.query_params))
    no_exception(again)
    restored = again.session_state["runs"][0]
    assert [r.validation_rmse for r in restored.history] == [r.validation_rmse for r in trained.history]
    button(again, "Retrain run 1 for its downloads").click().run()
    no_exception(again)
    assert not again.error
    np.testing.assert_array_equal(again.session_state["runs"][0].model.P_, trained.model.P_)
