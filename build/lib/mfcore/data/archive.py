"""Where the bytes come from: paths, folders, file objects, ``.gz`` and ``.zip`` archives (MovieLens layouts
recognised by their file names); binary formats refused with a sentence saying what to do instead.

Decompression is streamed and bounded, so that a small archive cannot fill the server's memory (a
"decompression bomb": a 500 kB ``.gz`` of repeated rows inflates to GBs). An archive is inflated in
chunks of :data:`CHUNK` bytes, twice: the first pass keeps nothing (constant memory) and raises
:class:`DataError` as soon as the text passes a limit; the second pass, run only when the first found
the text within the limits, keeps it. The limits:

- the unpacked size: at most ``max_unpacked_bytes`` (default :func:`unpacked_limit`: the memory cap of
  :mod:`.memory` for one user's process, 3/4 of physical memory; the dashboard passes the shared
  server's, 1/32). The text is held whole while it is parsed, so a text over the cap can never load
  within it;
- the compression ratio: a text over :data:`RATIO_FLOOR` bytes may be at most :data:`MAX_RATIO` times
  the compressed file. Rating files compress 3-8x; only crafted or degenerate files (one row repeated)
  reach 100x, and refusing them early keeps a bomb's refusal well under a second;
- nesting: one archive layer, plus a ``.gz`` inside a ``.zip``; an archive inside those is refused
  without being inflated, and so is a zip with more than :data:`MAX_MEMBERS` entries (its directory
  would cost memory before any check).

The binary checks (NUL bytes, Excel, Parquet, other compressors) look at the first :data:`HEAD` bytes of
the text, before the rest is inflated.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import DataError
from .memory import CLI_CAP_FRACTION, memory_cap_bytes

CHUNK = 1 << 20
"""Bytes inflated at a time: about the whole memory of the first pass."""
HEAD = 1 << 16
"""Bytes of text the binary checks look at, before anything more is inflated."""
MAX_RATIO = 100
"""Largest accepted ratio of unpacked to compressed size, for texts over :data:`RATIO_FLOOR`."""
RATIO_FLOOR = 32 << 20
"""Texts up to this size are not ratio-checked: small, very regular files are harmless."""
MAX_MEMBERS = 10_000
"""Most entries a zip may hold (reading its directory costs about 500 bytes per entry)."""

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# What a damaged zip can raise while its directory or a member is read (ValueError: bad offsets).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
               RuntimeError, ValueError, IndexError, KeyError, struct.error, zlib.error)


#: MovieLens layouts in a zip or folder, recognised by file names: (ratings file, items file).
MOVIELENS_LAYOUTS = (("ratings.csv", "movies.csv"), ("ratings.dat", "movies.dat"), ("u.data", "u.item"))


def unpacked_limit(max_unpacked_bytes: int | None = None) -> int:
    """The unpacked-size limit: ``max_unpacked_bytes`` when given, else the memory cap of one user's
    process (:func:`mfcore.data.memory.memory_cap_bytes` with :data:`~.memory.CLI_CAP_FRACTION`)."""
    return int(max_unpacked_bytes) if max_unpacked_bytes is not None else memory_cap_bytes(CLI_CAP_FRACTION)


def _size(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


class Budget:
    """The inflated bytes of one archive (every member and layer), checked against both limits:
    ``limit`` bytes in all, and :data:`MAX_RATIO` times ``compressed`` (the archive's size) above
    :data:`RATIO_FLOOR`. :mod:`mfcore.models.model_file` uses it for model files too."""

    def __init__(self, limit: int, compressed: int):
        self.limit, self.compressed, self.total = int(limit), int(compressed), 0

    def count(self, n: int, name: str, error=DataError) -> None:
        """Add ``n`` inflated bytes of ``name``; raise ``error`` (one sentence) when over a limit."""
        self.total += n
        if self.total > self.limit:
            raise error(f"{name} unpacks to more than {_size(self.limit)}, the memory limit for one file "
                        "here: give a smaller file.")
        if self.total > max(RATIO_FLOOR, MAX_RATIO * self.compressed):
            raise error(f"{name} unpacks to more than {MAX_RATIO} times its compressed size "
                        f"({self.compressed:,} bytes), as only a decompression bomb or a file of one "
                        "repeated row does: refused.")


def read_bytes(source) -> bytes:
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


def ratings_bytes(source, max_unpacked_bytes: int | None = None) -> tuple[bytes, tuple[str, bytes] | None, str]:
    """(ratings bytes, optional (items file name, items bytes), where the ratings came from); archives
    are unpacked within :func:`unpacked_limit` of ``max_unpacked_bytes`` (module docstring)."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        folder = Path(source)
        for ratings_name, items_name in MOVIELENS_LAYOUTS:
            if (folder / ratings_name).is_file():
                items_path = folder / items_name
                bundled = (items_name, items_path.read_bytes()) if items_path.is_file() else None
                return (folder / ratings_name).read_bytes(), bundled, ratings_name
        raise DataError(f"{folder} is a folder without ratings.csv, ratings.dat or u.data.")
    raw = read_bytes(source)
    if raw[:4] in ZIP_MAGICS:
        return _from_zip(raw, Budget(unpacked_limit(max_unpacked_bytes), len(raw)))
    return plain_bytes(raw, role="ratings", max_unpacked_bytes=max_unpacked_bytes), None, ""


def declared_entries(raw: bytes) -> int:
    """The entry count a zip's end record declares, read before its directory is (0 when there is no
    end record: zipfile then says what is wrong). A zip64 archive writes 0xFFFF there and the true
    count in its zip64 end record, just before the zip64 locator that precedes the end record; that
    count is returned (0xFFFF when the zip64 record is missing from ``raw``)."""
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - (1 << 16) - 22))
    if end < 0 or end + 22 > len(raw):
        return 0
    count = struct.unpack("<H", raw[end + 10:end + 12])[0]
    locator = end - 20
    if count != 0xFFFF or locator < 0 or raw[locator:locator + 4] != b"PK\x06\x07":
        return count
    record = raw.rfind(b"PK\x06\x06", max(0, locator - (1 << 16)), locator)
    if record < 0 or record + 40 > locator:
        return count
    return struct.unpack("<Q", raw[record + 32:record + 40])[0]


def _from_zip(raw: bytes, budget: Budget) -> tuple[bytes, tuple[str, bytes] | None, str]:
    declared = declared_entries(raw)
    if declared > MAX_MEMBERS:
        raise DataError(f"the zip archive declares {declared:,} entries, more than the {MAX_MEMBERS:,} this "
                        "loader reads: give the ratings file itself.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        if len(archive.infolist()) > MAX_MEMBERS:
            raise DataError(f"the zip archive holds more than {MAX_MEMBERS:,} entries: give the ratings "
                            "file itself.")
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
                bundled = (items_name, _unzip(archive, names[items_name], "items", budget))
            data = _unzip(archive, names[ratings_name], "ratings", budget)
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
    return _unzip(archive, tables[0], "ratings", budget), None, f"{name} in the zip"


def _unzip(archive: zipfile.ZipFile, info: zipfile.ZipInfo, role: str, budget: Budget) -> bytes:
    """The text of one member (a plain file or one ``.gz``), unpacked within ``budget``."""
    name = PurePosixPath(info.filename).name

    def chunks() -> Iterator[bytes]:
        try:
            with archive.open(info) as member:
                while chunk := member.read(CHUNK):
                    yield chunk
        except _ZIP_ERRORS as exc:
            raise DataError(f"cannot unpack {name} from the zip ({_first_line(exc)}).") from None

    return _unpack(chunks, name, role, budget, inner_gzip=True)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _gunzip(compressed: Iterator[bytes], name: str) -> Iterator[bytes]:
    """The inflated chunks (at most :data:`CHUNK` bytes each) of a gzip stream given in chunks;
    concatenated gzip members are read one after another, as ``gzip`` does."""
    inflater, fed = zlib.decompressobj(31), False
    try:
        for pending in compressed:
            while pending or fed:
                fed = True
                out = inflater.decompress(pending, CHUNK)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
                if inflater.eof:
                    pending, inflater, fed = inflater.unused_data, zlib.decompressobj(31), False
                    if pending[:2] != GZIP_MAGIC:
                        if pending.strip(b"\x00"):
                            raise DataError(f"{name} is damaged (data after the end of the gzip stream).")
                        break
                elif not pending and len(out) < CHUNK:
                    break  # this input is used up and nothing is buffered: the next input
        if fed and not inflater.eof:
            raise DataError(f"{name} is damaged (the gzip stream ends early: truncated?).")
    except zlib.error as exc:
        raise DataError(f"{name} is damaged ({_first_line(exc)}).") from None


def _unpack(open_chunks: Callable[[], Iterator[bytes]], name: str, role: str, budget: Budget,
            inner_gzip: bool) -> bytes:
    """The text ``open_chunks()`` yields (each call a fresh stream), checked and counted in a first
    pass that keeps nothing, then collected. With ``inner_gzip`` a gzip text is inflated once more
    (a ``.gz`` in a zip); any other archive inside is refused before it is inflated."""
    stream = open_chunks()
    first = next(stream, b"")
    stream.close()
    if inner_gzip and first[:2] == GZIP_MAGIC:
        return _unpack(lambda: _gunzip(open_chunks(), name), name, role, budget, inner_gzip=False)
    if first[:2] == GZIP_MAGIC or first[:4] in ZIP_MAGICS:
        if role == "items":
            raise DataError("the items file is an archive: give movies.csv, u.item or movies.dat itself.")
        raise DataError(f"{name} holds another archive inside a compressed file: unpack it first.")
    head, checked = bytearray(), False
    for chunk in open_chunks():
        if not checked:
            head += chunk[:HEAD - len(head)]
            if len(head) >= HEAD:
                check_head(bytes(head), role)
                checked = True
        budget.count(len(chunk), name)
    if not checked:
        check_head(bytes(head), role)
    text = b"".join(open_chunks())
    check_not_blank(text, role)
    return text.removeprefix(b"\xef\xbb\xbf")


def plain_bytes(raw: bytes, role: str, max_unpacked_bytes: int | None = None) -> bytes:
    """Text bytes: gzip is unpacked within :func:`unpacked_limit` of ``max_unpacked_bytes`` (module
    docstring); binary formats are refused with a hint of what to do."""
    if raw[:2] == GZIP_MAGIC:
        budget = Budget(unpacked_limit(max_unpacked_bytes), len(raw))
        name = "the gzip file"

        def compressed() -> Iterator[bytes]:
            view = memoryview(raw)
            for start in range(0, len(raw), CHUNK):
                yield bytes(view[start:start + CHUNK])

        return _unpack(lambda: _gunzip(compressed(), name), name, role, budget, inner_gzip=False)
    if raw[:4] in ZIP_MAGICS:
        if role == "items":
            raise DataError("the items file is a zip archive: give movies.csv, u.item or movies.dat itself.")
        raise DataError("a zip archive inside a compressed file: unpack it first.")
    check_head(raw[:HEAD], role)
    check_not_blank(raw, role)
    return raw.removeprefix(b"\xef\xbb\xbf")


def check_head(head: bytes, role: str) -> None:
    """Refuse binary formats, known by the first bytes of a text (at most :data:`HEAD` are looked at)."""
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError("this is an Excel (.xls) workbook: save it as CSV first (File > Save As > CSV).")
    if head[:4] == b"PAR1":
        raise DataError("this is a Parquet file: load it with pandas and pass the DataFrame, or save it as CSV.")
    for magic, kind in ((b"BZh", "bzip2"), (b"\xfd7zXZ", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
                        (b"7z\xbc\xaf", "7z")):
        if head.startswith(magic):
            raise DataError(f"{kind}-compressed files are not read: unpack it, or use .gz or .zip.")
    if b"\x00" in head[:HEAD]:
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise DataError("the file is UTF-16 text: save it as UTF-8 (or Latin-1) CSV.")
        raise DataError("the file is not a text file (it contains NUL bytes): give CSV/TSV text, "
                        "a .gz or a .zip of it.")


def check_not_blank(text: bytes, role: str) -> None:
    """Refuse a text without a single non-space character."""
    if re.search(rb"\S", text) is None:
        raise DataError("the file is empty." if role == "ratings" else "the items file is empty.")


def read_npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` array that starts at ``stream``'s position,
    which is left at the array's first byte; a ValueError names a format version other than 1.0 or
    2.0. Only the header is read: callers check it before anything is allocated."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError(f"a NumPy array of format version {version}, not 1.0 or 2.0")
