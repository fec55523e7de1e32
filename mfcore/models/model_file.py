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

This module knows the container and the bundled ratings and items, not any model class: a model
writes itself with :func:`write` (its ``_file_state()`` gives its fields and arrays) and reads itself
back from :func:`read`'s :class:`FileContents` (``_from_file``). :mod:`.persist` picks the class by kind.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from ..data import Ratings
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


def _open(source) -> dict:
    """Every array of the archive, read eagerly so that a damaged member fails here."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    name = Path(source).name if isinstance(source, (str, Path)) else "the file"
    try:
        archive = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such file.") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name} is a folder, not a model file.") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{name} is not an mfcore model file (.npz): {_reason(exc)}.") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{name} is a single NumPy array, not an mfcore model file (.npz).")
    with archive:
        try:
            return {key: archive[key] for key in archive.files}
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise ModelFileError(f"{name} is damaged or truncated: {_reason(exc)}.") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "pickled" in text:
        return "its content is neither a zip archive nor a NumPy array"
    if isinstance(exc, zipfile.BadZipFile):
        return f"it is not a complete zip archive, perhaps truncated ({text.rstrip('.')})"
    return text.rstrip(".")


def read(source) -> FileContents:
    """Read and check a model file (a path, or its bytes) written by :func:`write`."""
    arrays = _open(source)
    name = Path(source).name if isinstance(source, (str, Path)) else "the file"
    if "meta" not in arrays:
        raise ModelFileError(f"{name} is an .npz archive but not an mfcore model (no 'meta' entry).")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{name}: its 'meta' entry is not JSON.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{name} is an .npz archive but not an mfcore model (format is not "
                             f"{FORMAT!r}).")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{name} is an mfcore model of version {meta.get('version')!r}; this "
                             f"mfcore reads version {VERSION}.")
    try:
        return _contents(arrays, meta)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
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


def _contents(arrays: dict, meta: dict) -> FileContents:
    user_ids, item_ids = _ids(arrays["user_ids"]), _ids(arrays["item_ids"])
    n_users, n_items = len(user_ids), len(item_ids)
    scale = tuple(float(v) for v in meta["scale"])

    def ratings(users, items, values) -> Ratings:
        users, items = users.astype(np.int32), items.astype(np.int32)
        if len(users) != len(items) or len(users) != len(values):
            raise ValueError("rating arrays of different lengths")
        if len(users) and (users.min() < 0 or users.max() >= n_users or items.min() < 0
                           or items.max() >= n_items):
            raise ValueError("a rating refers to a user or item outside the id maps")
        return Ratings(users=users, items=items, values=values.astype(np.float32), user_ids=user_ids,
                       item_ids=item_ids, scale=scale)

    rated_users, rated_items = arrays["rated_users"], arrays["rated_items"]
    train_values = arrays["train_values"] if meta["has_train_values"] else np.zeros(len(rated_users),
                                                                                   np.float32)
    train = ratings(rated_users, rated_items, train_values)
    test = (ratings(arrays["test_users"], arrays["test_items"], arrays["test_values"])
            if meta["has_test"] else None)
    items = None
    if meta["has_items"]:
        titles, genres = arrays["item_titles"], arrays["item_genres"]
        if len(titles) != n_items or len(genres) != n_items:
            raise ValueError("item titles do not match the item ids")
        import pandas as pd
        items = pd.DataFrame({"title": titles.astype(object), "genres": genres.astype(object)},
                             index=pd.Index(item_ids, name="item"))
    return FileContents(meta, arrays, train, bool(meta["has_train_values"]), test, items)
