"""Tuning a ranking model: NDCG@10 on the validation split reported every epoch, maximised, pruned;
the test set scored once beside popularity."""

import optuna
import pytest
from paths import SAMPLE_DATA

from mfcore import load_ratings, tuning
from mfcore.evaluation import topn
from mfcore.evaluation.protocol import holdout
from mfcore.tuning.ranking import MODELS


@pytest.fixture(scope="module")
def split():
    return holdout(load_ratings(SAMPLE_DATA / "ratings.csv"), 0.1, 0.1, seed=0)


@pytest.mark.parametrize("model", ["bpr", "als"])
def test_a_ranking_search_maximises_validation_ndcg(split, model, tmp_path):
    space = tuning.ranking_space(model)
    space["n_epochs"] = tuning.Range("n_epochs", 2, 4, model=model)
    space["n_factors"] = tuning.Range("n_factors", 4, 16, log=True, model=model)
    study = tuning.ranking_search(model, split, "s", f"sqlite:///{tmp_path / 's.db'}", n_trials=6, space=space,
                                  pruner="none")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert tuning.metric_name(study) == "validation NDCG@10"
    trials = study.get_trials()
    assert len(trials) == 6 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for trial in trials:  # the value is the best epoch's NDCG, every epoch reported
        assert len(trial.intermediate_values) == trial.params["n_epochs"]
        assert trial.value == max(trial.intermediate_values.values())
        assert trial.intermediate_values[trial.user_attrs["best_epoch"]] == trial.value
    rows = tuning.trials_table(study)
    assert rows[0]["validation NDCG@10"] == trials[0].value
    # the reported NDCG is the protocol's, on the validation users
    best = study.best_trial
    params = {**best.params, "n_epochs": best.user_attrs["best_epoch"], "n_threads": 1}
    refit = MODELS[model](**params).fit(split.train)
    again = topn.evaluate(refit, split.train, split.validation, 10, max_users=1000, seed=refit.seed)
    assert again["ndcg"] == pytest.approx(best.value, abs=1e-9)

    result = tuning.ranking_final_scores(model, study, split)
    assert result["validation_ndcg"] == study.best_value and 0 < result["test_ndcg"] <= 1
    assert set(result["baselines"]) == {"popularity"} and result["params"]["n_epochs"] == result["best_epoch"]
