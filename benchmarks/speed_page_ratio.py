"""Issue 20's Speed page check: the numba / numba-parallel ratio the Speed page shows
(``mfcore.evaluation.bench.time_engine``, seconds per epoch) against the ratio of the two engines'
``fit_seconds_`` for the same settings; the target is a difference within 10%.

    .venv/bin/python benchmarks/speed_page_ratio.py [--factors 100] [--epochs 20] [--rounds 5]

ML-1M split 90/10 with seed 0; each round times both engines both ways, one after the other, the
engines' order alternating from round to round; the medians of the per-round ratios are compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import DATASETS, Machine  # noqa: E402

from mfcore import SGDFactorizer, load_ratings, random_split  # noqa: E402
from mfcore.evaluation.bench import time_engine  # noqa: E402

ENGINES = ("numba", "numba-parallel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="ml-1m")
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    train, test = random_split(load_ratings(DATASETS.get(args.data, args.data)), 0.1, 0)
    params = {"n_factors": args.factors, "n_epochs": args.epochs}
    page_ratios, fit_ratios = [], []
    for round_ in range(args.rounds):
        order = ENGINES if round_ % 2 == 0 else ENGINES[::-1]  # alternate: no engine always runs first
        page = {engine: time_engine(engine, train, test, params, 10.0).seconds_per_epoch for engine in order}
        fit = {engine: SGDFactorizer(engine=engine, **params).fit(train, test).fit_seconds_ for engine in order}
        page_ratios.append(page["numba"] / page["numba-parallel"])
        fit_ratios.append(fit["numba"] / fit["numba-parallel"])
    on_page, by_fit = statistics.median(page_ratios), statistics.median(fit_ratios)
    print(Machine().describe())
    print(f"{args.data}, K={args.factors}, {args.epochs} epochs, medians of {args.rounds} rounds: numba / "
          f"numba-parallel on the Speed page {on_page:.3f}, by fit_seconds_ {by_fit:.3f}; difference "
          f"{abs(on_page / by_fit - 1):.1%} (target within 10%: {abs(on_page / by_fit - 1) <= 0.10})")


if __name__ == "__main__":
    main()
