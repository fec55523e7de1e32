"""Loader: every supported format, id mapping, duplicates policy, and clear errors for bad input."""

import numpy as np
import pandas as pd
import pytest

from mfcore import DataError, Ratings, from_arrays, load_ratings

EXPECTED = [("a", "x", 4.0), ("a", "y", 3.0), ("b", "x", 5.0)]


def check_basic(r: Ratings, user_ids=("a", "b"), item_ids=("x", "y")):
    assert len(r) == 3 and r.n_users == 2 and r.n_items == 2
    assert r.users.dtype == np.int32 and r.items.dtype == np.int32 and r.values.dtype == np.float32
    assert list(r.user_ids) == list(user_ids) and list(r.item_ids) == list(item_ids)
    assert [(r.user_ids[u], r.item_ids[i], float(v)) for u, i, v in zip(r.users, r.items, r.values)] == [
        (user_ids[["a", "b"].index(u)], item_ids[["x", "y"].index(i)], v) for u, i, v in EXPECTED
    ]


@pytest.mark.parametrize("text", [
    "user,item,rating\na,x,4\na,y,3\nb,x,5\n",
    "userId,movieId,rating,timestamp\na,x,4,10\na,y,3,11\nb,x,5,12\n",
    "a,x,4\na,y,3\nb,x,5\n",
    "a\tx\t4\t10\na\ty\t3\t11\nb\tx\t5\t12\n",
    "a::x::4::10\na::y::3::11\nb::x::5::12\n",
    "a;x;4\na;y;3\nb;x;5\n",
    "a x 4\na  y 3\nb x 5\n",
    "\ufeffuser,item,rating\r\na,x,4\r\na,y,3\r\nb,x,5\r\n",
    '"user","item","rating"\n"a","x","4"\n"a","y","3"\n"b","x","5"\n',
    "rating,item,user\n4,x,a\n3,y,a\n5,x,b\n",
])
def test_text_formats(text):
    check_basic(load_ratings(text.encode()))


def test_numeric_ids_are_sorted_and_mapped_both_ways():
    r = load_ratings(b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n")
    assert list(r.user_ids) == [22, 186, 196] and list(r.item_ids) == [242, 302, 377]
    assert r.user_codes([196, 22, 999]).tolist() == [2, 0, -1]
    assert r.item_codes(377) == 2
    assert r.timestamps.dtype == np.int64 and r.timestamps[0] == 881250949
    assert r.scale == (1.0, 3.0)


def test_path_folder_dataframe_and_arrays(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating\na,x,4\na,y,3\nb,x,5\n")
    check_basic(load_ratings(tmp_path / "ratings.csv"))
    check_basic(load_ratings(str(tmp_path)))
    check_basic(load_ratings(pd.DataFrame(EXPECTED, columns=["user", "item", "rating"])))
    check_basic(from_arrays(*zip(*EXPECTED)))


def test_column_overrides_pick_columns_by_name():
    text = b"who,what,stars,extra\na,x,4,9\na,y,3,9\nb,x,5,9\n"
    check_basic(load_ratings(text, columns={"user": "who", "item": "what", "rating": "stars"}))


def test_mixed_string_ids_and_unknown_lookup():
    r = load_ratings(b"u,i,r\nalice,Star Wars (1977),5\nbob,Star Wars (1977),4\nbob,Up (2009),3\n")
    assert r.item_codes(["Star Wars (1977)", "nope"]).tolist() == [0, -1]
    assert r.to_frame().shape == (3, 3)


def test_id_lookup_takes_any_container():
    """Text ids match as text and number ids as numbers from a list, a scalar or any NumPy array
    (an object array of strings too: pandas 3 stores text ids with the ``str`` dtype)."""
    text = load_ratings(b"u,i,r\nalice,x,5\nbob,x,4\nbob,y,3\n")
    for ids in (["bob", "eve"], np.array(["bob", "eve"]), np.array(["bob", "eve"], dtype=object)):
        assert text.user_codes(ids).tolist() == [1, -1]
    numbers = load_ratings(b"1,5,4\n2,5,3\n2,6,1\n")
    for ids in ([2, 7], np.array([2, 7]), np.array([2.0, 7.0]), np.array(["2", "x"], dtype=object)):
        assert numbers.user_codes(ids).tolist() == [1, -1]
    assert numbers.user_codes(2) == 1 and text.user_codes("alice") == 0


@pytest.mark.parametrize("policy, expected", [("last", [2.0, 5.0]), ("mean", [3.0, 5.0])])
def test_duplicate_policy(policy, expected):
    r = load_ratings(b"a,x,4\nb,x,5\na,x,2\nb,y,1\n", duplicates=policy)
    assert len(r) == 3 and r.summary.duplicates == 1
    by_user = {r.user_ids[u]: float(v) for u, i, v in zip(r.users, r.items, r.values) if r.item_ids[i] == "x"}
    assert [by_user["a"], by_user["b"]] == expected


def test_duplicate_policy_error_names_the_line():
    with pytest.raises(DataError, match=r"^line 3: duplicate"):
        load_ratings(b"a,x,4\nb,x,5\na,x,2\n", duplicates="error")


@pytest.mark.parametrize("text, message", [
    (b"", "the file is empty"),
    (b"   \n\n", "the file is empty"),
    (b"user,item,rating\n", "no ratings found"),
    (b"a,x\nb,y\n", "line 1: expected at least 3 columns"),
    (b"user,item,rating\na,x,4\nb,y,abc\n", "line 3: rating 'abc' is not a number"),
    (b"a,x,4\nb,y,\n", "line 2: the rating is missing"),
    (b"a,x,4\n,y,3\n", "line 2: the user is missing"),
    (b"a,x,4\nb,y,3,5,6\n", "line 2: expected 3 fields (as in the first line), found 5"),
    (b"a,x,4\nb,y,inf\n", "line 2: rating inf is not a finite number"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    (b"a,x,4,10\nb,y,3,yesterday-ish\n", "line 2: timestamp 'yesterday-ish'"),
    (b"a,x,4\n\nb,y,zz\n", "line 3: rating 'zz'"),
])
def test_bad_input_messages(text, message):
    with pytest.raises(DataError) as error:
        load_ratings(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_sources(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_ratings(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="folder without"):
        load_ratings(tmp_path)
    with pytest.raises(DataError, match="cannot read ratings from a int"):
        load_ratings(42)
    with pytest.raises(DataError, match="duplicates == 'first'"):
        load_ratings(b"a,x,4\n", duplicates="first")
    with pytest.raises(DataError, match="not in the file's header"):
        load_ratings(b"u,i,r\na,x,4\n", columns={"user": "nobody"})
    with pytest.raises(DataError, match="expected at least 3 columns"):
        load_ratings(pd.DataFrame({"u": [1], "i": [2]}))


def test_latin1_text_loads():
    r = load_ratings("u,i,r\nJosé,Amélie (2001),5\nAnn,Up (2009),4\n".encode("latin-1"))
    assert "Amélie (2001)" in r.item_ids


def test_bundled_sample_loads(sample_path):
    r = load_ratings(sample_path)
    assert len(r) == 100_000 and r.scale == (1.0, 5.0) and r.timestamps is not None


def test_movielens_100k(ml100k_path):
    r = load_ratings(ml100k_path)
    assert (len(r), r.n_users, r.n_items) == (100_000, 943, 1682)


def test_movielens_1m(ml1m_path):
    r = load_ratings(ml1m_path)
    assert (len(r), r.n_users, r.n_items) == (1_000_209, 6040, 3706)
