"""The loader's Numba kernels, for big inputs only: a scan of plain numeric delimited text into NumPy
arrays, integer ids to codes in place, and a check for repeated (user, item) pairs.

The scan and the check are shortcuts with an exit: they handle the common case (a clean numeric file; no repeated
pair) in one pass of compiled code and otherwise say so, and the caller then does what it did before
(pyarrow's parse, with its checks and line-numbered errors; the sort that finds and merges repeats).
So they never change a result or an error message, only how fast a clean big file loads. Small inputs
never get here (:data:`mfcore.data.parse.SCAN_MIN_BYTES`, :data:`mfcore.data.build.KERNELS_MIN_ROWS`):
importing Numba and loading the compiled kernels costs more than they save below a few million rows.

The scan accepts, after the header, lines of exactly ``len(kinds)`` fields separated by one byte and
ended by ``\\n`` or ``\\r\\n`` (the last line may lack it). A field read as an integer is ``-?[0-9]+``
within int32; a field read as a float is ``-?[0-9]+(\\.[0-9]+)?`` with a significand of at most
:math:`2^{53}` and at most 22 decimals, so :math:`m / 10^d` in float64 is exact before its one
rounding: the correctly rounded value pyarrow's parser gives too, then cast to float32 as the stream
does; its magnitude must not be over the caller's limit. A skipped field may hold anything but a
quote, a line end or a non-ASCII byte. Anything else (a blank line, a quote, a space, an exponent, a
missing value, another field count) stops the scan: pyarrow then reads the file and reports it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

SKIP, FLOAT = -1, 3
"""Field kinds of the scan: skipped, float32; 0, 1 and 2 are integer outputs (``ints[kind]``)."""

_POW10 = 10.0 ** np.arange(23)  # exact in float64 up to 1e22
_SIGNIFICAND_LIMIT = 1 << 53
_INT32_MAX = 2**31 - 1


@njit(nogil=True, cache=True)
def _count_newlines(buf, start, stop):
    count = 0
    for position in range(start, stop):
        count += buf[position] == 10
    return count


@njit(nogil=True, cache=True)
def _scan_span(buf, start, stop, sep, kinds, row, ints0, ints1, ints2, floats, limit):
    """Rows of ``buf[start:stop]`` (whole lines) into the outputs from index ``row``; returns the next
    row, or -1 at the first line the scan does not accept (module docstring)."""
    position = start
    n_fields = len(kinds)
    while position < stop:
        for field in range(n_fields):
            kind = kinds[field]
            if kind == -1:
                while position < stop:
                    byte = buf[position]
                    if byte == sep or byte == 10 or byte == 13:
                        break
                    if byte == 34 or byte >= 128:
                        return -1
                    position += 1
            else:
                negative = position < stop and buf[position] == 45
                if negative:
                    position += 1
                value = 0
                digits = 0
                while position < stop and 48 <= buf[position] <= 57:
                    value = value * 10 + (np.int64(buf[position]) - 48)
                    digits += 1
                    position += 1
                    if value > _SIGNIFICAND_LIMIT:
                        return -1
                if digits == 0:
                    return -1
                if kind == 3:
                    decimals = 0
                    if position < stop and buf[position] == 46:
                        position += 1
                        while position < stop and 48 <= buf[position] <= 57:
                            value = value * 10 + (np.int64(buf[position]) - 48)
                            decimals += 1
                            position += 1
                            if value > _SIGNIFICAND_LIMIT or decimals > 22:
                                return -1
                        if decimals == 0:
                            return -1
                    number = np.float64(value) / _POW10[decimals]
                    if negative:
                        number = -number
                    if abs(number) > limit:
                        return -1
                    floats[row] = np.float32(number)
                else:
                    if value > _INT32_MAX + negative:
                        return -1
                    if negative:
                        value = -value
                    if kind == 0:
                        ints0[row] = value
                    elif kind == 1:
                        ints1[row] = value
                    else:
                        ints2[row] = value
            if field < n_fields - 1:
                if position >= stop or buf[position] != sep:
                    return -1
                position += 1
            elif position < stop:
                if buf[position] == 13 and position + 1 < stop and buf[position + 1] == 10:
                    position += 2
                elif buf[position] == 10:
                    position += 1
                else:
                    return -1
        row += 1
    return row


def _workers() -> int:
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:  # no sched_getaffinity (macOS, Windows)
        return max(1, min(4, os.cpu_count() or 1))


def scan_numeric(raw: bytes, data_start: int, sep: str, kinds: list[int], limit: float
                 ) -> tuple[list[np.ndarray], int] | None:
    """``raw[data_start:]`` scanned into one array per field kind (int32 for kinds 0-2, float32 for
    :data:`FLOAT`, in the order of ``kinds``, skipped fields left out) and the count of ``\\n`` in
    it; None when the scan does not accept the text (module docstring) or ``sep`` is not one byte.
    The text is cut at line ends into one part per available core (at most 4); each part's lines are
    counted, then scanned into its place of the outputs, both on a thread pool (the kernels release
    the GIL)."""
    if len(sep) != 1 or ord(sep) > 127 or sep in '"-.0123456789\r\n':
        return None
    buf = np.frombuffer(raw, dtype=np.uint8)
    n_parts = _workers()
    bounds = [data_start]
    for part in range(1, n_parts):
        cut = raw.find(b"\n", max(bounds[-1], data_start + (len(raw) - data_start) * part // n_parts))
        bounds.append(len(raw) if cut < 0 else cut + 1)
    bounds.append(len(raw))
    spans = list(zip(bounds[:-1], bounds[1:]))
    with ThreadPoolExecutor(n_parts) as pool:
        newlines = list(pool.map(lambda span: _count_newlines(buf, *span), spans))
        lines = [count + (stop == len(raw) and stop > begin and raw[-1:] != b"\n")
                 for count, (begin, stop) in zip(newlines, spans)]
        n_rows = sum(lines)
        if n_rows == 0:
            return None
        ints = [np.empty(n_rows if n in kinds else 0, np.int32) for n in range(3)]
        floats = np.empty(n_rows if FLOAT in kinds else 0, np.float32)
        code = np.array(kinds, np.int64)
        firsts = np.cumsum([0, *lines[:-1]])

        def scan(part: int) -> bool:
            begin, stop = spans[part]
            end = _scan_span(buf, begin, stop, ord(sep), code, firsts[part], *ints, floats, limit)
            return end == firsts[part] + lines[part]

        if not all(pool.map(scan, range(len(spans)))):
            return None
    return [floats if kind == FLOAT else ints[kind] for kind in kinds if kind != SKIP], sum(newlines)


@njit(nogil=True, cache=True)
def _repeat_in_runs(keys, others, n_keys, n_others):
    """1 when a (key, other) pair repeats, 0 when none does, -1 when some key's rows are not one run
    of consecutive rows (a file sorted or grouped by user, or by item, is)."""
    seen = np.zeros(n_keys, np.bool_)
    last_key = np.full(n_others, -1, np.int64)  # the key of the run in which each other was last seen
    current = -1
    for row in range(len(keys)):
        key = keys[row]
        if key != current:
            if seen[key]:
                return -1
            seen[key] = True
            current = key
        other = others[row]
        if last_key[other] == key:
            return 1
        last_key[other] = key
    return 0


@njit(nogil=True, cache=True)
def _repeat_by_key(keys, others, n_keys, n_others):
    """Whether a (key, other) pair repeats: the others grouped by key with a counting sort, then each
    group checked with the same last-seen table as :func:`_repeat_in_runs`."""
    starts = np.zeros(n_keys + 1, np.int64)
    for key in keys:
        starts[key + 1] += 1
    for key in range(n_keys):
        starts[key + 1] += starts[key]
    fill = starts[:-1].copy()
    grouped = np.empty(len(keys), others.dtype)
    for row in range(len(keys)):
        key = keys[row]
        grouped[fill[key]] = others[row]
        fill[key] += 1
    last_key = np.full(n_others, -1, np.int64)
    for key in range(n_keys):
        for position in range(starts[key], starts[key + 1]):
            other = grouped[position]
            if last_key[other] == key:
                return True
            last_key[other] = key
    return False


def has_repeated_pair(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> bool:
    """Whether some (user, item) pair occurs twice, for codes ``0 <= users < n_users`` and
    ``0 <= items < n_items``. One pass when each user's (or each item's) rows are consecutive, as in
    files sorted by user or by item; otherwise a counting sort by user (4 bytes per rating) and one
    pass over it: no sort of 8-byte pair keys."""
    for keys, others, n_keys, n_others in ((users, items, n_users, n_items), (items, users, n_items, n_users)):
        found = _repeat_in_runs(keys, others, n_keys, n_others)
        if found >= 0:
            return bool(found)
    return bool(_repeat_by_key(users, items, n_users, n_items))


@njit(nogil=True, cache=True)
def _codes_in_place(ids, low, span):
    code_of = np.full(span, -1, np.int32)
    for value in ids:
        code_of[value - low] = 0
    n_distinct = 0
    for offset in range(span):
        if code_of[offset] == 0:
            code_of[offset] = n_distinct
            n_distinct += 1
    uniques = np.empty(n_distinct, np.int64)
    for offset in range(span):
        if code_of[offset] >= 0:
            uniques[code_of[offset]] = offset + low
    for row in range(len(ids)):
        ids[row] = code_of[ids[row] - low]
    return uniques


def dense_codes_in_place(ids: np.ndarray, low: int, span: int) -> np.ndarray:
    """The sorted distinct values of the int32 ``ids`` (all within ``low .. low + span - 1``), and each
    id replaced by its code, the count of distinct ids below it: what ``pd.factorize(ids, sort=True)``
    gives, through a table of ``span`` codes, with no array as long as ``ids`` allocated."""
    return _codes_in_place(ids, low, span)


def compile_all() -> None:
    """Compile every kernel (or load it from Numba's on-disk cache) for the argument types the loader
    passes, on a tiny input: ``make install`` runs it through :mod:`mfcore.models.warm`."""
    scan_numeric(b"1,1,1\n2,2,2.5\n", 0, ",", [0, 1, FLOAT], np.inf)
    users, items = np.array([0, 1, 0], np.int32), np.array([0, 0, 1], np.int32)
    has_repeated_pair(users, items, 2, 2)
    _repeat_by_key(users, items, 2, 2)
    dense_codes_in_place(users.copy(), 0, 2)
