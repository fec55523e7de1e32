"""The memory estimate against what training really allocates, and the guards that refuse early."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from mfcore import SGDFactorizer, random_split
from conftest import uniform_ratings
from mfcore.evaluation.resources import (
    MemoryGuardError,
    check_dataset_memory,
    check_training_memory,
    memory_cap_bytes,
    training_peak_bytes,
)

GIB = 1 << 30


def traced_training_peak(ratings, k, schedule):
    SGDFactorizer(n_factors=k, n_epochs=1, schedule=schedule).fit(ratings.take(np.arange(50)))  # compile
    tracemalloc.start()
    try:
        train, test = random_split(ratings, 0.1, 0)
        model = SGDFactorizer(n_factors=k, n_epochs=2, schedule=schedule).fit(train, test)
        model.evaluate(test)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("users, items, n, k, schedule", [
    (2_000, 1_000, 300_000, 20, "per-rating"),   # dominated by the per-rating arrays
    (30_000, 3_000, 100_000, 200, "per-rating"),  # dominated by drawing the factors
    (3_000, 2_000, 300_000, 8, "per-epoch"),      # with the schedule's per-rating state
])
def test_estimate_bounds_the_traced_peak_closely(users, items, n, k, schedule):
    measured = traced_training_peak(uniform_ratings(users, items, n), k, schedule)
    estimate = training_peak_bytes(users, items, n, k, 0.1, schedule)
    assert measured <= estimate <= 1.6 * measured, (estimate, measured)


def test_k500_on_ten_million_ratings_is_refused_with_the_numbers_before_allocating():
    cap = 24 * GIB // 32  # the default cap on the 24 GiB machine the dashboard is served from
    tracemalloc.start()
    with pytest.raises(MemoryGuardError) as refused:
        check_training_memory(200_000, 40_000, 10_000_000, 500, cap=cap)
    allocated = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    estimate = training_peak_bytes(200_000, 40_000, 10_000_000, 500)
    assert f"{estimate:,} bytes" in str(refused.value) and "805.3 MB cap" in str(refused.value)
    assert allocated < 100_000
    assert check_training_memory(200_000, 40_000, 10_000_000, 100, cap=cap) < cap  # K=100 fits


def test_dataset_guard_and_the_configurable_cap(monkeypatch):
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "1e6")
    assert memory_cap_bytes() == 1_000_000
    with pytest.raises(MemoryGuardError, match=r"100,000 ratings .* over the 1.0 MB cap"):
        check_dataset_memory(100_000, 1_000, 1_700)
    assert check_dataset_memory(1_000, 10, 10) < 1_000_000
    monkeypatch.delenv("MF_MEMORY_CAP_BYTES")
    assert memory_cap_bytes() > 0


def test_cli_refuses_over_the_cap_with_one_error_line(tmp_path):
    root = __file__.rsplit("/tests/", 1)[0]
    done = subprocess.run([sys.executable, "-m", "mfcore", "train", "sample_data/ratings.csv", "--factors", "500"],
                          capture_output=True, text=True, cwd=root, timeout=120, check=False,
                          env={**__import__("os").environ, "MF_MEMORY_CAP_BYTES": "5e6",
                               "MFCORE_CACHE_DIR": str(tmp_path)})  # no cached parse: the text is parsed
    assert done.returncode == 2 and done.stdout == ""  # the parse is refused first, before reading the file
    assert done.stderr.startswith("error: parsing ratings.csv (3.8 MB, about 1") and len(done.stderr.splitlines()) == 1
    done = subprocess.run([sys.executable, "-m", "mfcore", "train", "sample_data/ratings.csv", "--factors", "1500"],
                          capture_output=True, text=True, cwd=root, timeout=120, check=False,
                          env={**__import__("os").environ, "MF_MEMORY_CAP_BYTES": "3e7"})
    estimate = training_peak_bytes(1_000, 1_700, 100_000, 1500, 0.1, timestamps=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: training K=1500 on 100,000 ratings")
    assert f"{estimate:,} bytes" in done.stderr and len(done.stderr.splitlines()) == 1


def test_python_engine_work_is_sampled_and_says_so(monkeypatch):
    from mfcore.evaluation import resources
    monkeypatch.setattr(resources, "PYTHON_MAX_RATINGS", 1_000)
    ratings = uniform_ratings(100, 50, 5_000)
    sampled, note = resources.work_sample(ratings, "python", seed=3)
    assert len(sampled) == 1_000 and "1,000 of the 5,000 training ratings" in note
    again, _ = resources.work_sample(ratings, "python", seed=3)
    assert np.array_equal(sampled.values, again.values) and np.array_equal(sampled.users, again.users)
    assert resources.work_sample(ratings, "numba", seed=3) == (ratings, "")


def test_parse_estimate_covers_the_text_the_columns_and_the_keys(tmp_path):
    from mfcore.evaluation.resources import check_parse_memory, estimate_rows, parse_peak_bytes
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\n" + "".join(f"{u},{u % 7},3\n" for u in range(100_000)))
    assert abs(estimate_rows(path) - 100_001) < 2_000
    need = parse_peak_bytes(path.stat().st_size, 100_000)
    assert need > path.stat().st_size + 20 * 100_000
    assert check_parse_memory(path, cap=10**10) == parse_peak_bytes(path.stat().st_size, estimate_rows(path))
    with pytest.raises(MemoryGuardError, match="parsing r.csv"):
        check_parse_memory(path, cap=1_000_000)
    assert check_dataset_memory(100_000, 1_000, 7, cap=10**10, source_bytes=path.stat().st_size) == need
