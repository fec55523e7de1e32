"""Implicit ALS on counts: weighting the confidence by the count against binarising it.

    python benchmarks/implicit_counts.py [--users 1000] [--items 1700] [--interactions 100000] [--seed 0]
                                         [--alphas 1,3,10,30] [--no-write]

Data: the synthetic generator's counts mode (:func:`mfcore.data.synthetic.make_ratings` with
``counts=True``: what a user interacts with and how often both follow their taste, and 30% of the
interactions are accidental, mostly with a count of 1). Every interaction is a positive
(``positive_level=None``).

Protocol (:mod:`mfcore.evaluation.topn`): 20% of each user's interactions held out as the test set
(seed 0); every item the user did not interact with in training is ranked; NDCG@10 and Recall@10,
relevant = the held-out interactions. For each ``confidence`` (binary ``1 + alpha``, linear
``1 + alpha r``, log ``1 + alpha ln(1 + r / eps)``), ``alpha`` is chosen from ``--alphas`` on a
validation split (20% of each user's training interactions, seed 1; the test set untouched), then the
model is refitted on the whole training set and scored on the test set once. Every other
hyperparameter is ALSFactorizer's default; one thread. Writes ``benchmarks/results/implicit_counts.json``
(``python benchmarks/render_tables.py`` puts its table into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mfcore import ALSFactorizer, load_ratings  # noqa: E402
from mfcore.data.synthetic import make_ratings  # noqa: E402
from mfcore.evaluation.topn import evaluate, holdout_positives  # noqa: E402
from mfcore.models.params import CONFIDENCES  # noqa: E402

K = 10


def tuned_scores(train, test, alphas: list[float], seed: int) -> dict[str, dict]:
    """Per confidence: the alpha chosen on a validation split of ``train`` and the test scores of the
    model refitted with it on all of ``train``."""
    low = float(train.scale[0])
    fit_part, validation = holdout_positives(train, 0.2, threshold=low, seed=seed + 1)
    found = {}
    for confidence in CONFIDENCES:
        def model(alpha, confidence=confidence):
            return ALSFactorizer(confidence=confidence, alpha=alpha, positive_level=None, n_threads=1, seed=seed)
        on_validation = {alpha: evaluate(model(alpha).fit(fit_part), fit_part, validation, K, threshold=low)["ndcg"]
                         for alpha in alphas}
        alpha = max(on_validation, key=on_validation.get)
        start = time.perf_counter()
        fitted = model(alpha).fit(train)
        seconds = time.perf_counter() - start
        scores = evaluate(fitted, train, test, K, threshold=low)
        found[confidence] = {"alpha": alpha, "validation_ndcg": on_validation, "test_ndcg": scores["ndcg"],
                             "test_recall": scores["recall"], "fit_seconds": seconds}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1700)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alphas", default="1,3,10,30")
    parser.add_argument("--no-write", action="store_true", help="print only; no results file")
    args = parser.parse_args(argv)
    alphas = [float(a) for a in args.alphas.split(",")]
    ratings = load_ratings(make_ratings(args.users, args.items, args.interactions, seed=args.seed, counts=True))
    train, test = holdout_positives(ratings, 0.2, threshold=float(ratings.scale[0]), seed=args.seed)
    found = tuned_scores(train, test, alphas, args.seed)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import results

    cpu = results.cpu_info()
    print(f"counts data: {len(ratings):,} interactions, {ratings.n_users:,} users, {ratings.n_items:,} items; "
          f"train {len(train):,}, test {len(test):,}; CPU: {cpu['model']}, {cpu['cores']} cores")
    rows = []
    for confidence, row in found.items():
        print(f"{confidence:7s} alpha {row['alpha']:g} (on validation)  test NDCG@{K} {row['test_ndcg']:.4f}  "
              f"Recall@{K} {row['test_recall']:.4f}  fit {row['fit_seconds']:.2f} s")
        rows.append([confidence, f"{row['alpha']:g}", f"{row['test_ndcg']:.4f}", f"{row['test_recall']:.4f}"])
    best = max(("linear", "log"), key=lambda name: found[name]["test_ndcg"])
    verdict = "beats" if found[best]["test_ndcg"] > found["binary"]["test_ndcg"] else "does NOT beat"
    print(f"weighted ALS ({best}) {verdict} binary ALS: NDCG@{K} {found[best]['test_ndcg']:.4f} vs "
          f"{found['binary']['test_ndcg']:.4f}")
    if not args.no_write:
        table = results.table(
            f"ALS confidence on synthetic counts ({len(ratings):,} interactions, seed {args.seed}; alpha "
            "chosen on a validation split)", ["confidence", "alpha", f"NDCG@{K}", f"Recall@{K}"], rows)
        path = results.write("implicit_counts", [table], {"found": found, "alphas": alphas})
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
