"""What the model learned on MovieLens 100K with u.item titles, and how fast a new user is folded in.

Prints: a user's top-10 with titles, the nearest items of a few well-known films, the ranking-metrics
table (model, popularity, random) with the test RMSE and its one-line reading, and the time to fold in
5 ratings and rank every item (median of many rounds; the issue's target is under 0.2 s).

    .venv/bin/python benchmarks/explore.py [--data ../shared/data/ml-100k] [--factors 100] [--rounds 200]
"""

from __future__ import annotations

import os
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mfcore import SGDFactorizer, explore, load_ratings, random_split
from mfcore.data.items import load_items

ROOT = Path(__file__).resolve().parent.parent
FILMS = ("Star Wars (1977)", "Toy Story (1995)", "Godfather, The (1972)", "Fargo (1996)")
MY_RATINGS = {"Star Wars (1977)": 5, "Raiders of the Lost Ark (1981)": 5, "Terminator, The (1984)": 4,
              "Sleepless in Seattle (1993)": 1, "Sound of Music, The (1965)": 2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")
    parser.add_argument("--data", default=str(shared / "ml-100k"))
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--user", default="1")
    args = parser.parse_args()
    folder = Path(args.data)
    if not (folder / "u.data").is_file() or not (folder / "u.item").is_file():
        print(f"skipped: {folder} has no u.data and u.item (MovieLens is never shipped)", file=sys.stderr)
        return 0
    pd.set_option("display.width", 160)
    ratings = load_ratings(folder / "u.data")
    train, test = random_split(ratings, 0.1, seed=0)
    model = SGDFactorizer(n_factors=args.factors, n_epochs=20).fit(train, test)
    info = explore.item_info(model.item_ids_, load_items(folder / "u.item"))
    titles = info["title"].to_numpy()
    print(f"ML-100k, 90/10 split (seed 0), K={args.factors}, 20 epochs: test RMSE "
          f"{model.evaluate(test)['rmse']:.4f}\n")

    user = explore.user_code(model, args.user)
    rated, values = explore.user_ratings(train, user)
    print(f"User {args.user}: {len(rated)} training ratings; their five highest:")
    for code, value in zip(rated[:5], values[:5]):
        print(f"  {value:.0f}  {titles[code]}")
    print(f"Top 10 for user {args.user} (predicted rating, then mean+biases | dot product):")
    scores = explore.recommend_scores(model, model.P_[user], float(model.bu_[user]))
    for code in explore.top_items(model, scores, rated, 10):
        parts = explore.explain(model, model.P_[user], float(model.bu_[user]), code, rated, values, n=1)
        near = parts["because"][0]
        print(f"  {min(parts['score'], 5):.2f}  ({parts['mean'] + parts['user_bias'] + parts['item_bias']:.2f} | "
              f"{parts['dot']:+.2f})  {titles[code]}   <- rated {titles[near[0]]} {near[1]:.0f}")

    for film in FILMS:
        code = int(np.flatnonzero(titles == film)[0])
        near = explore.similar_items(model, code, 5)
        print(f"\nNearest to {film}: " + "; ".join(f"{titles[c]} ({s:.2f})" for c, s in near.itertuples(index=False)))

    table = explore.ranking_table(model, train, test, k=10)
    print("\nRanking metrics, k=10, relevant = test rating >= 4:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(explore.ranking_reading(table, 10))

    ids = [info.index[titles == title][0] for title in MY_RATINGS]
    stars = list(MY_RATINGS.values())
    timings = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        folded = explore.fold_in(model, ids, stars)
        top = explore.top_items(model, explore.recommend_scores(model, folded.p, folded.bu), folded.items, 10)
        timings.append(time.perf_counter() - start)
    print(f"\nFolded in {len(ids)} ratings ({', '.join(f'{t} {s}' for t, s in MY_RATINGS.items())}):")
    print("  " + "; ".join(titles[top]))
    median = statistics.median(timings)
    print(f"fold-in of 5 ratings + ranking {len(model.item_ids_)} items: median {median * 1000:.2f} ms, "
          f"95th percentile {np.percentile(timings, 95) * 1000:.2f} ms, max {max(timings) * 1000:.2f} ms "
          f"over {args.rounds} rounds (target < 200 ms: {'met' if median < 0.2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
