"""Save and load a fitted :class:`~mfcore.models.SGDFactorizer` without pickle.

A model file is an ``.npz`` archive (``np.savez_compressed``) that ``np.load(..., allow_pickle=False)``
reads back; nothing in it is a Python object:

- ``meta``: the UTF-8 bytes of a JSON object (as ``uint8``): ``format`` (``"mfcore-model"``),
  ``version``, the hyperparameters, ``global_mean``, ``scale``, ``lr``, the per-epoch ``history``
  (with the validation RMSE), ``best_epoch``, ``fit_seconds``, ``compile_seconds``,
  ``n_train_ratings`` and which optional arrays are present;
- ``P``, ``Q``, ``bu``, ``bi``: the factors and biases (``float32``);
- ``user_ids``, ``item_ids``: the original ids, ``int64`` or fixed-width unicode (never object arrays);
- ``rated_users``, ``rated_items``: the codes of the training pairs (``int32``), so that a loaded
  model still leaves out the items a user rated;
- optional ``train_values`` (the training ratings, aligned with the pairs), ``test_users``,
  ``test_items``, ``test_values`` (a test set to compute ranking metrics on), ``item_titles`` and
  ``item_genres`` (genres joined by ``|``).

Anything else (not a zip, not an ``.npz`` of this format, truncated, inconsistent shapes) raises
:class:`ModelFileError`, a ``ValueError`` with a one-line message.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import Ratings
from .export import plain_ids
from .base import EpochResult, check_is_fitted
from .sgd import SGDFactorizer
from .params import PARAMETERS

__all__ = ["ModelBundle", "ModelFileError", "load_bundle", "load_model", "model_bytes", "save_model"]

FORMAT = "mfcore-model"
VERSION = 1


class ModelFileError(ValueError):
    """A file cannot be read as an mfcore model; the message says why."""


@dataclass
class ModelBundle:
    """What a model file holds: the ``model`` and, when they were saved with it, the ``train`` and
    ``test`` ratings (with the model's id maps) and ``items`` (a DataFrame indexed by item id with
    ``title`` and ``genres`` columns)."""

    model: SGDFactorizer
    train: Ratings | None = None
    test: Ratings | None = None
    items: pd.DataFrame | None = None


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _arrays(model: SGDFactorizer, train: Ratings | None, test: Ratings | None,
            items: pd.DataFrame | None) -> dict:
    check_is_fitted(model)
    n_users, n_items = len(model.user_ids_), len(model.item_ids_)
    for name, bundled in (("train", train), ("test", test)):
        if bundled is not None and (bundled.n_users, bundled.n_items) != (n_users, n_items):
            raise ValueError(f"the {name} ratings have other id maps than the model "
                             f"({bundled.n_users} x {bundled.n_items}, model {n_users} x {n_items}).")
    if train is not None:
        rated_users, rated_items = train.users, train.items
    else:
        rated_users, rated_items = model.rated_pairs()
    meta = {
        "format": FORMAT, "version": VERSION, "params": model.get_params(),
        "global_mean": float(model.global_mean_), "scale": [float(v) for v in model.scale_],
        "lr": float(model.lr_), "fit_seconds": float(model.fit_seconds_),
        "compile_seconds": float(model.compile_seconds_), "n_train_ratings": int(model.n_train_ratings_),
        "history": [{"epoch": r.epoch, "train_rmse": r.train_rmse, "test_rmse": r.test_rmse,
                     "seconds": r.seconds, "validation_rmse": r.validation_rmse} for r in model.history_],
        "best_epoch": int(getattr(model, "best_epoch_", len(model.history_))),
        "has_train_values": train is not None, "has_test": test is not None,
        "has_items": items is not None,
    }
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, default=_json_default).encode(), dtype=np.uint8),
        "P": model.P_, "Q": model.Q_, "bu": model.bu_, "bi": model.bi_,
        "user_ids": plain_ids(model.user_ids_), "item_ids": plain_ids(model.item_ids_),
        "rated_users": np.asarray(rated_users, np.int32), "rated_items": np.asarray(rated_items, np.int32),
    }
    if train is not None:
        arrays["train_values"] = train.values.astype(np.float32)
    if test is not None:
        arrays.update(test_users=test.users.astype(np.int32), test_items=test.items.astype(np.int32),
                      test_values=test.values.astype(np.float32))
    if items is not None:
        aligned = items.reindex(pd.Index(model.item_ids_))
        arrays["item_titles"] = aligned["title"].fillna("").astype(str).to_numpy().astype(str)
        genres = aligned["genres"] if "genres" in aligned else pd.Series("", index=aligned.index)
        arrays["item_genres"] = genres.fillna("").astype(str).to_numpy().astype(str)
    return arrays


def save_model(model: SGDFactorizer, path, train: Ratings | None = None, test: Ratings | None = None,
               items: pd.DataFrame | None = None) -> None:
    """Write ``model`` (fitted) to ``path`` or a writable binary file object; optionally bundle the
    ``train`` and ``test`` ratings it was trained and tested on (same id maps) and item ``items``
    (DataFrame indexed by item id with ``title`` and optional ``genres`` columns)."""
    np.savez_compressed(path, **_arrays(model, train, test, items))


def model_bytes(model: SGDFactorizer, train: Ratings | None = None, test: Ratings | None = None,
                items: pd.DataFrame | None = None) -> bytes:
    """The bytes :func:`save_model` would write (for a download button)."""
    buffer = io.BytesIO()
    save_model(model, buffer, train, test, items)
    return buffer.getvalue()


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


def load_bundle(source) -> ModelBundle:
    """Read a model file (a path, or its bytes) written by :func:`save_model`."""
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
        return _bundle(arrays, meta)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        missing = f"entry {exc} is missing" if isinstance(exc, KeyError) else _reason(exc)
        raise ModelFileError(f"{name} is an inconsistent mfcore model: {missing}.") from None


def _ids(array: np.ndarray) -> np.ndarray:
    return array.astype(object) if array.dtype.kind == "U" else array


def _bundle(arrays: dict, meta: dict) -> ModelBundle:
    P, Q, bu, bi = arrays["P"], arrays["Q"], arrays["bu"], arrays["bi"]
    user_ids, item_ids = _ids(arrays["user_ids"]), _ids(arrays["item_ids"])
    n_users, n_items = len(user_ids), len(item_ids)
    if P.ndim != 2 or Q.ndim != 2 or P.shape[1] != Q.shape[1]:
        raise ValueError(f"factor shapes {P.shape} and {Q.shape} do not match")
    if (P.shape[0], len(bu), Q.shape[0], len(bi)) != (n_users, n_users, n_items, n_items):
        raise ValueError("factor and bias lengths do not match the id maps")
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
    model = SGDFactorizer(**{k: v for k, v in meta["params"].items() if k in PARAMETERS})
    model.P_, model.Q_, model.bu_, model.bi_ = P, Q, bu, bi
    model.global_mean_ = float(meta["global_mean"])
    model.scale_ = scale
    model.lr_ = float(meta["lr"])
    model.fit_seconds_ = float(meta["fit_seconds"])
    model.compile_seconds_ = float(meta["compile_seconds"])
    model.history_ = [EpochResult(int(r["epoch"]), r["train_rmse"], r["test_rmse"], r["seconds"],
                                  r.get("validation_rmse")) for r in meta["history"]]
    model.best_epoch_ = int(meta.get("best_epoch", len(model.history_)))  # absent from older files
    model._index_training(train)
    model.n_train_ratings_ = int(meta["n_train_ratings"])
    test = (ratings(arrays["test_users"], arrays["test_items"], arrays["test_values"])
            if meta["has_test"] else None)
    items = None
    if meta["has_items"]:
        titles, genres = arrays["item_titles"], arrays["item_genres"]
        if len(titles) != n_items or len(genres) != n_items:
            raise ValueError("item titles do not match the item ids")
        items = pd.DataFrame({"title": titles.astype(object), "genres": genres.astype(object)},
                             index=pd.Index(item_ids, name="item"))
    return ModelBundle(model, train if meta["has_train_values"] else None, test, items)


def load_model(source) -> SGDFactorizer:
    """The model of a file written by :func:`save_model` (a path, or its bytes)."""
    return load_bundle(source).model
