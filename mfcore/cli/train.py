"""``train`` (report RMSE per epoch; ``--patience`` holds out a validation set for early stopping,
``--save`` writes the model file) and ``bench`` (time engines on the same data and settings).

``train --model bpr|als|ease|itemknn`` trains a ranking model instead
(:class:`~mfcore.models.bpr.BPRFactorizer`,
:class:`~mfcore.models.als.ALSFactorizer`, :class:`~mfcore.models.neighbors.EASE`,
:class:`~mfcore.models.neighbors.ItemKNN`) with the hyperparameters of its table
(``BPR_PARAMETERS``, ``ALS_PARAMETERS``, ``EASE_PARAMETERS``, ``ITEMKNN_PARAMETERS``: an option the
user does not give takes that table's default, and an option of another model's table is refused);
the split is the top-N protocol's
(:func:`mfcore.evaluation.topn.holdout_positives`: ``--test-size`` of each user's positives held
out, ``--seed``), and every epoch prints NDCG@10 and recall@10 on the held-out positives.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..models.params import (ALS_PARAMETERS, BPR_PARAMETERS, EASE_PARAMETERS, ITEMKNN_PARAMETERS, PARAMETERS,
                             SPLIT_PARAMETERS)
from .common import (UsageError, add_table_options, data_argument, emit, model_params, number_or_none,
                     write_atomically)

MODEL_TABLES = {"sgd": PARAMETERS, "bpr": BPR_PARAMETERS, "als": ALS_PARAMETERS, "ease": EASE_PARAMETERS,
                "itemknn": ITEMKNN_PARAMETERS}
"""``train --model``: each kind's hyperparameter table."""

if TYPE_CHECKING:
    from ..data import Ratings


def train_arguments(parser: argparse.ArgumentParser) -> None:
    data_argument(parser)
    parser.add_argument("--model", choices=tuple(MODEL_TABLES), default="sgd",
                        help="sgd: the rating model (RMSE per epoch); bpr, als: ranking models (NDCG@10 per "
                             "epoch); ease, itemknn: item-item ranking models (one closed-form step); each with "
                             "its own table's defaults (default: %(default)s)")
    add_table_options(parser)
    ranking_only = {**BPR_PARAMETERS, **ALS_PARAMETERS, **EASE_PARAMETERS, **ITEMKNN_PARAMETERS}
    add_table_options(parser, {name: param for name, param in ranking_only.items() if name not in PARAMETERS})
    add_table_options(parser, SPLIT_PARAMETERS)
    parser.add_argument("--save", default=None, metavar="MODEL.npz",
                        help="write the trained model to this file, with its train/test split and the items' "
                             "titles when --items or the data folder gave them (read it with recommend/similar)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def bench_arguments(parser: argparse.ArgumentParser) -> None:
    data_argument(parser)
    add_table_options(parser, exclude=("engine", "patience", "min_delta"))  # bench times every epoch
    add_table_options(parser, SPLIT_PARAMETERS, exclude=("validation_size",))
    parser.add_argument("--engines", default=None,
                        help="comma-separated (default: every engine that has the schedule)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per engine before sampling")
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def engine_threads(args) -> int:
    """The threads the chosen engine will run: ``--threads`` (default every core) for the parallel
    engine, 1 for the others. More threads than this process's cores are refused: they cannot run
    at once, and the parallel engine's block grid takes memory growing with the cube of the thread
    count (see :func:`mfcore.evaluation.resources.training_peak_bytes`)."""
    from ..engines.numba_parallel import available_cores

    cores = available_cores()
    threads = getattr(args, "n_threads", None)
    if threads is not None and threads > cores:
        raise UsageError(f"--threads {threads} is more than the {cores} core{'s' * (cores != 1)} this process "
                         f"may use: give at most {cores} (extra threads only add memory)")
    engine = getattr(args, "engine", None)
    return (threads or cores) if engine == "numba-parallel" else 1


@dataclass
class Loaded:
    """What a command trains on: the ``train`` ratings (less the ``validation`` ones under early
    stopping), the ``test`` ratings (maybe empty), the table's sizes and its ``items`` (titles indexed
    by item id, or None)."""

    train: Ratings
    validation: Ratings | None
    test: Ratings
    n_users: int
    n_items: int
    items: object = None
    said: tuple = ()  # what loading merged, skipped or ignored, as sentences


def load_and_split(args, *, cached: bool, validation: bool = False, threads: int = 1) -> Loaded:
    """``args.data`` (with ``args.items``) loaded, checked against the memory cap (with ``threads`` of
    the parallel engine) and split by
    ``args.test_size`` / ``args.seed`` as :func:`mfcore.evaluation.protocol.holdout` does; with
    ``validation``, a random ``args.validation_size`` of the training ratings is held out too (the
    same split as the dashboard's Train under early stopping). ``cached`` keeps the parsed file as a
    binary cache (:mod:`mfcore.data.cache`) so the next run does not parse it again."""
    from ..data.cache import cache_file, ratings_cached
    from ..evaluation.resources import CLI_CAP_FRACTION, check_parse_memory, memory_cap_bytes
    path = Path(args.data)
    cache_hit = cached and args.items is None and cache_file(path, duplicates="last", columns=None) is not None \
        and cache_file(path, duplicates="last", columns=None).exists()
    if path.is_file() and not cache_hit:
        check_parse_memory(path, cap=memory_cap_bytes(CLI_CAP_FRACTION))  # before the text is read
    if cached:  # the cache is written while the ratings are split (ratings_cached)
        with ratings_cached(args.data, items=args.items) as (ratings, _):
            return _split(args, ratings, validation, threads)
    from ..data import load_ratings
    return _split(args, load_ratings(args.data, items=args.items), validation, threads)


def _split(args, ratings, validation: bool, threads: int) -> Loaded:
    """The rest of :func:`load_and_split`, once the ratings are loaded."""
    from ..evaluation.protocol import holdout
    from ..evaluation.resources import CLI_CAP_FRACTION, check_training_memory, memory_cap_bytes
    from ..evaluation.split import random_split
    check_training_memory(ratings.n_users, ratings.n_items, len(ratings), args.n_factors, args.test_size,
                          args.schedule, ratings.timestamps is not None, cap=memory_cap_bytes(CLI_CAP_FRACTION),
                          n_threads=threads)
    said = tuple(ratings.summary.sentences(len(ratings), ratings.n_items)[1:])  # merged, skipped, ignored
    if validation:
        split = holdout(ratings, args.test_size, args.validation_size, args.seed)
        train, held_out, test = split.train, split.validation, split.test
        if len(held_out) == 0 or len(train) == 0:
            raise UsageError(f"--validation-size {args.validation_size} of {len(split.train_full)} training "
                             "ratings leaves no validation or no training ratings: give more ratings or "
                             "another --validation-size")
    else:
        (train, test), held_out = random_split(ratings, args.test_size, args.seed), None
    if args.test_size > 0 and len(test) == 0:
        raise UsageError(f"--test-size {args.test_size} of {len(ratings)} ratings leaves no test ratings: give "
                         "more ratings, a larger --test-size, or --test-size 0 to train without a test set")
    if ratings.item_info is not None:
        from ..explore import ratings_items
    items = ratings_items(ratings) if ratings.item_info is not None else None  # no pandas without titles
    return Loaded(train, held_out, test, ratings.n_users, ratings.n_items, items, said)


def _check_writable(path: str) -> None:
    """Fail before training when ``path`` cannot be written: its folder is missing, or it is a folder."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--save {path} is a folder; give a file name such as model.npz")
    if not target.parent.is_dir():
        raise UsageError(f"--save {path}: the folder {target.parent} does not exist")


def _given(args, names) -> set[str]:
    """The options among ``names`` the user gave: spelled in ``args.argv`` (the command line, kept by
    :func:`mfcore.cli.main`), or holding a value other than the option's default."""
    from .common import flags

    table = {**ITEMKNN_PARAMETERS, **EASE_PARAMETERS, **BPR_PARAMETERS, **ALS_PARAMETERS, **PARAMETERS}  # SGD's first
    spelled = {word.split("=", 1)[0] for word in getattr(args, "argv", ())}
    return {name for name in names if any(flag in spelled for flag in flags(table[name]))
            or getattr(args, name, table[name].default) != table[name].default}


def ranking_params(args) -> dict:
    """The ranking model's keyword arguments: the options given, the table's defaults for the rest; a
    UsageError names an option the model does not have."""
    table = MODEL_TABLES[args.model]
    every = {**PARAMETERS, **BPR_PARAMETERS, **ALS_PARAMETERS, **EASE_PARAMETERS, **ITEMKNN_PARAMETERS}
    foreign = sorted(_given(args, every.keys() - table.keys()))
    if foreign:
        raise UsageError(f"--model {args.model} has no option --{foreign[0].replace('_', '-')}; its options: "
                         + ", ".join("--" + name.replace("_", "-") for name in table))
    given = _given(args, table.keys())
    return {name: getattr(args, name) if name in given else param.default for name, param in table.items()}


def train_ranking(args) -> None:
    """``train --model bpr|als|ease|itemknn``: fit on the top-N split, NDCG@10 per epoch, the final scores, --save."""
    from ..data import load_ratings
    from ..evaluation.resources import (CLI_CAP_FRACTION, check_parse_memory, check_training_memory,
                                        memory_cap_bytes, ranking_options)
    from ..evaluation.topn import evaluate, holdout_positives, popularity_scorer, scale_threshold
    from ..explore import ratings_items
    from ..models.persist import KINDS, save_model

    model = KINDS[args.model](**ranking_params(args))
    model.validate_params()
    engine_threads(args)  # more threads than cores are refused, as for the rating model
    if args.save is not None:
        _check_writable(args.save)
    cap = memory_cap_bytes(CLI_CAP_FRACTION)
    if Path(args.data).is_file():
        check_parse_memory(Path(args.data), cap=cap)  # before the text is read
    ratings = load_ratings(args.data, items=args.items)
    check_training_memory(ratings.n_users, ratings.n_items, len(ratings), model.n_factors, args.test_size,
                          timestamps=ratings.timestamps is not None, cap=cap, eval_users=None, split="positives",
                          **ranking_options(model, ratings))
    threshold = scale_threshold(ratings, model.positive_level)
    if args.test_size > 0:
        train, test = holdout_positives(ratings, args.test_size, threshold, seed=args.seed)
    else:
        train, test = ratings, ratings.take(slice(0, 0))
    if not args.json:
        print(f"{type(model).__name__}: {len(train)} training ratings, {len(test)} held-out positives (test), "
              f"{ratings.n_users} users, {ratings.n_items} items; positives: ratings >= "
              f"{'any' if threshold is None else f'{threshold:g}'}", flush=True)
    for result in model.fit_iter(train, test if len(test) else None):
        row = {"epoch": result.epoch, "loss": result.loss, "test_ndcg": result.test_ndcg,
               "test_recall": result.test_recall, "seconds": result.seconds}
        line = f"epoch {result.epoch:3d}"
        if result.loss is not None:
            line += f"  BPR loss {result.loss:.4f}"
        if result.test_ndcg is not None:
            line += f"  test NDCG@{result.k} {result.test_ndcg:.4f}  recall@{result.k} {result.test_recall:.4f}"
        emit(row, args.json, line + f"  {result.seconds:.3f} s")
    final = {"final": True, "fit_seconds": model.fit_seconds_}
    text = f"fit {model.fit_seconds_:.2f} s"
    if len(test):
        found = evaluate(model, train, test, 10, threshold)
        popular = evaluate(popularity_scorer(train, threshold), train, test, 10, threshold)
        final.update(test_ndcg=found["ndcg"], test_recall=found["recall"], popularity_ndcg=popular["ndcg"])
        text = (f"test NDCG@10 {found['ndcg']:.4f}  recall@10 {found['recall']:.4f} (popularity: NDCG@10 "
                f"{popular['ndcg']:.4f})  " + text)
    if args.save is not None:
        items = ratings_items(ratings)
        write_atomically(args.save, lambda stream: save_model(model, stream, train, test if len(test) else None,
                                                              items))
        final["model_file"] = args.save
        text += f"\nsaved the model to {args.save} with its train/test split" + (
            " and the items' titles" if items is not None else "")
    emit(final, args.json, text)


def train(args) -> None:
    from ..models.sgd import SGDFactorizer

    if args.model != "sgd":
        train_ranking(args)
        return
    ranking = {**BPR_PARAMETERS, **ALS_PARAMETERS, **EASE_PARAMETERS, **ITEMKNN_PARAMETERS}
    foreign = sorted(_given(args, ranking.keys() - PARAMETERS.keys()))
    if foreign:
        owners = [kind for kind, table in MODEL_TABLES.items() if foreign[0] in table]
        raise UsageError(f"--{foreign[0].replace('_', '-')} is an option of a ranking model: add "
                         + " or ".join(f"--model {kind}" for kind in owners))

    model = SGDFactorizer(**model_params(args))
    model.validate_params()
    if args.save is not None:
        _check_writable(args.save)
    # the whole table is freed on return: the split halves hold every rating (100M are 1.2 GB per copy)
    threads = engine_threads(args)
    data = load_and_split(args, cached=True, validation=model.patience is not None, threads=threads)
    train, test, validation = data.train, data.test, data.validation
    if not args.json:
        for sentence in data.said:  # e.g. "Merged 3 repeated (user, item) ratings into one per pair ..."
            print(sentence, flush=True)
        held = f", {len(validation)} validation" if validation is not None else ""
        print(f"{len(train)} training{held} and {len(test)} test ratings, {data.n_users} users, "
              f"{data.n_items} items; engine {args.engine}", flush=True)
    for result in model.fit_iter(train, test if len(test) else None, validation):
        line = f"epoch {result.epoch:3d}  train RMSE {result.train_rmse:.4f}"
        row = {"epoch": result.epoch, "train_rmse": result.train_rmse, "test_rmse": result.test_rmse,
               "seconds": result.seconds}
        if result.validation_rmse is not None:
            line += f"  validation RMSE {result.validation_rmse:.4f}"
            row["validation_rmse"] = result.validation_rmse
        if result.test_rmse is not None:
            line += f"  test RMSE {result.test_rmse:.4f}"
        emit(row, args.json, line + f"  {result.seconds:.3f} s")
    scores = model.evaluate(test) if len(test) else {"rmse": None, "mae": None}
    final = {"final": True, "test_rmse": scores["rmse"], "test_mae": scores["mae"],
             "fit_seconds": model.fit_seconds_, "updates_per_second": model.updates_per_second_}
    text = f"fit {model.fit_seconds_:.2f} s, {model.updates_per_second_ / 1e6:.1f} M updates/s"
    if scores["rmse"] is not None:
        text = f"test RMSE {scores['rmse']:.4f}  MAE {scores['mae']:.4f}  " + text
    if model.patience is not None:
        best = model.history_[model.best_epoch_ - 1]
        final["best_epoch"] = model.best_epoch_
        text = (f"early stopping (patience {model.patience}): ran {len(model.history_)} of {model.n_epochs} "
                f"epochs, kept epoch {model.best_epoch_} (validation RMSE {best.validation_rmse:.4f})\n") + text
    if args.save is not None:
        from ..models.persist import save_model  # pandas: only when a model file is written
        write_atomically(args.save, lambda stream: save_model(model, stream, train, test if len(test) else None,
                                                              data.items))
        final["model_file"] = args.save
        bundled = "train/test split" if len(test) else "training ratings"
        text += f"\nsaved the model to {args.save} with its {bundled}" + (
            " and the items' titles" if data.items is not None else "")
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
    parallel = argparse.Namespace(**{**vars(args), "engine": "numba-parallel"})
    data = load_and_split(args, cached=False, threads=engine_threads(parallel if "numba-parallel" in names else args))
    train, test = data.train, data.test
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
