"""mfcore's ranking models against the ``implicit`` library on the one top-N protocol.

    python benchmarks/ranking.py [--data ml-100k,ml-1m] [--rounds 3] [--threads 1,2] [--no-tune]
                                 [--budget 6] [--lightfm]

Protocol (:mod:`mfcore.evaluation.topn`): positives are ratings >= 4 (of 1..5); 20% of each user's
positives are held out (seed 0); every item the user did not rate in training is ranked; NDCG@10
and Recall@10 on the held-out positives. Every contender trains on the same matrix: the training
positives as binary interactions (implicit gets them as a CSR matrix of ones, mfcore as the
training ratings with its default threshold, which selects the same cells).

Contenders, all on the same split:
- ``mfcore ALS`` and ``mfcore BPR``: :class:`mfcore.ALSFactorizer` / :class:`mfcore.BPRFactorizer`;
- ``implicit ALS`` and ``implicit BPR``: ``implicit.cpu.als.AlternatingLeastSquares`` and
  ``implicit.cpu.bpr.BayesianPersonalizedRanking``;
- popularity (training positives per item), for reference; LightFM's WARP with ``--lightfm`` when
  it is installed.

Each model runs with its library's defaults and, unless ``--no-tune``, tuned: ``--budget``
configurations per model drawn from the grids in :data:`GRIDS` (the same number for every model;
ALS grids are the same settings in each library's terms), each fitted on 80% of the training
positives and scored on the other 20% (a validation split, seed 1); the best is refitted on the whole
training set and scored on the test set once.

Timing: fit seconds (wall clock of ``fit``, data already in memory and in each library's input
format; JIT compilation warmed up first) for ``--threads`` thread counts (mfcore's ``n_threads``,
implicit's ``num_threads``; BLAS limited to 1 thread for everyone with threadpoolctl), medians of
``--rounds`` rounds in alternating order. The machine is shared: the numbers are indicative.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("MFCORE_DATA", ROOT.parent / "shared" / "data"))
DATASETS = {"ml-100k": DATA / "ml-100k" / "u.data", "ml-1m": DATA / "ml-1m" / "ratings.dat"}

BPR_GRID = ((64, 0.05, 0.002, 30), (128, 0.05, 0.002, 30), (64, 0.1, 0.01, 30), (64, 0.02, 0.001, 60),
            (32, 0.05, 0.002, 30), (64, 0.05, 0.02, 30), (128, 0.1, 0.005, 50), (100, 0.01, 0.01, 100))
"""BPR's grid, (factors, learning rate, regularization, epochs): the same settings for both libraries."""

GRIDS = {
    # name -> settings in that library's own terms, tried in this order (the first --budget of them)
    "mfcore ALS": [dict(n_factors=f, reg=r, alpha=a, reg_exponent=nu) for f, r, a, nu in (
        (64, 1.0, 10.0, 1.0), (128, 1.0, 10.0, 1.0), (64, 0.5, 10.0, 1.0), (64, 1.0, 20.0, 1.0),
        (32, 1.0, 10.0, 1.0), (64, 0.1, 10.0, 0.0), (64, 2.0, 10.0, 1.0), (128, 0.5, 5.0, 1.0))],
    "implicit ALS": [dict(factors=f, regularization=r, alpha=a, iterations=e) for f, r, a, e in (
        (100, 0.01, 1.0, 15), (64, 0.1, 11.0, 15), (128, 1.0, 11.0, 15), (64, 1.0, 5.0, 15),
        (128, 0.1, 21.0, 15), (64, 10.0, 41.0, 15), (32, 0.1, 11.0, 15), (128, 10.0, 11.0, 15))],
    "mfcore BPR": [dict(n_factors=f, lr=lr, reg=r, n_epochs=e) for f, lr, r, e in BPR_GRID],
    "implicit BPR": [dict(factors=f, learning_rate=lr, regularization=r, iterations=e) for f, lr, r, e in BPR_GRID],
}
"""Tuning grids, the same number of settings for every model. implicit's ALS confidence is ``alpha *
value`` on the binary matrix (so its ``alpha`` 11 is mfcore's ``alpha`` 10: c = 11), and it has no
per-row regularization exponent; its first ALS row is its defaults. The BPR grids are the same
settings in both libraries."""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# --- contenders -----------------------------------------------------------------------------------

class Contender:
    """A model factory: ``fit(params, n_threads) -> scorer`` on the contender's own input."""

    def __init__(self, name: str, train, threshold: float):
        self.name, self.train, self.threshold = name, train, threshold
        if name.startswith("implicit") or name.startswith("lightfm"):
            import scipy.sparse as sp

            keep = train.values >= threshold
            self.matrix = sp.csr_matrix((np.ones(int(keep.sum()), np.float32),
                                         (train.users[keep], train.items[keep])),
                                        shape=(train.n_users, train.n_items))

    def make(self, params: dict, n_threads: int):
        if self.name == "mfcore ALS":
            from mfcore.models.als import ALSFactorizer
            return ALSFactorizer(**params, n_threads=n_threads)
        if self.name == "mfcore BPR":
            from mfcore.models.bpr import BPRFactorizer
            return BPRFactorizer(**params, n_threads=n_threads)
        if self.name == "implicit ALS":
            from implicit.cpu.als import AlternatingLeastSquares
            return AlternatingLeastSquares(**params, num_threads=n_threads, random_state=0)
        if self.name == "implicit BPR":
            from implicit.cpu.bpr import BayesianPersonalizedRanking
            return BayesianPersonalizedRanking(**params, num_threads=n_threads, random_state=0)
        if self.name == "lightfm WARP":
            from lightfm import LightFM
            return LightFM(loss="warp", random_state=0, **params)
        raise KeyError(self.name)

    def fit(self, params: dict, n_threads: int):
        """Fit once; returns (seconds, scorer)."""
        model = self.make(params, n_threads)
        if self.name.startswith("mfcore"):
            start = time.perf_counter()
            model.fit(self.train)
            seconds = time.perf_counter() - start - model.compile_seconds_
            return seconds, model.score_codes
        if self.name.startswith("implicit"):
            start = time.perf_counter()
            model.fit(self.matrix, show_progress=False)
            seconds = time.perf_counter() - start
            U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
            return seconds, lambda codes: U[codes] @ V.T
        start = time.perf_counter()  # lightfm
        model.fit(self.matrix, epochs=params.get("epochs", 30), num_threads=n_threads)
        seconds = time.perf_counter() - start
        U, V = model.user_embeddings, model.item_embeddings
        bias = model.item_biases
        return seconds, lambda codes: U[codes] @ V.T + bias


def ndcg_recall(scorer, train, test, threshold) -> tuple[float, float]:
    from mfcore.evaluation.topn import topn_metrics
    found = topn_metrics(scorer, train, test, 10, threshold)
    return found["ndcg"], found["recall"]


def tune(name: str, fit_train, validation, threshold: float, budget: int) -> tuple[dict, float]:
    """The best of the first ``budget`` settings of ``GRIDS[name]`` by validation NDCG@10."""
    contender = Contender(name, fit_train, threshold)
    best, best_ndcg = None, -1.0
    for params in GRIDS[name][:budget]:
        _, scorer = contender.fit(params, 2)
        ndcg, _ = ndcg_recall(scorer, fit_train, validation, threshold)
        print(f"    tune {name:<13} {params}: validation NDCG@10 {ndcg:.4f}", flush=True)
        if ndcg > best_ndcg:
            best, best_ndcg = params, ndcg
    return best, best_ndcg


def run(data: str, rounds: int, threads: list[int], budget: int, do_tune: bool, lightfm: bool) -> list[dict]:
    from mfcore.data import load_ratings
    from mfcore.evaluation.topn import holdout_positives, popularity_scorer, scale_threshold

    ratings = load_ratings(DATASETS[data])
    threshold = scale_threshold(ratings)
    train, test = holdout_positives(ratings, 0.2, threshold, seed=0)
    print(f"\n## {data}: {len(ratings):,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items; "
          f"positives >= {threshold:g}; train {len(train):,} ratings, test {len(test):,} held-out positives",
          flush=True)
    names = ["mfcore ALS", "mfcore BPR", "implicit ALS", "implicit BPR"]
    if lightfm:
        names.append("lightfm WARP")
    configs = [(name, "defaults", {}) for name in names]
    if do_tune:
        fit_train, validation = holdout_positives(train, 0.2, threshold, seed=1)
        for name in names:
            if name in GRIDS:
                params, _ = tune(name, fit_train, validation, threshold, budget)
                configs.append((name, "tuned", params))
    contenders = {name: Contender(name, train, threshold) for name in names}
    for name, _, params in configs:  # warm up (JIT compile, thread pools)
        contenders[name].fit(params, threads[0])
    rows = []
    quality = {}
    times = {(c[0], c[1], t): [] for c in configs for t in threads}
    for r in range(rounds):
        order = configs if r % 2 == 0 else configs[::-1]
        for t in threads:
            for name, setting, params in order:
                seconds, scorer = contenders[name].fit(params, t)
                times[(name, setting, t)].append(seconds)
                if t == threads[0] and (name, setting) not in quality:
                    quality[(name, setting)] = ndcg_recall(scorer, train, test, threshold)
    popular = ndcg_recall(popularity_scorer(train, threshold), train, test, threshold)
    for name, setting, params in configs:
        row = {"data": data, "model": name, "setting": setting, "params": params,
               "ndcg": quality[(name, setting)][0], "recall": quality[(name, setting)][1]}
        for t in threads:
            row[f"seconds@{t}"] = float(np.median(times[(name, setting, t)]))
        rows.append(row)
    rows.append({"data": data, "model": "popularity", "setting": "-", "params": {}, "ndcg": popular[0],
                 "recall": popular[1], **{f"seconds@{t}": float("nan") for t in threads}})
    print_table(rows, threads)
    verdict(rows, threads)
    return rows


def print_table(rows: list[dict], threads: list[int]) -> None:
    head = "| model | setting | NDCG@10 | Recall@10 | " + " | ".join(f"fit s, {t} thr" for t in threads) + " |"
    print(head)
    print("|" + "---|" * (4 + len(threads)))
    for row in rows:
        cells = [row["model"], row["setting"], f"{row['ndcg']:.4f}", f"{row['recall']:.4f}"]
        cells += [f"{row[f'seconds@{t}']:.2f}" if np.isfinite(row[f"seconds@{t}"]) else "-" for t in threads]
        print("| " + " | ".join(cells) + " |")
    for row in rows:
        if row["params"]:
            print(f"  {row['model']} {row['setting']}: {row['params']}")


def verdict(rows: list[dict], threads: list[int]) -> None:
    """The issue's targets, read from this run's numbers."""
    ours = [r for r in rows if r["model"].startswith("mfcore")]
    best = max(ours, key=lambda r: r["ndcg"])
    peers = [r for r in rows if r["model"] in ("implicit ALS", "implicit BPR")]
    beaten = all(best["ndcg"] >= r["ndcg"] for r in peers)
    peer_best = max(peers, key=lambda r: r["ndcg"])
    print(f"Best mfcore model: {best['model']} ({best['setting']}), NDCG@10 {best['ndcg']:.4f}; best implicit: "
          f"{peer_best['model']} ({peer_best['setting']}) {peer_best['ndcg']:.4f} -> "
          f"{'at least as good' if beaten else 'WORSE'}.")
    for t in threads:
        als = [r[f"seconds@{t}"] for r in peers if r["model"] == "implicit ALS"]
        mine = best[f"seconds@{t}"]
        fastest_als = min(als)
        print(f"  {t} thread(s): {best['model']} ({best['setting']}) fits in {mine:.2f} s, implicit ALS in "
              + ", ".join(f"{s:.2f} s" for s in als) + f" -> {'not slower' if mine <= fastest_als else 'SLOWER'}"
              " than implicit ALS's fastest setting.")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ml-100k,ml-1m")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--budget", type=int, default=6, help="settings tried per model when tuning")
    parser.add_argument("--no-tune", action="store_true")
    parser.add_argument("--lightfm", action="store_true", help="add LightFM's WARP (if installed)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from threadpoolctl import threadpool_info, threadpool_limits

    import implicit

    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores seen); Python {platform.python_version()}; "
          f"implicit {implicit.__version__}; BLAS: "
          + ", ".join(sorted({f"{i['internal_api']} {i.get('version')}" for i in threadpool_info()
                              if i['user_api'] == 'blas'})) + " (limited to 1 thread)")
    print("The machine is shared: timings are indicative.")
    threads = [int(t) for t in args.threads.split(",")]
    with threadpool_limits(limits=1, user_api="blas"):
        for data in args.data.split(","):
            if not DATASETS[data].exists():
                print(f"{data}: {DATASETS[data]} is absent, skipped.")
                continue
            run(data, args.rounds, threads, args.budget, not args.no_tune, args.lightfm)


if __name__ == "__main__":
    main()
