"""``train`` (report RMSE per epoch) and ``bench`` (time engines on the same data and settings).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.params import SPLIT_PARAMETERS
from .common import UsageError, add_table_options, data_argument, emit, model_params, number_or_none


def train_arguments(parser: argparse.ArgumentParser) -> None:
    data_argument(parser)
    add_table_options(parser)
    add_table_options(parser, SPLIT_PARAMETERS)
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def bench_arguments(parser: argparse.ArgumentParser) -> None:
    data_argument(parser)
    add_table_options(parser, exclude=("engine",))
    add_table_options(parser, SPLIT_PARAMETERS)
    parser.add_argument("--engines", default=None,
                        help="comma-separated (default: every engine that has the schedule)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per engine before sampling")
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def load_and_split(args, *, cached: bool):
    """``args.data`` (with ``args.items``) loaded, checked against the memory cap and split by
    ``args.test_size`` / ``args.seed``: (train, test, n_users, n_items). ``cached`` keeps the parsed
    file as a binary cache (:mod:`mfcore.data.cache`) so the next run does not parse it again."""
    from ..data.cache import cache_file, load_ratings_cached
    from ..evaluation.resources import CLI_CAP_FRACTION, check_parse_memory, check_training_memory, memory_cap_bytes
    from ..evaluation.split import random_split

    path = Path(args.data)
    cache_hit = cached and args.items is None and cache_file(path, duplicates="last", columns=None) is not None \
        and cache_file(path, duplicates="last", columns=None).exists()
    if path.is_file() and not cache_hit:
        check_parse_memory(path, cap=memory_cap_bytes(CLI_CAP_FRACTION))  # before the text is read
    if cached:
        ratings, _ = load_ratings_cached(args.data, items=args.items)
    else:
        from ..data import load_ratings
        ratings = load_ratings(args.data, items=args.items)
    check_training_memory(ratings.n_users, ratings.n_items, len(ratings), args.n_factors, args.test_size,
                          args.schedule, ratings.timestamps is not None, cap=memory_cap_bytes(CLI_CAP_FRACTION))
    train, test = random_split(ratings, args.test_size, args.seed)
    if args.test_size > 0 and len(test) == 0:
        raise UsageError(f"--test-size {args.test_size} of {len(ratings)} ratings leaves no test ratings: give "
                         "more ratings, a larger --test-size, or --test-size 0 to train without a test set")
    return train, test, ratings.n_users, ratings.n_items


def train(args) -> None:
    from ..models.sgd import SGDFactorizer

    model = SGDFactorizer(**model_params(args))
    model.validate_params()
    # the whole table is freed on return: the split halves hold every rating (100M are 1.2 GB per copy)
    train, test, n_users, n_items = load_and_split(args, cached=True)
    if not args.json:
        print(f"{len(train)} training and {len(test)} test ratings, {n_users} users, "
              f"{n_items} items; engine {args.engine}", flush=True)
    for result in model.fit_iter(train, test if len(test) else None):
        line = f"epoch {result.epoch:3d}  train RMSE {result.train_rmse:.4f}"
        if result.test_rmse is not None:
            line += f"  test RMSE {result.test_rmse:.4f}"
        emit({"epoch": result.epoch, "train_rmse": result.train_rmse, "test_rmse": result.test_rmse,
               "seconds": result.seconds}, args.json, line + f"  {result.seconds:.3f} s")
    scores = model.evaluate(test) if len(test) else {"rmse": None, "mae": None}
    final = {"final": True, "test_rmse": scores["rmse"], "test_mae": scores["mae"],
             "fit_seconds": model.fit_seconds_, "updates_per_second": model.updates_per_second_}
    text = f"fit {model.fit_seconds_:.2f} s, {model.updates_per_second_ / 1e6:.1f} M updates/s"
    if scores["rmse"] is not None:
        text = f"test RMSE {scores['rmse']:.4f}  MAE {scores['mae']:.4f}  " + text
    emit(final, args.json, text)


def bench(args) -> None:
    from ..engines import ENGINES
    from ..evaluation import bench
    from ..models.sgd import SGDFactorizer

    if args.engines is None:
        names = [name for name, engine in ENGINES.items() if args.schedule in engine.kernels]
    else:
        names = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENGINES]
    if unknown or not names:
        raise UsageError(f"unknown engine {', '.join(unknown) or '(none given)'}; known: {', '.join(ENGINES)}")
    if args.budget <= 0:
        raise UsageError(f"--budget {args.budget} must be > 0")
    params = model_params(args)
    SGDFactorizer(**params).validate_params()
    train, test, _, _ = load_and_split(args, cached=False)
    if not args.json:
        print(f"{'engine':16} {'s/epoch':>10} {'M updates/s':>12} {'test RMSE':>10} {'compile s':>10}")
    for name in names:
        result = bench.time_engine(name, train, test if len(test) else None, params, args.budget)
        row = {"engine": result.engine, "seconds_per_epoch": result.seconds_per_epoch,
               "updates_per_second": result.updates_per_second, "test_rmse": number_or_none(result.test_rmse),
               "extrapolated": result.extrapolated, "compile_seconds": result.compile_seconds}
        rmse = "-" if result.test_rmse is None else f"{result.test_rmse:.4f}"
        note = "  (extrapolated)" if result.extrapolated else ""
        emit(row, args.json, f"{name:16} {result.seconds_per_epoch:10.4f} "
              f"{result.updates_per_second / 1e6:12.2f} {rmse:>10} {result.compile_seconds:10.2f}{note}")
