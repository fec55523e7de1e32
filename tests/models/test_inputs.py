"""Every model's fit takes Ratings, any scipy.sparse format, a DataFrame or (users, items, values) arrays
through the one as_ratings, and learns the same factors from each; bad inputs get one sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mfcore import ALSFactorizer, BPRFactorizer, DataError, SGDFactorizer, from_arrays
from mfcore.data.coerce import as_ratings

MODELS = {
    SGDFactorizer: {"n_factors": 4, "n_epochs": 3, "engine": "numba", "seed": 5},
    BPRFactorizer: {"n_factors": 4, "n_epochs": 3, "n_threads": 1, "seed": 5},
    ALSFactorizer: {"n_factors": 4, "n_epochs": 3, "n_threads": 1, "seed": 5},
}


@pytest.fixture(scope="module")
def cells():
    """(rows, cols, values) of a 30 x 20 matrix in which every row and column holds a rating."""
    rng = np.random.default_rng(0)
    mask = rng.random((30, 20)) < 0.3
    mask[np.arange(30), np.arange(30) % 20] = True
    rows, cols = np.nonzero(mask)
    return rows, cols, rng.integers(1, 6, len(rows)).astype(np.float64)


def inputs(rows, cols, values) -> dict:
    coo = sp.coo_matrix((values, (rows, cols)), shape=(30, 20))
    return {
        "csr_matrix": coo.tocsr(), "csc_matrix": coo.tocsc(), "coo_matrix": coo, "dok_matrix": coo.todok(),
        "lil_matrix": coo.tolil(), "bsr_matrix": coo.tobsr(), "csr_array": sp.csr_array(coo),
        "coo_array": sp.coo_array(coo),
        "DataFrame by name": pd.DataFrame({"userId": rows, "movieId": cols, "rating": values}),
        "DataFrame by position": pd.DataFrame({"a": rows, "b": cols, "c": values}),
        "arrays": (rows, cols, values), "arrays with shape": (rows, cols, values),
    }


@pytest.mark.parametrize("model", list(MODELS), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("kind", list(inputs(*[np.zeros(1, int)] * 2, np.ones(1))))
def test_every_input_kind_gives_the_factors_of_ratings(model, kind, cells):
    reference = model(**MODELS[model]).fit(from_arrays(*cells))
    given = inputs(*cells)[kind]
    fitted = model(**MODELS[model])
    fitted.fit(given) if kind != "arrays with shape" else fitted.fit(as_ratings(given, shape=(30, 20)))
    np.testing.assert_array_equal(fitted.P_, reference.P_)
    np.testing.assert_array_equal(fitted.Q_, reference.Q_)
    np.testing.assert_array_equal(fitted.user_ids_, reference.user_ids_)


def test_a_sparse_test_set_is_scored_like_its_ratings(cells):
    rows, cols, values = cells
    test_rows = np.arange(len(rows)) % 5 == 0
    matrix = {part: sp.csr_matrix((values[m], (rows[m], cols[m])), shape=(30, 20))
              for part, m in (("train", ~test_rows), ("test", test_rows))}
    ratings = from_arrays(rows[~test_rows], cols[~test_rows], values[~test_rows])
    test = as_ratings(matrix["test"], ratings)
    a = SGDFactorizer(**MODELS[SGDFactorizer]).fit(matrix["train"], matrix["test"])
    b = SGDFactorizer(**MODELS[SGDFactorizer]).fit(ratings, test)
    assert [r.test_rmse for r in a.history_] == [r.test_rmse for r in b.history_]
    assert len(test) == test_rows.sum() and a.history_[-1].test_rmse > 0  # every row and column is in train


def test_ids_of_any_type_are_kept_for_recommend():
    frame = pd.DataFrame({"user": ["ana", "ana", "ben", "ben", "cy", "cy"],
                          "item": ["x", "y", "y", "z", "x", "z"], "stars": [5, 3, 4, 2, 5, 1]})
    for model in (SGDFactorizer(n_factors=2, n_epochs=2), ALSFactorizer(n_factors=2, positive_level=None)):
        model.fit(frame)
        assert list(model.user_ids_) == ["ana", "ben", "cy"]
        assert set(model.recommend("ana", n=5)["item"]) == {"z"}


def test_unknown_ids_of_an_evaluation_set_are_left_out_and_said():
    train = pd.DataFrame({"user": [1, 1, 2, 2], "item": [1, 2, 1, 2], "rating": [5, 3, 4, 2]})
    test = pd.DataFrame({"user": [1, 9], "item": [2, 1], "rating": [3, 1]})
    coded = as_ratings(test, as_ratings(train), what="the test set")
    assert len(coded) == 1 and "Left out 1 rating" in coded.summary.warnings[0]


def test_stored_zeros_are_not_ratings():
    matrix = sp.csr_matrix((np.array([4.0, 0.0, 2.0]), (np.array([0, 1, 1]), np.array([1, 0, 1]))), shape=(2, 2))
    ratings = as_ratings(matrix)
    assert len(ratings) == 2 and ratings.summary.warnings == ("Left out 1 stored zero (a zero is no rating).",)
    assert (ratings.n_users, ratings.n_items) == (2, 2)  # every row and column of the shape is kept


BAD = {
    "negative shape": (lambda: as_ratings(([0, 1], [0, 1], [1.0, 2.0]), shape=(-1, 2)), "shape == (-1, 2)"),
    "NaN value": (lambda: SGDFactorizer().fit(sp.csr_matrix(np.array([[np.nan, 1.0], [2.0, 0.0]]))),
                  "(row 0, column 0) is nan"),
    "empty matrix": (lambda: ALSFactorizer().fit(sp.csr_matrix((3, 4))), "is empty"),
    "duplicate pairs in COO": (
        lambda: BPRFactorizer().fit(sp.coo_matrix((np.ones(2), (np.array([1, 1]), np.array([2, 2]))), shape=(3, 3))),
        "stores (row 1, column 2) more than once"),
    "dense array": (lambda: SGDFactorizer().fit(np.ones((3, 3))), "dense 3 x 3 array"),
    "something else": (lambda: SGDFactorizer().fit("ratings.csv"), "not str"),
    "index outside the shape": (lambda: as_ratings(([0, 5], [0, 1], [1.0, 2.0]), shape=(3, 3)),
                                "row index 5 is outside"),
    "NaN in a DataFrame": (lambda: SGDFactorizer().fit(pd.DataFrame({"u": [1, 2], "i": [1, 2], "r": [1, np.nan]})),
                           "the rating is missing"),
    "shape with a sparse matrix": (lambda: as_ratings(sp.csr_matrix(np.eye(3)), shape=(3, 3)),
                                   "shape= goes with (rows, cols, values) arrays only, not with csr_matrix input"),
    "shape with a DataFrame": (lambda: as_ratings(pd.DataFrame({"u": [1], "i": [1], "r": [4.0]}), shape=(2, 2)),
                               "not with DataFrame input, which has its own users and items"),
    "shape with Ratings": (lambda: as_ratings(as_ratings(([0, 1], [0, 1], [1.0, 2.0])), shape=(2, 2)),
                           "not with Ratings input"),
    "shape with a dense array": (lambda: as_ratings(np.ones((3, 3)), shape=(3, 3)), "not with ndarray input"),
    "shape with 2-D index arrays": (lambda: as_ratings((np.zeros((2, 1), int), [0, 1], [1.0, 2.0]), shape=(3, 3)),
                                    "the row indices must be integers, one per value"),
    "shape with string ids": (lambda: as_ratings((["a", "b"], [0, 1], [1.0, 2.0]), shape=(3, 3)),
                              "the row indices must be integers"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_get_one_sentence(case):
    call, words = BAD[case]
    with pytest.raises(DataError) as caught:
        call()
    message = str(caught.value)
    assert words in message and "\n" not in message and message.endswith(".")
