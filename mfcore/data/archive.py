"""Where the bytes come from: paths, folders, file objects, ``.gz`` and ``.zip`` archives (MovieLens layouts
recognised by their file names); binary formats refused with a sentence saying what to do instead.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .errors import DataError

MAX_UNPACKED_BYTES = 16 << 30  # a compressed file that inflates beyond this is refused


# What a damaged zip can raise while its directory or a member is read (ValueError: bad offsets).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
               RuntimeError, ValueError, IndexError, KeyError, struct.error, zlib.error)


#: MovieLens layouts in a zip or folder, recognised by file names: (ratings file, items file).
MOVIELENS_LAYOUTS = (("ratings.csv", "movies.csv"), ("ratings.dat", "movies.dat"), ("u.data", "u.item"))


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


def ratings_bytes(source) -> tuple[bytes, tuple[str, bytes] | None, str]:
    """(ratings bytes, optional (items file name, items bytes), where the ratings came from)."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        folder = Path(source)
        for ratings_name, items_name in MOVIELENS_LAYOUTS:
            if (folder / ratings_name).is_file():
                items_path = folder / items_name
                bundled = (items_name, items_path.read_bytes()) if items_path.is_file() else None
                return (folder / ratings_name).read_bytes(), bundled, ratings_name
        raise DataError(f"{folder} is a folder without ratings.csv, ratings.dat or u.data.")
    raw = read_bytes(source)
    if raw[:4] == b"PK\x03\x04" or raw[:4] == b"PK\x05\x06":
        return _from_zip(raw)
    return plain_bytes(raw, role="ratings"), None, ""


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
                bundled = (items_name, plain_bytes(_unzip(archive, names[items_name]), role="items"))
            data = plain_bytes(_unzip(archive, names[ratings_name]), role="ratings")
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
    return plain_bytes(_unzip(archive, tables[0]), role="ratings"), None, f"{name} in the zip"


def _unzip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_UNPACKED_BYTES:
        raise DataError(f"{info.filename} unpacks to {info.file_size / 2**30:.1f} GiB, more than the "
                        f"{MAX_UNPACKED_BYTES / 2**30:.0f} GiB limit.")
    try:
        return archive.read(info)
    except _ZIP_ERRORS as exc:
        raise DataError(f"cannot unpack {info.filename} from the zip ({exc}).") from None


def plain_bytes(raw: bytes, role: str) -> bytes:
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
