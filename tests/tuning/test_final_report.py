"""The final report of a search is read once, from one snapshot of the study: while another worker keeps
finishing better trials, the trial the report names is the one whose settings and validation score it
prints; a dead worker's RUNNING trial is failed before the report and not counted as complete."""

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution

from mfcore import from_arrays, tuning
from mfcore.data.synthetic import make_ratings
from mfcore.evaluation.protocol import holdout

DISTRIBUTIONS = {"n_factors": IntDistribution(2, 64), "lr": FloatDistribution(1e-4, 1.0),
                 "reg": FloatDistribution(0.0, 1.0), "n_epochs": IntDistribution(1, 100)}


@pytest.fixture(scope="module")
def split():
    frame = make_ratings(200, 150, 5000, rank=4, noise_std=0.5, seed=3)
    ratings = from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy())
    return holdout(ratings, 0.1, 0.1, 0)


def finished_trial(number: int, value: float) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params={"n_factors": 2 + number, "lr": 0.01 + 0.001 * number, "reg": 0.05, "n_epochs": 3},
        distributions=DISTRIBUTIONS, value=value, user_attrs={"best_epoch": 2})


class BusyStudy:
    """A study another worker writes to between any two reads: each read first adds a trial better
    than every one before (the race of two workers on one study)."""

    def __init__(self, study: optuna.Study):
        self._study, self._value = study, 1.0

    def _other_worker_finishes_a_trial(self):
        self._value -= 0.01
        self._study.add_trial(finished_trial(len(self._study.trials), self._value))

    def __getattr__(self, name):
        if name in ("get_trials", "trials", "best_trial", "best_value", "best_params"):
            self._other_worker_finishes_a_trial()
        return getattr(self._study, name)


@pytest.mark.parametrize("kind", ["sgd", "bpr"])
def test_the_report_names_the_trial_whose_settings_it_prints(split, kind):
    study = optuna.create_study(direction="minimize" if kind == "sgd" else "maximize")
    for number in range(3):
        study.add_trial(finished_trial(number, 1.1 + number if kind == "sgd" else 0.01 * (number + 1)))
    busy = BusyStudy(study)
    if kind == "sgd":
        result = tuning.final_scores(busy, split, {"seed": 0})
        score = result["validation_rmse"]
    else:
        from mfcore.tuning.ranking import ranking_final_scores
        result = ranking_final_scores("bpr", busy, split, {"seed": 0})
        score = result["validation_ndcg"]
    named = study.trials[result["best_trial"]]
    same = [name for name in named.params if name != "n_epochs"]  # a ranking report trains its best epoch
    assert {name: result["params"][name] for name in same} == {name: named.params[name] for name in same}
    assert score == named.value and result["best_epoch"] == named.user_attrs["best_epoch"]
    assert result["trials"] == sum(result["states"].values()) == result["states"]["complete"]


def test_a_dead_workers_trial_is_failed_and_not_counted_as_complete(split, tmp_path):
    url = f"sqlite:///{tmp_path}/dead.sqlite3"
    study = tuning.create_study("dead", url, heartbeat=(1, 2))
    study.add_trial(finished_trial(0, 1.2))
    dead = study.ask()  # a worker started this trial, beat once, and was killed
    study._storage.record_heartbeat(dead._trial_id)
    import time
    time.sleep(3.5)  # SQLite keeps heartbeat times to the second
    result = tuning.final_scores(tuning.create_study("dead", url, heartbeat=(1, 2)), split, {"seed": 0})
    states = [trial.state.name for trial in optuna.load_study(study_name="dead", storage=url).trials]
    assert states[:2] == ["COMPLETE", "FAIL"]
    assert result["states"].get("complete") == 1 and result["states"].get("running", 0) == 0


def test_a_live_workers_epoch_fails_a_dead_workers_trial(tmp_path, monkeypatch):
    """Not only a trial start: any live worker's epoch report fails a trial whose heartbeat is stale."""
    from mfcore.tuning import study as study_module
    monkeypatch.setattr(study_module, "HEARTBEAT_SECONDS", 0)  # check at every epoch, for the test
    url = f"sqlite:///{tmp_path}/live.sqlite3"
    study = tuning.create_study("live", url, heartbeat=(1, 2))
    dead, live = study.ask(), study.ask()
    for trial in (dead, live):
        study._storage.record_heartbeat(trial._trial_id)
    import time
    time.sleep(3.5)  # SQLite keeps heartbeat times to the second
    study._storage.record_heartbeat(live._trial_id)  # the live worker's heartbeat thread
    study_module.judge_epoch(live, 1, 1.0, None, judge_from=99)
    states = [trial.state.name for trial in optuna.load_study(study_name="live", storage=url).trials]
    assert states[:2] == ["FAIL", "RUNNING"]
