"""benchmarks/ranking.py runs end to end on a small data set: every contender tuned (its defaults the
first trial), scored on both protocols, timed, and judged."""

from __future__ import annotations

import argparse
import importlib.util
import sys

import numpy as np
import pytest

from mfcore.data import from_arrays
from paths import ROOT

pytest.importorskip("implicit")
pytest.importorskip("optuna")
sys.path.insert(0, str(ROOT / "benchmarks"))
spec = importlib.util.spec_from_file_location("ranking_benchmark", ROOT / "benchmarks" / "ranking.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def small(n_users=150, n_items=50, seed=0):
    rng = np.random.default_rng(seed)
    users, items, values = [], [], []
    for u in range(n_users):
        for i in rng.choice(np.arange(u % 2, n_items, 2), 12, replace=False):
            users.append(u), items.append(int(i)), values.append(float(rng.choice([3.0, 4.0, 5.0])))
    return from_arrays(users, items, values)


def test_every_library_default_is_inside_its_space_and_enqueued_first():
    for name, space in bench.SPACES.items():
        found = bench.defaults(name)
        for key, _kind, low, high, _log in space:
            assert low <= found[key] <= high, (name, key, found[key])


def test_the_benchmark_runs_on_a_small_data_set(monkeypatch):
    ratings = small()
    genres = np.array(["A|B" if i % 2 else "C" for i in range(ratings.n_items)], object)
    args = argparse.Namespace(trials=1, seeds=[0, 1], threads=1, rounds=1, timing_threads=[1, 2])
    monkeypatch.setattr(bench, "TIMING", [("ALS", dict(n_factors=8, n_epochs=2), dict(factors=8, iterations=2)),
                                          ("BPR", dict(n_factors=8, n_epochs=2), dict(factors=8, iterations=2))])
    tables, raw = bench.quality("small", ratings, genres, args)
    assert [t["title"].split(":")[0] for t in tables] == ["small, standard protocol", "small, new-user protocol"]
    for table in tables:
        assert [row[0] for row in table["rows"]] == list(bench.CONTENDERS)
    new = raw["new-user"]["mfcore ALS"]
    assert set(new["runs"]) == {"0.8", "5"} and len(new["runs"]["5"]) == 2
    assert new["trials"][0][0] == {k: bench.defaults("mfcore ALS")[k] for k in new["trials"][0][0]}
    rows, seconds = bench.timing("small", ratings, args)
    assert [row[1] for row in rows] == ["1", "1", "2", "2"] and all(len(s) == 1 for s in seconds.values())
    verdict = bench.must_show({"small": {"quality": raw, "fit_seconds": seconds}})
    assert {"small standard", "small new-user 0.8", "small new-user 5"} <= set(verdict)
