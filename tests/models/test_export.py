"""Export helpers (factor files, history, reproduction snippet), the column sniffer and the engine
agreement check that the dashboard relies on."""

import io
import runpy

import numpy as np
import pandas as pd
import pytest
from paths import TOY_CSV as TOY

from mfcore import SGDFactorizer, load_ratings, random_split
from mfcore.data import sniff_columns
from mfcore.evaluation.bench import max_factor_difference
from mfcore.models.export import factors_csv, factors_npz, history_frame, reproduction_snippet


@pytest.fixture(scope="module")
def fitted():
    ratings = load_ratings(TOY)
    train, test = random_split(ratings, 0.2, seed=1)
    return SGDFactorizer(n_factors=4, n_epochs=3, seed=2).fit(train, test), test


def test_npz_reloads_without_pickle(fitted):
    model, _ = fitted
    data = np.load(io.BytesIO(factors_npz(model)), allow_pickle=False)
    np.testing.assert_array_equal(data["P"], model.P_)
    np.testing.assert_array_equal(data["bi"], model.bi_)
    assert list(data["item_ids"]) == [str(i) for i in model.item_ids_]
    assert float(data["global_mean"]) == pytest.approx(model.global_mean_)


def test_factors_csv_has_a_row_per_user_and_item(fitted):
    model, _ = fitted
    frame = pd.read_csv(io.BytesIO(factors_csv(model)))
    assert list(frame.columns[:3]) == ["kind", "id", "bias"]
    assert (frame["kind"] == "user").sum() == model.P_.shape[0]
    assert (frame["kind"] == "item").sum() == model.Q_.shape[0]
    users = frame[frame["kind"] == "user"].iloc[:, 3:].to_numpy()
    np.testing.assert_allclose(users, model.P_, rtol=1e-6)


def test_history_frame(fitted):
    model, _ = fitted
    frame = history_frame(model.history_)
    assert list(frame["epoch"]) == [1, 2, 3]
    assert frame["test_rmse"].notna().all()


def test_snippet_reproduces_the_run(fitted, capsys, tmp_path):
    model, test = fitted
    script = tmp_path / "reproduce.py"
    script.write_text(reproduction_snippet(model.get_params(), str(TOY), 0.2, 1))
    runpy.run_path(str(script))
    printed = capsys.readouterr().out
    assert f"{model.history_[-1].test_rmse!r}" in printed
    assert f"{model.evaluate(test)['rmse']!r}" in printed


def test_snippet_with_default_params_is_valid_python():
    compile(reproduction_snippet(SGDFactorizer().get_params(), "x.csv", 0.1, 0), "<snippet>", "exec")


def test_sniff_columns():
    assert not sniff_columns(b"user,item,rating\n1,2,3\n").ambiguous
    assert not sniff_columns(b"1\t2\t3\n").header
    guess = sniff_columns(b"who,what,title,stars\n1,2,x,3\n")
    assert guess.header and guess.ambiguous and guess.fields[3] == "stars"


def test_python_and_numba_agree():
    train = load_ratings(TOY)
    params = SGDFactorizer(n_factors=8, seed=3).get_params()
    assert max_factor_difference(train, params, n_ratings=300) < 1e-4
