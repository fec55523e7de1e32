"""mfcore.datasets.movielens against a local HTTP server on 127.0.0.1 serving a generated MovieLens-100K
style archive (fixtures movielens_server and pinned_to_the_generated_archive, tests/conftest.py):
downloaded once, checked by SHA-256, cached, loaded with titles and genres; one sentence when offline,
on an HTTP error or when the checksum differs (and nothing is kept)."""

from __future__ import annotations

import pytest

from mfcore.datasets import grouplens as ml


def test_downloads_once_checks_caches_and_loads_titles(movielens_server, tmp_path,
                                                        pinned_to_the_generated_archive):
    url, hits, httpd = movielens_server
    cache = tmp_path / "cache"
    ratings = ml.movielens("100k", base_url=url, cache=cache)
    assert len(ratings) == 5 and ratings.n_users == 3 and list(ratings.item_titles) == [
        "Toy Story (1995)", "GoldenEye (1995)", "Four Rooms (1995)"]
    assert "Animation" in ratings.item_info["genres"].iloc[0]
    assert hits == ["/ml-100k.zip"] and [p.name for p in cache.iterdir()] == ["ml-100k.zip"]
    httpd.shutdown()  # cached: the second call needs no server
    assert len(ml.movielens("100k", base_url=url, cache=cache)) == 5 and len(hits) == 1


def test_a_checksum_that_differs_is_one_sentence_and_nothing_is_kept(movielens_server, tmp_path):
    url, _, _ = movielens_server  # the real GroupLens pin: the generated archive cannot match it
    with pytest.raises(ml.DatasetError) as caught:
        ml.movielens("100k", base_url=url, cache=tmp_path / "cache")
    message = str(caught.value)
    assert "SHA-256 of ml-100k.zip" in message and ml.MOVIELENS["100k"].sha256 in message
    assert "\n" not in message and list((tmp_path / "cache").iterdir()) == []


def test_offline_and_http_errors_are_one_sentence(movielens_server, tmp_path, pinned_to_the_generated_archive):
    url, _, httpd = movielens_server
    with pytest.raises(ml.DatasetError, match="server answered 404"):
        ml.movielens("1m", base_url=url, cache=tmp_path / "cache")
    httpd.shutdown()
    httpd.server_close()
    with pytest.raises(ml.DatasetError, match=r"seems to be offline; .* by hand to .*ml-100k\.zip\.$"):
        ml.movielens("100k", base_url=url, cache=tmp_path / "cache", timeout=5)
    with pytest.raises(ml.DatasetError, match="unknown MovieLens data set '10m'"):
        ml.movielens("10m")


def test_a_damaged_cached_file_is_downloaded_again(movielens_server, tmp_path, pinned_to_the_generated_archive):
    url, hits, _ = movielens_server
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(b"half a zip")
    assert len(ml.movielens("100k", base_url=url, cache=cache)) == 5 and len(hits) == 1
