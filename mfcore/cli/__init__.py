"""Command line: ``python -m mfcore train|bench|sample|...`` (the contract in README "Command line").

Bad input or arguments exit with status 2 and one line ``error: ...`` on stderr, never a traceback:
also running out of memory, too deep a recursion and operating-system errors (a missing or unreadable
file, a full disk); Ctrl-C exits 130 with ``error: interrupted``; anything else unexpected exits 1 with
``error: internal error ...``, one line too.
The model options (``--factors``, ``--lr``, ...), their checks, defaults and help are generated from
:data:`mfcore.models.params.PARAMETERS` by :func:`add_table_options`. To add a subcommand, write its
``add_arguments(parser)`` and ``run(args)`` in a module of this package (one module per command
group: :mod:`.train`, :mod:`.sample`, :mod:`.tune`, :mod:`.explore`; shared pieces in :mod:`.common`)
and register it in :data:`COMMANDS` below. Modules import their heavy dependencies inside ``run``, so
``--help`` stays fast."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from .. import __version__
from .._optional import MissingExtra
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


PROG = "mfcore" if Path(sys.argv[0]).name == "mfcore" else "python -m mfcore"
"""The name ``--help`` shows: ``mfcore`` when run as the installed console command."""


def build_parser():
    """The parser of every registered command."""
    parser = _Parser(prog=PROG, description="SGD matrix factorization of rating files.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
    except (UsageError, ValueError, MissingExtra) as exc:  # DataError and TrainingDiverged are ValueErrors
        return _error(_first_line(exc), 2)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except BrokenPipeError:
        return 0
    except RecursionError:
        return _error("the input is nested too deeply to process (Python's recursion limit).", 2)
    except MemoryError:
        return _error("out of memory: the data or the model is too large for this machine; use fewer "
                      "ratings, a smaller K or fewer threads.", 2)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or _first_line(exc)}", 2)
    except Exception as exc:  # noqa: BLE001 - the contract: one line, never a traceback
        return _error(f"internal error ({type(exc).__name__}: {_first_line(exc)}); please report it.", 1)
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _error(message: str, status: int) -> int:
    """Print ``error: message`` as one line (ending with a newline) on stderr; return ``status``."""
    with contextlib.suppress(OSError, ValueError):  # stderr closed: the status still says it
        print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return status
