"""`train --model bpr|als` from the shell: the kind's table defaults, NDCG@10 per epoch, `--save`; then
`recommend` and `similar` read the file of every kind and print titles (issue 17)."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import cli

from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS
from mfcore.models.persist import load_bundle


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """ratings.csv (two taste groups, 5 stars inside, 1 star across) and movies.csv with titles."""
    folder = tmp_path_factory.mktemp("ml")
    rng = np.random.default_rng(0)
    rows = []
    for user in range(80):
        liked = [i for i in range(60) if i % 2 == user % 2]
        rows += [(user + 1, 10 * i + 7, 5.0) for i in rng.choice(liked, 12, replace=False)]
        rows += [(user + 1, 10 * i + 7, 1.0) for i in rng.choice(60, 3, replace=False) if i % 2 != user % 2]
    pd.DataFrame(rows, columns=["userId", "movieId", "rating"]).to_csv(folder / "ratings.csv", index=False)
    pd.DataFrame({"movieId": np.arange(60) * 10 + 7, "title": [f"Film {i}" for i in range(60)],
                  "genres": "Drama"}).to_csv(folder / "movies.csv", index=False)
    return folder


@pytest.mark.parametrize("kind, table, extra", [("als", ALS_PARAMETERS, ["--alpha", 5]),
                                                ("bpr", BPR_PARAMETERS, ["--lr", 0.1])])
def test_train_a_ranking_model_save_recommend_similar(data, tmp_path, kind, table, extra):
    model_file = tmp_path / f"{kind}.npz"
    done = cli("train", data, "--model", kind, "--epochs", 4, "--factors", 8, *extra, "--save", model_file,
               "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    epochs, final = lines[:-1], lines[-1]
    assert [line["epoch"] for line in epochs] == [1, 2, 3, 4]
    assert all(0 <= line["test_ndcg"] <= 1 for line in epochs) and final["test_ndcg"] > final["popularity_ndcg"]
    model = load_bundle(model_file).model
    assert kind == model.KIND and (model.n_factors, model.n_epochs) == (8, 4)
    given = {"alpha": 5} if kind == "als" else {"lr": 0.1}
    for name, param in table.items():  # the rest are the kind's own defaults, not the rating model's
        if name not in ("n_factors", "n_epochs"):
            assert getattr(model, name) == given.get(name, param.default), name

    shown = cli("recommend", model_file, "--user", 1, "-n", 3)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    expected = model.recommend(1, 3)
    assert [row.split(None, 2)[2] for row in shown.stdout.splitlines()] == [
        f"Film {(item - 7) // 10}" for item in expected["item"]]
    near = cli("similar", model_file, "--item", 17, "-n", 2, "--json")
    assert near.returncode == 0, near.stderr
    rows = [json.loads(line) for line in near.stdout.splitlines()]
    assert [row["item"] for row in rows] == list(model.similar_items(17, 2)["item"])
    assert all(row["title"].startswith("Film ") for row in rows)


def test_options_of_another_model_are_refused():
    done = cli("train", "sample_data/toy.csv", "--model", "als", "--lr", 0.1)
    assert done.returncode == 2 and "--model als has no option --lr" in done.stderr
    done = cli("train", "sample_data/toy.csv", "--alpha", 3)
    assert done.returncode == 2 and done.stderr.endswith("add --model als\n")  # the model that has it
    done = cli("train", "sample_data/toy.csv", "--shrinkage", 3)
    assert done.returncode == 2 and done.stderr.endswith("add --model itemknn\n")
    done = cli("train", "sample_data/toy.csv", "--model", "ease", "--neighbors", 5)
    assert done.returncode == 2 and "--model ease has no option --n-neighbors" in done.stderr


def test_train_item_models_and_save(tmp_path):
    for kind in ("ease", "itemknn"):
        path = tmp_path / f"{kind}.npz"
        done = cli("train", "sample_data/toy.csv", "--model", kind, "--save", path, "--json")
        assert done.returncode == 0, done.stderr
        final = json.loads(done.stdout.splitlines()[-1])
        assert final["model_file"] == str(path) and final["fit_seconds"] >= 0
        from mfcore.models.persist import load_model
        assert kind == load_model(path).KIND
