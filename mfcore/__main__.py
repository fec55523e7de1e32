"""Command line: ``python -m mfcore train|bench|sample|...`` (the contract in README "Command line").

Bad input or arguments exit with status 2 and one line ``error: ...`` on stderr, never a traceback.
The model options (``--factors``, ``--lr``, ...), their checks, defaults and help are generated from
:data:`mfcore.params.PARAMETERS` by :func:`add_table_options`. To add a subcommand, write its
``add_arguments(parser)`` and ``run(args)`` in its own module and register it at the end of this
file: ``COMMANDS["tune"] = Command("search hyperparameters", tune_cli.add_arguments, tune_cli.run)``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import cli_explore, tune_cli
from .params import PARAMETERS, SPLIT_PARAMETERS, Param


class UsageError(Exception):
    """Bad command-line arguments: reported as ``error: ...`` with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line ``help``, ``add_arguments(parser)`` declaring its options, and
    ``run(args)`` doing the work (raise :class:`UsageError`, ``DataError`` or ``ValueError`` for bad
    input; the message becomes the one ``error:`` line). Register one with ``COMMANDS[name] = ...``;
    import heavy modules inside ``run`` to keep start-up quick."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], None]


COMMANDS: dict[str, Command] = {}
"""The subcommands, in ``--help`` order; other modules' commands are added at the end of this file."""


def _value_parser(param: Param) -> Callable[[str], object]:
    """Turn a command-line string into ``param``'s type and check it against the table."""
    def parse(text: str):
        if param.none_allowed and text.lower() == "none":
            return None
        try:
            value = param.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{param.name} == {text!r}, must be {param.rule}.") from None
        try:
            param.check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value
    return parse


def _metavar(param: Param) -> str:
    allowed = param.allowed()
    return "{" + ",".join(allowed) + "}" if allowed else {int: "N", float: "X"}.get(param.kind, "TEXT")


def flags(param: Param) -> list[str]:
    """The option strings of ``param``: its extra spellings first (``--factors``), then ``--n-factors``."""
    return [*param.cli, "--" + param.name.replace("_", "-")]


def add_table_options(parser: argparse.ArgumentParser, table: dict[str, Param] = PARAMETERS,
                      exclude: tuple[str, ...] = ()) -> None:
    """One option per parameter of ``table`` (the hyperparameter table by default), with its type,
    check, default and help from the table; ``dest`` is the parameter's name."""
    for param in table.values():
        if param.name in exclude:
            continue
        default_text = "%(default)s" if param.kind is not bool else ("on" if param.default else "off")
        rule = "" if param.kind is bool or param.choices is not None else f"; {param.rule}"
        help_text = f"{param.help.replace('%', '%%')}{rule} (default: {default_text})"
        if param.kind is bool:
            parser.add_argument(*flags(param), dest=param.name, default=param.default, help=help_text,
                                action=argparse.BooleanOptionalAction)
        else:
            parser.add_argument(*flags(param), dest=param.name, default=param.default, help=help_text,
                                type=_value_parser(param), metavar=_metavar(param))


def model_params(args: argparse.Namespace) -> dict:
    """The estimator's keyword arguments among the parsed options."""
    return {name: getattr(args, name) for name in PARAMETERS if hasattr(args, name)}


def _data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="ratings file (CSV/TSV/u.data/ratings.dat/ratings.csv, .gz, .zip) or folder")
    parser.add_argument("--items", default=None, help="items file with titles (movies.csv, u.item, movies.dat)")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    _data_argument(parser)
    add_table_options(parser)
    add_table_options(parser, SPLIT_PARAMETERS)
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    _data_argument(parser)
    add_table_options(parser, exclude=("engine",))
    add_table_options(parser, SPLIT_PARAMETERS)
    parser.add_argument("--engines", default=None,
                        help="comma-separated (default: every engine that has the schedule)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per engine before sampling")
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=cli_explore.positive_int, default=1000)
    parser.add_argument("--items", type=cli_explore.positive_int, default=1700)
    parser.add_argument("--ratings", type=cli_explore.positive_int, default=100_000)
    parser.add_argument("--rank", type=cli_explore.positive_int, default=10)
    parser.add_argument("--noise", type=float, default=0.6, help="std of the Gaussian noise")
    parser.add_argument("--named-users", action="store_true", help="first names as user ids (tiny sets)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    parser.add_argument("--out", required=True, help="CSV file to write")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every registered command."""
    parser = _Parser(prog="python -m mfcore", description="SGD matrix factorization of rating files.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        command.add_arguments(commands.add_parser(name, help=command.help, description=command.help))
    return parser


def _emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj) if as_json else text, flush=True)


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _load_and_split(args, *, cached: bool):
    """``args.data`` (with ``args.items``) loaded, checked against the memory cap and split by
    ``args.test_size`` / ``args.seed``: (train, test, n_users, n_items). ``cached`` keeps the parsed
    file as a binary cache (:mod:`mfcore.cache`) so the next run does not parse it again."""
    from .cache import load_ratings_cached
    from .data import load_ratings
    from .resources import CLI_CAP_FRACTION, check_training_memory, memory_cap_bytes
    from .split import random_split

    if cached:
        ratings, _ = load_ratings_cached(args.data, items=args.items)
    else:
        ratings = load_ratings(args.data, items=args.items)
    check_training_memory(ratings.n_users, ratings.n_items, len(ratings), args.n_factors, args.test_size,
                          args.schedule, ratings.timestamps is not None, cap=memory_cap_bytes(CLI_CAP_FRACTION))
    train, test = random_split(ratings, args.test_size, args.seed)
    if args.test_size > 0 and len(test) == 0:
        raise UsageError(f"--test-size {args.test_size} of {len(ratings)} ratings leaves no test ratings: give "
                         "more ratings, a larger --test-size, or --test-size 0 to train without a test set")
    return train, test, ratings.n_users, ratings.n_items


def _train(args) -> None:
    from .model import SGDFactorizer

    model = SGDFactorizer(**model_params(args))
    model.validate_params()
    # the whole table is freed on return: the split halves hold every rating (100M are 1.2 GB per copy)
    train, test, n_users, n_items = _load_and_split(args, cached=True)
    if not args.json:
        print(f"{len(train)} training and {len(test)} test ratings, {n_users} users, "
              f"{n_items} items; engine {args.engine}", flush=True)
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
    from . import bench
    from .engines import ENGINES
    from .model import SGDFactorizer

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
    train, test, _, _ = _load_and_split(args, cached=False)
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
        args = build_parser().parse_args(argv)
        COMMANDS[args.command].run(args)
    except (UsageError, ValueError) as exc:  # DataError and TrainingDiverged are ValueErrors
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


COMMANDS["train"] = Command("train and report RMSE per epoch", _train_arguments, _train)
COMMANDS["bench"] = Command("time engines on the same data and settings", _bench_arguments, _bench)
COMMANDS["sample"] = Command("write a synthetic ratings CSV", _sample_arguments, _sample)
COMMANDS["tune"] = Command("search hyperparameters with Optuna on a validation split",
                           tune_cli.add_arguments, tune_cli.run)
COMMANDS["recommend"] = Command("top-N items for a user of a saved model", cli_explore.recommend_arguments,
                                cli_explore.recommend)
COMMANDS["similar"] = Command("items nearest to an item of a saved model (cosine of factors)",
                              cli_explore.similar_arguments, cli_explore.similar)

if __name__ == "__main__":
    sys.exit(main())
