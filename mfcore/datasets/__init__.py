"""Public datasets in one call: ``mfcore.datasets.movielens("100k")`` downloads a MovieLens archive from
GroupLens once, checks it against its pinned SHA-256, keeps it in the user's cache folder and loads it
as :class:`~mfcore.data.Ratings` with titles and genres (:mod:`.grouplens`).

Owns: :mod:`.grouplens`. May import: :mod:`mfcore.data` only (the package sits beside the engines,
above the data layer: pyproject.toml's import-linter contract).
"""

from .._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "movielens": ".grouplens", "MOVIELENS": ".grouplens", "DatasetError": ".grouplens",
    "movielens_path": ".grouplens"})
