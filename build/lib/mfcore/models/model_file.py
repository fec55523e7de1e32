"""The model file container: one ``.npz`` archive (``np.savez_compressed``) that
``np.load(..., allow_pickle=False)`` reads back; nothing in it is a Python object.

- ``meta``: the UTF-8 bytes of a JSON object (as ``uint8``): ``format`` (``"mfcore-model"``),
  ``version``, the model's ``kind`` (``"sgd"`` when absent, as in older files), the model's own
  fields (for the SGD model: hyperparameters, ``global_mean``, ``scale``, ``lr``, the per-epoch
  ``history``, ``best_epoch``, timings, ``n_train_ratings``) and which optional arrays are present;
- the model's own arrays (for the SGD model ``P``, ``Q``, ``bu``, ``bi``, ``float32``);
- ``user_ids``, ``item_ids``: the original ids, ``int64`` or fixed-width unicode (never object arrays);
- ``rated_users``, ``rated_items``: the codes of the training pairs (``int32``), so that a loaded
  model still leaves out the items a user rated;
- optional ``train_values`` (the training ratings, aligned with the pairs), ``test_users``,
  ``test_items``, ``test_values`` (a test set to compute ranking metrics on), ``item_titles`` and
  ``item_genres`` (genres joined by ``|``).

Anything else (not a zip, not an ``.npz`` of this format, truncated, inconsistent shapes) raises
:class:`ModelFileError`, a ``ValueError`` with a one-line message.

A model file is read as untrusted input (Explore accepts uploads): its entries together may unpack to
at most the memory cap (a caller's ``max_bytes``, by default that of one user's process) and 100 times
the file's size, checked on the zip directory and each ``.npy`` header before any array is allocated
(:func:`_open`); the ``meta`` JSON is at most :data:`MAX_META_BYTES` and :data:`MAX_META_DEPTH` levels
deep; every array is checked for its dimensions, dtype and finiteness (:func:`entry`) and every meta
field for its type and range (:func:`number`; the rating scale finite with low < high) before use.

This module knows the container and the bundled ratings and items, not any model class: a model
writes itself with :func:`write` (its ``_file_state()`` gives its fields and arrays) and reads itself
back from :func:`read`'s :class:`FileContents` (``_from_file``). :mod:`.persist` picks the class by kind.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from ..data import Ratings
from ..data.archive import ZIP_MAGICS, Budget, declared_entries, read_npy_header, unpacked_limit
from .base import check_is_fitted

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "mfcore-model"
VERSION = 1
DEFAULT_KIND = "sgd"  # files written before kinds existed hold an SGD model


class ModelFileError(ValueError):
    """A file cannot be read as an mfcore model; the message says why."""


@dataclass
class FileContents:
    """A model file read and checked: ``meta`` (the JSON fields), ``arrays`` (every entry), the
    training pairs as ``train`` (ratings 0 unless the file kept them: ``has_train_values``), the
    bundled ``test`` ratings and ``items`` (indexed by item id, ``title`` and ``genres``), or None."""

    meta: dict
    arrays: dict
    train: Ratings
    has_train_values: bool
    test: Ratings | None
    items: pd.DataFrame | None

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", DEFAULT_KIND))


def plain_ids(ids: np.ndarray) -> np.ndarray:
    """Ids as an int64 or unicode array, so ``np.load(..., allow_pickle=False)`` reads them back."""
    return ids.astype(np.int64) if ids.dtype.kind in "iu" else ids.astype(str)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write(target, model, train: Ratings | None = None, test: Ratings | None = None,
          items: pd.DataFrame | None = None) -> None:
    """Write fitted ``model`` to ``target`` (a path or a writable binary file object): its
    ``_file_state()`` (kind, meta fields, arrays), its id maps and training pairs, and optionally the
    ``train`` and ``test`` ratings it was trained and tested on (same id maps) and ``items``."""
    check_is_fitted(model)
    n_users, n_items = len(model.user_ids_), len(model.item_ids_)
    for name, bundled in (("train", train), ("test", test)):
        if bundled is not None and (bundled.n_users, bundled.n_items) != (n_users, n_items):
            raise ValueError(f"the {name} ratings have other id maps than the model "
                             f"({bundled.n_users} x {bundled.n_items}, model {n_users} x {n_items}).")
    rated_users, rated_items = (train.users, train.items) if train is not None else model.rated_pairs()
    kind, fields, model_arrays = model._file_state()
    meta = {"format": FORMAT, "version": VERSION, "kind": kind, **fields,
            "has_train_values": train is not None, "has_test": test is not None, "has_items": items is not None}
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, default=_json_default).encode(), dtype=np.uint8),
        **model_arrays,
        "user_ids": plain_ids(model.user_ids_), "item_ids": plain_ids(model.item_ids_),
        "rated_users": np.asarray(rated_users, np.int32), "rated_items": np.asarray(rated_items, np.int32),
    }
    if train is not None:
        arrays["train_values"] = train.values.astype(np.float32)
    if test is not None:
        arrays.update(test_users=test.users.astype(np.int32), test_items=test.items.astype(np.int32),
                      test_values=test.values.astype(np.float32))
    if items is not None:
        import pandas as pd  # only with item metadata: a plain model file needs no pandas
        aligned = items.reindex(pd.Index(model.item_ids_))
        arrays["item_titles"] = aligned["title"].fillna("").astype(str).to_numpy().astype(str)
        genres = aligned["genres"] if "genres" in aligned else pd.Series("", index=aligned.index)
        arrays["item_genres"] = genres.fillna("").astype(str).to_numpy().astype(str)
    np.savez_compressed(target, **arrays)


MAX_ENTRIES = 64
"""Most entries a model file may hold (it writes at most 15)."""
MAX_META_BYTES = 4 << 20
"""Largest ``meta`` entry: the fields and a per-epoch history take a few kB, 4 MiB is thousands of epochs."""
MAX_META_DEPTH = 8
"""Deepest nesting of ``meta`` (the file writes 3: ``history`` is a list of objects); deeper JSON would
cost the parser's recursion, so it is refused before parsing."""
ARRAY_KINDS = "biufU"
"""The dtype kinds an entry may have (booleans, integers, floats, fixed-width unicode); objects,
bytes, structures and dates are refused before anything is read."""


def _open(source, max_bytes: int | None = None) -> dict:
    """Every array of the archive, read eagerly so that a damaged member fails here.

    Nothing is inflated before it is bounded: the zip directory's sizes of all entries together must
    fit :class:`mfcore.data.archive.Budget` (``max_bytes``, default the memory cap of one user's
    process, and 100x the file's size), each entry's ``.npy`` header must declare exactly the bytes
    the directory says, and its dtype must be one of :data:`ARRAY_KINDS`; only then is the array
    allocated and filled by streaming (the zip reader stops at the declared size)."""
    name = file_name(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(bytes(source))
    elif hasattr(source, "read") and hasattr(source, "seek"):  # an open binary file: the caller closes it
        return _read_archive(source, name, max_bytes)
    else:  # read from the file as the zip reader needs it, never the whole file at once
        path = Path(source)
        if path.is_dir():
            raise ModelFileError(f"{name} is a folder, not a model file.")
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            raise ModelFileError(f"{name}: no such file.") from None
        except OSError as exc:
            raise ModelFileError(f"{name} cannot be read: {_reason(exc)}.") from None
    with stream:
        return _read_archive(stream, name, max_bytes)


def _read_archive(stream, name: str, max_bytes: int | None) -> dict:
    """:func:`_open`'s checks and reads on a seekable binary ``stream``."""
    head = stream.read(8)
    size = stream.seek(0, io.SEEK_END)
    stream.seek(max(0, size - (1 << 16) - 22))
    tail = stream.read()
    stream.seek(0)
    if head[:6] == b"\x93NUMPY":
        raise ModelFileError(f"{name} is a single NumPy array, not an mfcore model file (.npz).")
    if head[:4] not in ZIP_MAGICS:
        raise ModelFileError(f"{name} is not an mfcore model file (.npz): its content is neither a zip "
                             "archive nor a NumPy array.")
    if declared_entries(tail) > MAX_ENTRIES:
        raise ModelFileError(f"{name} declares {declared_entries(tail):,} entries; a model file has at most "
                             f"{MAX_ENTRIES}.")
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (*_ZIP_READ_ERRORS, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{name} is not an mfcore model file (.npz): {_reason(exc)}.") from None
    if len(infos) > MAX_ENTRIES:
        raise ModelFileError(f"{name} holds {len(infos):,} entries; a model file has at most {MAX_ENTRIES}.")
    budget = Budget(unpacked_limit(max_bytes), size)
    for info in infos:
        budget.count(info.file_size, name, ModelFileError)
    arrays = {}
    with archive:
        for info in infos:
            key = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy") or key in arrays:
                raise ModelFileError(f"{name} is not an mfcore model file: entry {info.filename[:80]!r} is "
                                     "not a NumPy array.")
            try:
                arrays[key] = _read_entry(archive, info, key)
            except ModelFileError as exc:
                raise ModelFileError(f"{name}: {exc}") from None
            except (*_ZIP_READ_ERRORS, zipfile.BadZipFile) as exc:
                raise ModelFileError(f"{name} is damaged or truncated: {_reason(exc)}.") from None
    return arrays


_ZIP_READ_ERRORS = (ValueError, OSError, EOFError, KeyError, IndexError, RuntimeError, NotImplementedError,
                    zlib.error, struct.error, zipfile.LargeZipFile)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    """One ``.npy`` entry, its header checked (module :func:`_open`) before its array is allocated."""
    with archive.open(info) as member:
        try:
            shape, fortran, dtype = read_npy_header(member)
        except ValueError as exc:
            raise ModelFileError(f"entry {key!r} is {exc}.") from None
        if dtype.hasobject:
            raise ModelFileError(f"entry {key!r} holds Python objects (pickled), which are never loaded.")
        if dtype.kind not in ARRAY_KINDS or dtype.itemsize == 0:
            raise ModelFileError(f"entry {key!r} has dtype {dtype.str}, not numbers or text.")
        count = math.prod(int(n) for n in shape)
        size = count * dtype.itemsize
        header = member.tell()
        if header + size != info.file_size:
            raise ModelFileError(f"entry {key!r} declares {size:,} bytes of data (shape {tuple(shape)}, "
                                 f"{dtype.str}) but the archive holds {max(0, info.file_size - header):,}.")
        if key == "meta" and size > MAX_META_BYTES:
            raise ModelFileError(f"its 'meta' entry has {size:,} bytes, more than the {MAX_META_BYTES:,} "
                                 "a model's fields take.")
        array = np.empty(count, dtype)
        buffer, filled = memoryview(array.view(np.uint8)), 0
        while filled < size:
            got = member.readinto(buffer[filled:filled + (1 << 20)])
            if not got:
                raise ModelFileError(f"entry {key!r} ends early (truncated).")
            filled += got
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile):
        return f"it is not a complete zip archive, perhaps truncated ({text.rstrip('.')})"
    return text.rstrip(".")


def json_depth(text: str) -> int:
    """The deepest nesting of brackets in JSON ``text`` (brackets inside strings do not count)."""
    depth = deepest = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif bracket in "]}":
            depth -= 1
    return deepest


def read(source, max_bytes: int | None = None) -> FileContents:
    """Read and check a model file (a path, its bytes or an open binary file) written by :func:`write`; its entries may
    unpack to at most ``max_bytes`` (default: the memory cap of one user's process; see :func:`_open`).
    Every field is checked before use: a :class:`ModelFileError` of one line names the first bad one."""
    arrays = _open(source, max_bytes)
    name = file_name(source)
    if "meta" not in arrays:
        raise ModelFileError(f"{name} is an .npz archive but not an mfcore model (no 'meta' entry).")
    if arrays["meta"].dtype != np.uint8 or arrays["meta"].ndim != 1:
        raise ModelFileError(f"{name}: its 'meta' entry is not JSON text (bytes).")
    text = arrays["meta"].tobytes().decode(errors="replace")
    if json_depth(text) > MAX_META_DEPTH:
        raise ModelFileError(f"{name}: its 'meta' JSON is nested more than {MAX_META_DEPTH} levels deep; "
                             "a model's fields are not.")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or a number of more than 4300 digits
        raise ModelFileError(f"{name}: its 'meta' entry is not JSON.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{name} is an .npz archive but not an mfcore model (format is not "
                             f"{FORMAT!r}).")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{name} is an mfcore model of version {str(meta.get('version'))[:40]}; this "
                             f"mfcore reads version {VERSION}.")
    try:
        return _contents(arrays, meta)
    except (KeyError, ValueError, TypeError, IndexError, OverflowError) as exc:
        raise inconsistent(name, exc) from None


def inconsistent(name: str, exc: Exception) -> ModelFileError:
    """The one-line error of a file whose entries do not fit together (``exc`` says which)."""
    missing = f"entry {exc} is missing" if isinstance(exc, KeyError) else _reason(exc)
    return ModelFileError(f"{name} is an inconsistent mfcore model: {missing}.")


def file_name(source) -> str:
    """How messages name ``source``: its file name, or "the file" for bytes."""
    return Path(source).name if isinstance(source, (str, Path)) else "the file"


def _ids(array: np.ndarray) -> np.ndarray:
    return array.astype(object) if array.dtype.kind == "U" else array


_KIND_NAMES = {"b": "booleans", "i": "integers", "u": "integers", "f": "floating-point numbers", "U": "text"}


def entry(arrays: dict, key: str, ndim: int, kinds: str, finite: bool = True) -> np.ndarray:
    """``arrays[key]`` checked: ``ndim`` dimensions, a dtype kind in ``kinds`` and, for floats with
    ``finite``, no NaN or infinity; a ValueError saying which check failed otherwise."""
    array = arrays[key]
    if array.ndim != ndim:
        raise ValueError(f"{key} has {array.ndim} dimension{'s' * (array.ndim != 1)} {tuple(array.shape)}, "
                         f"expected {ndim}")
    if array.dtype.kind not in kinds:
        wanted = " or ".join(dict.fromkeys(_KIND_NAMES[k] for k in kinds))
        raise ValueError(f"{key} holds {_KIND_NAMES.get(array.dtype.kind, array.dtype.str)}, not {wanted}")
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{key} holds NaN or infinite values")
    return array


def number(meta: dict, key: str, integer: bool = False, minimum: float | None = None) -> float:
    """``meta[key]`` checked: a finite number (a whole one with ``integer``), at least ``minimum``."""
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"meta field {key!r} is {str(value)[:40]!r}, not a finite number")
    if integer and value != int(value):
        raise ValueError(f"meta field {key!r} is {value!r}, not a whole number")
    if minimum is not None and value < minimum:
        raise ValueError(f"meta field {key!r} is {value!r}, below {minimum}")
    return int(value) if integer else float(value)


def _flag(meta: dict, key: str) -> bool:
    if not isinstance(meta[key], bool):
        raise ValueError(f"meta field {key!r} is {str(meta[key])[:40]!r}, not true or false")
    return meta[key]


def _scale(meta: dict) -> tuple[float, float]:
    scale = meta["scale"]
    if not isinstance(scale, list) or len(scale) != 2:
        raise ValueError(f"the rating scale {str(scale)[:40]!r} is not a pair [low, high]")
    low, high = (number({"scale": value}, "scale") for value in scale)
    if not low < high:
        raise ValueError(f"the rating scale [{low:g}, {high:g}] does not have low < high")
    return low, high


def _contents(arrays: dict, meta: dict) -> FileContents:
    user_ids = _ids(entry(arrays, "user_ids", 1, "iuU"))
    item_ids = _ids(entry(arrays, "item_ids", 1, "iuU"))
    n_users, n_items = len(user_ids), len(item_ids)
    scale = _scale(meta)
    has_train_values, has_test, has_items = (_flag(meta, key) for key in ("has_train_values", "has_test",
                                                                          "has_items"))

    def ratings(prefix, values) -> Ratings:
        users, items = (entry(arrays, f"{prefix}_{role}", 1, "iu") for role in ("users", "items"))
        if len(users) != len(items) or len(users) != len(values):
            raise ValueError(f"{prefix} rating arrays of different lengths")
        if len(users) and (users.min() < 0 or users.max() >= n_users or items.min() < 0
                           or items.max() >= n_items):  # checked before the cast, which could wrap
            raise ValueError("a rating refers to a user or item outside the id maps")
        users, items = users.astype(np.int32), items.astype(np.int32)
        return Ratings(users=users, items=items, values=values.astype(np.float32), user_ids=user_ids,
                       item_ids=item_ids, scale=scale)

    n_rated = len(entry(arrays, "rated_users", 1, "iu"))
    train_values = entry(arrays, "train_values", 1, "f") if has_train_values else np.zeros(n_rated, np.float32)
    train = ratings("rated", train_values)
    test = ratings("test", entry(arrays, "test_values", 1, "f")) if has_test else None
    items = None
    if has_items:
        titles, genres = entry(arrays, "item_titles", 1, "U"), entry(arrays, "item_genres", 1, "U")
        if len(titles) != n_items or len(genres) != n_items:
            raise ValueError("item titles do not match the item ids")
        import pandas as pd
        items = pd.DataFrame({"title": titles.astype(object), "genres": genres.astype(object)},
                             index=pd.Index(item_ids, name="item"))
    return FileContents(meta, arrays, train, has_train_values, test, items)
