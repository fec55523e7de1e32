"""Issue 18, the command line: threads capped to the cores and counted in the memory estimate, sample's
sizes and noise checked, its output written whole or not at all and never over a file without
--force, the merged duplicates reported, and every failure one ``error:`` line ending in a newline."""

from __future__ import annotations

import pytest
from paths import ROOT

from mfcore.cli import COMMANDS, Command, main
from mfcore.engines.numba_parallel import available_cores
from mfcore.evaluation.resources import training_peak_bytes

TOY = str(ROOT / "sample_data" / "toy.csv")


def one_error_line(capsys, status, expected_status=2, contains=""):
    out, err = capsys.readouterr()
    assert status == expected_status, err
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and "None" not in err and contains in err, err
    return err


def test_more_threads_than_cores_is_one_error_line(capsys):
    one_error_line(capsys, main(["train", TOY, "--threads", "100000", "--epochs", "1"]),
                   contains=f"at most {available_cores()}")
    one_error_line(capsys, main(["bench", TOY, "--threads", "100000", "--engines", "numba-parallel"]),
                   contains="--threads 100000")


def test_threads_are_counted_in_the_memory_estimate():
    one = training_peak_bytes(943, 1682, 100_000, 10, n_threads=1)
    many = training_peak_bytes(943, 1682, 100_000, 10, n_threads=300)
    assert many - one >= 32 * 300 * 600 ** 2  # the block grid: cubic in the threads
    assert training_peak_bytes(943, 1682, 100_000, 10, n_threads=2) - one < 10_000


def test_the_cli_estimate_uses_the_parallel_engines_threads(capsys, monkeypatch):
    from mfcore import load_ratings

    if available_cores() < 2:
        pytest.skip("one core: --threads 2 is refused before any estimate")
    toy = load_ratings(TOY)
    alone = training_peak_bytes(toy.n_users, toy.n_items, len(toy), 2, 0.1, "per-rating",
                                toy.timestamps is not None, n_threads=1)
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", str(alone + 10))  # one thread fits, two do not
    from mfcore.evaluation import resources  # the parse's own guard is tested in test_resources: this cap is
    monkeypatch.setattr(resources, "check_parse_memory", lambda path, cap=None: 0)  # the training's only
    argv = ["train", TOY, "--factors", "2", "--epochs", "1", "--engine", "numba-parallel", "--threads"]
    one_error_line(capsys, main([*argv, "2"]), contains="2 threads")
    assert main([*argv, "1"]) == 0


@pytest.mark.parametrize("argv, contains", [
    (["--rank", "100000000"], "memory cap"),
    (["--users", "100000000", "--items", "100000000", "--ratings", "1000000000"], "memory cap"),
    (["--noise", "nan"], "--noise"), (["--noise", "inf"], "--noise"), (["--noise", "-1"], "--noise"),
])
def test_sample_refuses_sizes_over_the_cap_and_non_finite_noise(capsys, tmp_path, argv, contains):
    out = tmp_path / "s.csv"
    one_error_line(capsys, main(["sample", *argv, "--out", str(out)]), contains=contains)
    assert list(tmp_path.iterdir()) == []


def test_sample_never_overwrites_without_force(capsys, tmp_path):
    out = tmp_path / "s.csv"
    out.write_text("keep me\n")
    one_error_line(capsys, main(["sample", "--users", "20", "--items", "20", "--ratings", "50", "--out", str(out)]),
                   contains="--force")
    assert out.read_text() == "keep me\n"
    assert main(["sample", "--users", "20", "--items", "20", "--ratings", "50", "--out", str(out), "--force"]) == 0
    assert out.read_text().startswith("user,item,rating")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


def test_an_interrupted_sample_leaves_no_partial_file(capsys, tmp_path, monkeypatch):
    import pandas as pd

    def interrupted(self, stream, **kwargs):
        stream.write("user,item,rating\n1,2,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    out = tmp_path / "s.csv"
    one_error_line(capsys, main(["sample", "--users", "20", "--items", "20", "--ratings", "50", "--out", str(out)]),
                   expected_status=130, contains="interrupted")
    assert list(tmp_path.iterdir()) == []


def test_cannot_write_says_why_not_none(capsys, tmp_path):
    one_error_line(capsys, main(["sample", "--users", "20", "--items", "20", "--ratings", "50",
                                 "--out", str(tmp_path / "missing" / "s.csv")]), contains="No such file")


def test_train_reports_the_merged_duplicates(capsys, tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text("user,item,rating\n1,1,4\n1,1,5\n2,1,3\n2,2,4\n1,2,2\n3,2,5\n3,1,1\n1,1,2\n")
    assert main(["train", str(path), "--epochs", "1", "--test-size", "0"]) == 0
    out, _ = capsys.readouterr()
    assert "Merged 2 repeated (user, item) ratings into one per pair" in out
    assert main(["train", str(path), "--epochs", "1", "--test-size", "0"]) == 0  # from the cache: the same
    assert "Merged 2 repeated" in capsys.readouterr()[0]


@pytest.mark.parametrize("exception, status, contains", [
    (RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
    (MemoryError(), 2, "out of memory"),
    (PermissionError(13, "Permission denied", "/x/y.csv"), 2, "/x/y.csv: Permission denied"),
    (OSError("disk full"), 2, "disk full"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (TypeError("bad\nsecond line"), 1, "internal error (TypeError: bad)"),
])
def test_every_failure_is_one_error_line(capsys, monkeypatch, exception, status, contains):
    def fail(args):
        raise exception

    monkeypatch.setitem(COMMANDS, "train", Command("x", COMMANDS["train"].add_arguments, fail))
    one_error_line(capsys, main(["train", TOY]), expected_status=status, contains=contains)


def test_an_interrupted_save_leaves_no_partial_model_file(capsys, tmp_path, monkeypatch):
    from mfcore.models import persist

    def interrupted(model, stream, *args):
        stream.write(b"PK\x03\x04 half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(persist, "save_model", interrupted)
    status = main(["train", TOY, "--epochs", "1", "--save", str(tmp_path / "m.npz")])
    one_error_line(capsys, status, expected_status=130, contains="interrupted")
    assert list(tmp_path.iterdir()) == []
