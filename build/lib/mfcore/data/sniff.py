"""What a text file looks like from its first lines: encoding, separator, header and column roles.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError

COLUMN_ALIASES = {
    "user": {"user", "userid", "user_id", "users", "uid", "customer", "customerid", "customer_id"},
    "item": {"item", "itemid", "item_id", "items", "iid", "movie", "movieid", "movie_id", "product",
             "productid", "product_id", "title", "book", "isbn"},
    "rating": {"rating", "ratings", "score", "stars", "value", "rate"},
    "timestamp": {"timestamp", "time", "date", "datetime", "ts", "unixtime"},
}


ROLES = ("user", "item", "rating", "timestamp")


_SEPARATORS = ("::", "\t", ",", ";", "|")


SEPARATOR_NAMES = {"::": "'::'", "\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}


def decoded_head(raw: bytes) -> str:
    head = raw[:65536]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the 64 KiB boundary
            return head[:exc.start].decode("utf-8")
        return head.decode("latin-1")


def text_encoding(raw: bytes, chunk: int = 1 << 26) -> str:
    """``"utf8"`` when all of ``raw`` is valid UTF-8 (an ASCII file is checked at memory speed), else
    ``"latin-1"``, which decodes any byte."""
    array = np.frombuffer(raw, dtype=np.uint8)
    if all(array[start:start + chunk].max(initial=0) < 128 for start in range(0, len(array), chunk)):
        return "utf8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(raw), chunk):
            decoder.decode(raw[start:start + chunk])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf8"


def detect_separator(line: str) -> str | None:
    for sep in _SEPARATORS:
        if sep in line:
            return sep
    return None  # whitespace


def split_line(line: str, sep: str | None) -> list[str]:
    return [field.strip().strip('"') for field in (line.split(sep) if sep else line.split())]


def column_name(name: str) -> str:
    """A header name as the alias tables spell it: lower case, spaces and dashes as ``_``."""
    return re.sub(r"[\s\-]", "_", name.lower())


def header_roles(fields: list[str]) -> dict[str, int] | None:
    """Map roles to positions if ``fields`` is a header row, else None."""
    roles = {}
    for position, name in enumerate(fields):
        for role, aliases in COLUMN_ALIASES.items():
            if column_name(name) in aliases and role not in roles:
                roles[role] = position
    if len(roles) >= 3 and {"user", "item", "rating"} <= roles.keys():
        return roles
    if len(fields) >= 3 and not is_number(fields[2]):
        return {"user": 0, "item": 1, "rating": 2, **({"timestamp": 3} if len(fields) > 3 else {})}
    return None


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_date(text: str) -> bool:
    return not pd.isna(pd.to_datetime(text, errors="coerce", format="mixed"))


def first_line(raw: bytes) -> tuple[int, int, str]:
    """(offset of the first non-blank line, its 0-based line number, its text)."""
    offset, number = 0, 0
    while offset < len(raw):
        end = raw.find(b"\n", offset)
        end = len(raw) if end < 0 else end
        line = raw[offset:end]
        if line.strip():
            text = decoded_head(line[:65536] if len(line) > 65536 else line)
            return offset, number, text
        offset, number = end + 1, number + 1
    raise DataError("the file is empty.")


def first_data_fields(raw: bytes, sep: str | None, has_header: bool) -> list[str]:
    lines = (line for line in decoded_head(raw[:65536]).splitlines() if line.strip())
    if has_header:
        next(lines, None)
    return split_line(next(lines, ""), sep)


def is_integer(fields: list[str], position: int) -> bool:
    return position < len(fields) and re.fullmatch(r"[+-]?\d{1,18}", fields[position]) is not None


@dataclass(frozen=True)
class ColumnGuess:
    """What :func:`sniff_columns` makes of a file's first line: its ``fields``, whether it is a
    ``header``, the ``roles`` (role -> position) the loader would use, and whether that guess is
    ``ambiguous`` (a header whose names do not name user, item and rating exactly once each)."""

    fields: list[str]
    header: bool
    roles: dict[str, int]
    ambiguous: bool


def sniff_columns(raw: bytes) -> ColumnGuess:
    """Guess the columns of ``raw`` from its first non-blank line, as :func:`load_ratings` would
    (archives and binary files give an empty guess; loading them says what is wrong)."""
    if raw[:2] == b"\x1f\x8b" or raw[:4] == b"PK\x03\x04" or b"\x00" in raw[:4096]:
        return ColumnGuess([], False, {"user": 0, "item": 1, "rating": 2}, False)
    head = raw[:65536].removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    fields = split_line(first, detect_separator(first))
    roles = header_roles(fields) if len(fields) >= 3 else None
    if roles is None:
        return ColumnGuess(fields, False, {"user": 0, "item": 1, "rating": 2}, False)
    names = [column_name(name) for name in fields]
    ambiguous = any(sum(name in COLUMN_ALIASES[role] for name in names) != 1
                    for role in ("user", "item", "rating"))
    return ColumnGuess(fields, True, roles, ambiguous)


def integral(numbers: np.ndarray) -> bool:
    """Every value is a finite whole number that fits int64 (so ``1.0`` ids become ``1``)."""
    return bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers))
                and np.abs(numbers).max(initial=0) < 2**62)
