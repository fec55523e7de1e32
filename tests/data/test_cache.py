"""The binary cache of parsed rating files: same Ratings back, keyed by the file's size and mtime."""

import os
import threading
import zipfile

import numpy as np
import pytest

from mfcore.data import cache


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MFCORE_CACHE_DIR", str(tmp_path / "cache"))


def write(path, text):
    path.write_text(text)
    return path


def same(a, b):
    for name in ("users", "items", "values", "user_ids", "item_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.scale == b.scale


def test_second_load_comes_from_the_cache_and_is_identical(tmp_path):
    path = write(tmp_path / "r.csv", "user,item,rating,timestamp\nann,x,4,10\nbob,y,2,11\nann,y,5,12\n")
    first, cached_first = cache.load_ratings_cached(path)
    second, cached_second = cache.load_ratings_cached(path)
    assert (cached_first, cached_second) == (False, True)
    same(first, second)
    np.testing.assert_array_equal(first.timestamps, second.timestamps)
    assert second.user_codes("bob") == first.user_codes("bob")


def test_a_changed_file_is_parsed_again(tmp_path):
    path = write(tmp_path / "r.csv", "user,item,rating\n1,1,4\n2,2,3\n")
    cache.load_ratings_cached(path)
    write(path, "user,item,rating\n1,1,4\n2,2,3\n3,1,5\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    ratings, from_cache = cache.load_ratings_cached(path)
    assert not from_cache and len(ratings) == 3


def test_bytes_are_not_cached():
    assert cache.cache_file(b"user,item,rating\n1,1,4\n") is None


def test_the_cache_file_is_what_np_savez_writes(tmp_path):
    path = write(tmp_path / "r.csv", "user,item,rating,timestamp\nann,x,4.5,10\nbob,y,2,11\nann,y,5,12\n")
    ratings, _ = cache.load_ratings_cached(path)
    target = cache.cache_file(path, duplicates="last", columns=None)
    with zipfile.ZipFile(target) as written, np.load(target) as loaded:
        members = {name: loaded[name] for name in loaded.files}
        np.savez(tmp_path / "reference.npz", **members)
        with zipfile.ZipFile(tmp_path / "reference.npz") as reference:
            assert written.namelist() == reference.namelist()
            for name in written.namelist():
                assert written.read(name) == reference.read(name)  # CRCs checked by read
    same(cache.load(target), ratings)


def test_the_cache_is_written_while_the_block_runs_and_is_there_after_it(tmp_path, monkeypatch):
    path = write(tmp_path / "r.csv", "user,item,rating\n1,1,4\n2,2,3\n")
    target = cache.cache_file(path, duplicates="last", columns=None)
    written = threading.Event()
    save = cache.save
    monkeypatch.setattr(cache, "save", lambda *args: (save(*args), written.set()))
    with cache.ratings_cached(path) as (ratings, from_cache):
        assert not from_cache and len(ratings) == 2
        assert written.wait(30)
    assert target.exists()
    again, from_cache = cache.load_ratings_cached(path)
    assert from_cache
    same(again, ratings)


def test_a_write_that_fails_costs_the_next_run_a_parse_or_raises_after_the_block(tmp_path, monkeypatch):
    path = write(tmp_path / "r.csv", "user,item,rating\n1,1,4\n2,2,3\n")

    def full(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(cache, "save", full)
    ratings, from_cache = cache.load_ratings_cached(path)
    assert not from_cache and len(ratings) == 2
    assert not cache.cache_file(path, duplicates="last", columns=None).exists()

    def broken(*args):
        raise ValueError("not writable as .npy")

    monkeypatch.setattr(cache, "save", broken)
    ran = []
    with pytest.raises(ValueError, match="not writable"), cache.ratings_cached(path) as (ratings, _):
        ran.append(len(ratings))
    assert ran == [2]
