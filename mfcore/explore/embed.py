r"""A neighbourhood-preserving 2-D map of factors: t-SNE (van der Maaten and Hinton 2008) by openTSNE
(Policar et al. 2024; FFT-interpolated gradients, far cheaper than scikit-learn's Barnes-Hut here:
1,500 items of K = 100 in 14 s on one core of a busy 2-core machine, against 45 s).

PCA (:func:`mfcore.explore.views.project_2d`) keeps only the two directions of largest variance; with
K = 50..100 factors they hold a few percent of it (7% on MovieLens latest-small) and the map is one
blob. t-SNE instead places points so that each one's nearest neighbours (here by cosine, the
similarity Explore uses everywhere) stay near it: groups of similar items can show, while distances
between groups and the axes mean nothing.

Cost: at most :data:`EMBED_POINTS` rows (Explore embeds the most-rated items that have the minimum
support: on MovieLens 100K the 543 items with 48+ ratings of an 80% training split take 2-3 s),
:data:`ITERATIONS` iterations, one thread. The factors are first scaled to unit length and reduced by
PCA to :data:`PCA_DIMENSIONS` dimensions (the usual noise filter); the layout starts from PCA and is
seeded, so the same factors give the same map.

How much genre a map shows is measured, not assumed (:func:`genre_structure`): the share of each
item's :data:`NEIGHBOURS` nearest points that share its main genre (:func:`main_genres`), against the
same share with the genres randomly permuted among the points. On MovieLens 100K (those 543 items,
each model with its defaults, seed 0), by cosine of the factors / on the t-SNE map / on the PCA map,
with about 0.09 shuffled: rating model 0.18 / 0.16 / 0.12, BPR 0.21 / 0.19 / 0.12, ALS 0.22 / 0.22 /
0.11. A ranking model's factors carry taste, and genre with it; two PCA axes of K = 100 keep almost
none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._optional import require

__all__ = ["CLEAR_LIFT", "EMBED_POINTS", "GenreStructure", "ITERATIONS", "MIN_GENRE_SHARE", "NEIGHBOURS",
           "PCA_DIMENSIONS", "SHUFFLES", "genre_structure", "main_genres", "neighbour_share", "nearest",
           "tsne_2d"]

EMBED_POINTS = 1000
"""The most rows :func:`tsne_2d` embeds (the caller keeps the most-rated ones)."""
ITERATIONS = 500
"""Gradient iterations of t-SNE after its 250 of early exaggeration."""
PCA_DIMENSIONS = 30
"""Dimensions kept by the PCA that precedes t-SNE (fewer when K is smaller)."""


def tsne_2d(factors: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """``(n, 2)`` t-SNE coordinates of the rows of ``factors`` by cosine distance, seeded, initialised
    by PCA. Raises ValueError over :data:`EMBED_POINTS` rows."""
    TSNE = require("openTSNE", "the t-SNE map").TSNE

    rows = np.asarray(factors, dtype=np.float64)
    n = len(rows)
    if n > EMBED_POINTS:
        raise ValueError(f"{n:,} rows to embed, more than the {EMBED_POINTS:,} t-SNE is kept to.")
    if n < 10:
        return np.zeros((n, 2))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    centred = unit - unit.mean(axis=0)
    dims = min(PCA_DIMENSIONS, centred.shape[1], n - 1)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dims].T
    tsne = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), metric="cosine",
                initialization="pca", n_iter=ITERATIONS, n_jobs=1, random_state=seed, verbose=False)
    return np.asarray(tsne.fit(reduced), dtype=np.float64)


# --- how much genre a map (or a factor space) shows -------------------------------------------------

MIN_GENRE_SHARE = 0.02
"""A genre is one of the data's *common* genres when at least this share of the items that have a
genre carry it. 2% keeps Animation (2.5% of MovieLens 100K's items, 2.7% of 1M's) and leaves out
the tags too rare to colour a map: ``unknown``, ``(no genres listed)``, and IMAX (1.6% of
latest-small's items, 0.7% of 20M's), a screen format rather than a genre."""
NEIGHBOURS = 10
"""The nearest points of each point that :func:`neighbour_share` looks at."""
SHUFFLES = 20
"""Random permutations of the genres behind the shuffled share of :func:`genre_structure`."""
CLEAR_LIFT = 2.0
"""The neighbour share must be at least this many times the shuffled one (and above every shuffle)
for :attr:`GenreStructure.visible`. Set by looking at MovieLens 100K's maps: the PCA maps (1.3 to 1.4
times) and the rating model's t-SNE map (1.8 times) look like one blob of mixed colours; ALS's t-SNE
map (2.5 times) shows groups where one or two genres dominate."""


def main_genres(genres: Sequence[str], min_share: float = MIN_GENRE_SHARE) -> np.ndarray:
    """Each item's main genre: the most specific of its common genres, i.e. the one carried by the
    fewest items (ties by name), among the genres carried by at least ``min_share`` of the items
    with any genre (:data:`MIN_GENRE_SHARE`). ``genres`` holds one ``|``-separated string per item
    (``""``: none); an item with no common genre gets ``""``. On MovieLens 100K: The Lion King
    (Animation|Children's|Musical) is Animation, Schindler's List (Drama|War) War."""
    lists = [[name for name in str(text).split("|") if name] for text in genres]
    carried = [names for names in lists if names]
    counts: dict[str, int] = {}
    for names in carried:
        for name in set(names):
            counts[name] = counts.get(name, 0) + 1
    floor = min_share * len(carried)
    common = {name for name, count in counts.items() if count >= floor}
    main = [min((name for name in names if name in common), key=lambda name: (counts[name], name), default="")
            for names in lists]
    return np.array(main, dtype=object)


def nearest(points: np.ndarray, k: int = NEIGHBOURS, metric: str = "euclidean") -> np.ndarray:
    """``(n, min(k, n - 1))`` row numbers of each row's nearest other rows of ``points``, nearest first,
    by Euclidean distance or by ``metric="cosine"`` (rows of zeros are nobody's neighbour)."""
    rows = np.asarray(points, dtype=np.float64)
    n = len(rows)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), dtype=np.int64)
    if metric == "cosine":
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
        empty = norms[:, 0] == 0
    elif metric == "euclidean":
        empty = np.zeros(n, dtype=bool)
    else:
        raise ValueError(f"metric == {metric!r}, must be 'euclidean' or 'cosine'.")
    squared = np.einsum("ij,ij->i", rows, rows)
    found = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, 512):  # blocks keep the distance matrix at 512 x n
        block = slice(start, min(start + 512, n))
        distance = squared[block, None] - 2 * rows[block] @ rows.T + squared[None, :]
        distance[:, empty] = np.inf
        distance[np.arange(block.stop - block.start), np.arange(block.start, block.stop)] = np.inf
        part = np.argpartition(distance, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(distance, part, axis=1), axis=1, kind="stable")
        found[block] = np.take_along_axis(part, order, axis=1)
    return found


def neighbour_share(neighbours: np.ndarray, labels: np.ndarray) -> float:
    """The share of the ``neighbours`` (rows of :func:`nearest`) of each labelled point that carry its
    label, averaged over the points whose label is not ``""`` (NaN when none is)."""
    labels = np.asarray(labels, dtype=object)
    labelled = labels != ""
    if not labelled.any() or neighbours.shape[1] == 0:
        return float("nan")
    same = labels[neighbours[labelled]] == labels[labelled][:, None]
    return float(same.mean())


@dataclass(frozen=True)
class GenreStructure:
    """How much genre a set of points shows. ``share``: :func:`neighbour_share` of the points' main
    genres; ``shuffled``: its mean over :data:`SHUFFLES` random permutations of the genres among the
    same points (what a map without genre structure gives), ``shuffled_max`` the highest of them;
    ``points`` and ``labelled``: how many points, and how many have a main genre; ``k``: neighbours."""

    share: float
    shuffled: float
    shuffled_max: float
    points: int
    labelled: int
    k: int

    @property
    def lift(self) -> float:
        """``share / shuffled``."""
        return self.share / self.shuffled if self.shuffled > 0 else float("nan")

    @property
    def visible(self) -> bool:
        """Genre structure a reader can see: ``share`` at least :data:`CLEAR_LIFT` times ``shuffled``
        and above every shuffle."""
        return bool(self.share >= CLEAR_LIFT * self.shuffled and self.share > self.shuffled_max)


def genre_structure(points: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS, metric: str = "euclidean",
                    shuffles: int = SHUFFLES, seed: int = 0) -> GenreStructure:
    """:class:`GenreStructure` of ``points`` (a map's 2-D coordinates: Euclidean; factors: ``metric=
    "cosine"``) whose main genres are ``labels`` (``""``: none): the share of each labelled point's
    ``k`` nearest points sharing its genre, against the same share with the labels randomly
    permuted among the points ``shuffles`` times (seeded: the same input gives the same numbers)."""
    labels = np.asarray(labels, dtype=object)
    if len(labels) != len(points):
        raise ValueError(f"{len(labels)} labels for {len(points)} points.")
    neighbours = nearest(points, k, metric)
    rng = np.random.default_rng(seed)
    permuted = [neighbour_share(neighbours, rng.permutation(labels)) for _ in range(shuffles)]
    return GenreStructure(neighbour_share(neighbours, labels), float(np.mean(permuted)) if permuted else float("nan"),
                          float(np.max(permuted)) if permuted else float("nan"), len(labels),
                          int((labels != "").sum()), neighbours.shape[1])
