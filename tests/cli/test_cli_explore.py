"""`python -m mfcore recommend` and `similar` on a saved model: tables, JSON lines, one-line errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from paths import ROOT

from mfcore import SGDFactorizer, load_ratings, random_split
from mfcore.cli import main
from mfcore.explore import similar_items
from mfcore.models.persist import save_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    ratings = load_ratings(ROOT / "sample_data" / "ratings.csv")
    train, test = random_split(ratings, 0.1, seed=0)
    model = SGDFactorizer(n_factors=10, n_epochs=5).fit(train, test)
    folder = tmp_path_factory.mktemp("models")
    items = pd.DataFrame({"title": [f"Film {i}" for i in model.item_ids_]}, index=model.item_ids_)
    save_model(model, folder / "titled.npz", train, test, items)
    model.save(folder / "plain.npz")
    return model, folder


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_recommend_prints_the_models_top_items(saved, capsys):
    model, folder = saved
    user = model.user_ids_[3]
    code, out, err = run(capsys, "recommend", folder / "plain.npz", "--user", user, "-n", 4, "--json")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    expected = model.recommend(user, 4)
    assert [row["item"] for row in rows] == list(expected["item"]) and [row["rank"] for row in rows] == [1, 2, 3, 4]
    assert [row["score"] for row in rows] == pytest.approx(list(expected["score"]), abs=1e-6)
    code, out, _ = run(capsys, "recommend", folder / "titled.npz", "--user", user, "-n", 2)
    assert code == 0 and out.splitlines()[0].endswith(f"Film {expected['item'][0]}")


def test_similar_prints_cosine_neighbours(saved, capsys):
    model, folder = saved
    item = model.item_ids_[5]
    code, out, _ = run(capsys, "similar", folder / "titled.npz", "--item", item, "-n", 3, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    expected = similar_items(model, 5, 3)
    assert code == 0 and [row["item"] for row in rows] == list(model.item_ids_[expected["code"]])
    assert [row["cosine"] for row in rows] == pytest.approx(list(expected["cosine"]))


@pytest.mark.parametrize("args, message", [
    (["recommend", "{plain}", "--user", "no-such-user"], "error: user 'no-such-user' is not in the model"),
    (["similar", "{plain}", "--item", "no-such-item"], "error: item 'no-such-item' is not in the model"),
    (["recommend", "{csv}", "--user", "1"], "error: ratings.csv is not an mfcore model file"),
    (["recommend", "{plain}"], "error: the following arguments are required: --user"),
    (["similar", "{plain}", "--item", "1", "-n", "0"], "error: argument -n: 0 is not an integer >= 1"),
])
def test_bad_input_exits_2_with_one_line(saved, capsys, args, message):
    _, folder = saved
    paths = {"plain": folder / "plain.npz", "csv": ROOT / "sample_data" / "ratings.csv"}
    code, out, err = run(capsys, *(arg.format(**paths) for arg in args))
    assert code == 2 and out == "" and err.startswith(message) and err.count("\n") == 1


def test_a_truncated_file_through_the_real_command_line(saved, tmp_path):
    _, folder = saved
    cut = tmp_path / "cut.npz"
    cut.write_bytes((folder / "plain.npz").read_bytes()[:4000])
    done = subprocess.run([sys.executable, "-m", "mfcore", "similar", str(cut), "--item", "1"],
                          check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: cut.npz is not an mfcore model file") and "truncated" in done.stderr
    assert done.stderr.count("\n") == 1
