"""``load_ratings`` and ``from_arrays``: the loader's entry points (formats and rules: :mod:`mfcore.data`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .archive import ratings_bytes
from .build import DUPLICATE_POLICIES, MAX_ABS_RATING, build_ratings
from .errors import DataError, TypeGuessError
from .items import ITEM_ID_MAP_FILES, load_item_id_map, load_items, through_id_map
from .parse import parse
from .ratings import LoadSummary, Ratings
from .sniff import (
    COLUMN_ALIASES,
    ROLES,
    SEPARATOR_NAMES,
    column_name,
    detect_separator,
    first_data_fields,
    first_line,
    header_roles,
    is_date,
    is_integer,
    is_number,
    split_line,
)


def load_ratings(source, *, duplicates: str = "last", columns: dict | None = None,
                 items=None, max_unpacked_bytes: int | None = None) -> Ratings:
    """Load ratings from a path, bytes, file object or DataFrame (formats and rules: module docstring).

    ``columns`` maps ``user``/``item``/``rating``/``timestamp`` to column names (a header's names) or
    positions, overriding detection; ``duplicates`` is ``"last"`` (default), ``"mean"`` or ``"error"``;
    ``items`` is an optional items file (path or bytes: ``movies.csv``, ``u.item``, ``movies.dat`` or a
    CSV with id and title columns) joined by item id into ``item_info`` / ``item_titles``. A MovieLens
    zip or folder brings its own items file unless ``items`` is given. A folder whose ratings file
    numbers the items differently from its items file carries an item id map
    (:data:`mfcore.data.items.ITEM_ID_MAP_FILES`): the items file's ids go through it before the join.

    A ``.gz`` or ``.zip`` may unpack to at most ``max_unpacked_bytes`` (default: the memory cap of one
    user's process, :func:`mfcore.data.archive.unpacked_limit`) and at most 100 times its own size;
    either limit is checked while inflating, in constant memory (see :mod:`mfcore.data.archive`).
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise DataError(f"duplicates == {duplicates!r}, must be one of {', '.join(DUPLICATE_POLICIES)}.")
    if isinstance(source, pd.DataFrame):
        ratings = _build_from_dataframe(source, columns, duplicates)
        bundled_items = None
    else:
        raw, bundled_items, origin = ratings_bytes(source, max_unpacked_bytes)
        try:
            ratings = _build_from_text(raw, columns, duplicates, origin)
        except MemoryError:  # pyarrow's ArrowMemoryError included: one sentence, never a traceback
            raise DataError("the file is too large to load in the memory available: give a smaller "
                            "file.") from None
    if items is not None:
        bundled_items = (Path(items).name if isinstance(items, (str, os.PathLike)) else "the items file", items)
    if bundled_items is not None:
        name, items_source = bundled_items
        info = load_items(items_source, max_unpacked_bytes)
        id_map = _folder_id_map(source)
        if id_map is not None:
            info, name = through_id_map(info, load_item_id_map(id_map)), f"{name} (ids through {id_map.name})"
        ratings = ratings.with_items(info, name)
    return ratings


def _folder_id_map(source) -> Path | None:
    """The item id map file of a folder ``source``, if it has one."""
    if not isinstance(source, (str, os.PathLike)) or not Path(source).is_dir():
        return None
    return next((Path(source) / name for name in ITEM_ID_MAP_FILES if (Path(source) / name).is_file()), None)


def from_arrays(users, items, ratings, timestamps=None, *, duplicates: str = "last") -> Ratings:
    """Build :class:`Ratings` from parallel arrays of ids and ratings (no minimum size)."""
    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings})
    if timestamps is not None:
        frame["timestamp"] = timestamps
    return load_ratings(frame, duplicates=duplicates)


def _build_from_text(raw: bytes, columns: dict | None, duplicates: str, origin: str) -> Ratings:
    _, first_number, first = first_line(raw)
    sep = detect_separator(first)
    fields = split_line(first, sep)
    if len(fields) < 3:
        hint = ""
        lowered = [name.lower() for name in fields]
        if any(name in ("title", "genres", "name") for name in lowered) or (
                len(fields) == 2 and not is_number(fields[1]) and is_number(fields[0])):
            hint = " (this looks like an items file: give it as the items file, not as ratings)"
        raise DataError(f"line {first_number + 1}: expected at least 3 columns (user, item, rating), "
                        f"found {len(fields)}{hint}.")
    named_roles = header_roles(fields)
    has_header = named_roles is not None
    lowered = {column_name(name) for name in fields}
    if has_header and lowered & {"title", "genres"} and not lowered & COLUMN_ALIASES["rating"]:
        raise DataError(f"line {first_number + 1}: this looks like an items file (id, title, ...) rather "
                        "than ratings: give it as the items file.")
    roles = dict(named_roles or {"user": 0, "item": 1, "rating": 2})
    if not has_header and len(fields) >= 4 and (is_number(fields[3]) or is_date(fields[3])):
        roles["timestamp"] = 3
    if columns:
        roles = _apply_column_overrides(roles, columns, fields if has_header else None)
    for role, position in roles.items():
        if not 0 <= position < len(fields):
            raise DataError(f"column {position} for {role} is out of range: the file has {len(fields)} columns.")
    picked = [role for role in ROLES if role in roles]
    ignored = tuple(name for n, name in enumerate(fields) if n not in roles.values()) if has_header else ()
    include = [roles[r] for r in picked]
    ids = (roles["user"], roles["item"])
    first_row = first_data_fields(raw, sep, has_header)
    text = pa.dictionary(pa.int32(), pa.string())
    guessed = {n: text for n in ids if not is_integer(first_row, n)} | {roles["rating"]: pa.float64()}
    try:  # integer ids parse fastest as integers; text ids come out of the parse dictionary-encoded
        parsed = parse(raw, sep, len(fields), header=has_header, include=include, column_types=guessed,
                       stream=True, float_limit=MAX_ABS_RATING)
    except TypeGuessError:  # a later value does not fit the guess: read it all as text, then check
        as_text = {n: text for n in ids} | {roles[r]: pa.string() for r in ("rating", "timestamp") if r in roles}
        parsed = parse(raw, sep, len(fields), header=has_header, include=include, column_types=as_text,
                       stream=True)
    by_role = {role: parsed.columns[f"c{roles[role]}"] for role in picked}
    parsed.columns = None  # each column is freed as soon as build_ratings has converted it: peak memory

    def where(row: int) -> str:
        return f"line {parsed.line_of_row(row)}: "

    source = ", ".join(filter(None, [origin, f"{SEPARATOR_NAMES.get(sep, 'whitespace')} separated",
                                     "with a header" if has_header else "no header"]))
    summary = LoadSummary(data_lines=len(by_role["rating"]), blank_lines=parsed.blank_lines,
                          duplicate_policy=duplicates, ignored_columns=ignored, source=source)
    return build_ratings(by_role, where, duplicates, summary, decimal_comma=sep == ";", check_size=True)


def _apply_column_overrides(roles, columns, header_fields):
    roles = dict(roles)
    for role, column in columns.items():
        if role not in COLUMN_ALIASES:
            raise DataError(f"unknown column role {role!r}; use user, item, rating or timestamp.")
        if column is None:
            roles.pop(role, None)
        elif isinstance(column, (int, np.integer)):
            roles[role] = int(column)
        elif header_fields is not None and column in header_fields:
            roles[role] = header_fields.index(column)
        else:
            raise DataError(f"column {column!r} for {role} is not in the file's header.")
    if len(set(roles.values())) != len(roles):
        raise DataError("two roles are mapped to the same column.")
    if not {"user", "item", "rating"} <= roles.keys():
        raise DataError("the user, item and rating columns must all be given.")
    return roles


def _build_from_dataframe(source: pd.DataFrame, columns: dict | None, duplicates: str) -> Ratings:
    names = [str(c) for c in source.columns]
    roles = header_roles(names) if len(names) >= 3 else None
    if roles is None:
        raise DataError(
            f"expected at least 3 columns (user, item, rating), found {len(names)}."
            if len(names) < 3 else "cannot tell which columns hold user, item and rating."
        )
    if columns:
        roles = _apply_column_overrides(roles, columns, names)
    by_role = {role: source.iloc[:, roles[role]] for role in ROLES if role in roles}

    def where(row: int) -> str:
        return f"row {row + 1}: "

    summary = LoadSummary(data_lines=len(source), duplicate_policy=duplicates, source="a DataFrame")
    return build_ratings(by_role, where, duplicates, summary, decimal_comma=False, check_size=False)
