r"""A neighbourhood-preserving 2-D map of factors: t-SNE (van der Maaten and Hinton 2008) by openTSNE
(Policar et al. 2024; FFT-interpolated gradients, far cheaper than scikit-learn's Barnes-Hut here:
1,500 items of K = 100 in 14 s on one core of a busy 2-core machine, against 45 s).

PCA (:func:`mfcore.explore.views.project_2d`) keeps only the two directions of largest variance; with
K = 50..100 factors they hold a few percent of it (7% on MovieLens latest-small) and the map is one
blob. t-SNE instead places points so that each one's nearest neighbours (here by cosine, the
similarity Explore uses everywhere) stay near it: clusters (genres) show, while distances between
clusters and the axes mean nothing.

Cost: at most :data:`EMBED_POINTS` rows (Explore embeds the most-rated items that have the minimum
support: on MovieLens 100K the 580 items with 49+ ratings take 2-3 s), :data:`ITERATIONS` iterations,
one thread. How much genre shows (the share of each item's 10 nearest map neighbours that share its
first genre; 0.19 for a random layout), measured on MovieLens 100K: 0.24 for the rating model's
factors on the 1,500 most-rated items, 0.28 on the 580 with 49+ ratings, 0.38 for BPR's and
0.40 for ALS's on those: a ranking model's factors carry taste, and genre with it.
The factors are first scaled to unit length and reduced by PCA to
:data:`PCA_DIMENSIONS` dimensions (the usual noise filter); the layout starts from PCA and is seeded,
so the same factors give the same map.
"""

from __future__ import annotations

import numpy as np

from .._optional import require

__all__ = ["EMBED_POINTS", "ITERATIONS", "PCA_DIMENSIONS", "tsne_2d"]

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
