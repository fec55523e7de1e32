"""Every trial runs under the guards (issue 18): a memory estimate before it starts, a stop that acts
within the trial, threads capped to the cores; a study refuses another dataset, seed or space; storage
URLs never echo a password; a bad storage or data directory is one error line."""

import optuna
import pytest

from mfcore import from_arrays, tuning
from mfcore.cli import main
from mfcore.data.synthetic import make_ratings
from mfcore.evaluation.protocol import holdout


@pytest.fixture(scope="module")
def split():
    frame = make_ratings(300, 200, 8000, rank=4, noise_std=0.5, seed=2)
    ratings = from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy())
    return holdout(ratings, 0.1, 0.1, 0)


def space(**changes):
    base = {"n_factors": tuning.Range("n_factors", 2, 8), "lr": tuning.Range("lr", 0.005, 0.02, log=True),
            "reg": tuning.Range("reg", 0.01, 0.1, log=True), "n_epochs": tuning.Range("n_epochs", 40, 40)}
    return {**base, **changes}


def test_a_trial_over_the_memory_cap_fails_with_the_reason_and_is_not_run(split):
    big = space(n_factors=tuning.Range("n_factors", 2000, 2000))
    study = tuning.search(split, "cap", "sqlite:///:memory:", n_trials=2, space=big, memory_cap=5_000_000)
    rows = tuning.trials_table(study)
    assert [row["state"] for row in rows] == ["failed", "failed"]
    assert all(row["epochs run"] == 0 and "over the 5.0 MB cap" in row["reason"]
               and "K=2000" in row["reason"] for row in rows)


def test_threads_count_in_the_estimate_and_are_capped_to_the_cores(split):
    from mfcore.evaluation.resources import training_peak_bytes
    one = training_peak_bytes(943, 1682, 100_000, 100)
    many = training_peak_bytes(943, 1682, 100_000, 100, n_threads=300)
    assert many > 3e9 > one  # 300 threads group ML-100k in a 600 x 600 grid of per-thread counts
    # 100,000 threads uncapped would be estimated at petabytes and refused: capped, the trial runs
    study = tuning.search(split, "threads", "sqlite:///:memory:", n_trials=1, space=space(),
                          fixed={"n_threads": 100_000, "engine": "numba-parallel"})
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE, study.trials[0].user_attrs


def test_stop_ends_the_running_trial_after_its_epoch_and_starts_no_other(split):
    stop = __import__("threading").Event()

    def on_epoch(trial, epoch, value):
        if epoch == 3:
            stop.set()
    study = tuning.create_study("stop", "sqlite:///:memory:")
    tuning.optimize(study, split, space(), n_trials=50, stop=stop, on_epoch=on_epoch, patience=None)
    assert len(study.trials) == 1
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED and sorted(trial.intermediate_values) == [1, 2, 3]
    assert trial.user_attrs["fail_reason"] == "the search was stopped after epoch 3"


def test_a_study_refuses_another_dataset_seed_or_space(split, tmp_path):
    url = f"sqlite:///{tmp_path}/s.sqlite3"
    tuning.search(split, "mine", url, n_trials=1, space=space(), seed=0, heartbeat=None)
    other = holdout(split.train_full, 0.1, 0.1, 5)
    for kwargs in ({"split": other}, {"seed": 1}, {"space": space(reg=tuning.Range("reg", 0.02, 0.1))}):
        arguments = {"split": split, "seed": 0, "space": space(), **kwargs}
        with pytest.raises(tuning.StudyMismatch, match=r"^study 'mine' was created with another .*: choose "
                                                        r"another study name\.$"):
            tuning.search(arguments["split"], "mine", url, n_trials=1, space=arguments["space"],
                          seed=arguments["seed"], heartbeat=None)
    assert len(optuna.load_study(study_name="mine", storage=url).trials) == 1
    tuning.search(split, "mine", url, n_trials=1, space=space(), seed=0, heartbeat=None)  # same: joins
    study = optuna.load_study(study_name="mine", storage=url)
    assert len(study.trials) == 2 and study.trials[0].params != study.trials[1].params
    workers = [trial.user_attrs["worker"] for trial in study.trials]
    assert workers[0] == "0" and workers[1] != "0"  # the creator is worker 0, a joiner draws its own id


def test_passwords_are_redacted():
    assert tuning.redact("postgresql://bob:s3cret@db.example/x") == "postgresql://***@db.example/x"
    with pytest.raises(tuning.StorageError) as caught:
        tuning.open_storage("postgresql://bob:s3cret@127.0.0.1:1/x")
    assert "s3cret" not in str(caught.value) and "//***@127.0.0.1:1/x" in str(caught.value)


def _data(tmp_path):
    data = tmp_path / "r.csv"
    data.write_text("user,item,rating\n" + "".join(f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(8) for i in range(6)))
    return data


@pytest.mark.parametrize("argv, message", [
    (["--storage", "sqlite:////etc/passwd"], "error: cannot open storage sqlite:////etc/passwd: "),
    (["--storage", "postgresql://bob:s3cret@127.0.0.1:1/x"], "error: cannot open storage "
                                                             "postgresql://***@127.0.0.1:1/x: "),
    (["--storage", "::not a url::"], "error: cannot open storage ***: not a SQLAlchemy URL"),
])
def test_a_bad_storage_is_one_error_line_without_the_password(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    assert main(["tune", str(_data(tmp_path)), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "s3cret" not in err


def test_a_data_dir_that_is_a_file_is_one_error_line(capsys, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path / "file"))
    assert main(["tune", str(_data(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot make the study folder ") and "MFCORE_DATA_DIR=" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("model", ["bpr", "als"])
def test_a_ranking_trial_is_guarded_by_the_ranking_estimate(split, model, monkeypatch):
    """A cap the rating model's estimate of the same trial fits under: the ranking trial's own
    estimate (its positives, its per-epoch ranking of the validation users) is over it."""
    from mfcore.evaluation.resources import ranking_options, ranking_peak_bytes, training_peak_bytes
    from mfcore.tuning.ranking import MODELS, VALIDATION_USERS

    train, validation = split.train, split.validation
    n = len(train) + len(validation)
    estimator = MODELS[model](n_factors=8, n_threads=1)
    options = {key: value for key, value in ranking_options(estimator, train, validation).items() if key != "kind"}
    need = ranking_peak_bytes(model, train.n_users, train.n_items, n, 8, len(validation) / n,
                              eval_users=VALIDATION_USERS, **options)
    cap = (need + training_peak_bytes(train.n_users, train.n_items, n, 8, len(validation) / n)) // 2
    assert training_peak_bytes(train.n_users, train.n_items, n, 8, len(validation) / n) < cap < need
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", str(cap))
    space = {"n_factors": tuning.Range("n_factors", 8, 8, model=model),
             "n_epochs": tuning.Range("n_epochs", 2, 2, model=model)}
    study = tuning.ranking_search(model, split, "cap", "sqlite:///:memory:", n_trials=2, space=space)
    rows = tuning.trials_table(study)
    assert [row["state"] for row in rows] == ["failed", "failed"]
    assert all(row["epochs run"] == 0 and row["reason"].startswith(f"training {model.upper()} K=8 on {n:,} ratings")
               and f"{need:,} bytes" in row["reason"] for row in rows)
