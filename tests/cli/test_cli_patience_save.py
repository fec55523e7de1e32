"""`train --patience` carves the validation split Train and `holdout` carve, `train --save` writes a model
file that `recommend`/`similar` read (with titles), the script download runs, and `error:` lines end with a
newline (issue 19)."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import cli
from paths import ROOT, TOY_CSV

from mfcore import SGDFactorizer, load_ratings
from mfcore.cli import build_parser
from mfcore.evaluation.protocol import holdout, validation_split
from mfcore.evaluation.split import random_split
from mfcore.models.export import reproduction_snippet
from mfcore.models.params import SPLIT_PARAMETERS
from mfcore.models.persist import load_bundle

TRAIN = ["--factors", 8, "--epochs", 60, "--lr", 0.02, "--reg", 0.0, "--init-std", 0.1, "--engine", "numba",
         "--patience", 3]
PARAMS = {"n_factors": 8, "n_epochs": 60, "lr": 0.02, "reg": 0.0, "init_std": 0.1, "engine": "numba",
          "patience": 3}


@pytest.fixture(scope="module")
def movielens_like(tmp_path_factory):
    """A ratings.csv with numeric ids (rank-3 signal plus noise) and a movies.csv with their titles."""
    folder = tmp_path_factory.mktemp("ml")
    rng = np.random.default_rng(0)
    n_users, n_items, n = 120, 90, 5000
    users, items = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
    pairs = pd.DataFrame({"userId": users + 1, "movieId": items * 10 + 7}).drop_duplicates()
    U, V = rng.normal(0, 0.8, (n_users, 3)), rng.normal(0, 0.8, (n_items, 3))
    signal = np.einsum("nk,nk->n", U[pairs["userId"] - 1], V[(pairs["movieId"] - 7) // 10])
    pairs["rating"] = np.clip(np.round(3.5 + signal + rng.normal(0, 0.5, len(pairs))), 1, 5)
    pairs.to_csv(folder / "ratings.csv", index=False)
    movies = pd.DataFrame({"movieId": np.arange(n_items) * 10 + 7,
                           "title": [f"Movie number {i} (19{i % 90 + 10})" for i in range(n_items)],
                           "genres": "Drama"})
    movies.to_csv(folder / "movies.csv", index=False)
    return folder


def test_validation_size_lives_in_the_split_table():
    assert SPLIT_PARAMETERS["validation_size"].default == 0.1
    parser = build_parser()
    for command in ("train", "tune"):
        args = parser.parse_args([command, "x.csv"])
        assert args.validation_size == SPLIT_PARAMETERS["validation_size"].default


def test_holdout_and_validation_split_carve_the_same_ratings():
    ratings = load_ratings(TOY_CSV)
    split = holdout(ratings, 0.2, 0.25, seed=4)
    train, validation = validation_split(random_split(ratings, 0.2, seed=4)[0], 0.25, seed=4)
    assert np.array_equal(train.values, split.train.values) and np.array_equal(train.users, split.train.users)
    assert np.array_equal(validation.items, split.validation.items)
    with pytest.raises(ValueError, match="validation_size"):
        holdout(ratings, 0.1, 0.0)


def test_train_patience_save_then_recommend_from_the_shell(movielens_like, tmp_path):
    data = movielens_like
    model_file = tmp_path / "m.npz"
    done = cli("train", data / "ratings.csv", "--items", data / "movies.csv", *TRAIN, "--save", model_file,
               "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    final, epochs = lines[-1], lines[:-1]
    assert final["model_file"] == str(model_file) and all("validation_rmse" in line for line in epochs)
    # the same split and model as holdout() with the table's validation_size, in this process
    split = holdout(load_ratings(data / "ratings.csv"), seed=0)
    model = SGDFactorizer(**PARAMS).fit(split.train, split.test, validation=split.validation)
    assert final["best_epoch"] == model.best_epoch_ < len(epochs) < PARAMS["n_epochs"]
    assert final["test_rmse"] == pytest.approx(model.evaluate(split.test)["rmse"], abs=1e-9)

    bundle = load_bundle(model_file)
    assert bundle.model.best_epoch_ == model.best_epoch_
    assert len(bundle.train) == len(split.train) and len(bundle.test) == len(split.test)
    assert bundle.items is not None and bundle.items.loc[17, "title"] == "Movie number 1 (1911)"
    np.testing.assert_array_equal(bundle.model.P_, model.P_)

    user = int(split.train.user_ids[0])
    shown = cli("recommend", model_file, "--user", user, "-n", 3)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    rows = shown.stdout.splitlines()
    expected = model.recommend(user, 3)
    assert len(rows) == 3 and all("Movie number" in row for row in rows)
    titles = bundle.items["title"]
    assert [row.split(None, 2)[2] for row in rows] == [titles[item] for item in expected["item"]]
    near = cli("similar", model_file, "--item", 17, "-n", 2)
    assert near.returncode == 0 and near.stdout.startswith("items nearest to Movie number 1 (1911)")


def test_train_text_names_the_kept_epoch_and_the_file(tmp_path):
    done = cli("train", ROOT / "sample_data" / "ratings.csv", "--patience", 2, "--epochs", 30,
               "--save", tmp_path / "m.npz")
    assert done.returncode == 0, done.stderr
    assert "validation RMSE" in done.stdout and "kept epoch" in done.stdout
    assert f"saved the model to {tmp_path / 'm.npz'}" in done.stdout
    assert load_bundle(tmp_path / "m.npz").items is None  # ids are titles here: nothing to bundle


def test_script_download_with_early_stopping_runs_and_keeps_the_same_epoch(tmp_path):
    params = {**SGDFactorizer().get_params(), **PARAMS, "n_factors": 4, "lr": 0.05}
    script = tmp_path / "reproduce.py"
    script.write_text(reproduction_snippet(params, str(TOY_CSV), 0.2, 1, validation_size=0.2))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    split = holdout(load_ratings(TOY_CSV), 0.2, 0.2, seed=1)
    model = SGDFactorizer(**params).fit(split.train, split.test, validation=split.validation)
    assert f"kept epoch {model.best_epoch_} " in done.stdout
    assert repr(model.evaluate(split.test)["rmse"]) in done.stdout


def test_script_without_early_stopping_is_unchanged():
    text = reproduction_snippet(SGDFactorizer().get_params(), "x.csv", 0.1, 0)
    assert "holdout" not in text and "random_split(ratings, test_size=0.1, seed=0)" in text


@pytest.mark.parametrize("args", [
    ["recommend", "no-such-file.npz", "--user", "1"],
    ["train", "no-such-file.csv"],
    ["train", "sample_data/toy.csv", "--validation-size", "1"],
    ["train", "sample_data/toy.csv", "--save", "no-such-folder/m.npz"],
    ["train", "sample_data/toy.csv", "--save", "sample_data"],
    ["tune", "no-such-file.csv"],
    [],
])
def test_every_error_line_ends_with_a_newline(args):
    done = cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.endswith("\n") and done.stderr.count("\n") == 1
