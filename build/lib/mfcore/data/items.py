"""Item metadata (titles, genres) read from an items file and joined to ratings by item id.

Accepted files:

- MovieLens latest/20M ``movies.csv``: header ``movieId,title,genres``, quoted titles may hold commas,
  genres separated by ``|``;
- MovieLens 100K ``u.item``: ``|`` separated, Latin-1, no header; id, title, release date, video date,
  IMDb URL, then 19 genre flags (0/1) in the order of ``u.genre`` (:data:`ML100K_GENRES`);
- MovieLens 1M/10M ``movies.dat``: ``id::title::genres``;
- any CSV/TSV with a header naming an id column (``movieId``, ``item``, ``item_id``, ``id``, ...) and a
  title column (``title``, ``name``), with an optional ``genres`` column.

The result is a :class:`pandas.DataFrame` indexed by item id with the columns ``title`` and ``genres``
(``|``-separated text, empty when unknown). Problems raise :class:`mfcore.data.DataError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .archive import plain_bytes, read_bytes
from .errors import DataError
from .parse import read_table
from .sniff import column_name, decoded_head, detect_separator, integral, is_number, split_line

__all__ = ["load_items", "join_items", "load_item_id_map", "through_id_map", "ITEM_ID_MAP_FILES", "ML100K_GENRES"]

ITEM_ID_MAP_FILES = ("item_index_to_movieid.tsv",)
"""Names of an item id map in a MovieLens folder: a ratings file whose item column is not the items
file's id (e.g. a re-encoded ``ratings.dat`` numbering the movies 1..n) ships one, a two-column text
file, header optional, ``ratings id <tab> items-file id`` per line, ``NA`` where unknown."""

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
_ID_NAMES = {"movieid", "movie_id", "item", "itemid", "item_id", "id", "iid", "productid", "product_id",
             "bookid", "book_id", "isbn", "movie"}
_TITLE_NAMES = {"title", "name", "movie_title", "book_title", "product_name", "movie_name"}
_GENRE_NAMES = {"genres", "genre", "category", "categories"}


def load_items(source, max_unpacked_bytes: int | None = None) -> pd.DataFrame:
    """Titles and genres from an items file (path or bytes), indexed by item id (see module docstring);
    a ``.gz`` unpacks within ``max_unpacked_bytes`` (:func:`mfcore.data.archive.unpacked_limit`)."""
    raw = plain_bytes(read_bytes(source), role="items", max_unpacked_bytes=max_unpacked_bytes)
    text = decoded_head(raw)
    first = next((line for line in text.splitlines() if line.strip()), "")
    sep = detect_separator(first)
    fields = split_line(first, sep)
    names = [column_name(name) for name in fields]
    id_at = next((n for n, name in enumerate(names) if name in _ID_NAMES), None)
    title_at = next((n for n, name in enumerate(names) if name in _TITLE_NAMES), None)
    if id_at is not None and title_at is not None:
        genres_at = next((n for n, name in enumerate(names) if name in _GENRE_NAMES), None)
        table = read_table(raw, sep, len(fields), header=True, what="items file")
        ids, titles = table.column(id_at), table.column(title_at)
        genres = table.column(genres_at) if genres_at is not None else None
    elif sep == "|" and len(fields) == 5 + len(ML100K_GENRES) and is_number(fields[0]):
        table = read_table(raw, sep, len(fields), header=False, what="items file")
        ids, titles = table.column(0), table.column(1)
        flags = np.column_stack([_flag_column(table.column(5 + g)) for g in range(len(ML100K_GENRES))])
        genres = ["|".join(ML100K_GENRES[g] for g in np.flatnonzero(row)) for row in flags]
    elif sep == "::" and len(fields) == 3 and is_number(fields[0]):
        table = read_table(raw, sep, 3, header=False, what="items file")
        ids, titles, genres = table.column(0), table.column(1), table.column(2)
    else:
        raise DataError(
            "cannot tell the item id and title columns of the items file: give a header with an id "
            "column (movieId, item_id, id) and a title column, or a MovieLens movies.csv, u.item or "
            "movies.dat.")
    if genres is None:
        genres = [""] * len(titles)
    elif not isinstance(genres, list):
        genres = _text(genres)
    frame = pd.DataFrame({"title": _text(titles), "genres": genres}, index=pd.Index(_ids(ids), name="item"))
    if frame.index.has_duplicates:
        first_repeat = frame.index[frame.index.duplicated()][0]
        raise DataError(f"the items file lists item {first_repeat} twice.")
    frame["genres"] = frame["genres"].replace("(no genres listed)", "")
    return frame


def join_items(item_ids: np.ndarray, items: pd.DataFrame) -> pd.DataFrame:
    """``items`` rows in the order of ``item_ids`` (one per item code); ids without metadata get an
    empty title and genres. Numeric ids match numeric ids, text ids match text ids, and numbers written
    as text ("318") match the number 318."""
    index = items.index
    wanted = pd.Index(item_ids)
    if wanted.dtype.kind in "iu" and index.dtype.kind not in "iu":
        index = pd.Index(pd.to_numeric(pd.Series(index.astype(str)), errors="coerce"))
    elif wanted.dtype.kind not in "iu" and index.dtype.kind in "iu":
        index = index.astype(str)
    positions = index.get_indexer(wanted) if index.is_unique else np.full(len(wanted), -1)
    found = positions >= 0
    titles = np.full(len(wanted), "", dtype=object)
    genres = np.full(len(wanted), "", dtype=object)
    titles[found] = items["title"].to_numpy(dtype=object)[positions[found]]
    genres[found] = items["genres"].to_numpy(dtype=object)[positions[found]]
    return pd.DataFrame({"title": titles, "genres": genres})



def load_item_id_map(source) -> pd.Series:
    """An item id map (:data:`ITEM_ID_MAP_FILES`) as a Series indexed by the items file's id whose
    values are the ratings file's ids; rows whose items-file id is ``NA`` or empty are dropped."""
    raw = plain_bytes(read_bytes(source), role="item id map")
    rows = [line.split() for line in raw.decode("latin-1").splitlines() if line.strip()]
    if rows and not is_number(rows[0][0]):
        rows = rows[1:]  # a header
    if any(len(row) != 2 for row in rows):
        raise DataError("the item id map must have two columns: the ratings file's item id, the items file's id.")
    pairs = [(a, b) for a, b in rows if b.upper() not in ("NA", "NAN", "")]
    ours = pd.to_numeric(pd.Series([a for a, _ in pairs]), errors="coerce")
    theirs = pd.to_numeric(pd.Series([b for _, b in pairs]), errors="coerce")
    if ours.isna().any() or theirs.isna().any():
        raise DataError("the item id map holds a non-numeric id.")
    return pd.Series(ours.astype(np.int64).to_numpy(), index=pd.Index(theirs.astype(np.int64).to_numpy(), name="item"))


def through_id_map(items: pd.DataFrame, id_map: pd.Series) -> pd.DataFrame:
    """``items`` (indexed by the items file's id) re-indexed by the ratings file's id through
    ``id_map`` (:func:`load_item_id_map`); items the map does not name are dropped."""
    keep = items.index.isin(id_map.index)
    mapped = items[keep].copy()
    mapped.index = pd.Index(id_map.reindex(mapped.index).to_numpy(), name="item")
    return mapped


def _text(column) -> list[str]:
    return [("" if value is None else str(value).strip()) for value in column.to_pylist()]


def _ids(column):
    values = pd.Series(column.to_pandas())
    numeric = pd.to_numeric(values, errors="coerce")
    if integral(numeric.to_numpy(dtype=np.float64)):  # the ratings loader's rule for number ids
        return numeric.astype(np.int64).to_numpy()
    return values.astype(str).str.strip().to_numpy(dtype=object)


def _flag_column(column) -> np.ndarray:
    return pd.to_numeric(pd.Series(column.to_pandas()), errors="coerce").fillna(0).to_numpy() > 0
