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
from .parse import NumericColumn
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


def _first_missing(column) -> int | None:
    """Row of the first missing value (null, or empty/blank text), or None when nothing is missing."""
    if isinstance(column, NumericColumn):
        return column.first_null
    missing = _missing(column)
    return None if missing is None else int(np.argmax(missing))


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


def _streamed_ratings(column: NumericColumn, where) -> np.ndarray:
    """The float32 ratings of a streamed column, after the same checks as the other columns get (the
    first non-finite rating, then the first over :data:`MAX_ABS_RATING`, both on the parsed float64)."""
    if column.first_not_finite is not None:
        row, value = column.first_not_finite
        raise DataError(f"{where(row)}rating {value} is not a finite number.")
    if column.first_too_large is not None:
        row, value = column.first_too_large
        raise DataError(f"{where(row)}rating {value:g} is too large: ratings must "
                        f"be within +-{MAX_ABS_RATING:g}.")
    return column.values.astype(np.float32, copy=False)


def _checked_ratings(values: np.ndarray, where) -> np.ndarray:
    """``values`` after the checks a streamed column had block by block: the first non-finite rating,
    then the first over :data:`MAX_ABS_RATING`. (A streamed column needs them no more: its float64
    values passed them, and a float32 cast of a value within +-1e6 stays finite.)"""
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        position = int(np.argmax(not_finite))
        raise DataError(f"{where(position)}rating {float(values[position])} is not a finite number.")
    too_large = np.abs(values) > MAX_ABS_RATING
    if too_large.any():
        position = int(np.argmax(too_large))
        raise DataError(f"{where(position)}rating {float(values[position]):g} is too large: ratings must "
                        f"be within +-{MAX_ABS_RATING:g}.")
    return values


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
        missing = _first_missing(by_role[role])
        if missing is not None:
            raise DataError(f"{where(missing)}the {role} is missing.")

    rating = by_role.pop("rating")
    if isinstance(rating, NumericColumn):  # streamed: checked block by block on the float64 values
        values = _streamed_ratings(rating, where)
    else:
        values = _checked_ratings(_ratings_array(rating, where, decimal_comma), where)
    del rating

    timestamps = None
    if "timestamp" in by_role:
        timestamps = _timestamps(by_role.pop("timestamp"), where)

    user_codes, user_ids = _encode(by_role.pop("user"))
    users = user_codes.astype(np.int32, copy=False)
    del user_codes
    item_codes, item_ids = _encode(by_role.pop("item"))
    items = item_codes.astype(np.int32, copy=False)
    del item_codes
    values32 = values.astype(np.float32, copy=False)  # streamed ratings are float32 already
    del values

    users, items, values32, timestamps, merged = _resolve_duplicates(
        users, items, values32, timestamps, len(user_ids), len(item_ids), duplicates, where)
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
    if isinstance(column, NumericColumn):
        if column.first_null is not None:  # what the general path below says of an empty field
            raise DataError(f"{where(column.first_null)}timestamp 'nan' is not a number or a date.")
        if column.values.dtype.kind in "iu":
            return column.values.astype(np.int64, copy=False)
        column = pa.chunked_array([column.values.astype(np.float64)])
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
    if isinstance(column, NumericColumn):
        if column.values.dtype.kind in "iu":
            return _dense_codes(column.values)
        column = pa.chunked_array([column.values.astype(np.float64)])
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



KERNELS_MIN_ROWS = 5_000_000
"""From this many ratings, integer ids are coded and repeated pairs looked for by the compiled kernels
of :mod:`mfcore.data.kernels` (below it, importing Numba costs more than they save)."""


DENSE_SPAN_PER_ROW = 4
"""Integer ids are coded through a table indexed by id when their span (max - min + 1) is at most this
many times the row count (plus 1M): O(rows), no hash table and no sort; wider spans use pandas."""


def _dense_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Sorted codes of integer ``ids`` (what ``pd.factorize(ids, sort=True)`` gives) by a presence
    table over the id span: :math:`\text{present}[v - v_{\min}] = 1` for every id :math:`v`, the code of
    :math:`v` is the number of present ids below it (a cumulative sum), read back per row. Memory: the
    span's table (1 + 4 bytes per possible id) and the int32 codes, instead of factorize's hash table
    and int64 codes. From :data:`KERNELS_MIN_ROWS` int32 ids the compiled kernel writes the codes over
    ``ids`` (a streamed column's array, which its caller gives up) and nothing row-sized is
    allocated."""
    if len(ids) == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    low, high = int(ids.min()), int(ids.max())
    limit = DENSE_SPAN_PER_ROW * len(ids) + (1 << 20)
    if high - low + 1 > limit:
        codes, uniques = pd.factorize(ids, sort=True)
        return codes.astype(np.int32), np.asarray(uniques, dtype=np.int64)
    if low >= 0 and high + 1 <= limit:  # index by the id itself: no shifted copy of the column
        low = 0
    span = high - low + 1
    if len(ids) >= KERNELS_MIN_ROWS and ids.dtype == np.int32 and ids.flags.writeable:
        from .kernels import dense_codes_in_place  # Numba: only for inputs big enough to pay for it
        return ids, dense_codes_in_place(ids, low, span)
    offset = ids if low == 0 else ids - np.asarray(low, ids.dtype)
    present = np.zeros(span, bool)
    present[offset] = True
    code_of = np.cumsum(present, dtype=np.int32) - 1
    codes = code_of[offset]
    return codes, np.flatnonzero(present).astype(np.int64) + low


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


def _pair_keys(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """``user * n_items + item`` per rating as int64, one array allocated (no int64 copies of the
    codes first): 8 bytes per rating."""
    keys = np.multiply(users, n_items, dtype=np.int64)
    keys += items
    return keys


def _has_repeated_pair(users, items, n_users: int, n_items: int) -> bool:
    """Whether some (user, item) code pair occurs twice: from :data:`KERNELS_MIN_ROWS` ratings by the
    compiled check (:func:`mfcore.data.kernels.has_repeated_pair`: one pass, no 8-byte keys), else
    by an in-place sort of the pair keys."""
    if len(users) >= KERNELS_MIN_ROWS:
        from .kernels import has_repeated_pair  # Numba: only for inputs big enough to pay for it
        return has_repeated_pair(users, items, n_users, n_items)
    keys = _pair_keys(users, items, n_items)
    keys.sort()  # in place: a plain sort finds repeats faster than the stable argsort below
    return bool((keys[1:] == keys[:-1]).any())


def _resolve_duplicates(users, items, values, timestamps, n_users, n_items, policy, where):
    """Apply the duplicates policy; returns the kept arrays and how many rows were merged away."""
    if not _has_repeated_pair(users, items, n_users, n_items):
        return users, items, values, timestamps, 0
    keys = _pair_keys(users, items, n_items)  # again in file order (repeats are rare)
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
