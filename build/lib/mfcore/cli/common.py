"""What every subcommand shares: the :class:`Command` record, :class:`UsageError`, options generated from
the parameter table (:func:`add_table_options`, :func:`model_params`), the data argument, output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..models.params import PARAMETERS, Param


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


def data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="ratings file (CSV/TSV/u.data/ratings.dat/ratings.csv, .gz, .zip) or folder")
    parser.add_argument("--items", default=None, help="items file with titles (movies.csv, u.item, movies.dat)")


def write_atomically(path, write: Callable, text: bool = False) -> None:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it onto ``path``: the
    file appears whole or not at all (an interrupted or failed write removes the temporary file, so
    no partial file is left to be read as if complete). The file gets the usual mode (0666 less the
    umask). An OSError becomes a :class:`UsageError` saying why (its ``strerror``, else its text)."""
    target, partial = Path(path), None
    try:
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        with os.fdopen(handle, "w" if text else "wb", **({"newline": ""} if text else {})) as stream:
            write(stream)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(partial, 0o666 & ~mask)
        os.replace(partial, target)
        partial = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)


def emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj) if as_json else text, flush=True)


def number_or_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def positive_int(text: str) -> int:
    """argparse type of a count >= 1 ."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not an integer >= 1")
    return value
