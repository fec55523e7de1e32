"""Two `python -m mfcore tune` processes on one study end with the sum of their trials, none lost or
run twice, each trial a distinct configuration (each worker samples with its own seed): on the default
SQLite file, and on a real PostgreSQL server started for the test. A worker killed with SIGKILL leaves
no RUNNING trial once the heartbeat grace period has passed: its trial is failed and queued again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import postgres
from conftest import ROOT

TRIALS_EACH = 4


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    from mfcore.data.synthetic import make_ratings
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    make_ratings(300, 200, 8000, rank=5, noise_std=0.5, seed=3).to_csv(path, index=False)
    return path


def _run_two(data: Path, storage: str | None, env: dict) -> list[list[dict]]:
    command = [sys.executable, "-m", "mfcore", "tune", str(data), "--trials", str(TRIALS_EACH),
               "--study", "shared", "--json"]
    if storage:
        command += ["--storage", storage]
    processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env={**os.environ, **env}) for _ in range(2)]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        outputs.append([json.loads(line) for line in stdout.splitlines()])
    return outputs


def _check_sum(outputs: list[list[dict]], storage) -> None:
    ran = [[row["trial"] for row in lines if "final" not in row] for lines in outputs]
    assert [len(numbers) for numbers in ran] == [TRIALS_EACH, TRIALS_EACH]
    assert not set(ran[0]) & set(ran[1]), "a trial number was run by both processes"
    study = optuna.load_study(study_name="shared", storage=storage)
    numbers = sorted(trial.number for trial in study.trials)
    assert numbers == list(range(2 * TRIALS_EACH)) == sorted(ran[0] + ran[1])
    assert all(trial.state.is_finished() for trial in study.trials)
    assert all(lines[-1]["final"] and lines[-1]["trials"] >= TRIALS_EACH for lines in outputs)
    configurations = {json.dumps(trial.params, sort_keys=True) for trial in study.trials}
    assert len(configurations) == 2 * TRIALS_EACH, "two workers drew the same configuration"
    assert len({trial.user_attrs["worker"] for trial in study.trials}) == 2


def test_two_processes_share_the_default_sqlite_study(small_data, tmp_path):
    outputs = _run_two(small_data, None, {"MFCORE_DATA_DIR": str(tmp_path)})
    path = tmp_path / "studies" / "shared.sqlite3"
    assert path.is_file()
    _check_sum(outputs, f"sqlite:///{path}")


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server of its own (:func:`postgres.server`)."""
    with postgres.server() as url:
        yield url


def test_two_processes_share_one_postgresql_study(small_data, postgres_url, tmp_path):
    outputs = _run_two(small_data, postgres_url, {"MFCORE_DATA_DIR": str(tmp_path)})
    _check_sum(outputs, postgres_url)
    assert not (tmp_path / "studies").exists(), "a --storage URL must not create the default SQLite file"


KILLED_WORKER = """
import sys
from mfcore import load_ratings, tuning
from mfcore.evaluation.protocol import holdout
split = holdout(load_ratings(sys.argv[1]), 0.1, 0.1, 0)
space = {**tuning.default_space(), "n_epochs": tuning.Range("n_epochs", 100000, 100000)}
tuning.search(split, "killed", sys.argv[2], n_trials=1, space=space, pruner="none", patience=None,
              heartbeat=(1, 3))
"""


def _kill_a_worker_mid_trial(data: Path, storage: str) -> None:
    """Start a worker whose one trial runs for ever, wait for its first epochs, SIGKILL it, then let a
    second worker (same heartbeat settings) look at the study after the grace period."""
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(data), storage], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert worker.poll() is None, worker.stderr.read()
            assert time.monotonic() < deadline, "the worker never reported an epoch"
            try:
                trials = optuna.load_study(study_name="killed", storage=storage).trials
            except KeyError:  # the study does not exist yet
                trials = []
            if trials and len(trials[0].intermediate_values) >= 2:
                break
            time.sleep(0.2)
    finally:
        worker.kill()
        worker.wait()
    running = optuna.load_study(study_name="killed", storage=storage).trials
    assert [trial.state.name for trial in running] == ["RUNNING"]  # what a dead worker used to leave
    time.sleep(4.5)  # the grace period (3 s) since the last heartbeat has passed
    from mfcore import tuning
    study = tuning.create_study("killed", storage, heartbeat=(1, 3))
    tuning.fail_stale(study)
    trials = optuna.load_study(study_name="killed", storage=storage).trials
    assert [trial.state.name for trial in trials] == ["FAIL", "WAITING"]  # failed, and queued again
    assert trials[1].params == trials[0].params
    assert not [row for row in tuning.trials_table(study) if row["state"] == "running"]


def test_a_killed_worker_trial_fails_after_the_grace_period_sqlite(small_data, tmp_path):
    _kill_a_worker_mid_trial(small_data, f"sqlite:///{tmp_path}/killed.sqlite3")


def test_a_killed_worker_trial_fails_after_the_grace_period_postgresql(small_data, postgres_url):
    _kill_a_worker_mid_trial(small_data, postgres_url)
