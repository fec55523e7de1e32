"""Parsed columns to :class:`Ratings`: validation (missing values, finite ratings, sizes), id encoding to
contiguous sorted codes, and the duplicates policy.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError
from .ratings import LoadSummary, Ratings
from .sniff import integral

DUPLICATE_POLICIES = ("last", "mean", "error")


MAX_ABS_RATING = 1e6


MIN_USERS = 2


MIN_ITEMS = 2


def _series(column) -> pd.Series:
    if isinstance(column, pd.Series):
        return column.reset_index(drop=True)
    return column.to_pandas()


def _missing(column) -> np.ndarray | None:
    """Mask of missing values (null, or empty/blank text), or None when nothing is missing."""
    if isinstance(column, tuple):  # (indices, dictionary) of a dictionary-encoded column
        indices, dictionary = column
        blank = np.flatnonzero(pc.equal(pc.utf8_trim_whitespace(dictionary), "").to_numpy(zero_copy_only=False))
        if not len(blank):
            return None
        mask = np.isin(indices, blank)
        return mask if mask.any() else None
    if isinstance(column, (pa.ChunkedArray, pa.Array)):
        mask = column.is_null()
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            mask = pc.or_(mask, pc.equal(pc.utf8_trim_whitespace(column), ""))
        if not pc.any(mask).as_py():
            return None
        return mask.to_numpy(zero_copy_only=False)
    series = column
    mask = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        mask = mask | (series.astype(str).str.strip() == "").to_numpy()
    return mask if mask.any() else None


def _ratings_array(column, where, decimal_comma: bool) -> np.ndarray:
    if isinstance(column, (pa.ChunkedArray, pa.Array)) and (
            pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return column.to_numpy().astype(np.float64, copy=False)
    series = _series(column)
    if pd.api.types.is_bool_dtype(series):
        raise DataError(f"{where(0)}rating {str(series.iloc[0])!r} is not a number.")
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64)
    text = series.astype(str).str.strip()
    if decimal_comma:
        text = text.str.replace(r"^([+-]?\d+),(\d+)$", r"\1.\2", regex=True)
    numeric = pd.to_numeric(text, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        value = str(series.iloc[row])
        hint = ""
        if re.fullmatch(r"\s*[+-]?\d+,\d+\s*", value):
            hint = " (a decimal comma: use a point, or ';' as the separator)"
        raise DataError(f"{where(row)}rating {value[:40]!r} is not a number{hint}.")
    return numeric.to_numpy(dtype=np.float64)


def build_ratings(by_role: dict, where, duplicates: str, summary: LoadSummary, *, decimal_comma: bool,
           check_size: bool) -> Ratings:
    n_rows = len(by_role["rating"])
    if n_rows == 0:
        raise DataError("no ratings found (the file has a header but no data rows)."
                        if check_size else "no ratings found.")
    for role in ("user", "item"):  # dictionary-encoded ids: unify their chunks' dictionaries once
        if isinstance(by_role[role], pa.ChunkedArray) and pa.types.is_dictionary(by_role[role].type):
            by_role[role] = _unified(by_role[role])
    for role in ("user", "item", "rating"):
        missing = _missing(by_role[role])
        if missing is not None:
            raise DataError(f"{where(int(np.argmax(missing)))}the {role} is missing.")

    values = _ratings_array(by_role.pop("rating"), where, decimal_comma)
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        position = int(np.argmax(not_finite))
        raise DataError(f"{where(position)}rating {float(values[position])} is not a finite number.")
    too_large = np.abs(values) > MAX_ABS_RATING
    if too_large.any():
        position = int(np.argmax(too_large))
        raise DataError(f"{where(position)}rating {float(values[position]):g} is too large: ratings must "
                        f"be within +-{MAX_ABS_RATING:g}.")

    timestamps = None
    if "timestamp" in by_role:
        timestamps = _timestamps(by_role.pop("timestamp"), where)

    user_codes, user_ids = _encode(by_role.pop("user"))
    users = user_codes.astype(np.int32, copy=False)
    del user_codes
    item_codes, item_ids = _encode(by_role.pop("item"))
    items = item_codes.astype(np.int32, copy=False)
    del item_codes
    values32 = values.astype(np.float32)
    del values

    users, items, values32, timestamps, merged = _resolve_duplicates(
        users, items, values32, timestamps, len(item_ids), duplicates, where)
    warnings = []
    if check_size and (len(user_ids) < MIN_USERS or len(item_ids) < MIN_ITEMS):
        raise DataError(f"the file has {len(user_ids)} user{'s' * (len(user_ids) != 1)} and "
                        f"{len(item_ids)} item{'s' * (len(item_ids) != 1)}: matrix factorization "
                        f"needs at least {MIN_USERS} users and {MIN_ITEMS} items.")
    low, high = float(values32.min()), float(values32.max())
    if low == high and len(values32) > 1:
        warnings.append(f"Every rating is {low:g}: a model can only learn that constant, so its RMSE "
                        "will be 0 and says nothing.")
    return Ratings(
        users=users, items=items, values=values32, user_ids=user_ids, item_ids=item_ids,
        scale=(low, high), timestamps=timestamps,
        summary=replace(summary, duplicates=merged, warnings=tuple(warnings)),
    )


def _timestamps(column, where) -> np.ndarray:
    """Timestamps as int64 seconds: numbers (epoch seconds) are taken as they are, dates are parsed."""
    if isinstance(column, (pa.ChunkedArray, pa.Array)):
        if pa.types.is_integer(column.type) and column.null_count == 0:
            return column.to_numpy().astype(np.int64, copy=False)
        if (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)) and column.null_count == 0:
            return pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64()).to_numpy()
    column = _series(column)
    numeric = pd.to_numeric(column, errors="coerce")
    if not numeric.isna().any():
        if not np.all(np.abs(numeric.to_numpy(dtype=np.float64)) < 2**62):
            row = int(np.argmax(~(np.abs(numeric.to_numpy(dtype=np.float64)) < 2**62)))
            raise DataError(f"{where(row)}timestamp {str(column.iloc[row])!r} is out of range.")
        return numeric.to_numpy(dtype=np.int64)
    text = column.astype(str)
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    bad = (numeric.isna() & parsed.isna()).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{where(row)}timestamp {str(column.iloc[row])[:40]!r} is not a number or a date.")
    seconds = parsed.dt.tz_localize(None).astype("datetime64[s]").astype(np.int64)
    return np.where(numeric.isna(), seconds, numeric.fillna(0)).astype(np.int64)


def _encode(column) -> tuple[np.ndarray, np.ndarray]:
    """Sorted codes for a column of ids; integral floats (``1.0``) become ints, others strings."""
    if isinstance(column, tuple):  # (indices, dictionary) of a dictionary-encoded column
        indices, dictionary = column
        texts = pd.Index(dictionary.to_numpy(zero_copy_only=False).astype(object)).astype(str).str.strip()
        numbers = pd.to_numeric(pd.Series(texts), errors="coerce").to_numpy()
        if len(numbers) and integral(numbers):
            ids, merged = np.unique(numbers.astype(np.int64), return_inverse=True)
        else:
            ids, merged = np.unique(texts.to_numpy(dtype=object), return_inverse=True)
        return merged.astype(np.int32)[indices], ids
    if isinstance(column, (pa.ChunkedArray, pa.Array)):
        if pa.types.is_integer(column.type):
            codes, uniques = pd.factorize(column.to_numpy(), sort=True)
            return codes, np.asarray(uniques, dtype=np.int64)
        if pa.types.is_floating(column.type):
            column = pd.Series(column.to_numpy())
        else:
            encoded = pc.dictionary_encode(pc.cast(column, pa.string())).combine_chunks()
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            return _sorted_text_ids(codes, encoded.dictionary.to_numpy(zero_copy_only=False))
    if pd.api.types.is_float_dtype(column) and integral(column.to_numpy()):
        column = column.astype(np.int64)
    if pd.api.types.is_integer_dtype(column):
        codes, uniques = pd.factorize(column, sort=True)
        return codes, np.asarray(uniques, dtype=np.int64)
    codes, uniques = pd.factorize(column.astype(str))  # then strip and sort the few distinct ids
    return _sorted_text_ids(codes, uniques)



def _sorted_text_ids(codes: np.ndarray, uniques) -> tuple[np.ndarray, np.ndarray]:
    """``codes`` into ``uniques`` re-coded into the sorted, stripped text ids (two spellings of one
    id, such as ``" 7"`` and ``"7"``, become one)."""
    ids, merged = np.unique(pd.Index(uniques).astype(str).str.strip().to_numpy(dtype=object),
                            return_inverse=True)
    return merged[codes], ids


def _unified(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Indices (into one shared dictionary) and that dictionary of a dictionary-encoded column."""
    column = column.unify_dictionaries()
    if column.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], pa.string())
    indices = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks])
    return indices, column.chunk(0).dictionary


def _resolve_duplicates(users, items, values, timestamps, n_items, policy, where):
    """Apply the duplicates policy; returns the kept arrays and how many rows were merged away."""
    keys = users.astype(np.int64) * n_items + items
    sorted_keys = np.sort(keys)  # a plain sort finds repeats faster than the stable argsort below
    if not (sorted_keys[1:] == sorted_keys[:-1]).any():
        return users, items, values, timestamps, 0
    del sorted_keys
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    repeat = sorted_keys[1:] == sorted_keys[:-1]
    del keys, sorted_keys
    merged = int(repeat.sum())
    if policy == "error":
        second = int(order[1:][repeat].min())
        raise DataError(f"{where(second)}duplicate rating for the same user and item.")
    starts = np.flatnonzero(np.r_[True, ~repeat])
    if policy == "last":
        last_in_group = np.r_[starts[1:], len(order)] - 1
        keep = np.sort(order[last_in_group])
        return (users[keep], items[keep], values[keep], None if timestamps is None else timestamps[keep],
                merged)
    first_positions = order[starts]  # "mean": keep the first occurrence, average the group's values
    sums = np.add.reduceat(values[order].astype(np.float64), starts)
    means = (sums / np.diff(np.r_[starts, len(order)])).astype(np.float32)
    in_file_order = np.argsort(first_positions)
    keep = first_positions[in_file_order]
    return (users[keep], items[keep], means[in_file_order], None if timestamps is None else timestamps[keep],
            merged)
