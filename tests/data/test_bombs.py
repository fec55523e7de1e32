"""Issue 18: decompression bombs and malformed model files (made by make_bombs.py into a temporary
folder) are refused in under 2 s with under 200 MB of extra peak RSS, each with one sentence: rating
files by ``load_ratings``, the CLI's ``train`` and Home's uploader; model files by
``SGDFactorizer.load``, the CLI's ``recommend`` and Explore's uploader. Time and memory are measured in
a fresh process (bomb_probe.py), not in the test process."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dashboard.render.texts import escape_markdown
from mfcore import DataError, load_ratings
from mfcore.data import archive

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MAX_SECONDS, MAX_EXTRA_MB = 2.0, 200


def _make_bombs():
    spec = importlib.util.spec_from_file_location("make_bombs", HERE / "make_bombs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_bombs = _make_bombs()
RATING_BOMBS = ["duplicates.csv.gz", "nul.zip", "gz_in_zip.zip", "zip_in_zip.zip", "zeros_rows.zip",
                "gz_in_gz.csv.gz"]
MODEL_BOMBS = ["zeros_P.npz", "declared_512GiB.npz", "deep_json.npz", "biases_2d.npz", "string_factors.npz",
               "nan_scale.npz", "inverted_scale.npz", "nan_factors.npz", "object_ids.npz"]
EXPECTED = {  # a word of each refusal, so that each bomb is refused for its own reason
    "duplicates.csv.gz": "times its compressed size", "nul.zip": "NUL bytes", "gz_in_zip.zip": "times its",
    "zip_in_zip.zip": "another archive", "zeros_rows.zip": "times its", "gz_in_gz.csv.gz": "another archive",
    "zeros_P.npz": "unpacks to more than", "declared_512GiB.npz": "549,755,813,888 bytes", "deep_json.npz": "nested",
    "biases_2d.npz": "bu has 2 dimensions", "string_factors.npz": "P holds text",
    "nan_scale.npz": "'scale'", "inverted_scale.npz": "low < high", "nan_factors.npz": "P holds NaN",
    "object_ids.npz": "pickled",
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    return make_bombs.make_all(tmp_path_factory.mktemp("bombs"))


def test_the_corpus_files_are_small_and_what_they_claim(bombs):
    assert set(bombs) == set(RATING_BOMBS) | set(MODEL_BOMBS)
    assert all(path.stat().st_size < 4 << 20 for path in bombs.values())
    with gzip.open(bombs["duplicates.csv.gz"]) as stream:  # valid rows, and a valid gzip header
        assert stream.read(12) == b"1,1,5\n1,1,5\n"
    info = zipfile.ZipFile(bombs["zeros_rows.zip"]).infolist()[0]
    assert info.file_size > 2_000_000_000


def probe(mode: str, paths: list[Path]) -> dict:
    done = subprocess.run([sys.executable, str(HERE / "bomb_probe.py"), mode, *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def check(report: dict, one_line) -> None:
    for name, result in report["files"].items():
        assert result["status"] == 2, (name, result)
        expected = escape_markdown(EXPECTED[name]) if one_line is one_st_error else EXPECTED[name]
        assert expected in str(result["message"]), (name, result["message"])
        one_line(name, result)
        assert result["seconds"] < MAX_SECONDS, (name, result)
    assert report["extra_mb"] < MAX_EXTRA_MB, report


def sentence(name, result):
    assert "\n" not in result["message"] and len(result["message"]) < 400


def error_line(name, result):
    assert result["message"].startswith("error: ") and result["message"].endswith("\n")
    assert result["message"].count("\n") == 1 and "Traceback" not in result["message"]


def one_st_error(name, result):
    assert isinstance(result["message"], str) and escape_markdown(name) in result["message"], result
    assert result["exception"] == [] and result["errors_on_rerun"] == 1, result


@pytest.mark.parametrize("mode, one_line", [("load", sentence), ("train", error_line), ("home", one_st_error)])
def test_rating_bombs_are_refused_quickly_in_little_memory(bombs, mode, one_line):
    check(probe(mode, [bombs[name] for name in RATING_BOMBS]), one_line)


@pytest.mark.parametrize("mode, one_line", [("model", sentence), ("recommend", error_line),
                                            ("explore", one_st_error)])
def test_model_bombs_are_refused_quickly_in_little_memory(bombs, mode, one_line):
    check(probe(mode, [bombs[name] for name in MODEL_BOMBS]), one_line)


@pytest.mark.parametrize("argv", [["train", "duplicates.csv.gz"], ["train", "gz_in_zip.zip"],
                                  ["recommend", "declared_512GiB.npz", "--user", "1"],
                                  ["recommend", "deep_json.npz", "--user", "1"]])
def test_the_command_line_exits_2_with_one_error_line(bombs, argv):
    argv = [argv[0], str(bombs[argv[1]]), *argv[2:]]
    done = subprocess.run([sys.executable, "-m", "mfcore", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and done.stderr.endswith("\n")


def test_the_size_limit_is_checked_while_inflating():
    text = b"user,item,rating\n" + b"".join(b"%d,%d,%d\n" % (n % 97, n % 89, n % 5 + 1) for n in range(200_000))
    packed = gzip.compress(text)
    assert len(load_ratings(packed)) > 0  # well within the default limit and the ratio
    with pytest.raises(DataError, match=r"^the gzip file unpacks to more than 1\.0 MiB, the memory limit"):
        load_ratings(packed, max_unpacked_bytes=1 << 20)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive_file:
        archive_file.writestr("ratings.csv", text)
    with pytest.raises(DataError, match=r"^ratings.csv unpacks to more than 1\.0 MiB"):
        load_ratings(zipped.getvalue(), max_unpacked_bytes=1 << 20)


def test_the_server_cap_is_the_default_of_uploads(monkeypatch):
    """The dashboard passes memory_cap_bytes(); MF_MEMORY_CAP_BYTES sets it, as for every guard."""
    from dashboard.server import datasets

    text = b"user,item,rating\n" + b"".join(b"%d,%d,4\n" % (n % 300, n // 300) for n in range(100_000))
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", str(len(text) - 1))
    with pytest.raises(DataError, match="the memory limit for one file"):
        datasets.load("x.csv.gz", "x.csv.gz", gzip.compress(text))


def test_concatenated_gzip_members_and_a_gz_in_a_zip_still_load():
    rows = b"".join(b"%d,%d,4\n" % (n, n % 7) for n in range(50))
    two_members = gzip.compress(b"user,item,rating\n" + rows) + gzip.compress(rows.replace(b",4\n", b",3\n"))
    assert len(load_ratings(two_members)) == 50  # the second member re-rates every pair: last wins
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive_file:
        archive_file.writestr("ratings.csv.gz", gzip.compress(b"user,item,rating\n" + rows))
    assert len(load_ratings(zipped.getvalue())) == 50


def test_a_big_valid_gzip_loads_the_same_as_its_text():
    """More than one chunk (the streaming path), under the ratio: same table as the plain text."""
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 5000, 300_000), rng.integers(0, 3000, 300_000)
    text = b"u,i,r\n" + b"".join(b"%d,%d,%d\n" % (u, i, u % 5 + 1) for u, i in zip(users, items))
    assert len(text) > 2 * archive.CHUNK
    plain, packed = load_ratings(text), load_ratings(gzip.compress(text, 1))
    assert (plain.users == packed.users).all() and (plain.values == packed.values).all()


def test_a_zip_declaring_too_many_entries_is_refused_before_its_directory_is_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive_file:
        for n in range(archive.MAX_MEMBERS + 1):
            archive_file.writestr(f"{n}.csv", b"")
    with pytest.raises(DataError, match="entries"):
        load_ratings(buffer.getvalue())


def _as_zip64(raw: bytes, declared: int) -> bytes:
    """``raw`` (a zip) with a zip64 end record declaring ``declared`` entries and 0xFFFF in the
    classic end record, as zip64 writers leave it."""
    import struct

    end = raw.rfind(b"PK\x05\x06")
    entries, directory_size, directory_offset = struct.unpack("<HII", raw[end + 10:end + 20])
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, declared, declared,
                         directory_size, directory_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
    classic = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return raw[:end] + record + locator + classic


def test_a_zip64_archive_is_read_by_its_true_entry_count():
    """A zip64 end record's count is read (a zip64 archive of one ratings file loads; one declaring
    more than MAX_MEMBERS entries there is refused with that count, not with 65,535)."""
    rows = b"user,item,rating\n" + b"".join(b"%d,%d,4\n" % (n, n % 7) for n in range(50))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive_file:
        archive_file.writestr("ratings.csv", rows)
    assert archive.declared_entries(_as_zip64(buffer.getvalue(), 1)) == 1
    assert len(load_ratings(_as_zip64(buffer.getvalue(), 1))) == 50
    with pytest.raises(DataError, match="declares 20,000 entries"):
        load_ratings(_as_zip64(buffer.getvalue(), 20_000))


def test_arrow_running_out_of_memory_is_one_sentence(monkeypatch):
    import pyarrow as pa

    from mfcore.data import parse

    def no_memory(*args, **kwargs):
        raise pa.ArrowMemoryError("malloc of size 1 failed")

    monkeypatch.setattr(parse.pacsv, "open_csv", no_memory)
    with pytest.raises(DataError, match="too large to parse in the memory available"):
        load_ratings(b"user,item,rating\n1,2,3\n2,1,4\n")


def test_model_meta_that_is_not_plain_json_is_one_sentence(tmp_path):
    from mfcore import SGDFactorizer
    from mfcore.models.model_file import ModelFileError

    arrays = make_bombs._valid_model_arrays()
    meta = json.loads(arrays["meta"].tobytes())
    for text, expected in [('{"format": 1' + "9" * 5000 + "}", "not JSON"),
                           (json.dumps({**meta, "global_mean": 1e400}).replace("Infinity", "1e400"), "global_mean"),
                           (json.dumps({**meta, "history": "x"}), "history"),
                           (json.dumps({**meta, "params": {"n_factors": "many"}}), "n_factors"),
                           (json.dumps({**meta, "has_test": "yes"}), "has_test")]:
        path = tmp_path / "m.npz"
        path.write_bytes(make_bombs._npz({**arrays, "meta": np.frombuffer(text.encode(), np.uint8)}))
        with pytest.raises(ModelFileError, match=expected) as error:
            SGDFactorizer.load(path)
        assert "\n" not in str(error.value)
