"""Time every mfcore engine, and Surprise's SVD when installed, on the same split and settings.

    python benchmarks/engines.py [DATA] [--factors 100] [--epochs 20] [--budget 20]

DATA defaults to ../shared/data/ml-1m/ratings.dat (or the bundled sample when that is absent).
Prints one row per contender: seconds per epoch (median), million updates per second, test RMSE,
and the ratio of its speed to Surprise's. Slow engines are timed on a sample and marked extrapolated.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mfcore import ENGINES, SGDFactorizer, load_ratings, random_split  # noqa: E402
from mfcore.bench import time_engine  # noqa: E402
from mfcore.metrics import rmse  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-1m" / "ratings.dat"


def time_surprise(train, test, params: dict) -> dict | None:
    """Surprise's SVD with the same K, epochs, lr, reg and init std; None when not installed."""
    try:
        from surprise import SVD, Dataset, Reader
    except ImportError:
        return None
    frame = train.to_frame()
    reader = Reader(rating_scale=train.scale)
    trainset = Dataset.load_from_df(frame[["user", "item", "rating"]], reader).build_full_trainset()
    algo = SVD(n_factors=params["n_factors"], n_epochs=params["n_epochs"], lr_all=params["lr"],
               reg_all=params["reg"], init_std_dev=params["init_std"], random_state=params["seed"])
    start = time.perf_counter()
    algo.fit(trainset)
    seconds = time.perf_counter() - start
    test_frame = test.to_frame()
    predicted = [algo.predict(u, i).est for u, i in zip(test_frame["user"], test_frame["item"])]
    return {"engine": "surprise SVD", "seconds_per_epoch": seconds / params["n_epochs"],
            "updates_per_second": len(train) * params["n_epochs"] / seconds,
            "test_rmse": rmse(test_frame["rating"], predicted), "extrapolated": False}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per engine before sampling")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--no-surprise", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.data)
    if not path.exists():
        path = ROOT / "sample_data" / "ratings.csv"
        print(f"{args.data} not found; using {path}")
    ratings = load_ratings(path)
    train, test = random_split(ratings, 0.1, seed=0)
    params = dict(SGDFactorizer().get_params(), n_factors=args.factors, n_epochs=args.epochs)
    print(f"{path.name}: {len(train):,} training / {len(test):,} test ratings; K={args.factors}, "
          f"{args.epochs} epochs, lr={params['lr']}, reg={params['reg']}")

    rows = []
    for name in args.engines.split(","):
        result = time_engine(name, train, test, params, args.budget)
        rows.append({"engine": name, "seconds_per_epoch": result.seconds_per_epoch,
                     "updates_per_second": result.updates_per_second, "test_rmse": result.test_rmse,
                     "extrapolated": result.extrapolated})
    surprise = None if args.no_surprise else time_surprise(train, test, params)
    if surprise:
        rows.append(surprise)

    reference = surprise["updates_per_second"] if surprise else None
    print(f"\n{'contender':16} {'s/epoch':>9} {'fit s':>8} {'M upd/s':>8} {'test RMSE':>10} "
          f"{'x Surprise':>10}")
    for row in rows:
        ratio = f"{row['updates_per_second'] / reference:10.1f}" if reference else f"{'-':>10}"
        test_rmse = "-" if row["test_rmse"] is None else f"{row['test_rmse']:.4f}"
        flag = "  (extrapolated)" if row["extrapolated"] else ""
        print(f"{row['engine']:16} {row['seconds_per_epoch']:9.4f} {row['seconds_per_epoch'] * args.epochs:8.2f} "
              f"{row['updates_per_second'] / 1e6:8.2f} {test_rmse:>10} {ratio}{flag}")
    if not np.isfinite([r["updates_per_second"] for r in rows]).all():
        raise SystemExit("a contender reported a non-finite speed")


if __name__ == "__main__":
    main()
