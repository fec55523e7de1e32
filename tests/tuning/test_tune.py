"""Early stopping, the honest protocol (holdout, baselines, cross-validation) and mfcore.tuning."""

import numpy as np
import optuna
import pytest

from mfcore import SGDFactorizer, from_arrays, random_split, tuning
from mfcore.cli import main
from mfcore.data.synthetic import make_ratings
from mfcore.evaluation.protocol import baselines, biases_only, cross_validate, holdout, score_on_test


@pytest.fixture(scope="module")
def ratings():
    frame = make_ratings(400, 300, 12000, rank=4, noise_std=0.5, seed=5)
    return from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy())


@pytest.fixture(scope="module")
def split(ratings):
    return holdout(ratings, test_size=0.1, validation_size=0.1, seed=0)


def overfitting(**params):
    """Many factors, no regularization, a high rate: the validation RMSE falls, then climbs."""
    return SGDFactorizer(**{"n_factors": 64, "n_epochs": 60, "lr": 0.03, "reg": 0.0, **params})


def test_early_stopping_stops_after_patience_and_keeps_the_best_epoch(split):
    model = overfitting(patience=3).fit(split.train, validation=split.validation)
    curve = [r.validation_rmse for r in model.history_]
    best = int(np.argmin(curve)) + 1
    assert len(curve) == best + 3 < 60
    assert model.best_epoch_ == best
    assert model.evaluate(split.validation)["rmse"] == pytest.approx(min(curve), abs=1e-6)
    assert model.evaluate(split.validation)["rmse"] < curve[-1]


def test_min_delta_counts_only_big_improvements(split):
    model = overfitting(patience=2, min_delta=1.0).fit(split.train, validation=split.validation)
    assert len(model.history_) == 3 and model.best_epoch_ == 1


def test_without_patience_every_epoch_runs_and_the_last_is_kept(split):
    model = overfitting(n_epochs=8).fit(split.train, validation=split.validation)
    assert len(model.history_) == 8 and model.best_epoch_ == 8
    assert all(r.validation_rmse is not None and r.test_rmse is None for r in model.history_)


def test_early_stopping_needs_a_validation_set(split):
    with pytest.raises(ValueError, match="needs a validation set"):
        overfitting(patience=3).fit(split.train, split.test)
    with pytest.raises(ValueError, match="patience == 0, must be None or an integer >= 1"):
        overfitting(patience=0).fit(split.train, validation=split.validation)


def test_holdout_carves_validation_out_of_train_never_test(ratings, split):
    _, test = random_split(ratings, 0.1, 0)
    assert np.array_equal(split.test.values, test.values) and np.array_equal(split.test.users, test.users)
    def pairs(r):
        return set(zip(r.users.tolist(), r.items.tolist()))
    assert pairs(split.train) | pairs(split.validation) == pairs(split.train_full)
    assert not pairs(split.train) & pairs(split.validation)
    assert not pairs(split.train_full) & pairs(split.test)
    assert len(split.validation) == round(0.1 * len(split.train_full))


def test_baselines_and_what_the_factors_add(split):
    model = biases_only().fit(split.train_full)
    assert not model.P_.any() and not model.Q_.any() and model.bu_.any()
    scores = baselines(split.train_full, split.test)
    assert scores["biases only"] < scores["global mean"]
    mean = split.train_full.values.mean(dtype=np.float64)
    assert scores["global mean"] == pytest.approx(np.sqrt(np.mean((split.test.values - mean) ** 2)))
    factors = score_on_test({"n_factors": 8, "reg": 0.05, "lr": 0.01, "step_rule": "constant"}, split, n_epochs=30)
    assert factors["rmse"] < scores["biases only"] and factors["n_epochs"] == 30


def test_cross_validate_scores_every_fold(ratings):
    result = cross_validate(ratings, {"n_factors": 4, "n_epochs": 5}, n_folds=3, seed=1)
    assert len(result["test_rmse"]) == 3 and len(result["fit_seconds"]) == 3
    assert result["mean_rmse"] == pytest.approx(result["test_rmse"].mean())
    assert result["std_rmse"] == pytest.approx(result["test_rmse"].std()) and result["std_rmse"] > 0
    with pytest.raises(ValueError, match="n_folds == 1"):
        cross_validate(ratings, n_folds=1)


def small_space(**changes):
    space = {"n_factors": tuning.Range("n_factors", 2, 16, log=True), "lr": tuning.Range("lr", 0.005, 0.05, log=True),
             "reg": tuning.Range("reg", 0.01, 0.1, log=True), "n_epochs": tuning.Range("n_epochs", 3, 12)}
    return {**space, **changes}


def test_a_seeded_search_repeats_itself(split):
    runs = [tuning.search(split, "same", "sqlite:///:memory:", n_trials=6, space=small_space(), seed=3)
            for _ in range(2)]
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]
    assert [t.value for t in runs[0].trials] == [t.value for t in runs[1].trials]
    rows = tuning.trials_table(runs[0])
    assert all(row["epochs run"] == len(tuning.curves(runs[0])[row["trial"]][1]) for row in rows)


def test_every_epoch_is_reported_and_values_are_the_best_validation_rmse(split):
    study = tuning.search(split, "reports", "sqlite:///:memory:", n_trials=3, space=small_space(), pruner="none")
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.value == min(trial.intermediate_values.values())
        epochs_run = len(trial.intermediate_values)
        assert sorted(trial.intermediate_values) == list(range(1, epochs_run + 1))
        assert 1 <= trial.user_attrs["best_epoch"] <= epochs_run <= trial.params["n_epochs"]


def test_diverged_trials_fail_with_their_reason_and_the_search_goes_on(split):
    space = small_space(lr=tuning.Range("lr", 5.0, 5.0), n_factors=tuning.Range("n_factors", 64, 64))
    study = tuning.search(split, "diverge", "sqlite:///:memory:", n_trials=2, space=space)
    rows = tuning.trials_table(study)
    assert [row["state"] for row in rows] == ["failed", "failed"]
    assert all(row["reason"].startswith("training diverged at epoch") for row in rows)
    assert all(row["lr"] == 5.0 and row["n_factors"] == 64 for row in rows)
    with pytest.raises(ValueError, match="no trial has completed"):
        tuning.final_scores(study, split)


def test_the_default_space_comes_from_the_parameter_table():
    from mfcore.models.params import PARAMETERS
    space = tuning.default_space()
    assert set(space) == {"n_factors", "lr", "reg", "n_epochs", "biased", "init_std"} <= set(PARAMETERS)
    for rng in space.values():
        rng.check()
    with pytest.raises(ValueError, match="n_factors == 0, must be an integer >= 1"):
        tuning.Range("n_factors", 0, 5).check()
    with pytest.raises(ValueError, match="is empty"):
        tuning.Range("reg", 0.5, 0.1).check()


def test_default_storage_is_one_visible_sqlite_file_per_study(tmp_path, monkeypatch):
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    assert tuning.default_storage("my-study") == f"sqlite:///{tmp_path.resolve()}/studies/my-study.sqlite3"
    with pytest.raises(ValueError, match="study name '../x'"):
        tuning.default_storage("../x")


@pytest.mark.parametrize("argv, message", [
    (["--trials", "0"], "error: --trials 0 must be >= 1"),
    (["--storage", "nosuchdb://x"], "error: cannot open storage nosuchdb://x: "),
    (["--study", "a/b"], "error: study name 'a/b' must be"),
])
def test_tune_cli_bad_input_is_one_error_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    data = tmp_path / "r.csv"
    data.write_text("user,item,rating\n" + "".join(f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(8) for i in range(6)))
    assert main(["tune", str(data), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_the_median_pruner_cuts_trials_worse_than_the_median_so_far(split):
    space = small_space(n_epochs=tuning.Range("n_epochs", 12, 12), lr=tuning.Range("lr", 0.0005, 0.05, log=True))
    study = tuning.search(split, "median", "sqlite:///:memory:", n_trials=14, space=space, pruner="median:2")
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert pruned and len(complete) >= 5
    for trial in pruned:  # cut at an epoch >= 2 where it was worse than the median of earlier completed trials
        epoch = max(trial.intermediate_values)
        earlier = [t.intermediate_values[epoch] for t in complete if t.number < trial.number
                   and epoch in t.intermediate_values]
        assert epoch >= 2 and min(trial.intermediate_values.values()) > np.median(earlier)
