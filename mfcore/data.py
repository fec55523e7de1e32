"""Load and validate rating files into a compact :class:`Ratings` table.

Accepted sources: a path, raw ``bytes`` or a :class:`pandas.DataFrame`. Accepted text formats:

- CSV / TSV / semicolon / pipe / whitespace separated, with or without a header row;
- MovieLens 100K ``u.data`` (tab separated, no header);
- MovieLens 1M/10M ``ratings.dat`` (``::`` separated, no header);
- MovieLens 20M/25M/latest ``ratings.csv`` (comma separated, header ``userId,movieId,rating,timestamp``).

Columns are user, item, rating and an optional timestamp. A header is recognised by its names
(``user``/``userId``/``user_id``, ``item``/``movieId``/``item_id``/``movie``/``product``,
``rating``/``score``/``stars``, ``timestamp``/``time``/``date``); without one the first columns are
taken in that order. Ids may be numbers or strings; they are mapped to contiguous ``int32`` codes
(sorted by id) with a two-way map. Ratings become ``float32``.

Duplicate (user, item) pairs: by default the **last** occurrence in the file wins (a re-rating
replaces the earlier one); ``duplicates="mean"`` averages them, ``duplicates="error"`` refuses them.

Every problem raises :class:`DataError` (a ``ValueError``) with a one-line message naming the problem
and, when one line is at fault, its line number. Nothing is written to disk; nothing is unpickled.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DataError", "Ratings", "load_ratings", "from_arrays", "sniff_columns"]

DUPLICATE_POLICIES = ("last", "mean", "error")

_COLUMN_ALIASES = {
    "user": {"user", "userid", "user_id", "users", "uid", "customer", "customerid", "customer_id"},
    "item": {"item", "itemid", "item_id", "items", "iid", "movie", "movieid", "movie_id", "product",
             "productid", "product_id", "title", "book", "isbn"},
    "rating": {"rating", "ratings", "score", "stars", "value", "rate"},
    "timestamp": {"timestamp", "time", "date", "datetime", "ts", "unixtime"},
}
_SEPARATORS = ("::", "\t", ",", ";", "|")


class DataError(ValueError):
    """A rating file or table cannot be used; the message says why (and where)."""


@dataclass(frozen=True, eq=False)
class Ratings:
    """A table of ratings with contiguous integer codes.

    ``users[n]``, ``items[n]`` are ``int32`` codes into ``user_ids`` / ``item_ids`` (the original ids,
    sorted); ``values[n]`` is the ``float32`` rating; ``timestamps`` is ``int64`` seconds or ``None``.
    ``scale`` is the (min, max) rating of the whole loaded file, kept by every split of it.
    """

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    scale: tuple[float, float]
    timestamps: np.ndarray | None = None
    _user_index: pd.Index = field(default=None, repr=False)
    _item_index: pd.Index = field(default=None, repr=False)

    def __post_init__(self):
        if self._user_index is None:
            object.__setattr__(self, "_user_index", pd.Index(self.user_ids))
        if self._item_index is None:
            object.__setattr__(self, "_item_index", pd.Index(self.item_ids))

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def density(self) -> float:
        """Fraction of the user x item matrix that holds a rating."""
        cells = self.n_users * self.n_items
        return len(self) / cells if cells else 0.0

    def user_codes(self, ids) -> np.ndarray:
        """Codes of original user ids; ``-1`` where an id is unknown."""
        return _codes(self._user_index, ids)

    def item_codes(self, ids) -> np.ndarray:
        """Codes of original item ids; ``-1`` where an id is unknown."""
        return _codes(self._item_index, ids)

    def take(self, rows: np.ndarray) -> Ratings:
        """The ratings at ``rows`` (indices or boolean mask), with the same id maps and scale."""
        return Ratings(
            users=self.users[rows], items=self.items[rows], values=self.values[rows],
            user_ids=self.user_ids, item_ids=self.item_ids, scale=self.scale,
            timestamps=None if self.timestamps is None else self.timestamps[rows],
            _user_index=self._user_index, _item_index=self._item_index,
        )

    def to_frame(self) -> pd.DataFrame:
        """Original ids and ratings as a DataFrame (``user, item, rating[, timestamp]``)."""
        frame = pd.DataFrame({
            "user": self.user_ids[self.users], "item": self.item_ids[self.items], "rating": self.values,
        })
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps
        return frame


def _codes(index: pd.Index, ids) -> np.ndarray:
    scalar = np.ndim(ids) == 0
    wanted = np.atleast_1d(np.asarray(ids, dtype=object if index.dtype == object else None))
    if index.dtype != object and wanted.dtype == object:
        wanted = pd.to_numeric(pd.Series(wanted), errors="coerce").to_numpy()
    elif index.dtype == object:
        wanted = wanted.astype(str).astype(object)
    codes = index.get_indexer(wanted).astype(np.int32)
    return codes[0] if scalar else codes


def load_ratings(source, *, duplicates: str = "last", columns: dict | None = None) -> Ratings:
    """Load ratings from a path, bytes or DataFrame (see the module docstring for formats).

    ``columns`` maps ``user``/``item``/``rating``/``timestamp`` to column names (a header's names) or
    positions, overriding detection; ``duplicates`` is ``"last"`` (default), ``"mean"`` or ``"error"``.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise DataError(f"duplicates == {duplicates!r}, must be one of {', '.join(DUPLICATE_POLICIES)}.")
    if isinstance(source, pd.DataFrame):
        frame, first_line = _frame_from_dataframe(source, columns), None
    else:
        frame, first_line = _frame_from_text(_read_bytes(source), columns)
    return _build(frame, first_line, duplicates)


def from_arrays(users, items, ratings, timestamps=None, *, duplicates: str = "last") -> Ratings:
    """Build :class:`Ratings` from parallel arrays of ids and ratings."""
    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings})
    if timestamps is not None:
        frame["timestamp"] = timestamps
    return load_ratings(frame, duplicates=duplicates)


# --- reading -----------------------------------------------------------------------------------

def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            for name in ("ratings.dat", "ratings.csv", "u.data"):
                if (path / name).is_file():
                    return (path / name).read_bytes()
            raise DataError(f"{path} is a folder without ratings.dat, ratings.csv or u.data.")
        if not path.is_file():
            raise DataError(f"{path}: no such file.")
        return path.read_bytes()
    if hasattr(source, "read"):
        data = source.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise DataError(f"cannot read ratings from a {type(source).__name__}; give a path, bytes or a DataFrame.")


def _detect_separator(line: str) -> str | None:
    for sep in _SEPARATORS:
        if sep in line:
            return sep
    return None  # whitespace


def _split_line(line: str, sep: str | None) -> list[str]:
    return [field.strip().strip('"') for field in (line.split(sep) if sep else line.split())]


def _header_roles(fields: list[str]) -> dict[str, int] | None:
    """Map roles to positions if ``fields`` is a header row, else None."""
    def normal(name):
        return re.sub(r"[\s\-]", "_", name.lower())
    roles = {}
    for position, name in enumerate(fields):
        for role, aliases in _COLUMN_ALIASES.items():
            if normal(name) in aliases and role not in roles:
                roles[role] = position
    if len(roles) >= 3 and {"user", "item", "rating"} <= roles.keys():
        return roles
    if len(fields) >= 3 and not _is_number(fields[2]):
        return {"user": 0, "item": 1, "rating": 2, **({"timestamp": 3} if len(fields) > 3 else {})}
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    return not pd.isna(pd.to_datetime(text, errors="coerce", format="mixed"))


def _frame_from_text(raw: bytes, columns: dict | None) -> tuple[pd.DataFrame, int]:
    if not raw.strip():
        raise DataError("the file is empty.")
    if b"\x00" in raw[:65536]:
        raise DataError("the file is not a text file (it contains NUL bytes).")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        head = raw[:65536].decode("utf-8")
    except UnicodeDecodeError:
        try:
            head = raw[:65536].decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            raise DataError("the file is not text in UTF-8 or Latin-1.") from None
        encoding = "latin-1"
    else:
        encoding = "utf-8"
    lines = head.splitlines()
    first_index = next(n for n, line in enumerate(lines) if line.strip())
    first = lines[first_index]
    sep = _detect_separator(first)
    fields = _split_line(first, sep)
    if len(fields) < 3:
        raise DataError(
            f"line {first_index + 1}: expected at least 3 columns (user, item, rating), found {len(fields)}."
        )
    header_roles = _header_roles(fields)
    has_header = header_roles is not None
    roles = dict(header_roles or {"user": 0, "item": 1, "rating": 2})
    if not has_header and len(fields) >= 4 and (_is_number(fields[3]) or _is_date(fields[3])):
        roles["timestamp"] = 3
    if columns:
        roles = _apply_column_overrides(roles, columns, fields if has_header else None)

    if sep == "::":
        raw, sep = raw.replace(b"::", b"\x1f"), "\x1f"
    n_columns = len(fields)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw), sep=sep if sep else r"\s+", header=None, names=range(n_columns),
            skiprows=first_index + 1 if has_header else first_index,
            skip_blank_lines=False, encoding=encoding, engine="c", skipinitialspace=True,
            keep_default_na=False, na_values=[""], quotechar='"',
        )
    except pd.errors.ParserError as exc:
        raise DataError(_parser_message(str(exc), first_index + (1 if has_header else 0))) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"the file cannot be parsed: {exc}".splitlines()[0]) from None
    first_data_line = first_index + (2 if has_header else 1)
    frame = frame[[roles[r] for r in ("user", "item", "rating", "timestamp") if r in roles]]
    frame.columns = [r for r in ("user", "item", "rating", "timestamp") if r in roles]
    return frame, first_data_line


def _parser_message(message: str, lines_before: int) -> str:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return f"line {line + lines_before}: expected {expected} fields, found {saw}."
    return "the file cannot be parsed: " + message.strip().splitlines()[-1]


def _apply_column_overrides(roles, columns, header_fields):
    roles = dict(roles)
    for role, column in columns.items():
        if role not in _COLUMN_ALIASES:
            raise DataError(f"unknown column role {role!r}; use user, item, rating or timestamp.")
        if column is None:
            roles.pop(role, None)
        elif isinstance(column, int):
            roles[role] = column
        elif header_fields is not None and column in header_fields:
            roles[role] = header_fields.index(column)
        else:
            raise DataError(f"column {column!r} for {role} is not in the file's header.")
    if len(set(roles.values())) != len(roles):
        raise DataError("two roles are mapped to the same column.")
    return roles


def _frame_from_dataframe(source: pd.DataFrame, columns: dict | None) -> pd.DataFrame:
    names = [str(c) for c in source.columns]
    roles = _header_roles(names) if len(names) >= 3 else None
    if roles is None:
        raise DataError(
            f"expected at least 3 columns (user, item, rating), found {len(names)}."
            if len(names) < 3 else "cannot tell which columns hold user, item and rating."
        )
    if columns:
        roles = _apply_column_overrides(roles, columns, names)
    picked = [r for r in ("user", "item", "rating", "timestamp") if r in roles]
    frame = source.iloc[:, [roles[r] for r in picked]].copy()
    frame.columns = picked
    return frame.reset_index(drop=True)


# --- validation and encoding ------------------------------------------------------------------

def _build(frame: pd.DataFrame, first_line: int | None, duplicates: str) -> Ratings:
    def where(row: int) -> str:
        return f"line {first_line + row}: " if first_line is not None else f"row {row + 1}: "

    if first_line is not None:
        blank = frame.isna().all(axis=1).to_numpy()
        if blank.any():
            frame = frame[~blank]
    if len(frame) == 0:
        raise DataError("no ratings found (the file has a header but no data rows).")
    rows = frame.index  # file positions, for messages (an Index: not materialized)

    for role in ("user", "item", "rating"):
        missing = frame[role].isna().to_numpy()
        if missing.any():
            row = rows[np.argmax(missing)]
            raise DataError(f"{where(row)}the {role} is missing.")

    rating = frame["rating"]
    if not pd.api.types.is_numeric_dtype(rating) or pd.api.types.is_bool_dtype(rating):
        numeric = pd.to_numeric(rating, errors="coerce")
        bad = numeric.isna().to_numpy()
        if bad.any():
            row = rows[np.argmax(bad)]
            raise DataError(f"{where(row)}rating {str(rating.iloc[np.argmax(bad)])!r} is not a number.")
        rating = numeric
    values = rating.to_numpy(dtype=np.float64)
    del rating, frame["rating"]  # columns are dropped as soon as they are converted: peak memory
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        position = int(np.argmax(not_finite))
        raise DataError(f"{where(rows[position])}rating {float(values[position])} is not a finite number.")

    timestamps = None
    if "timestamp" in frame:
        timestamps = _timestamps(frame.pop("timestamp"), rows, where)

    user_codes, user_ids = _encode(frame.pop("user"))
    users = user_codes.astype(np.int32)
    item_codes, item_ids = _encode(frame.pop("item"))
    items = item_codes.astype(np.int32)
    del user_codes, item_codes
    values32 = values.astype(np.float32)
    del values

    users, items, values32, timestamps = _resolve_duplicates(
        users, items, values32, timestamps, len(item_ids), duplicates, rows, where
    )
    return Ratings(
        users=users, items=items, values=values32, user_ids=user_ids, item_ids=item_ids,
        scale=(float(values32.min()), float(values32.max())), timestamps=timestamps,
    )


def _timestamps(column: pd.Series, rows, where) -> np.ndarray:
    """Timestamps as int64 seconds: numbers (epoch seconds) are taken as they are, dates are parsed."""
    numeric = pd.to_numeric(column, errors="coerce")
    if not numeric.isna().any():
        return numeric.to_numpy(dtype=np.int64)
    parsed = pd.to_datetime(column.astype(str), errors="coerce", utc=True, format="mixed")
    bad = (numeric.isna() & parsed.isna()).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{where(rows[row])}timestamp {str(column.iloc[row])!r} is not a number or a date.")
    seconds = parsed.dt.tz_localize(None).astype("datetime64[s]").astype(np.int64)
    return np.where(numeric.isna(), seconds, numeric.fillna(0)).astype(np.int64)


def _encode(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted codes for a column of ids; integral floats (``1.0``) become ints, others strings."""
    if pd.api.types.is_float_dtype(column):
        as_int = column.to_numpy()
        if np.all(as_int == np.round(as_int)):
            column = column.astype(np.int64)
    if pd.api.types.is_integer_dtype(column):
        codes, uniques = pd.factorize(column, sort=True)
        return codes, np.asarray(uniques, dtype=np.int64)
    if not pd.api.types.is_string_dtype(column):
        column = column.astype(str)
    codes, uniques = pd.factorize(column)  # then strip and sort the few distinct ids, not every row
    ids, merged = np.unique(pd.Index(uniques).astype(str).str.strip().to_numpy(dtype=object),
                            return_inverse=True)
    return merged[codes], ids


def _resolve_duplicates(users, items, values, timestamps, n_items, policy, rows, where):
    keys = users.astype(np.int64) * n_items + items
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    repeat = sorted_keys[1:] == sorted_keys[:-1]
    if not repeat.any():
        return users, items, values, timestamps
    if policy == "error":
        second = order[1:][repeat].min()
        raise DataError(f"{where(rows[second])}duplicate rating for the same user and item.")
    starts = np.flatnonzero(np.r_[True, ~repeat])
    if policy == "last":
        last_in_group = np.r_[starts[1:], len(order)] - 1
        keep = np.sort(order[last_in_group])
        return users[keep], items[keep], values[keep], None if timestamps is None else timestamps[keep]
    first_positions = order[starts]  # "mean": keep the first occurrence, average the group's values
    sums = np.add.reduceat(values[order].astype(np.float64), starts)
    means = (sums / np.diff(np.r_[starts, len(order)])).astype(np.float32)
    in_file_order = np.argsort(first_positions)
    keep = first_positions[in_file_order]
    return users[keep], items[keep], means[in_file_order], None if timestamps is None else timestamps[keep]


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
    """Guess the columns of ``raw`` from its first non-blank line, as :func:`load_ratings` would."""
    head = raw[:65536].removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    fields = _split_line(first, _detect_separator(first))
    roles = _header_roles(fields) if len(fields) >= 3 else None
    if roles is None:
        return ColumnGuess(fields, False, {"user": 0, "item": 1, "rating": 2}, False)
    names = [re.sub(r"[\s\-]", "_", name.lower()) for name in fields]
    ambiguous = any(sum(name in _COLUMN_ALIASES[role] for name in names) != 1
                    for role in ("user", "item", "rating"))
    return ColumnGuess(fields, True, roles, ambiguous)
