"""The session's dataset: loaded once per distinct file (cached on its sha256), shared by every page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from mfcore import DataError, Ratings, load_ratings
from mfcore.resources import MemoryGuardError, check_dataset_memory

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "ratings.csv"
SAMPLE_SNIPPET_PATH = "sample_data/ratings.csv"
KEY = "dataset"


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: a display ``name``, the ``path`` a reproduction script should read, the
    file's ``sha256`` and the ``ratings``."""

    name: str
    path: str
    sha256: str
    ratings: Ratings


@st.cache_data(show_spinner="Loading ratings...", max_entries=8)
def _load(sha256: str, _raw: bytes, columns: tuple, duplicates: str) -> Ratings:
    return load_ratings(_raw, columns=dict(columns) or None, duplicates=duplicates)


def load(name: str, path: str, raw: bytes, columns: dict | None = None,
         duplicates: str = "last", guard: bool = True) -> Dataset:
    """Load ``raw`` bytes (cached); raises :class:`mfcore.DataError` with a one-line message, also when
    ``guard`` and the parsed ratings are over the memory cap (:func:`check_size`)."""
    sha256 = hashlib.sha256(raw).hexdigest()
    ratings = _load(sha256, raw, tuple(sorted((columns or {}).items())), duplicates)
    if guard:
        check_size(ratings)
    return Dataset(name, path, sha256, ratings)


def check_size(ratings: Ratings) -> None:
    """Refuse a parsed dataset that would take more memory than the cap
    (:func:`mfcore.resources.check_dataset_memory`), as a :class:`mfcore.DataError` naming the numbers."""
    try:
        check_dataset_memory(len(ratings), ratings.n_users, ratings.n_items, ratings.timestamps is not None)
    except MemoryGuardError as exc:
        raise DataError(str(exc)) from None


def sample() -> Dataset:
    """The bundled sample."""
    return load("bundled sample (sample_data/ratings.csv)", SAMPLE_SNIPPET_PATH, SAMPLE.read_bytes(),
                guard=False)


def current() -> Dataset:
    """The session's dataset; the bundled sample until another one is loaded."""
    if KEY not in st.session_state:
        st.session_state[KEY] = sample()
    return st.session_state[KEY]


def use(dataset: Dataset) -> None:
    """Make ``dataset`` the one every page works on."""
    st.session_state[KEY] = dataset
