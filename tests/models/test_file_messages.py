"""A damaged file or a bad setting is reported in one sentence in the user's words: the file by the name
the user gave it, what is wrong with it, never a library's own text (NumPy's "magic string", zlib's
"Error -3", zipfile's "Bad CRC-32", int()'s "invalid literal"). Model files, ratings archives and
storage URLs are each damaged in every way the corpus below knows."""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile

import numpy as np
import pytest

from mfcore import SGDFactorizer, load_ratings, random_split
from mfcore.data import DataError
from mfcore.models.persist import ModelFileError, load_bundle, model_bytes
from mfcore.tuning.storage import StorageError, open_storage
from paths import TOY_CSV

LIBRARY_TEXT = re.compile(r"magic string|expected b'|b'\\x|invalid literal|base 10|Error -\d|File is not a zip|"
                          r"Bad CRC|TokenError|EOF in multi-line|the file:|Traceback|Errno", re.IGNORECASE)


def one_sentence(message: str) -> None:
    assert "\n" not in message and not LIBRARY_TEXT.search(message), message
    assert message.rstrip().endswith((".", ")")), message


@pytest.fixture(scope="module")
def model_file() -> bytes:
    ratings = load_ratings(TOY_CSV)
    train, test = random_split(ratings, 0.2, seed=0)
    return model_bytes(SGDFactorizer(n_factors=3, n_epochs=2, engine="numpy").fit(train, test), train, test)


def rezip(raw: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    change(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def npy(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def damaged_models(raw: bytes) -> dict[str, bytes]:
    def with_meta(**fields):
        def change(entries):
            meta = json.loads(np.load(io.BytesIO(entries["meta.npy"])).tobytes())
            entries["meta.npy"] = npy(np.frombuffer(json.dumps({**meta, **fields}).encode(), np.uint8))
        return change

    changes = {
        "meta magic": lambda e: e.__setitem__("meta.npy", b"XXXXXX" + e["meta.npy"][6:]),
        "P magic": lambda e: e.__setitem__("P.npy", b"\x00" * 6 + e["P.npy"][6:]),
        "P header": lambda e: e.__setitem__("P.npy", e["P.npy"][:10] + b"{'descr': zz" + e["P.npy"][22:]),
        "P version": lambda e: e.__setitem__("P.npy", e["P.npy"][:6] + b"\x07\x00" + e["P.npy"][8:]),
        "P cut": lambda e: e.__setitem__("P.npy", e["P.npy"][:-7]),
        "P missing": lambda e: e.pop("P.npy"),
        "P shape": lambda e: e.__setitem__("P.npy", npy(np.zeros((2, 2), np.float32))),
        "P text": lambda e: e.__setitem__("P.npy", npy(np.array(["a", "b"]))),
        "P objects": lambda e: e.__setitem__("P.npy", npy(np.array([1, None], dtype=object))),
        "extra entry": lambda e: e.__setitem__("notes.txt", b"hi"),
        "meta not json": lambda e: e.__setitem__("meta.npy", npy(np.frombuffer(b"{nope", np.uint8))),
        "kind": with_meta(kind="svd++"),
        "version": with_meta(version=7),
        "global mean": with_meta(global_mean="abc"),
        "history": with_meta(history="abc"),
        "scale": with_meta(scale=None),
        "params": with_meta(params=[1, 2]),
    }
    files = {name: rezip(raw, change) for name, change in changes.items()}
    files.update({"half": raw[:len(raw) // 2], "tail": raw[:-30], "text": b"user,item,rating\n1,2,3\n",
                  "empty": b"", "npy": npy(np.arange(3))})
    return files


@pytest.mark.parametrize("case", [
    "meta magic", "P magic", "P header", "P version", "P cut", "P missing", "P shape", "P text", "P objects",
    "extra entry", "meta not json", "kind", "version", "global mean", "history", "scale", "params", "half", "tail",
    "text", "empty", "npy"])
def test_a_damaged_model_file_is_named_and_described_in_one_sentence(model_file, case):
    content = damaged_models(model_file)[case]
    with pytest.raises(ModelFileError) as error:
        load_bundle(content, name="my ratings model.npz")
    message = str(error.value)
    assert message.startswith("my ratings model.npz "), message  # the user's name for it, not "the file"
    one_sentence(message)


def test_the_explore_page_names_the_uploaded_file(model_file):
    from apptest_helpers import ROOT, no_exception, plain
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=60).run()
    app.radio(key="explore_source").set_value("Upload a model file").run()
    bad = damaged_models(model_file)["meta magic"]
    app.get("file_uploader")[0].set_value(("week3.npz", bad, "application/octet-stream"))
    app = app.run()
    no_exception(app)
    assert [plain(error.value) for error in app.error] == [
        "week3.npz is damaged or not an mfcore model file: its entry 'meta' is not a NumPy array (it does not "
        "start with NumPy's header). Upload a model file downloaded from Train."]


def ratings_zip(method=zipfile.ZIP_DEFLATED) -> bytes:
    rows = (b"%d,%d,%d\n" % (u, i, (u + i) % 5 + 1) for u in range(40) for i in range(9))
    text = b"user,item,rating\n" + b"".join(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        archive.writestr("ratings.csv", text)
    return out.getvalue()


def damaged_archives() -> dict[str, bytes]:
    good, stored = ratings_zip(), bytearray(ratings_zip(zipfile.ZIP_STORED))
    inflated = bytearray(good)
    inflated[60:70] = b"\xff" * 10
    stored[stored.index(b"user,item") + 30] ^= 1
    packed = gzip.compress(b"user,item,rating\n1,2,3\n" * 200)
    return {"zip half": good[:len(good) // 2], "zip tail": good[:-10], "zip deflate": bytes(inflated),
            "zip checksum": bytes(stored), "gzip cut": packed[:len(packed) // 2],
            "gzip deflate": packed[:20] + b"\x00" * 30 + packed[50:]}


@pytest.mark.parametrize("case", ["zip half", "zip tail", "zip deflate", "zip checksum", "gzip cut", "gzip deflate"])
def test_a_damaged_archive_says_what_is_wrong_in_words(case):
    with pytest.raises(DataError) as error:
        load_ratings(damaged_archives()[case])
    one_sentence(str(error.value))
    assert "damaged" in str(error.value) or "cannot unpack" in str(error.value)


@pytest.mark.parametrize("url", ["postgresql://tuner:S3CRET@db.example:notaport/studies",
                                 "mysql://tuner:S3CRET@db.example:99999999/studies",
                                 "postgresql://db.example:S3CRET/studies"])
def test_a_storage_port_that_is_not_a_port_is_said_so_without_echoing_it(url):
    with pytest.raises(StorageError) as error:
        open_storage(url)
    message = str(error.value)
    one_sentence(message)
    assert "port" in message and "S3CRET" not in message and "notaport" not in message
