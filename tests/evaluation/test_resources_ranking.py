"""The ranking models' memory estimate against what their training really allocates, and the one guard
that refuses them early (the SGD formula missed their per-epoch evaluation, a users x items matrix)."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from dashboard.logic.run_driver import RANKING_EVAL_USERS, fit_steps
from mfcore import ALSFactorizer, BPRFactorizer, random_split
from conftest import uniform_ratings
from mfcore.evaluation.resources import (
    MemoryGuardError,
    check_training_memory,
    count_positives,
    ranking_options,
    ranking_peak_bytes,
    training_peak_bytes,
)

MODELS = {"bpr": BPRFactorizer, "als": ALSFactorizer}
BOUND = 1.6
"""The estimate is at most this many times the traced peak: it counts each phase's arrays as the code
allocates them (measured 1.25-1.45x on these sizes: the 25% MARGIN, plus the positives counted over the
whole dataset and the larger of two temporaries where NumPy frees one first)."""


def traced_dashboard_run(model, ratings):
    """The tracemalloc peak of a Train run: the split, then ``fit_iter`` with the dashboard's evaluation."""
    type(model)(n_factors=model.n_factors, n_epochs=1, n_threads=1).fit(ratings.take(np.arange(50)))  # compile
    tracemalloc.start()
    try:
        train, test = random_split(ratings, 0.1, 0)
        for _ in fit_steps(model, train, test):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["bpr", "als"])
@pytest.mark.parametrize("users, items, n, k, extra", [
    (2_000, 1_000, 300_000, 20, {}),                  # the evaluation's score batch and the per-rating arrays
    (500, 8_000, 40_000, 16, {}),                     # many items: the evaluation's 24 B I dominates
    (30_000, 3_000, 100_000, 200, {}),                # drawing the factors dominates
    (20_000, 200, 600_000, 8, {"n_threads": 2}),      # the split and the epoch's arrays, two threads
])
def test_estimate_bounds_the_traced_peak_of_a_dashboard_run(kind, users, items, n, k, extra):
    params = {"n_factors": k, "n_epochs": 2, "n_threads": 1, **extra}
    if kind == "bpr" and extra:
        params["negatives"] = 3
    model = MODELS[kind](**params)
    ratings = uniform_ratings(users, items, n)
    measured = traced_dashboard_run(model, ratings)
    estimate = ranking_peak_bytes(kind, users, items, n, k, 0.1, eval_users=RANKING_EVAL_USERS,
                                  **{key: value for key, value in ranking_options(model, ratings).items()
                                     if key != "kind"})
    assert measured <= estimate <= BOUND * measured, (estimate, measured, estimate / measured)


def test_a_large_catalogue_is_counted_where_the_rating_models_formula_missed_it():
    # MovieLens 25M's shape: ranking 1,000 users' scores over 59,047 items after every epoch
    sgd = training_peak_bytes(162_541, 59_047, 25_000_095, 64)
    bpr = ranking_peak_bytes("bpr", 162_541, 59_047, 25_000_095, 64, eval_users=RANKING_EVAL_USERS)
    assert bpr > sgd + 1e9
    assert ranking_peak_bytes("bpr", 162_541, 59_047, 25_000_095, 64, eval_users=0) < bpr - 1e9
    assert ranking_peak_bytes("bpr", 1_000, 1_000, 100_000, 8, negatives=5, eval_users=0) > \
        ranking_peak_bytes("bpr", 1_000, 1_000, 100_000, 8, negatives=1, eval_users=0)


def test_the_guard_names_the_model_and_the_numbers_before_allocating():
    ratings = uniform_ratings(100, 50, 1_000)
    options = ranking_options(ALSFactorizer(n_threads=2), ratings)
    assert options == {"kind": "als", "negatives": 1, "n_threads": 2,
                       "n_positives": int((ratings.values >= 4).sum())}
    assert count_positives(ratings, None) == 1_000 and count_positives(ratings, 0.75, chunk=7) == \
        options["n_positives"]
    tracemalloc.start()
    with pytest.raises(MemoryGuardError) as refused:
        check_training_memory(162_541, 59_047, 25_000_095, 64, cap=2 << 30, kind="bpr", eval_users=1000)
    allocated = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    estimate = ranking_peak_bytes("bpr", 162_541, 59_047, 25_000_095, 64, eval_users=1000)
    message = str(refused.value)
    assert message.startswith("training BPR K=64 on 25,000,095 ratings (162,541 users x 59,047 items)")
    assert f"{estimate:,} bytes" in message and "2.1 GB cap" in message and message.count(".") <= 6
    assert allocated < 100_000
    with pytest.raises(ValueError, match="kind == 'svd'"):
        ranking_peak_bytes("svd", 1, 1, 1, 1)


def test_cli_refuses_a_ranking_training_over_the_cap_with_one_error_line(tmp_path):
    root = __file__.rsplit("/tests/", 1)[0]
    done = subprocess.run([sys.executable, "-m", "mfcore", "train", "sample_data/ratings.csv", "--model", "als",
                           "--factors", "8"], capture_output=True, text=True, cwd=root, timeout=120, check=False,
                          env={**__import__("os").environ, "MF_MEMORY_CAP_BYTES": "3e7",
                               "MFCORE_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: training ALS K=8 on 100,000 ratings (1,000 users x 1,700 items, ")
    assert "over the 30.0 MB cap" in done.stderr and len(done.stderr.splitlines()) == 1
