"""The command line contract: JSON lines, exit codes and one-line errors."""

import json

import pytest
from conftest import cli


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "small.csv"
    done = cli("sample", "--users", 100, "--items", 80, "--ratings", 3000, "--seed", 1, "--out", path)
    assert done.returncode == 0, done.stderr
    return path


def test_sample_writes_a_loadable_csv(small_csv):
    header, first = small_csv.read_text().splitlines()[:2]
    assert header == "user,item,rating,timestamp" and len(small_csv.read_text().splitlines()) == 3001


def test_train_json_shape(small_csv):
    done = cli("train", small_csv, "--factors", 5, "--epochs", 3, "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [1, 2, 3]
    assert set(lines[0]) == {"epoch", "train_rmse", "test_rmse", "seconds"}
    final = lines[-1]
    assert final["final"] is True and {"test_rmse", "test_mae", "fit_seconds"} <= set(final)
    assert 0 < final["test_rmse"] < 2 and final["test_rmse"] == pytest.approx(lines[-2]["test_rmse"])


def test_train_text_output(small_csv):
    done = cli("train", small_csv, "--factors", 5, "--epochs", 2, "--engine", "numpy")
    assert done.returncode == 0 and "epoch   2" in done.stdout and "test RMSE" in done.stdout


def test_bench_json(small_csv):
    done = cli("bench", small_csv, "--engines", "python,numba", "--factors", 5, "--epochs", 2, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["engine"] for row in rows] == ["python", "numba"]
    for row in rows:
        assert {"engine", "seconds_per_epoch", "updates_per_second", "test_rmse", "extrapolated"} <= set(row)
        assert row["seconds_per_epoch"] > 0


@pytest.mark.parametrize("args, message", [
    (["train", "missing.csv"], "no such file"),
    (["train", "BAD", "--lr", "-1"], "lr == -1.0, must be None or > 0."),
    (["train", "BAD", "--factors", "0"], "argument --factors"),
    (["train", "BAD", "--engine", "cobol"], "engine == 'cobol'"),
    (["train", "BAD"], "line 3: rating 'five' is not a number"),
    (["bench", "BAD", "--engines", "python,cobol"], "unknown engine cobol"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["sample", "--out", "x.csv", "--ratings", "0"], "argument --ratings"),
    (["sample", "--users", "2", "--items", "2", "--ratings", "5", "--out", "x.csv"], "n_ratings == 5"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\na,x,4\nb,y,five\n")
    done = cli(*[str(bad) if a == "BAD" else a for a in args], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
