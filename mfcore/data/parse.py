"""The pyarrow CSV parse: every row with the first line's field count, and a table row mapped back to its
file line only when an error needs it.
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
class Parsed:
    """A parsed table (columns ``c0, c1, ...``) and where its rows sit in the original bytes."""

    table: pa.Table
    raw: bytes            # the bytes the rows were read from (separator-normalised)
    data_start: int       # offset of the first data line in ``raw``
    lines_before: int     # lines before ``data_start`` (header and leading blank lines)
    blank_lines: int

    def line_of_row(self, row: int) -> int:
        """1-based line number of table row ``row`` (blank lines skipped, as the reader did)."""
        return self.lines_before + nth_nonblank_line(self.raw, self.data_start, row) + 1


def read_table(raw: bytes, sep: str | None, n_columns: int, *, header: bool, what: str = "file",
                include: list[int] | None = None) -> pa.Table:
    """Parse ``raw`` into a table of ``n_columns`` columns ``c0..``; see :func:`parse`."""
    return parse(raw, sep, n_columns, header=header, what=what, include=include).table


def parse(raw: bytes, sep: str | None, n_columns: int, *, header: bool, what: str = "file",
           include: list[int] | None = None, column_types: dict | None = None, encoding: str = "") -> Parsed:
    """Parse text ``raw`` with ``n_columns`` fields per row (a row with another count is a DataError
    naming its line), skipping the first non-blank line when ``header``. Only ``include`` columns are
    converted; ``column_types`` maps positions to pyarrow types (the others are inferred from the
    first block; a later value that does not fit raises :class:`TypeGuessError`). The file is read
    block by block (8 MiB), which keeps the parser's peak memory to a few blocks."""
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
            read_options=pacsv.ReadOptions(column_names=names, encoding=encoding, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True,
                                             newlines_in_values=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, strings_can_be_null=False,
                column_types={names[n]: kind for n, kind in (column_types or {}).items()}),
        )
        table = pa.Table.from_batches(list(reader), schema=reader.schema)
    except (pa.ArrowMemoryError, MemoryError):  # the parsed columns do not fit: one sentence, no traceback
        raise DataError(f"the {what} is too large to parse in the memory available: give a smaller "
                        "file.") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
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
    if encoding == "utf8" and any(pa.types.is_binary(column.type) or (
            pa.types.is_dictionary(column.type) and pa.types.is_binary(column.type.value_type))
            for column in table.columns):
        return parse(raw, sep, n_columns, header=header, what=what, include=include,  # not UTF-8 after all
                      column_types=column_types, encoding="latin-1")
    total_lines = raw.count(b"\n", data_start) + (0 if raw.endswith(b"\n") else 1)
    blank = max(0, total_lines - table.num_rows) + first_number
    return Parsed(table, raw, data_start, lines_before, blank)


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
