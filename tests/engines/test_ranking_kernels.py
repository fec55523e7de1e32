"""The ranking kernels against slow references on tiny data: one BPR step by hand, ALS's conjugate
gradient against a dense exact solve."""

from __future__ import annotations

import numpy as np
import pytest

from mfcore.engines import als, bpr


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_bpr_step_matches_the_formulas():
    rng = np.random.default_rng(3)
    P = rng.normal(0, 0.3, (3, 5)).astype(np.float32)
    Q = rng.normal(0, 0.3, (4, 5)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    lr, reg, u, i, j = 0.1, 0.05, 1, 2, 0
    p0, qi0, qj0, bi0, bj0 = (P[u].astype(np.float64), Q[i].astype(np.float64), Q[j].astype(np.float64),
                              float(b[i]), float(b[j]))
    x = bi0 - bj0 + p0 @ (qi0 - qj0)
    z = _sigmoid(-x)
    loss = bpr.triple_step(P, Q, b, u, i, j, np.float32(lr), np.float32(reg))
    assert loss == pytest.approx(-np.log(_sigmoid(x)), rel=1e-5)
    np.testing.assert_allclose(P[u], p0 + lr * (z * (qi0 - qj0) - reg * p0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Q[i], qi0 + lr * (z * p0 - reg * qi0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Q[j], qj0 + lr * (-z * p0 - reg * qj0), rtol=1e-5, atol=1e-6)
    assert b[i] == pytest.approx(bi0 + lr * (z - reg * bi0), rel=1e-5)
    assert b[j] == pytest.approx(bj0 + lr * (-z - reg * bj0), rel=1e-5)


def test_bpr_step_ascends_log_sigmoid():
    """A small step raises ln sigma(x_uij) (the gradient points the right way)."""
    rng = np.random.default_rng(0)
    P = rng.normal(0, 0.3, (1, 4)).astype(np.float32)
    Q = rng.normal(0, 0.3, (2, 4)).astype(np.float32)
    b = np.zeros(2, np.float32)
    before = bpr.triple_step(P.copy(), Q.copy(), b.copy(), 0, 0, 1, np.float32(0), np.float32(0))
    bpr.triple_step(P, Q, b, 0, 0, 1, np.float32(0.01), np.float32(0))
    after = bpr.triple_step(P, Q, b, 0, 0, 1, np.float32(0), np.float32(0))
    assert after < before


def test_is_positive_binary_search():
    indptr = np.array([0, 3, 3, 5], np.int64)
    indices = np.array([1, 4, 7, 0, 2], np.int32)
    users = np.array([0, 0, 0, 1, 2, 2, 2], np.int32)
    items = np.array([4, 5, 7, 0, 0, 1, 2], np.int32)
    out = np.empty(len(users), np.bool_)
    bpr.is_positive(users, items, indptr, indices, out)
    assert out.tolist() == [True, False, True, False, True, False, True]


@pytest.mark.parametrize("exponent, offset", [(0.0, 0.0), (1.0, 0.0), (0.5, 7.0)])
def test_als_cg_converges_to_the_exact_solve(exponent, offset):
    """With K conjugate-gradient steps (exact in exact arithmetic) every row equals the dense solve."""
    rng = np.random.default_rng(1)
    n_rows, n_items, k = 4, 9, 5
    Y = rng.normal(0, 0.5, (n_items, k)).astype(np.float32)
    rows = [np.array([0, 3, 4]), np.array([1]), np.array([], int), np.array([2, 5, 6, 7, 8])]
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    indices = np.concatenate(rows).astype(np.int32)
    conf = (1 + 5 * rng.random(len(indices))).astype(np.float32)
    X = rng.normal(0, 0.1, (n_rows, k)).astype(np.float32)
    reg = 0.3
    als.half_step(indptr, indices, conf, X, Y, reg, exponent, cg_steps=3 * k, n_threads=1, offset=offset)
    for u, items in enumerate(rows):
        expected = als.exact_row(items, conf[indptr[u]:indptr[u + 1]], Y, reg, exponent, offset=offset)
        np.testing.assert_allclose(X[u], expected, rtol=1e-3, atol=1e-4)
    assert not X[2].any()  # no positive: x = 0
    if offset:  # the offset counts: lambda (n + o)^nu, not lambda n^nu
        plain = als.exact_row(rows[0], conf[:3], Y, reg, exponent)
        assert np.abs(plain - X[0]).max() > 1e-3


def _reference_cg(items, conf, x, Y, reg, exponent, offset, steps):
    """The kernel's conjugate gradient for one row, written plainly in float64."""
    Yi, c = Y[items].astype(np.float64), conf.astype(np.float64)
    Y64 = Y.astype(np.float64)
    lam = reg * (len(items) + offset) ** exponent

    def A(v):
        return Y64.T @ (Y64 @ v) + lam * v + Yi.T @ ((c - 1) * (Yi @ v))

    x = x.astype(np.float64)
    r = Yi.T @ c - A(x)
    p, rsold = r.copy(), r @ r
    for _ in range(steps):
        Ap = A(p)
        step = rsold / (p @ Ap)
        x, r = x + step * p, r - step * Ap
        rsnew = r @ r
        p, rsold = r + rsnew / rsold * p, rsnew
    return x


@pytest.mark.parametrize("k, n_threads", [(3, 1), (13, 2), (64, 1)])
def test_als_rows_in_lockstep_take_the_plain_cg_steps(k, n_threads):
    """Three warm-started steps per row (far from converged), rows solved in blocks: each row as its own
    plain CG run would leave it, rows with many, few and no positives side by side."""
    rng = np.random.default_rng(4)
    n_rows, n_items = 21, 40
    Y = rng.normal(0, 0.3, (n_items, k)).astype(np.float32)
    lists = [np.sort(rng.choice(n_items, n, replace=False)) for n in rng.integers(0, 30, n_rows)]
    indptr = np.zeros(n_rows + 1, np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.concatenate(lists).astype(np.int32)
    conf = (1 + 9 * rng.random(len(indices))).astype(np.float32)
    X = rng.normal(0, 0.3, (n_rows, k)).astype(np.float32)
    expected = [_reference_cg(items, conf[indptr[u]:indptr[u + 1]], X[u], Y, 0.4, 0.5, 2.0, 3) if len(items)
                else np.zeros(k) for u, items in enumerate(lists)]
    als.half_step(indptr, indices, conf, X, Y, 0.4, 0.5, 3, n_threads=n_threads, offset=2.0)
    np.testing.assert_allclose(X, np.array(expected), rtol=2e-4, atol=2e-5)


def test_als_threads_do_not_change_the_result():
    rng = np.random.default_rng(2)
    n_rows, n_items, k = 500, 30, 6
    Y = rng.normal(0, 0.5, (n_items, k)).astype(np.float32)
    indptr = np.zeros(n_rows + 1, np.int64)
    lists = [np.sort(rng.choice(n_items, rng.integers(1, 10), replace=False)) for _ in range(n_rows)]
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.concatenate(lists).astype(np.int32)
    conf = np.full(len(indices), 11, np.float32)
    X1 = rng.normal(0, 0.1, (n_rows, k)).astype(np.float32)
    X2 = X1.copy()
    als.half_step(indptr, indices, conf, X1, Y, 0.5, 1.0, 3, n_threads=1)
    als.half_step(indptr, indices, conf, X2, Y, 0.5, 1.0, 3, n_threads=2)
    np.testing.assert_array_equal(X1, X2)


def test_balanced_chunks_cover_every_row():
    indptr = np.cumsum([0, 100, 1, 1, 1, 50, 2, 2]).astype(np.int64)
    bounds = als.balanced_chunks(indptr, 4, 3)
    assert bounds[0] == 0 and bounds[-1] == 7 and np.all(np.diff(bounds) > 0)
    indptr = np.arange(0, 2 * 61, 2, dtype=np.int64)  # 60 rows, cut at multiples of 8
    bounds = als.balanced_chunks(indptr, 4, 5, multiple=8)
    assert bounds[0] == 0 and bounds[-1] == 60 and np.all(np.diff(bounds) > 0) and np.all(bounds[1:-1] % 8 == 0)


@pytest.mark.jit_only
@pytest.mark.parametrize("k", [64, 37, 3])
def test_als_rows_do_not_depend_on_array_addresses_or_chunks(k):
    """The vectorised reductions give the same bits whatever the arrays' alignment and the row ranges
    (the determinism story of mfcore.engines.als.FASTMATH)."""
    rng = np.random.default_rng(5)
    n_rows, n_items = 120, 90
    Y0 = rng.normal(0, 0.3, (n_items, k)).astype(np.float32)
    lists = [np.sort(rng.choice(n_items, rng.integers(1, 40), replace=False)) for _ in range(n_rows)]
    indptr = np.zeros(n_rows + 1, np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.concatenate(lists).astype(np.int32)
    conf = np.full(len(indices), 11, np.float32)
    X0 = rng.normal(0, 0.1, (n_rows, k)).astype(np.float32)

    def shifted(a, offset):  # a copy starting `offset` floats into a fresh buffer
        view = np.empty(a.size + 16, np.float32)[offset:offset + a.size].reshape(a.shape)
        view[...] = a
        return view

    results = set()
    for offset in range(8):
        Y, X = shifted(Y0, offset), shifted(X0, (5 * offset) % 8)
        G = shifted(als.gram(Y), (3 * offset) % 8)
        cuts = [0, *sorted(rng.choice(np.arange(1, n_rows), offset, replace=False)), n_rows]
        for start, stop in zip(cuts[:-1], cuts[1:]):
            als.solve_range(indptr, indices, conf, X, Y, G, np.float32(0.5), np.float32(1), 3, start, stop)
        results.add(X.tobytes())
    assert len(results) == 1


def test_bpr_sampled_negatives_are_never_positives_and_cover_the_rest():
    """run_epoch_sampled draws every negative among the user's non-positives: with zero factors a
    drawn negative j only lowers b_j, so positives 1..4 (never visited) keep b = 0 and every other item
    is drawn; the same seed gives the same biases."""
    indptr = np.array([0, 5], np.int64)
    indices = np.arange(5, dtype=np.int32)
    users = np.zeros(2000, np.int32)
    positives = np.zeros(2000, np.int32)
    runs = []
    for bits in (bpr.positive_bits(indptr, indices, 10), bpr.positive_bits(indptr, indices, 10),
                 np.zeros(0, np.uint8)):  # the bitset, then binary search: the same draws
        P, Q, b = np.zeros((1, 4), np.float32), np.zeros((10, 4), np.float32), np.zeros(10, np.float32)
        bpr.run_epoch_sampled(users, positives, indptr, indices, bits, P, Q, b, np.float32(0.001),
                              np.float32(0), np.array([12345], np.uint64), n_threads=1)
        runs.append(b)
    b = runs[0]
    assert np.all(b[1:5] == 0) and b[0] > 0 and np.all(b[5:] < 0)
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    assert (b[5:] / b[5:].sum()).min() > 0.1  # about uniform over the 5 non-positives (each ~0.2)


def test_both_sides_groups_the_positives_as_sorted_csr():
    rng = np.random.default_rng(5)
    pairs = np.unique(np.c_[rng.integers(0, 9, 60), rng.integers(0, 7, 60)], axis=0)
    pairs = pairs[rng.permutation(len(pairs))]
    users, items = pairs[:, 0].astype(np.int32), pairs[:, 1].astype(np.int32)
    conf = rng.random(len(users)).astype(np.float32)
    (u_ptr, u_items, u_conf), (i_ptr, i_users, i_conf) = als.both_sides(users, items, conf, 10, 8)
    by_user, by_item = np.lexsort((items, users)), np.lexsort((users, items))
    np.testing.assert_array_equal(u_ptr, np.r_[0, np.cumsum(np.bincount(users, minlength=10))])
    np.testing.assert_array_equal(u_items, items[by_user])
    np.testing.assert_array_equal(u_conf, conf[by_user])
    np.testing.assert_array_equal(i_ptr, np.r_[0, np.cumsum(np.bincount(items, minlength=8))])
    np.testing.assert_array_equal(i_users, users[by_item])
    np.testing.assert_array_equal(i_conf, conf[by_item])
