"""The pyarrow CSV parse: every row with the first line's field count, and a table row mapped back to its
file line only when an error needs it.

Numeric columns are streamed: each 8 MiB block pyarrow parses is copied straight into a preallocated
NumPy array of the final type (ids as int32 while they fit, ratings as float32), sized from the first
block's rows per byte times the input's bytes and grown by half when short, so the whole file never
exists as a pyarrow table or as float64/int64 columns: 12 bytes per rating (plus the input bytes) instead
of 24 bytes per rating of table, then the NumPy copies. The checks that need the float64 value (finite,
not too large) run block by block and keep the first failing row. A text from :data:`SCAN_MIN_BYTES`
whose wanted columns are all numeric is first scanned by :func:`mfcore.data.kernels.scan_numeric`
into the same arrays (what it accepts: its module docstring); pyarrow reads any text it does not
accept, so every error still comes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import DataError, TypeGuessError
from .sniff import first_line, text_encoding


@dataclass
class NumericColumn:
    """A streamed numeric column: ``values`` (int32 ids while every value fits, else int64; float32 for
    floating columns), the row of the first empty field (``first_null``; its value there is 0), and for
    floating columns the first ``(row, value)`` that is not finite and the first whose magnitude is over
    ``float_limit`` (taken on the parsed float64, before the float32 cast)."""

    values: np.ndarray
    first_null: int | None = None
    first_not_finite: tuple[int, float] | None = None
    first_too_large: tuple[int, float] | None = None

    def __len__(self) -> int:
        return len(self.values)


class _Growing:
    """A NumPy array filled block by block: capacity from an estimate, grown by half when short (one
    copy), trimmed in place at the end."""

    def __init__(self, dtype, capacity: int):
        self.array = np.empty(max(capacity, 1024), dtype)
        self.size = 0

    def append(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.array):
            grown = np.empty(max(end, len(self.array) * 3 // 2), self.array.dtype)
            grown[:self.size] = self.array[:self.size]
            self.array = grown
        with np.errstate(over="ignore"):  # a float64 beyond float32's range: inf, already reported
            self.array[self.size:end] = values
        self.size = end

    def widen(self, dtype) -> None:
        self.array = self.array.astype(dtype)

    def finish(self) -> np.ndarray:
        self.array.resize(self.size, refcheck=False)
        return self.array


class _NumericStream:
    """One numeric column's blocks into a :class:`_Growing` array (see :class:`NumericColumn`)."""

    def __init__(self, kind: pa.DataType, capacity: int, float_limit: float):
        self.floating = pa.types.is_floating(kind)
        self.out = _Growing(np.float32 if self.floating else np.int32, capacity)
        self.column = NumericColumn(np.empty(0))
        self.float_limit = float_limit

    def append(self, array: pa.Array, row0: int) -> None:
        column = self.column
        if array.null_count:
            if column.first_null is None:
                column.first_null = row0 + int(np.argmax(array.is_null().to_numpy(zero_copy_only=False)))
            array = array.fill_null(0)
        values = array.to_numpy()
        if self.floating:
            if column.first_not_finite is None:
                bad = np.flatnonzero(~np.isfinite(values))
                if len(bad):
                    column.first_not_finite = (row0 + int(bad[0]), float(values[bad[0]]))
            if column.first_too_large is None:
                large = np.flatnonzero(np.abs(values) > self.float_limit)
                if len(large):
                    column.first_too_large = (row0 + int(large[0]), float(values[large[0]]))
        elif self.out.array.dtype == np.int32 and len(values) and (
                values.min() < np.iinfo(np.int32).min or values.max() > np.iinfo(np.int32).max):
            self.out.widen(np.int64)
        self.out.append(values)

    def finish(self) -> NumericColumn:
        self.column.values = self.out.finish()
        return self.column


@dataclass
class Parsed:
    """A parsed table (columns ``c0, c1, ...``) and where its rows sit in the original bytes. With
    ``stream`` the columns are in ``columns`` instead (:class:`NumericColumn` for numeric ones,
    ``pa.ChunkedArray`` for text) and ``table`` is None."""

    table: pa.Table | None
    raw: bytes            # the bytes the rows were read from (separator-normalised)
    data_start: int       # offset of the first data line in ``raw``
    lines_before: int     # lines before ``data_start`` (header and leading blank lines)
    blank_lines: int
    columns: dict | None = None
    n_rows: int = 0

    def line_of_row(self, row: int) -> int:
        """1-based line number of table row ``row`` (blank lines skipped, as the reader did)."""
        return self.lines_before + nth_nonblank_line(self.raw, self.data_start, row) + 1


def read_table(raw: bytes, sep: str | None, n_columns: int, *, header: bool, what: str = "file",
                include: list[int] | None = None) -> pa.Table:
    """Parse ``raw`` into a table of ``n_columns`` columns ``c0..``; see :func:`parse`."""
    return parse(raw, sep, n_columns, header=header, what=what, include=include).table


def parse(raw: bytes, sep: str | None, n_columns: int, *, header: bool, what: str = "file",
           include: list[int] | None = None, column_types: dict | None = None, encoding: str = "",
           stream: bool = False, float_limit: float = np.inf, use_threads: bool = True) -> Parsed:
    """Parse text ``raw`` with ``n_columns`` fields per row (a row with another count is a DataError
    naming its line), skipping the first non-blank line when ``header``. Only ``include`` columns are
    converted; ``column_types`` maps positions to pyarrow types (the others are inferred from the
    first block; a later value that does not fit raises :class:`TypeGuessError`). The file is read
    block by block (8 MiB), which keeps the parser's peak memory to a few blocks; with ``stream`` the
    numeric columns go block by block into NumPy arrays (module docstring, ``float_limit`` there).
    ``use_threads`` lets pyarrow convert blocks on several threads; since its invalid-row handler may
    then see a later block's bad row first, any failure is parsed again on one thread, so the error
    names the first bad line."""
    if sep == "::":
        raw, sep = raw.replace(b"::", b"\x1f"), "\x1f"
    elif sep is None:
        raw = re.sub(rb"[ \t]+", b"\t", re.sub(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)", b"", raw))
        sep = "\t"
    first_offset, first_number, _ = first_line(raw)
    data_start, lines_before = first_offset, first_number
    if header:
        end = raw.find(b"\n", first_offset)
        data_start, lines_before = (len(raw) if end < 0 else end + 1), first_number + 1
    names = [f"c{n}" for n in range(n_columns)]
    wanted = names if include is None else [names[n] for n in include]
    if stream and len(raw) - data_start >= SCAN_MIN_BYTES:
        scanned = _scan(raw, sep, data_start, names, wanted, column_types or {}, float_limit)
        if scanned is not None:
            columns, n_rows, newlines = scanned
            total_lines = newlines + (0 if raw.endswith(b"\n") else 1)
            return Parsed(None, raw, data_start, lines_before, max(0, total_lines - n_rows) + first_number,
                          columns, n_rows)
    bad_rows = []

    def on_invalid(row) -> str:
        if not row.text.strip():
            return "skip"
        bad_rows.append(row)
        return "error"

    encoding = encoding or text_encoding(raw)
    buffer = pa.py_buffer(raw)[data_start:]
    try:
        reader = pacsv.open_csv(
            pa.BufferReader(buffer),
            read_options=pacsv.ReadOptions(column_names=names, encoding=encoding, block_size=8 << 20,
                                           use_threads=use_threads),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True,
                                             newlines_in_values=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, strings_can_be_null=False,
                column_types={names[n]: kind for n, kind in (column_types or {}).items()}),
        )
        if stream:
            columns, n_rows = _stream_columns(reader, len(buffer), float_limit)
            table = None
        else:
            table = pa.Table.from_batches(list(reader), schema=reader.schema)
            columns, n_rows = None, table.num_rows
    except (pa.ArrowMemoryError, MemoryError):  # the parsed columns do not fit: one sentence, no traceback
        raise DataError(f"the {what} is too large to parse in the memory available: give a smaller "
                        "file.") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
        if use_threads:  # again on one thread: the first bad row in file order
            return parse(raw, sep, n_columns, header=header, what=what, include=include,
                         column_types=column_types, encoding=encoding, stream=stream, float_limit=float_limit,
                         use_threads=False)
        if bad_rows:
            row = bad_rows[0]
            line = _line_of_text(raw, data_start, row.text, lines_before)
            hint = (" (if a rating has a decimal comma, quote it or use ';' as the separator)"
                    if row.actual_columns == row.expected_columns + 1 and sep == "," else "")
            where = f"line {line}: " if line else ""
            raise DataError(f"{where}expected {row.expected_columns} fields (as in the first line), "
                            f"found {row.actual_columns}{hint}.") from None
        if "Empty CSV file" in str(exc) and not raw[data_start:].strip():
            raise DataError("no ratings found (the file has a header but no data rows).") from None
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "conversion error" in message:
            raise TypeGuessError(message) from None
        raise DataError(f"the {what} cannot be parsed: {message[:200]}") from None
    kinds = [column.type for column in (table.columns if table is not None else
                                        [c for c in columns.values() if isinstance(c, pa.ChunkedArray)])]
    if encoding == "utf8" and any(pa.types.is_binary(kind) or (
            pa.types.is_dictionary(kind) and pa.types.is_binary(kind.value_type)) for kind in kinds):
        return parse(raw, sep, n_columns, header=header, what=what, include=include,  # not UTF-8 after all
                     column_types=column_types, encoding="latin-1", stream=stream, float_limit=float_limit,
                     use_threads=use_threads)
    total_lines = raw.count(b"\n", data_start) + (0 if raw.endswith(b"\n") else 1)
    blank = max(0, total_lines - n_rows) + first_number
    return Parsed(table, raw, data_start, lines_before, blank, columns, n_rows)


def _stream_columns(reader, n_bytes: int, float_limit: float) -> tuple[dict, int]:
    """Every batch of ``reader`` into per-column storage: numeric columns into :class:`_NumericStream`
    arrays presized from the first batch (its rows per byte of the 8 MiB block, times ``n_bytes``, plus
    5%), other columns as a ``pa.ChunkedArray`` of their batches. Returns ``(columns, n_rows)``."""
    schema = reader.schema
    streams: dict = {}
    chunks: dict = {}
    n_rows = 0
    for batch in reader:
        if not streams and not chunks:
            block = min(n_bytes, 8 << 20)
            capacity = int(batch.num_rows * n_bytes / max(block, 1) * 1.05) + 1024
            for name, kind in zip(schema.names, schema.types):
                if pa.types.is_integer(kind) or pa.types.is_floating(kind):
                    streams[name] = _NumericStream(kind, capacity, float_limit)
                else:
                    chunks[name] = []
        for name, stream in streams.items():
            stream.append(batch.column(name), n_rows)
        for name, parts in chunks.items():
            parts.append(batch.column(name))
        n_rows += batch.num_rows
    columns = {name: stream.finish() for name, stream in streams.items()}
    for name, kind in zip(schema.names, schema.types):
        if name not in columns:
            columns[name] = pa.chunked_array(chunks.get(name, []), type=kind)
    return columns, n_rows


SCAN_MIN_BYTES = 64 << 20
"""Texts from this size are scanned by :func:`mfcore.data.kernels.scan_numeric` first: a 24 MB
MovieLens 1M file loads faster through pyarrow alone than Numba imports."""


def _scan(raw: bytes, sep: str, data_start: int, names: list[str], wanted: list[str], column_types: dict,
          float_limit: float) -> tuple[dict, int, int] | None:
    """``(columns, n_rows, newlines)`` of a stream parse by :func:`mfcore.data.kernels.scan_numeric`
    when every wanted column is a float64 one (read as float32) or an inferred one that holds only
    integers (int32, as the stream gives them); None when the scan does not apply or does not accept
    the text, and pyarrow reads it."""
    kinds, next_int = [], 0
    for n, name in enumerate(names):
        if name not in wanted:
            kinds.append(-1)
        elif n not in column_types and next_int < 3:
            kinds.append(next_int)
            next_int += 1
        elif column_types.get(n) == pa.float64():
            kinds.append(3)
        else:
            return None
    from .kernels import scan_numeric  # Numba: only for texts big enough to pay for it
    scanned = scan_numeric(raw, data_start, sep, kinds, float_limit)
    if scanned is None:
        return None
    arrays, newlines = scanned
    columns = {name: NumericColumn(values) for name, values in zip([n for n in names if n in wanted], arrays)}
    return columns, len(arrays[0]), newlines


def _line_of_text(raw: bytes, start: int, text: str, lines_before: int) -> int | None:
    """1-based line number of the first line from ``start`` whose text is ``text``."""
    for encoding in ("utf-8", "latin-1"):
        try:
            needle = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        position = start
        while True:
            found = raw.find(needle, position)
            if found < 0:
                break
            end = found + len(needle)
            if (found == start or raw[found - 1:found] == b"\n") and raw[end:end + 1] in (b"\n", b"\r", b""):
                return lines_before + raw.count(b"\n", start, found) + 1
            position = found + 1
    return None


def nth_nonblank_line(raw: bytes, start: int, row: int, chunk: int = 1 << 24) -> int:
    """0-based index (counting every line from ``start``) of the ``row``-th non-blank line."""
    array = np.frombuffer(raw, dtype=np.uint8)
    lines_seen, position = 0, start
    while position < len(raw):
        stop = raw.find(b"\n", min(position + chunk, len(raw)) - 1)
        stop = len(raw) if stop < 0 else stop + 1
        part = array[position:stop]
        newlines = np.flatnonzero(part == 10)
        ends = np.r_[newlines, len(part)] if len(part) and part[-1] != 10 else newlines
        starts = np.r_[0, ends[:-1] + 1]
        solid = np.r_[0, np.cumsum(~np.isin(part, (9, 10, 13, 32)))]
        nonblank = np.flatnonzero(solid[ends] - solid[starts] > 0)
        if row < len(nonblank):
            return lines_seen + int(nonblank[row])
        row -= len(nonblank)
        lines_seen += len(ends)
        position = stop
    return lines_seen
