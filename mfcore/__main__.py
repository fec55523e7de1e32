"""Command line: ``python -m mfcore train|bench|sample`` (the contract in shared/DESIGN.md section 5).

Bad input or arguments exit with status 2 and one line ``error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from . import bench
from .data import DataError, load_ratings
from .engines import ENGINES
from .model import SGDFactorizer, TrainingDiverged
from .split import random_split


class UsageError(Exception):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not an integer >= 1")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mfcore", description="SGD matrix factorization of rating files.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def model_options(sub, epochs_default=20):
        sub.add_argument("data", help="ratings file (CSV/TSV/u.data/ratings.dat/ratings.csv, .gz, .zip) or folder")
        sub.add_argument("--items", default=None, help="items file with titles (movies.csv, u.item, movies.dat)")
        sub.add_argument("--factors", type=_positive_int, default=100, help="K, factors per user/item")
        sub.add_argument("--epochs", type=_positive_int, default=epochs_default)
        sub.add_argument("--lr", type=float, default=None,
                         help="learning rate (default 0.007, or 0.002 with --schedule per-epoch)")
        sub.add_argument("--reg", type=float, default=SGDFactorizer().reg, help="L2 regularization")
        sub.add_argument("--no-bias", action="store_true", help="Funk's unbiased model p_u . q_i")
        sub.add_argument("--schedule", default="per-rating",
                         help="when the error is recomputed: per-rating, per-factor, per-epoch or funk")
        sub.add_argument("--epochs-per-feature", type=_positive_int, default=1,
                         help="funk schedule: epochs spent on each feature in turn")
        sub.add_argument("--test-size", type=float, default=0.1, help="random holdout fraction")
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--threads", type=_positive_int, default=None, help="threads of parallel engines")
        sub.add_argument("--json", action="store_true", help="print JSON lines")

    train = commands.add_parser("train", help="train and report RMSE per epoch")
    model_options(train)
    train.add_argument("--engine", default="numba", help=f"one of {', '.join(ENGINES)}")

    timing = commands.add_parser("bench", help="time engines on the same data and settings")
    model_options(timing)
    timing.add_argument("--engines", default=None,
                        help="comma-separated (default: every engine that has the schedule)")
    timing.add_argument("--budget", type=float, default=10.0, help="seconds per engine before sampling")

    sample = commands.add_parser("sample", help="write a synthetic ratings CSV")
    sample.add_argument("--users", type=_positive_int, default=1000)
    sample.add_argument("--items", type=_positive_int, default=1700)
    sample.add_argument("--ratings", type=_positive_int, default=100_000)
    sample.add_argument("--rank", type=_positive_int, default=10)
    sample.add_argument("--noise", type=float, default=0.6, help="std of the Gaussian noise")
    sample.add_argument("--named-users", action="store_true", help="first names as user ids (tiny sets)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="CSV file to write")
    return parser


def _model_params(args) -> dict:
    return dict(n_factors=args.factors, n_epochs=args.epochs, lr=args.lr, reg=args.reg,
                biased=not args.no_bias, schedule=args.schedule,
                epochs_per_feature=args.epochs_per_feature, seed=args.seed, n_threads=args.threads)


def _emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj) if as_json else text, flush=True)


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _check_test_set(test_size: float, n_ratings: int, n_test: int) -> None:
    if test_size > 0 and n_test == 0:
        raise UsageError(f"--test-size {test_size} of {n_ratings} ratings leaves no test ratings: give more "
                         "ratings, a larger --test-size, or --test-size 0 to train without a test set")


def _train(args) -> None:
    SGDFactorizer(**_model_params(args), engine=args.engine)._validate()
    ratings = load_ratings(args.data, items=args.items)
    train, test = random_split(ratings, args.test_size, args.seed)
    _check_test_set(args.test_size, len(ratings), len(test))
    model = SGDFactorizer(**_model_params(args), engine=args.engine)
    if not args.json:
        print(f"{len(train)} training and {len(test)} test ratings, {ratings.n_users} users, "
              f"{ratings.n_items} items; engine {args.engine}", flush=True)
    for result in model.fit_iter(train, test if len(test) else None):
        line = f"epoch {result.epoch:3d}  train RMSE {result.train_rmse:.4f}"
        if result.test_rmse is not None:
            line += f"  test RMSE {result.test_rmse:.4f}"
        _emit({"epoch": result.epoch, "train_rmse": result.train_rmse, "test_rmse": result.test_rmse,
               "seconds": result.seconds}, args.json, line + f"  {result.seconds:.3f} s")
    scores = model.evaluate(test) if len(test) else {"rmse": None, "mae": None}
    final = {"final": True, "test_rmse": scores["rmse"], "test_mae": scores["mae"],
             "fit_seconds": model.fit_seconds_, "updates_per_second": model.updates_per_second_}
    text = f"fit {model.fit_seconds_:.2f} s, {model.updates_per_second_ / 1e6:.1f} M updates/s"
    if scores["rmse"] is not None:
        text = f"test RMSE {scores['rmse']:.4f}  MAE {scores['mae']:.4f}  " + text
    _emit(final, args.json, text)


def _bench(args) -> None:
    if args.engines is None:
        names = [name for name, engine in ENGINES.items() if args.schedule in engine.kernels]
    else:
        names = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENGINES]
    if unknown or not names:
        raise UsageError(f"unknown engine {', '.join(unknown) or '(none given)'}; known: {', '.join(ENGINES)}")
    if args.budget <= 0:
        raise UsageError(f"--budget {args.budget} must be > 0")
    params = _model_params(args)
    SGDFactorizer(**params)._validate()
    ratings = load_ratings(args.data, items=args.items)
    train, test = random_split(ratings, args.test_size, args.seed)
    if not args.json:
        print(f"{'engine':16} {'s/epoch':>10} {'M updates/s':>12} {'test RMSE':>10} {'compile s':>10}")
    for name in names:
        result = bench.time_engine(name, train, test if len(test) else None, params, args.budget)
        row = {"engine": result.engine, "seconds_per_epoch": result.seconds_per_epoch,
               "updates_per_second": result.updates_per_second, "test_rmse": _number(result.test_rmse),
               "extrapolated": result.extrapolated, "compile_seconds": result.compile_seconds}
        rmse = "-" if result.test_rmse is None else f"{result.test_rmse:.4f}"
        note = "  (extrapolated)" if result.extrapolated else ""
        _emit(row, args.json, f"{name:16} {result.seconds_per_epoch:10.4f} "
              f"{result.updates_per_second / 1e6:12.2f} {rmse:>10} {result.compile_seconds:10.2f}{note}")


def _sample(args) -> None:
    from .synthetic import make_ratings
    start = time.perf_counter()
    frame = make_ratings(args.users, args.items, args.ratings, rank=args.rank, noise_std=args.noise,
                         seed=args.seed, named_users=args.named_users)
    try:
        frame.to_csv(args.out, index=False)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {len(frame)} ratings to {args.out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def main(argv=None) -> int:
    try:
        args = _build_parser().parse_args(argv)
        {"train": _train, "bench": _bench, "sample": _sample}[args.command](args)
    except (UsageError, DataError, TrainingDiverged, ValueError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
