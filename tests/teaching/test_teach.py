"""The update stepper makes the engines' moves, one rating at a time, and describes them."""

import numpy as np
import pytest

from dashboard.logic.lesson_figures import NETFLIX_ITEMS, NETFLIX_USERS, dense_matrix_bytes, update_latex
from mfcore import SGDFactorizer, from_arrays, load_ratings
from mfcore.teaching import UpdateStepper, dense_slice

TOY = "sample_data/toy.csv"
PARAMS = dict(n_factors=3, lr=0.05, reg=0.02, init_std=0.1, seed=7)


@pytest.fixture(scope="module")
def toy():
    return load_ratings(TOY)


@pytest.mark.parametrize("biased", [True, False])
def test_two_epochs_of_steps_equal_the_python_engine_exactly(toy, biased):
    stepper = UpdateStepper(toy, biased=biased, **PARAMS)
    records = [stepper.step() for _ in range(3)] + stepper.finish_epoch() + stepper.finish_epoch()
    assert len(records) == 2 * len(toy) and [r.step for r in records] == list(range(1, 101))
    assert (stepper.epoch, stepper.position) == (2, len(toy))
    model = SGDFactorizer(n_epochs=2, engine="python", step_rule="constant", biased=biased, **PARAMS).fit(toy)
    for mine, theirs in ((stepper.P, model.P_), (stepper.Q, model.Q_), (stepper.bu, model.bu_),
                         (stepper.bi, model.bi_)):
        np.testing.assert_array_equal(mine, theirs)
    unclipped = model.predict_codes(toy.users, toy.items, clip=False)
    np.testing.assert_allclose(stepper.predictions(), unclipped, atol=1e-5)
    assert stepper.rmse() == pytest.approx(np.sqrt(np.mean((toy.values - unclipped) ** 2)), abs=1e-5)


def test_a_record_holds_the_step_and_its_numbers_agree(toy):
    stepper = UpdateStepper(toy, **PARAMS)
    P, Q = stepper.P.copy(), stepper.Q.copy()
    record = stepper.step()
    u, i = record.u, record.i
    assert toy.user_ids[u] == record.user and toy.item_ids[i] == record.item
    assert record.prediction == pytest.approx(stepper.mu + P[u] @ Q[i], abs=1e-6)
    assert record.error == pytest.approx(record.rating - record.prediction, abs=1e-6)
    np.testing.assert_array_equal(record.p_old, P[u])
    np.testing.assert_allclose(record.p_new, P[u] + 0.05 * (record.error * Q[i] - 0.02 * P[u]), atol=1e-7)
    np.testing.assert_allclose(record.q_new, Q[i] + 0.05 * (record.error * P[u] - 0.02 * Q[i]), atol=1e-7)
    assert record.bu_new == pytest.approx(0.05 * record.error, abs=1e-7)
    latex = update_latex(record)
    assert len(latex) == 6
    assert f"= {record.prediction:.4f}" in latex[0] and latex[1].endswith(f"= {record.error:.4f}")
    assert latex[4].endswith(r" \\ ".join(f"{v:.4f}" for v in record.p_new) + r"\end{bmatrix}")


def test_stepper_validates_like_the_estimator(toy):
    with pytest.raises(ValueError, match="lr == -1, must be None or > 0"):
        UpdateStepper(toy, lr=-1)


def test_dense_slice_keeps_the_busiest_users_and_items():
    ratings = load_ratings("sample_data/ratings.csv")
    small = dense_slice(ratings, 10, 12)
    assert small.n_users <= 10 and small.n_items <= 12 and len(small) > 50
    busiest = ratings.user_ids[np.argmax(np.bincount(ratings.users))]
    assert busiest in set(small.user_ids)


def test_dense_slice_keeps_the_files_rating_scale():
    """A slice whose lowest rating is 3 still has the file's scale 1 to 5, so its positive threshold
    (BPR on Update rule) is the one a model of the whole file uses."""
    ratings = from_arrays(["a", "a", "b", "b", "c"], [1, 2, 1, 3, 9], [5.0, 4.0, 3.0, 4.0, 1.0])
    small = dense_slice(ratings, 2, 3)
    assert small.values.min() == 3 and small.scale == ratings.scale == (1.0, 5.0)


def test_dense_error_matrix_for_netflix():
    assert dense_matrix_bytes(NETFLIX_USERS, NETFLIX_ITEMS, 8) == 68_263_668_240
    assert dense_matrix_bytes(943, 1682, 4) == 6_344_504
