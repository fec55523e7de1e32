"""BPR's pairwise step for teaching: the same numbers as the model's kernel on the same triple, the
sigmoid and gradients as the formulas say, and a stepper that learns the toy set's preferences."""

import numpy as np
import pytest
from paths import TOY_CSV

from mfcore import load_ratings
from mfcore.engines import bpr as kernels
from mfcore.teaching import BPRStepper, bpr_step


def state(seed=3, users=4, items=6, k=5):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.3, (users, k)).astype(np.float32), rng.normal(0, 0.3, (items, k)).astype(np.float32),
            rng.normal(0, 0.2, items).astype(np.float32))


@pytest.mark.parametrize("triple", [(0, 1, 2), (3, 5, 0), (2, 4, 4 - 3)])
def test_the_step_is_the_kernels_on_the_same_triple(triple):
    u, i, j = triple
    lr, reg = np.float32(0.07), np.float32(0.02)
    P, Q, b = state()
    P2, Q2, b2 = P.copy(), Q.copy(), b.copy()
    loss = kernels.triple_step(P2, Q2, b2, u, i, j, lr, reg)
    record = bpr_step(P, Q, b, u, i, j, float(lr), float(reg))
    assert record.loss == pytest.approx(float(loss), rel=1e-5)
    for mine, kernel in ((P, P2), (Q, Q2), (b, b2)):
        np.testing.assert_allclose(mine, kernel, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(record.p_new, P2[u], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(record.qj_new, Q2[j], rtol=1e-5, atol=1e-7)


def test_the_numbers_are_the_formulas():
    P, Q, b = state()
    p, qi, qj, bi, bj = P[1].astype(float), Q[2].astype(float), Q[4].astype(float), float(b[2]), float(b[4])
    r = bpr_step(P, Q, b, 1, 2, 4, 0.1, 0.01)
    assert r.x_uij == pytest.approx((bi + p @ qi) - (bj + p @ qj))
    assert r.bj_new == pytest.approx(bj + 0.1 * (-r.z - 0.01 * bj))
    assert r.sigmoid == pytest.approx(1 / (1 + np.exp(-r.x_uij))) and r.z == pytest.approx(1 - r.sigmoid)
    assert r.loss == pytest.approx(-np.log(r.sigmoid))
    np.testing.assert_allclose(r.grad_p, r.z * (qi - qj) - 0.01 * p)
    np.testing.assert_allclose(r.grad_qi, r.z * p - 0.01 * qi)
    np.testing.assert_allclose(r.grad_qj, -r.z * p - 0.01 * qj)
    np.testing.assert_allclose(r.qi_new, qi + 0.1 * r.grad_qi)
    assert r.x_ui - r.x_uj == pytest.approx(r.x_uij)


def test_the_stepper_learns_to_order_positives_first():
    stepper = BPRStepper(load_ratings(TOY_CSV), n_factors=3, lr=0.1, reg=0.01, seed=0)
    before = stepper.auc()
    for _ in range(3000):
        record = stepper.step()
        assert record.j not in set(stepper.items[stepper.users == record.u])
        assert record.i in set(stepper.items[stepper.users == record.u])
    assert stepper.steps == 3000 and stepper.auc() > max(before, 0.8)
