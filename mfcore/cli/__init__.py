"""Command line: ``python -m mfcore train|bench|sample|...`` (the contract in README "Command line").

Bad input or arguments exit with status 2 and one line ``error: ...`` on stderr, never a traceback.
The model options (``--factors``, ``--lr``, ...), their checks, defaults and help are generated from
:data:`mfcore.models.params.PARAMETERS` by :func:`add_table_options`. To add a subcommand, write its
``add_arguments(parser)`` and ``run(args)`` in a module of this package (one module per command
group: :mod:`.train`, :mod:`.sample`, :mod:`.tune`, :mod:`.explore`; shared pieces in :mod:`.common`)
and register it in :data:`COMMANDS` below. Modules import their heavy dependencies inside ``run``, so
``--help`` stays fast."""

from __future__ import annotations

import sys

from . import explore, sample, train, tune
from .common import Command, UsageError, _Parser

__all__ = ["COMMANDS", "Command", "UsageError", "build_parser", "main"]

COMMANDS: dict[str, Command] = {
    "train": Command("train and report RMSE per epoch", train.train_arguments, train.train),
    "bench": Command("time engines on the same data and settings", train.bench_arguments, train.bench),
    "sample": Command("write a synthetic ratings CSV", sample.sample_arguments, sample.sample),
    "tune": Command("search hyperparameters with Optuna on a validation split", tune.add_arguments, tune.run),
    "recommend": Command("top-N items for a user of a saved model", explore.recommend_arguments,
                         explore.recommend),
    "similar": Command("items nearest to an item of a saved model (cosine of factors)",
                       explore.similar_arguments, explore.similar),
}
"""The subcommands, in ``--help`` order."""


def build_parser():
    """The parser of every registered command."""
    parser = _Parser(prog="python -m mfcore", description="SGD matrix factorization of rating files.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        command.add_arguments(commands.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv=None) -> int:
    """Run one command; bad input exits 2 with one ``error: ...`` line on stderr, never a traceback."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser().parse_args(argv)
        args.argv = argv  # what was spelled, for commands whose defaults depend on another option
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
