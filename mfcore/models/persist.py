"""Save and load fitted models of every kind without pickle (the container: :mod:`.model_file`).

:func:`load_bundle` reads any model file and rebuilds the model of the class its ``kind`` names
(:data:`KINDS`); a class saves itself with ``model.save(path)`` and loads with ``Class.load(path)``.
To add a model kind, give its class ``_file_state`` and ``_from_file`` (see
:class:`~mfcore.models.SGDFactorizer`) and register it in :data:`KINDS`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from ..data import Ratings
from .model_file import ModelFileError, file_name, inconsistent, read, write
from .als import ALSFactorizer
from .bpr import BPRFactorizer
from .neighbors import EASE, ItemKNN
from .sgd import SGDFactorizer

__all__ = ["KINDS", "ModelBundle", "ModelFileError", "load_bundle", "load_model", "model_bytes", "save_model"]

KINDS: dict[str, type] = {"sgd": SGDFactorizer, "bpr": BPRFactorizer, "als": ALSFactorizer, "ease": EASE,
                          "itemknn": ItemKNN}
"""The model classes by the ``kind`` their files record."""


@dataclass
class ModelBundle:
    """What a model file holds: the ``model`` and, when they were saved with it, the ``train`` and
    ``test`` ratings (with the model's id maps) and ``items`` (a DataFrame indexed by item id with
    ``title`` and ``genres`` columns)."""

    model: SGDFactorizer
    train: Ratings | None = None
    test: Ratings | None = None
    items: pd.DataFrame | None = None


def save_model(model, path, train: Ratings | None = None, test: Ratings | None = None,
               items: pd.DataFrame | None = None) -> None:
    """Write ``model`` (fitted, any kind) to ``path`` or a writable binary file object; optionally
    bundle the ``train`` and ``test`` ratings it was trained and tested on (same id maps) and item
    ``items`` (DataFrame indexed by item id with ``title`` and optional ``genres`` columns)."""
    write(path, model, train, test, items)


def model_bytes(model, train: Ratings | None = None, test: Ratings | None = None,
                items: pd.DataFrame | None = None) -> bytes:
    """The bytes :func:`save_model` would write (for a download button)."""
    buffer = io.BytesIO()
    save_model(model, buffer, train, test, items)
    return buffer.getvalue()


def load_bundle(source, max_bytes: int | None = None, name: str | None = None) -> ModelBundle:
    """Read a model file (a path, or its bytes) of any kind, with what was bundled with it; its
    entries may unpack to at most ``max_bytes`` (default: the memory cap of one user's process; the
    dashboard passes the server's), see :func:`mfcore.models.model_file.read`; messages name the file
    ``name`` (default: its path's file name, "the file" for bytes)."""
    name = name or file_name(source)
    contents = read(source, max_bytes, name)
    model_class = KINDS.get(contents.kind)
    if model_class is None:
        raise ModelFileError(f"{name} holds a model of kind {str(contents.kind)[:40]!r}; this mfcore "
                             f"reads {', '.join(KINDS)}.")
    try:
        model = model_class._from_file(contents)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise inconsistent(name, exc) from None
    return ModelBundle(model, contents.train if contents.has_train_values else None, contents.test,
                       contents.items)


def load_model(source, max_bytes: int | None = None):
    """The model of a file written by :func:`save_model` (a path, or its bytes); see :func:`load_bundle`."""
    return load_bundle(source, max_bytes).model
