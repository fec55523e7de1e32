"""Load and validate rating files into a compact :class:`Ratings` table.

Accepted sources: a path (a file or a MovieLens folder), raw ``bytes``, a binary file object or a
:class:`pandas.DataFrame`. Accepted contents:

- CSV / TSV / semicolon / pipe / whitespace separated text, with or without a header row, UTF-8 or
  Latin-1, optionally gzip-compressed (``.gz``);
- MovieLens 100K ``u.data`` (tab), 1M/10M ``ratings.dat`` (``::``), 20M/25M/latest ``ratings.csv``;
- a ``.zip`` holding one ratings file, or a MovieLens layout recognised by its file names
  (``ratings.csv`` + ``movies.csv``, ``ratings.dat`` + ``movies.dat``, ``u.data`` + ``u.item``), whose
  titles and genres come along.

Columns are user, item, rating and an optional timestamp. A header is recognised by its names
(``user``/``userId``/``user_id``, ``item``/``movieId``/``item_id``/``movie``/``product``,
``rating``/``score``/``stars``, ``timestamp``/``time``/``date``); other columns a header names are
ignored by name. Without a header the first columns are taken in that order. Ids may be numbers or
strings; they are mapped to contiguous ``int32`` codes (sorted by id) with a two-way map. Ratings
become ``float32``.

Rules; each broken one raises :class:`DataError` naming the 1-based line (the header counts as line 1):

- every row has exactly as many fields as the first row: never an implicit index, never shifted
  columns. Blank lines are skipped and counted;
- a rating is a finite number with ``|rating| <= MAX_ABS_RATING`` (1e6: far beyond any rating scale,
  and squared errors of such values still fit in float32). With ``;`` as the separator a decimal
  comma (``3,5``) is read as 3.5;
- the file holds at least ``MIN_USERS`` (2) users and ``MIN_ITEMS`` (2) items: with one user or one
  item there is nothing to factorize. Constant ratings load, with a warning in :attr:`Ratings.summary`.

Parsing uses pyarrow's streaming CSV reader (one thread, 8 MiB blocks): the cost is linear in the
bytes, and a malformed row stops it at once (a 1 MB line of 500,000 fields is refused in milliseconds).

Duplicate (user, item) pairs: by default the **last** occurrence in the file wins (a re-rating
replaces the earlier one); ``duplicates="mean"`` averages them, ``duplicates="error"`` refuses them.

Item metadata: ``load_ratings(..., items=PATH_OR_BYTES)`` joins titles and genres by item id (see
:mod:`mfcore.items`). Nothing is written to disk while loading; nothing is unpickled.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["DataError", "Ratings", "LoadSummary", "load_ratings", "from_arrays", "sniff_columns",
           "MAX_ABS_RATING", "MIN_USERS", "MIN_ITEMS"]

DUPLICATE_POLICIES = ("last", "mean", "error")
MAX_ABS_RATING = 1e6
MIN_USERS = 2
MIN_ITEMS = 2
MAX_UNPACKED_BYTES = 16 << 30  # a compressed file that inflates beyond this is refused

_COLUMN_ALIASES = {
    "user": {"user", "userid", "user_id", "users", "uid", "customer", "customerid", "customer_id"},
    "item": {"item", "itemid", "item_id", "items", "iid", "movie", "movieid", "movie_id", "product",
             "productid", "product_id", "title", "book", "isbn"},
    "rating": {"rating", "ratings", "score", "stars", "value", "rate"},
    "timestamp": {"timestamp", "time", "date", "datetime", "ts", "unixtime"},
}
ROLES = ("user", "item", "rating", "timestamp")
_SEPARATORS = ("::", "\t", ",", ";", "|")
_SEPARATOR_NAMES = {"::": "'::'", "\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
# What a damaged zip can raise while its directory or a member is read (ValueError: bad offsets).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
               RuntimeError, ValueError, IndexError, KeyError, struct.error, zlib.error)
#: MovieLens layouts in a zip or folder, recognised by file names: (ratings file, items file).
MOVIELENS_LAYOUTS = (("ratings.csv", "movies.csv"), ("ratings.dat", "movies.dat"), ("u.data", "u.item"))


class DataError(ValueError):
    """A rating file or table cannot be used; the message says why (and where)."""


class _TypeGuessError(DataError):
    """A column read as numbers holds text further down: read it again as text."""


@dataclass(frozen=True)
class LoadSummary:
    """What loading did, in numbers: ``data_lines`` rows read, ``blank_lines`` skipped, ``duplicates``
    rows merged into another rating of the same (user, item) pair under ``duplicate_policy``,
    ``ignored_columns`` a header named that the loader does not use, ``source`` (format and
    separator, archive member), ``items_file`` and ``items_matched`` (items given a title) when item
    metadata was joined, and ``warnings`` about degenerate data that still loads."""

    data_lines: int = 0
    blank_lines: int = 0
    duplicates: int = 0
    duplicate_policy: str = "last"
    ignored_columns: tuple = ()
    source: str = ""
    items_file: str = ""
    items_matched: int = 0
    warnings: tuple = ()

    def sentences(self, n_ratings: int, n_items: int) -> list[str]:
        """The summary as sentences generated from its numbers (and the loaded table's sizes)."""
        said = [f"Read {self.data_lines:,} data line{'s' * (self.data_lines != 1)}"
                + (f" ({self.source})." if self.source else ".")]
        if self.blank_lines:
            said.append(f"Skipped {self.blank_lines:,} blank line{'s' * (self.blank_lines != 1)}.")
        if self.duplicates:
            how = {"last": "the last rating in the file kept", "mean": "their ratings averaged"}
            said.append(f"Merged {self.duplicates:,} repeated (user, item) rating"
                        f"{'s' * (self.duplicates != 1)} into one per pair "
                        f"({how.get(self.duplicate_policy, self.duplicate_policy)}), leaving "
                        f"{n_ratings:,} ratings.")
        if self.ignored_columns:
            said.append(f"Ignored the column{'s' * (len(self.ignored_columns) != 1)} "
                        f"{', '.join(map(repr, self.ignored_columns))}.")
        if self.items_file:
            said.append(f"Titles from {self.items_file}: {self.items_matched:,} of {n_items:,} items "
                        "matched" + ("; the others keep their id." if self.items_matched < n_items else "."))
        return said + list(self.warnings)


@dataclass(frozen=True, eq=False)
class Ratings:
    """A table of ratings with contiguous integer codes.

    ``users[n]``, ``items[n]`` are ``int32`` codes into ``user_ids`` / ``item_ids`` (the original ids,
    sorted); ``values[n]`` is the ``float32`` rating; ``timestamps`` is ``int64`` seconds or ``None``.
    ``scale`` is the (min, max) rating of the whole loaded file, kept by every split of it.

    Item metadata: ``item_info`` is ``None`` (no items file) or a DataFrame with one row per item code
    (row ``c`` describes ``item_ids[c]``) and the text columns ``title`` and ``genres``
    (``|``-separated), ``""`` where the items file says nothing about that id. ``item_titles`` is
    always available: one display label per item code, the title when known, else the id as text;
    show ``ratings.item_titles[code]`` wherever an item is shown. ``summary`` (:class:`LoadSummary`)
    says what loading skipped, merged and warned about; every split keeps both.
    """

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    scale: tuple[float, float]
    timestamps: np.ndarray | None = None
    item_info: pd.DataFrame | None = None
    summary: LoadSummary = field(default_factory=LoadSummary)
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

    @property
    def item_titles(self) -> np.ndarray:
        """One label per item code (object array): the title when ``item_info`` has one, else the id."""
        labels = self.item_ids.astype(str).astype(object)
        if self.item_info is not None:
            titles = self.item_info["title"].to_numpy(dtype=object)
            known = titles != ""
            labels[known] = titles[known]
        return labels

    def user_codes(self, ids) -> np.ndarray:
        """Codes of original user ids; ``-1`` where an id is unknown."""
        return _codes(self._user_index, ids)

    def item_codes(self, ids) -> np.ndarray:
        """Codes of original item ids; ``-1`` where an id is unknown."""
        return _codes(self._item_index, ids)

    def take(self, rows: np.ndarray) -> Ratings:
        """The ratings at ``rows`` (indices or boolean mask), with the same id maps, metadata and scale."""
        return replace(
            self, users=self.users[rows], items=self.items[rows], values=self.values[rows],
            timestamps=None if self.timestamps is None else self.timestamps[rows],
        )

    def with_items(self, info: pd.DataFrame, items_file: str) -> Ratings:
        """These ratings with item metadata ``info`` (indexed by item id) joined by item id."""
        from .items import join_items

        joined = join_items(self.item_ids, info)
        matched = int((joined["title"] != "").sum())
        return replace(self, item_info=joined,
                       summary=replace(self.summary, items_file=items_file, items_matched=matched))

    def to_frame(self, titles: bool = False) -> pd.DataFrame:
        """Original ids and ratings as a DataFrame (``user, item, rating[, timestamp]``); with
        ``titles`` and item metadata, ``title`` and ``genres`` columns follow ``item``."""
        frame = pd.DataFrame({
            "user": self.user_ids[self.users], "item": self.item_ids[self.items], "rating": self.values,
        })
        if titles and self.item_info is not None:
            frame.insert(2, "title", self.item_info["title"].to_numpy(dtype=object)[self.items])
            frame.insert(3, "genres", self.item_info["genres"].to_numpy(dtype=object)[self.items])
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


def load_ratings(source, *, duplicates: str = "last", columns: dict | None = None,
                 items=None) -> Ratings:
    """Load ratings from a path, bytes, file object or DataFrame (formats and rules: module docstring).

    ``columns`` maps ``user``/``item``/``rating``/``timestamp`` to column names (a header's names) or
    positions, overriding detection; ``duplicates`` is ``"last"`` (default), ``"mean"`` or ``"error"``;
    ``items`` is an optional items file (path or bytes: ``movies.csv``, ``u.item``, ``movies.dat`` or a
    CSV with id and title columns) joined by item id into ``item_info`` / ``item_titles``. A MovieLens
    zip or folder brings its own items file unless ``items`` is given.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise DataError(f"duplicates == {duplicates!r}, must be one of {', '.join(DUPLICATE_POLICIES)}.")
    if isinstance(source, pd.DataFrame):
        ratings = _build_from_dataframe(source, columns, duplicates)
        bundled_items = None
    else:
        raw, bundled_items, origin = _ratings_bytes(source)
        ratings = _build_from_text(raw, columns, duplicates, origin)
    if items is not None:
        bundled_items = (Path(items).name if isinstance(items, (str, os.PathLike)) else "the items file", items)
    if bundled_items is not None:
        from .items import load_items

        name, items_source = bundled_items
        ratings = ratings.with_items(load_items(items_source), name)
    return ratings


def from_arrays(users, items, ratings, timestamps=None, *, duplicates: str = "last") -> Ratings:
    """Build :class:`Ratings` from parallel arrays of ids and ratings (no minimum size)."""
    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings})
    if timestamps is not None:
        frame["timestamp"] = timestamps
    return load_ratings(frame, duplicates=duplicates)


# --- sources, archives and compression -----------------------------------------------------------

def _read_bytes(source) -> bytes:
    """The bytes of a path, bytes or binary file object (folders are handled by the caller)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{path}: no such file.")
        return path.read_bytes()
    if hasattr(source, "read"):
        data = source.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise DataError(f"cannot read ratings from a {type(source).__name__}; give a path, bytes or a DataFrame.")


def _ratings_bytes(source) -> tuple[bytes, tuple[str, bytes] | None, str]:
    """(ratings bytes, optional (items file name, items bytes), where the ratings came from)."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        folder = Path(source)
        for ratings_name, items_name in MOVIELENS_LAYOUTS:
            if (folder / ratings_name).is_file():
                items_path = folder / items_name
                bundled = (items_name, items_path.read_bytes()) if items_path.is_file() else None
                return (folder / ratings_name).read_bytes(), bundled, ratings_name
        raise DataError(f"{folder} is a folder without ratings.csv, ratings.dat or u.data.")
    raw = _read_bytes(source)
    if raw[:4] == b"PK\x03\x04" or raw[:4] == b"PK\x05\x06":
        return _from_zip(raw)
    return _plain_bytes(raw, role="ratings"), None, ""


def _from_zip(raw: bytes) -> tuple[bytes, tuple[str, bytes] | None, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = [info for info in archive.infolist() if not info.is_dir()
                   and not PurePosixPath(info.filename).name.startswith(".")
                   and "__MACOSX" not in info.filename]
    except _ZIP_ERRORS as exc:
        raise DataError(f"the zip archive is damaged ({exc}).") from None
    names = {PurePosixPath(info.filename).name.lower(): info for info in members}
    if "[content_types].xml" in names or any(info.filename.startswith("xl/") for info in members):
        raise DataError("this is an Excel workbook: save it as CSV first (File > Save As > CSV).")
    if any(info.filename.startswith("word/") or info.filename == "content.xml" for info in members):
        raise DataError("this is an office document, not a ratings table: save the table as CSV first.")
    for ratings_name, items_name in MOVIELENS_LAYOUTS:
        if ratings_name in names:
            bundled = None
            if items_name in names:
                bundled = (items_name, _plain_bytes(_unzip(archive, names[items_name]), role="items"))
            data = _plain_bytes(_unzip(archive, names[ratings_name]), role="ratings")
            return data, bundled, f"{ratings_name} in the zip"
    tables = [info for info in members if PurePosixPath(info.filename).suffix.lower()
              in (".csv", ".tsv", ".txt", ".dat", ".data", ".gz", "")]
    if len(members) == 1:
        tables = members
    if len(tables) != 1:
        listed = ", ".join(PurePosixPath(info.filename).name for info in members[:6]) or "nothing"
        raise DataError(f"the zip holds {len(members)} files ({listed}); expected one ratings file or a "
                        "MovieLens layout (ratings.csv + movies.csv, u.data + u.item, ratings.dat + movies.dat).")
    name = PurePosixPath(tables[0].filename).name
    return _plain_bytes(_unzip(archive, tables[0]), role="ratings"), None, f"{name} in the zip"


def _unzip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_UNPACKED_BYTES:
        raise DataError(f"{info.filename} unpacks to {info.file_size / 2**30:.1f} GiB, more than the "
                        f"{MAX_UNPACKED_BYTES / 2**30:.0f} GiB limit.")
    try:
        return archive.read(info)
    except _ZIP_ERRORS as exc:
        raise DataError(f"cannot unpack {info.filename} from the zip ({exc}).") from None


def _plain_bytes(raw: bytes, role: str) -> bytes:
    """Text bytes: gzip is unpacked; binary formats are refused with a hint of what to do."""
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(MAX_UNPACKED_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"the gzip file is damaged ({exc}).") from None
        if len(raw) > MAX_UNPACKED_BYTES:
            raise DataError(f"the gzip file unpacks to more than {MAX_UNPACKED_BYTES / 2**30:.0f} GiB.")
    if raw[:4] == b"PK\x03\x04":
        if role == "items":
            raise DataError("the items file is a zip archive: give movies.csv, u.item or movies.dat itself.")
        raise DataError("a zip archive inside a compressed file: unpack it first.")
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError("this is an Excel (.xls) workbook: save it as CSV first (File > Save As > CSV).")
    if raw[:4] == b"PAR1":
        raise DataError("this is a Parquet file: load it with pandas and pass the DataFrame, or save it as CSV.")
    for magic, kind in ((b"BZh", "bzip2"), (b"\xfd7zXZ", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
                        (b"7z\xbc\xaf", "7z")):
        if raw.startswith(magic):
            raise DataError(f"{kind}-compressed files are not read: unpack it, or use .gz or .zip.")
    if re.search(rb"\S", raw) is None:
        raise DataError("the file is empty." if role == "ratings" else "the items file is empty.")
    if b"\x00" in raw[:65536]:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise DataError("the file is UTF-16 text: save it as UTF-8 (or Latin-1) CSV.")
        raise DataError("the file is not a text file (it contains NUL bytes): give CSV/TSV text, "
                        "a .gz or a .zip of it.")
    return raw.removeprefix(b"\xef\xbb\xbf")


# --- text parsing --------------------------------------------------------------------------------

def _decoded_head(raw: bytes) -> str:
    head = raw[:65536]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the 64 KiB boundary
            return head[:exc.start].decode("utf-8")
        return head.decode("latin-1")


def _encoding(raw: bytes, chunk: int = 1 << 26) -> str:
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


def _detect_separator(line: str) -> str | None:
    for sep in _SEPARATORS:
        if sep in line:
            return sep
    return None  # whitespace


def _split_line(line: str, sep: str | None) -> list[str]:
    return [field.strip().strip('"') for field in (line.split(sep) if sep else line.split())]


def _column_name(name: str) -> str:
    """A header name as the alias tables spell it: lower case, spaces and dashes as ``_``."""
    return re.sub(r"[\s\-]", "_", name.lower())


def _header_roles(fields: list[str]) -> dict[str, int] | None:
    """Map roles to positions if ``fields`` is a header row, else None."""
    roles = {}
    for position, name in enumerate(fields):
        for role, aliases in _COLUMN_ALIASES.items():
            if _column_name(name) in aliases and role not in roles:
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


@dataclass
class _Parsed:
    """A parsed table (columns ``c0, c1, ...``) and where its rows sit in the original bytes."""

    table: pa.Table
    raw: bytes            # the bytes the rows were read from (separator-normalised)
    data_start: int       # offset of the first data line in ``raw``
    lines_before: int     # lines before ``data_start`` (header and leading blank lines)
    blank_lines: int

    def line_of_row(self, row: int) -> int:
        """1-based line number of table row ``row`` (blank lines skipped, as the reader did)."""
        return self.lines_before + _nth_nonblank_line(self.raw, self.data_start, row) + 1


def _first_line(raw: bytes) -> tuple[int, int, str]:
    """(offset of the first non-blank line, its 0-based line number, its text)."""
    offset, number = 0, 0
    while offset < len(raw):
        end = raw.find(b"\n", offset)
        end = len(raw) if end < 0 else end
        line = raw[offset:end]
        if line.strip():
            text = _decoded_head(line[:65536] if len(line) > 65536 else line)
            return offset, number, text
        offset, number = end + 1, number + 1
    raise DataError("the file is empty.")


def _read_table(raw: bytes, sep: str | None, n_columns: int, *, header: bool, what: str = "file",
                include: list[int] | None = None) -> pa.Table:
    """Parse ``raw`` into a table of ``n_columns`` columns ``c0..``; see :func:`_parse`."""
    return _parse(raw, sep, n_columns, header=header, what=what, include=include).table


def _parse(raw: bytes, sep: str | None, n_columns: int, *, header: bool, what: str = "file",
           include: list[int] | None = None, column_types: dict | None = None, encoding: str = "") -> _Parsed:
    """Parse text ``raw`` with ``n_columns`` fields per row (a row with another count is a DataError
    naming its line), skipping the first non-blank line when ``header``. Only ``include`` columns are
    converted; ``column_types`` maps positions to pyarrow types (the others are inferred from the
    first block; a later value that does not fit raises :class:`_TypeGuessError`). The file is read
    block by block (8 MiB), which keeps the parser's peak memory to a few blocks."""
    if sep == "::":
        raw, sep = raw.replace(b"::", b"\x1f"), "\x1f"
    elif sep is None:
        raw = re.sub(rb"[ \t]+", b"\t", re.sub(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)", b"", raw))
        sep = "\t"
    first_offset, first_number, _ = _first_line(raw)
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

    encoding = encoding or _encoding(raw)
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
            raise _TypeGuessError(message) from None
        raise DataError(f"the {what} cannot be parsed: {message[:200]}") from None
    if encoding == "utf8" and any(pa.types.is_binary(column.type) or (
            pa.types.is_dictionary(column.type) and pa.types.is_binary(column.type.value_type))
            for column in table.columns):
        return _parse(raw, sep, n_columns, header=header, what=what, include=include,  # not UTF-8 after all
                      column_types=column_types, encoding="latin-1")
    total_lines = raw.count(b"\n", data_start) + (0 if raw.endswith(b"\n") else 1)
    blank = max(0, total_lines - table.num_rows) + first_number
    return _Parsed(table, raw, data_start, lines_before, blank)


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


def _nth_nonblank_line(raw: bytes, start: int, row: int, chunk: int = 1 << 24) -> int:
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


def _build_from_text(raw: bytes, columns: dict | None, duplicates: str, origin: str) -> Ratings:
    _, first_number, first = _first_line(raw)
    sep = _detect_separator(first)
    fields = _split_line(first, sep)
    if len(fields) < 3:
        hint = ""
        lowered = [name.lower() for name in fields]
        if any(name in ("title", "genres", "name") for name in lowered) or (
                len(fields) == 2 and not _is_number(fields[1]) and _is_number(fields[0])):
            hint = " (this looks like an items file: give it as the items file, not as ratings)"
        raise DataError(f"line {first_number + 1}: expected at least 3 columns (user, item, rating), "
                        f"found {len(fields)}{hint}.")
    header_roles = _header_roles(fields)
    has_header = header_roles is not None
    lowered = {_column_name(name) for name in fields}
    if has_header and lowered & {"title", "genres"} and not lowered & _COLUMN_ALIASES["rating"]:
        raise DataError(f"line {first_number + 1}: this looks like an items file (id, title, ...) rather "
                        "than ratings: give it as the items file.")
    roles = dict(header_roles or {"user": 0, "item": 1, "rating": 2})
    if not has_header and len(fields) >= 4 and (_is_number(fields[3]) or _is_date(fields[3])):
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
    first_row = _first_data_fields(raw, sep, has_header)
    text = pa.dictionary(pa.int32(), pa.string())
    guessed = {n: text for n in ids if not _is_integer(first_row, n)} | {roles["rating"]: pa.float64()}
    try:  # integer ids parse fastest as integers; text ids come out of the parse dictionary-encoded
        parsed = _parse(raw, sep, len(fields), header=has_header, include=include, column_types=guessed)
    except _TypeGuessError:  # a later value does not fit the guess: read it all as text, then check
        as_text = {n: text for n in ids} | {roles[r]: pa.string() for r in ("rating", "timestamp") if r in roles}
        parsed = _parse(raw, sep, len(fields), header=has_header, include=include, column_types=as_text)
    by_role = {role: parsed.table.column(f"c{roles[role]}") for role in picked}
    parsed.table = None  # each column is freed as soon as _build has converted it: peak memory

    def where(row: int) -> str:
        return f"line {parsed.line_of_row(row)}: "

    source = ", ".join(filter(None, [origin, f"{_SEPARATOR_NAMES.get(sep, 'whitespace')} separated",
                                     "with a header" if has_header else "no header"]))
    summary = LoadSummary(data_lines=len(by_role["rating"]), blank_lines=parsed.blank_lines,
                          duplicate_policy=duplicates, ignored_columns=ignored, source=source)
    return _build(by_role, where, duplicates, summary, decimal_comma=sep == ";", check_size=True)


def _first_data_fields(raw: bytes, sep: str | None, has_header: bool) -> list[str]:
    lines = (line for line in _decoded_head(raw[:65536]).splitlines() if line.strip())
    if has_header:
        next(lines, None)
    return _split_line(next(lines, ""), sep)


def _is_integer(fields: list[str], position: int) -> bool:
    return position < len(fields) and re.fullmatch(r"[+-]?\d{1,18}", fields[position]) is not None


def _apply_column_overrides(roles, columns, header_fields):
    roles = dict(roles)
    for role, column in columns.items():
        if role not in _COLUMN_ALIASES:
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
    roles = _header_roles(names) if len(names) >= 3 else None
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
    return _build(by_role, where, duplicates, summary, decimal_comma=False, check_size=False)


# --- validation and encoding ------------------------------------------------------------------

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


def _build(by_role: dict, where, duplicates: str, summary: LoadSummary, *, decimal_comma: bool,
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
        if len(numbers) and _integral(numbers):
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
    if pd.api.types.is_float_dtype(column) and _integral(column.to_numpy()):
        column = column.astype(np.int64)
    if pd.api.types.is_integer_dtype(column):
        codes, uniques = pd.factorize(column, sort=True)
        return codes, np.asarray(uniques, dtype=np.int64)
    codes, uniques = pd.factorize(column.astype(str))  # then strip and sort the few distinct ids
    return _sorted_text_ids(codes, uniques)


def _integral(numbers: np.ndarray) -> bool:
    """Every value is a finite whole number that fits int64 (so ``1.0`` ids become ``1``)."""
    return bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers))
                and np.abs(numbers).max(initial=0) < 2**62)


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
    fields = _split_line(first, _detect_separator(first))
    roles = _header_roles(fields) if len(fields) >= 3 else None
    if roles is None:
        return ColumnGuess(fields, False, {"user": 0, "item": 1, "rating": 2}, False)
    names = [_column_name(name) for name in fields]
    ambiguous = any(sum(name in _COLUMN_ALIASES[role] for name in names) != 1
                    for role in ("user", "item", "rating"))
    return ColumnGuess(fields, True, roles, ambiguous)
