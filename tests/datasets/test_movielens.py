"""mfcore.datasets.movielens against a local HTTP server on 127.0.0.1 serving a generated MovieLens-100K
style archive: downloaded once, checked by SHA-256, cached, loaded with titles and genres; one sentence
when offline, on an HTTP error or when the checksum differs (and nothing is kept)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import zipfile

import pytest

from mfcore.datasets import grouplens as ml

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n2\t30\t1\t881250952\n3\t20\t2\t881250953\n"
U_ITEM = ("10|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
          "20|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n"
          "30|Four Rooms (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n")


def archive_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("ml-100k/u.data", U_DATA)
        zipped.writestr("ml-100k/u.item", U_ITEM)
        zipped.writestr("ml-100k/README", "generated for the test")
    return buffer.getvalue()


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server of ``tmp_path/www`` that counts its GET requests."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "ml-100k.zip").write_bytes(archive_bytes())
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", hits, httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def pinned_to_the_generated_archive(monkeypatch):
    data = archive_bytes()
    monkeypatch.setitem(ml.MOVIELENS, "100k", ml.Archive("ml-100k.zip", hashlib.sha256(data).hexdigest(),
                                                         len(data), "generated"))


def test_downloads_once_checks_caches_and_loads_titles(server, tmp_path, pinned_to_the_generated_archive):
    url, hits, httpd = server
    cache = tmp_path / "cache"
    ratings = ml.movielens("100k", base_url=url, cache=cache)
    assert len(ratings) == 5 and ratings.n_users == 3 and list(ratings.item_titles) == [
        "Toy Story (1995)", "GoldenEye (1995)", "Four Rooms (1995)"]
    assert "Animation" in ratings.item_info["genres"].iloc[0]
    assert hits == ["/ml-100k.zip"] and [p.name for p in cache.iterdir()] == ["ml-100k.zip"]
    httpd.shutdown()  # cached: the second call needs no server
    assert len(ml.movielens("100k", base_url=url, cache=cache)) == 5 and len(hits) == 1


def test_a_checksum_that_differs_is_one_sentence_and_nothing_is_kept(server, tmp_path):
    url, _, _ = server  # the real GroupLens pin: the generated archive cannot match it
    with pytest.raises(ml.DatasetError) as caught:
        ml.movielens("100k", base_url=url, cache=tmp_path / "cache")
    message = str(caught.value)
    assert "SHA-256 of ml-100k.zip" in message and ml.MOVIELENS["100k"].sha256 in message
    assert "\n" not in message and list((tmp_path / "cache").iterdir()) == []


def test_offline_and_http_errors_are_one_sentence(server, tmp_path, pinned_to_the_generated_archive):
    url, _, httpd = server
    with pytest.raises(ml.DatasetError, match="server answered 404"):
        ml.movielens("1m", base_url=url, cache=tmp_path / "cache")
    httpd.shutdown()
    httpd.server_close()
    with pytest.raises(ml.DatasetError, match=r"seems to be offline; .* by hand to .*ml-100k\.zip\.$"):
        ml.movielens("100k", base_url=url, cache=tmp_path / "cache", timeout=5)
    with pytest.raises(ml.DatasetError, match="unknown MovieLens data set '10m'"):
        ml.movielens("10m")


def test_a_damaged_cached_file_is_downloaded_again(server, tmp_path, pinned_to_the_generated_archive):
    url, hits, _ = server
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(b"half a zip")
    assert len(ml.movielens("100k", base_url=url, cache=cache)) == 5 and len(hits) == 1
