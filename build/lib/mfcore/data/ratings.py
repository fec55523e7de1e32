"""The :class:`Ratings` table every layer above passes around, and :class:`LoadSummary`, what loading did.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


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

    def _index(self, name: str) -> pd.Index:
        """The id-to-code lookup ``_user_index`` or ``_item_index``, built on first use (pandas is
        imported only then: training from the binary cache never looks an id up) and kept; copies made
        by :meth:`take` after it exists share it."""
        index = getattr(self, name)
        if index is None:
            import pandas as pd
            index = pd.Index(self.user_ids if name == "_user_index" else self.item_ids)
            object.__setattr__(self, name, index)
        return index

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
        return _codes(self._index("_user_index"), ids)

    def item_codes(self, ids) -> np.ndarray:
        """Codes of original item ids; ``-1`` where an id is unknown."""
        return _codes(self._index("_item_index"), ids)

    def take(self, rows: np.ndarray) -> Ratings:
        """The ratings at ``rows`` (indices or boolean mask), with the same id maps, metadata and scale."""
        return replace(
            self, users=self.users[rows], items=self.items[rows], values=self.values[rows],
            timestamps=None if self.timestamps is None else self.timestamps[rows],
        )

    def sample(self, n: int, seed: int = 0) -> Ratings:
        """``n`` of these ratings (all of them when ``n >= len(self)``) drawn without replacement by
        ``numpy.random.default_rng(seed)``, kept in their original order; same id maps and scale."""
        if n >= len(self):
            return self
        return self.take(np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False)))

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
        import pandas as pd
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
    """Codes of ``ids`` in ``index`` (-1 where unknown). Text ids (an object index, or pandas 3's
    ``str`` dtype) are matched as text, number ids as numbers, whatever array or list holds them."""
    import pandas as pd
    scalar = np.ndim(ids) == 0
    textual = not pd.api.types.is_numeric_dtype(index.dtype)
    wanted = np.atleast_1d(np.asarray(ids, dtype=object if textual else None))
    if not textual and wanted.dtype.kind not in "iuf":
        wanted = pd.to_numeric(pd.Series(wanted, dtype=object), errors="coerce").to_numpy()
    elif textual:
        wanted = wanted.astype(str).astype(object)
    codes = index.get_indexer(wanted).astype(np.int32)
    return codes[0] if scalar else codes
