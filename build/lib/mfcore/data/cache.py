"""A binary cache of parsed rating files, so a big file is parsed once, not on every run.

:func:`load_ratings_cached` returns what :func:`mfcore.data.load_ratings` returns for a file or
folder, but after the first parse it keeps the result as an uncompressed ``.npz`` (codes, ratings,
id maps, timestamps; plain arrays, read without pickle) in ``<cache>/ratings/`` (the cache folder of
:func:`cache_dir`), named by a hash of the source's absolute path, size
and modification time and the load options. A changed file gets a new name, so a stale entry is
never read; loading 100M ratings from it takes seconds instead of a minute of parsing. Sources that
are not files on disk (bytes, DataFrames), and loads with an items file, are not cached.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

from .archive import read_npy_header
from .ratings import LoadSummary, Ratings

FORMAT_VERSION = 2  # 2: the load summary is kept (what was merged, skipped, ignored)
_ARRAYS = ("users", "items", "values", "user_ids", "item_ids")


def cache_dir() -> Path:
    """Where mfcore's caches (parsed ratings here, compiled extensions for the cython engine) live."""
    if os.environ.get("MFCORE_CACHE_DIR"):
        return Path(os.environ["MFCORE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mfcore"


def _cache_root() -> Path:
    return cache_dir() / "ratings"


def _fingerprint(path: Path, options: dict) -> str:
    """Hash of the absolute path, size and mtime of the file (or of every file in the folder)."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    text = json.dumps([FORMAT_VERSION, str(path.resolve()), stats, options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_file(source, **options) -> Path | None:
    """Where the cached form of ``source`` lives (whether or not it exists yet); None when
    ``source`` is not a file or folder on disk."""
    if not isinstance(source, (str, os.PathLike)) or not Path(source).exists():
        return None
    return _cache_root() / f"{_fingerprint(Path(source), options)}.npz"


def _storable(ids: np.ndarray) -> np.ndarray:
    """Ids as an array np.load can read without pickle: numbers as they are, anything else as text."""
    return ids.astype(str) if ids.dtype == object else ids


def save(ratings: Ratings, target: Path) -> None:
    """Write ``ratings`` to ``target`` (atomically: a temporary file, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: getattr(ratings, name) for name in _ARRAYS}
    arrays["user_ids"], arrays["item_ids"] = _storable(arrays["user_ids"]), _storable(arrays["item_ids"])
    arrays["scale"] = np.asarray(ratings.scale, np.float64)
    if ratings.timestamps is not None:
        arrays["timestamps"] = ratings.timestamps
    arrays["summary"] = np.frombuffer(json.dumps(dataclasses.asdict(ratings.summary)).encode(), np.uint8)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.npz")
    _write_npz(partial, arrays)
    os.replace(partial, target)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed ``.npz`` of ``arrays``, as ``np.savez`` writes it (``.npy`` members, format 1.0
    headers), but each array's memory goes to the file as it is: ``np.savez`` copies every 16 MiB chunk
    to bytes before writing it (a second of copies for 100M ratings)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(array))
                member.write(array.reshape(-1).view(np.uint8).data)


def _read_members(target: Path) -> dict[str, np.ndarray]:
    """Every array of the uncompressed ``.npz`` ``target``, each read with one ``np.fromfile`` from its
    place in the file: ``np.load`` reads a member through ``zipfile``, which checks a CRC-32 over every
    byte in Python-sized chunks (4.9 s for the 1.2 GB of 100M ratings, against about a second this
    way). The CRC is what is skipped: the file is ours, written whole and renamed into place. Raises
    ValueError for anything else than plain stored ``.npy`` members of a simple dtype."""
    import struct
    import zipfile

    arrays = {}
    with zipfile.ZipFile(target) as archive, open(target, "rb") as handle:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"{info.filename}: not a stored .npy member")
            handle.seek(info.header_offset)
            local = handle.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError(f"{info.filename}: no local header")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            shape, fortran, dtype = read_npy_header(handle)
            if dtype.hasobject or fortran:
                raise ValueError(f"{info.filename}: object or Fortran-ordered array")
            count = int(np.prod(shape, dtype=np.int64))
            array = np.fromfile(handle, dtype=dtype, count=count)
            if array.size != count:
                raise ValueError(f"{info.filename}: truncated")
            arrays[info.filename[:-4]] = array.reshape(shape)
    return arrays


def load(target: Path) -> Ratings:
    """The :class:`Ratings` stored in ``target`` by :func:`save` (read by :func:`_read_members`, or by
    ``np.load`` when that refuses the file)."""
    try:
        stored = _read_members(target)
    except (ValueError, OSError, EOFError, ImportError):
        with np.load(target, allow_pickle=False) as archive:
            stored = {name: archive[name] for name in archive.files}
    timestamps = stored.get("timestamps")
    fields = json.loads(stored["summary"].tobytes()) if "summary" in stored else {}
    summary = LoadSummary(**{name: tuple(value) if isinstance(value, list) else value
                             for name, value in fields.items()})
    return Ratings(users=stored["users"], items=stored["items"], values=stored["values"],
                   user_ids=stored["user_ids"], item_ids=stored["item_ids"],
                   scale=tuple(float(x) for x in stored["scale"]), timestamps=timestamps, summary=summary)


def load_ratings_cached(source, *, duplicates: str = "last", columns: dict | None = None,
                        items=None) -> tuple[Ratings, bool]:
    """``(ratings, from_cache)``: ``load_ratings(source, ...)``, read from the binary cache when an
    entry for this exact file (path, size, mtime) and options exists, else parsed and then cached."""
    with ratings_cached(source, duplicates=duplicates, columns=columns, items=items) as loaded:
        return loaded


@contextlib.contextmanager
def ratings_cached(source, *, duplicates: str = "last", columns: dict | None = None, items=None):
    """:func:`load_ratings_cached` as a context manager: a freshly parsed file is written to the cache
    on a background thread while the ``with`` block runs, and the block's end waits for the write
    (and raises what it raised, but for OSError: a read-only or full cache folder costs the next run a
    parse). The block must not change the ratings' arrays. The CLI splits the ratings meanwhile, on
    one core (the write is mostly the kernel's, outside the GIL); since the block's end waits, the
    arrays live no longer than they did, and nothing runs beside the training that follows."""
    target = None if items is not None else cache_file(source, duplicates=duplicates, columns=columns)
    if target is not None and target.exists():
        yield load(target), True
        return
    from .loader import load_ratings  # pandas and pyarrow: only when there is text to parse
    ratings = load_ratings(source, duplicates=duplicates, columns=columns, items=items)
    failed: list[Exception] = []

    def write() -> None:
        try:
            save(ratings, target)
        except OSError:
            pass
        except Exception as exc:  # raised again in the caller's thread, after the block
            failed.append(exc)

    writer = None
    if target is not None and ratings.item_info is None:
        writer = threading.Thread(target=write, name="mfcore-cache-write", daemon=True)
        writer.start()
    try:
        yield ratings, False
    finally:
        if writer is not None:
            writer.join()
    if failed:
        raise failed[0]
