"""``as_ratings``: whatever a model's ``fit`` is given, as :class:`Ratings` (every model calls it first).

Accepted inputs, and the rule each follows:

- :class:`Ratings`: as it is (with ``like``: recoded to ``like``'s id maps when its own differ);
- a ``scipy.sparse`` matrix or array of any format (CSR, CSC, COO, DOK, LIL, BSR, DIA): row ``r``
  is user ``r``, column ``c`` is item ``c`` (the ids are the indices, every row and column of the
  shape is kept, so ``model.P_[r]`` is row ``r``), each stored value is a rating, count or weight.
  A stored zero is not a rating, as ``R.nonzero()`` says: it is left out (the summary counts it).
  A COO (or non-canonical CSR/CSC) holding one (row, column) twice is refused: scipy would add the
  two, which is rarely what two ratings mean (``R.sum_duplicates()`` first, if it is). A canonical CSR
  (sorted, no duplicates) is taken without a sort;
- a :class:`pandas.DataFrame`: the user, item and value columns by name (``user``/``userId``/...,
  ``item``/``movieId``/..., ``rating``/``value``/``score``/...: :data:`mfcore.data.sniff.COLUMN_ALIASES`),
  else the first three columns in that order. Ids of any type are kept (``recommend`` takes them);
- ``(users, items, values)``: three parallel arrays of ids of any type; with ``shape=(n_users,
  n_items)`` the ids are row and column indices, as in ``scipy.sparse.coo_array((values, (rows,
  cols)), shape)``, and follow the sparse rules (a zero is kept: every given value is a rating).

Every row of a DataFrame or of the id arrays is a rating (a 0 too); a repeated (user, item) pair keeps its
last value (:func:`mfcore.data.load_ratings`'s default). Refused, each with one sentence
(:class:`DataError`): an empty input, a value that is NaN or infinite or beyond ``MAX_ABS_RATING``, a
negative or non-integer shape, an index outside the shape, ``shape=`` with any input but ``(rows,
cols, values)`` arrays (a matrix, a DataFrame and Ratings have their own users and items), a dense 2-D
array (ambiguous: which zeros are missing?), anything else.

An evaluation or validation set is coded with the training set's id maps (``like``); its ratings of
users or items the training set does not know are left out, and its summary says how many.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import DataError
from .ratings import LoadSummary, Ratings

__all__ = ["as_ratings"]

KINDS = "Ratings, a scipy.sparse matrix, a pandas DataFrame or (users, items, values) arrays"


def as_ratings(data, like: Ratings | None = None, *, shape=None, what: str = "the training set") -> Ratings:
    """``data`` as :class:`Ratings` (the rules: module docstring); ``like`` gives the id maps to code
    an evaluation set with, ``shape`` makes ``(rows, cols, values)`` indices of that shape, ``what``
    names the input in error messages."""
    if shape is not None and not (isinstance(data, tuple | list) and len(data) == 3):
        raise DataError(f"{what}: shape= goes with (rows, cols, values) arrays only, not with "
                        f"{type(data).__name__} input, which has its own users and items.")
    if isinstance(data, Ratings):
        return data if like is None else _recode(data, like, what)
    if shape is not None or _is_sparse(data):
        users, items, values, ids, summary = _indexed(data, shape, what)
        if like is None:
            return _ratings(users, items, values, ids, summary)
        return _coded(ids[0][users], ids[1][items], values, like, what, summary)
    import pandas as pd
    if isinstance(data, pd.DataFrame):
        columns = _frame_columns(data, what)
        users, items, values = (data.iloc[:, columns[role]].to_numpy() for role in ("user", "item", "rating"))
        if like is None:
            from .loader import from_arrays
            return from_arrays(users, items, values)
        return _coded(users, items, values, like, what, LoadSummary(data_lines=len(data), source="a DataFrame"))
    if isinstance(data, tuple | list) and len(data) == 3:
        users, items, values = (np.asarray(part) for part in data)
        if not users.ndim == items.ndim == values.ndim == 1 or not len(users) == len(items) == len(values):
            raise DataError(f"{what}: users, items and values must be three 1-D arrays of one length, got "
                            f"shapes {users.shape}, {items.shape} and {values.shape}.")
        if like is None:
            from .loader import from_arrays
            return from_arrays(users, items, _values(values, what))
        return _coded(users, items, values, like, what, LoadSummary(data_lines=len(values), source="arrays"))
    if isinstance(data, np.ndarray) and data.ndim == 2:
        raise DataError(f"{what} is a dense {data.shape[0]} x {data.shape[1]} array, which cannot say which "
                        "cells are missing: give scipy.sparse.csr_array(R), whose stored entries are the ratings.")
    raise DataError(f"{what} must be {KINDS}, not {type(data).__name__}.")


def _is_sparse(data) -> bool:
    import sys
    sparse = sys.modules.get("scipy.sparse")  # a scipy matrix means scipy.sparse is imported already
    return sparse is not None and sparse.issparse(data)


def _values(values, what: str, where=None) -> np.ndarray:
    """``values`` as float64, each a finite number within ``MAX_ABS_RATING``, else one sentence naming
    the first bad one (``where(n)`` says where value ``n`` is; default: its 1-based number)."""
    from .build import MAX_ABS_RATING
    if values.dtype.kind not in "biuf":
        raise DataError(f"{what}: the values must be numbers, not {values.dtype}.")
    values = values.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > MAX_ABS_RATING))
    if len(bad):
        place = where(bad[0]) if where else f"value number {bad[0] + 1}"
        raise DataError(f"{what}: {place} is {float(values[bad[0]])!r}, must be a finite number "
                        f"with |value| <= {MAX_ABS_RATING:g}.")
    return values


def _shape(shape, what: str) -> tuple[int, int]:
    try:
        rows, cols = (int(n) if int(n) == n else None for n in shape)
    except (TypeError, ValueError):
        rows = cols = None
    if rows is None or cols is None or rows < 1 or cols < 1:
        raise DataError(f"{what}: shape == {shape!r}, must be two integers >= 1 (users, items).")
    return rows, cols


def _indexed(data, shape, what: str):
    """(row codes, column codes, values, (user ids, item ids), summary) of a sparse matrix or of
    ``(rows, cols, values)`` indices with ``shape``."""
    if shape is None:
        if len(data.shape) != 2:
            raise DataError(f"{what} is a {len(data.shape)}-D sparse array: give a 2-D users x items matrix.")
        n_rows, n_cols = _shape(data.shape, what)
        coo = data.tocoo()
        rows, cols, values = coo.row, coo.col, np.asarray(coo.data)
        kind = f"a {type(data).__name__}"
    else:
        n_rows, n_cols = _shape(shape, what)
        if not isinstance(data, tuple | list) or len(data) != 3:
            raise DataError(f"{what}: shape= goes with (rows, cols, values) arrays.")
        rows, cols, values = (np.asarray(part) for part in data)
        for name, index, n in (("row", rows, n_rows), ("column", cols, n_cols)):
            if index.dtype.kind not in "iu" or index.ndim != 1 or values.ndim != 1 or len(index) != len(values):
                raise DataError(f"{what}: the {name} indices must be integers, one per value.")
            outside = np.flatnonzero((index < 0) | (index >= n))
            if len(outside):
                raise DataError(f"{what}: {name} index {index[outside[0]]} is outside the shape "
                                f"({n_rows}, {n_cols}).")
        kind = "arrays"
    values = _values(values, what, lambda n: f"the value at (row {rows[n]}, column {cols[n]})")
    stored_zeros = 0
    keys = rows.astype(np.int64) * n_cols + cols
    if not np.all(keys[1:] > keys[:-1]):  # a canonical CSR is sorted and unique already: no sort needed
        order = np.argsort(keys, kind="stable")
        keys, rows, cols, values = keys[order], rows[order], cols[order], values[order]
        repeated = np.flatnonzero(keys[1:] == keys[:-1])
        if len(repeated):
            at = repeated[0]
            raise DataError(f"{what} stores (row {rows[at]}, column {cols[at]}) more than once: scipy would "
                            "add them up; call sum_duplicates() first if that is meant, else keep one.")
    if shape is None:
        nonzero = values != 0
        stored_zeros = int(len(values) - nonzero.sum())
        rows, cols, values = rows[nonzero], cols[nonzero], values[nonzero]
    if len(values) == 0:
        raise DataError(f"{what} is empty: it holds no nonzero value to learn from.")
    said = (f"Left out {stored_zeros:,} stored zero{'s' * (stored_zeros != 1)} (a zero is no rating).",) \
        if stored_zeros else ()
    summary = LoadSummary(data_lines=len(values) + stored_zeros, source=kind, duplicate_policy="error",
                          warnings=said)
    ids = (np.arange(n_rows, dtype=np.int64), np.arange(n_cols, dtype=np.int64))
    return rows.astype(np.int32), cols.astype(np.int32), values, ids, summary


def _ratings(users, items, values, ids, summary: LoadSummary) -> Ratings:
    """Ratings of codes already sorted by user, then item (the order the loader gives)."""
    values32 = values.astype(np.float32)
    return Ratings(users=users, items=items, values=values32, user_ids=ids[0], item_ids=ids[1],
                   scale=(float(values32.min()), float(values32.max())), summary=summary)


def _coded(user_ids, item_ids, values, like: Ratings, what: str, summary: LoadSummary) -> Ratings:
    """Ratings of original ids coded with ``like``'s maps, unknown users and items left out."""
    values = _values(np.asarray(values), what)
    users, items = like.user_codes(np.asarray(user_ids)), like.item_codes(np.asarray(item_ids))
    known = (users >= 0) & (items >= 0)
    unknown = int(len(known) - known.sum())
    said = (f"Left out {unknown:,} rating{'s' * (unknown != 1)} of users or items the training set does not "
            "have.",) if unknown else ()
    return replace(like, users=users[known].astype(np.int32), items=items[known].astype(np.int32),
                   values=values[known].astype(np.float32), timestamps=None,
                   summary=replace(summary, warnings=summary.warnings + said))


def _recode(data: Ratings, like: Ratings, what: str) -> Ratings:
    if data.user_ids is like.user_ids and data.item_ids is like.item_ids:
        return data
    if (len(data.user_ids) == len(like.user_ids) and len(data.item_ids) == len(like.item_ids)
            and np.array_equal(data.user_ids, like.user_ids) and np.array_equal(data.item_ids, like.item_ids)):
        return data
    return _coded(data.user_ids[data.users], data.item_ids[data.items], data.values, like, what, data.summary)


def _frame_columns(frame, what: str) -> dict[str, int]:
    """Positions of the user, item and value columns of ``frame``: by name, else the first three."""
    from .sniff import header_roles
    if frame.shape[1] < 3:
        raise DataError(f"{what}: a DataFrame needs user, item and value columns, this one has {frame.shape[1]}.")
    if len(frame) == 0:
        raise DataError(f"{what} is an empty DataFrame.")
    roles = header_roles([str(name) for name in frame.columns]) or {}
    if not {"user", "item", "rating"} <= roles.keys():
        roles = {"user": 0, "item": 1, "rating": 2}
    return {role: roles[role] for role in ("user", "item", "rating")}
