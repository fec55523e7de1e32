"""mfcore: fast SGD matrix factorization of rating matrices (Funk SVD, biased MF).

>>> from mfcore import load_ratings, random_split, SGDFactorizer
>>> ratings = load_ratings("sample_data/ratings.csv")
>>> train, test = random_split(ratings, test_size=0.1, seed=0)
>>> model = SGDFactorizer(n_factors=50, n_epochs=20).fit(train, test)

Every model's ``fit`` also takes a scipy.sparse matrix, a DataFrame or ``(users, items, values)``
arrays (:func:`as_ratings`); ``mfcore.datasets.movielens("100k")`` downloads and loads MovieLens.

The package is layered; each layer imports only the layers below it (``pyproject.toml``'s
import-linter contract checks it): :mod:`mfcore.cli` on top; :mod:`mfcore.tuning`,
:mod:`mfcore.explore` and :mod:`mfcore.teaching` (independent of each other); :mod:`mfcore.evaluation`;
:mod:`mfcore.models`; :mod:`mfcore.engines`; :mod:`mfcore.data` at the bottom. Public names are
imported on first use (PEP 562), so ``python -m mfcore --help`` does not pay for pandas and Numba.
"""

from ._lazy import lazy_exports

__version__ = "0.1.0"
"""The one place the version is written (pyproject.toml reads it: ``[tool.setuptools.dynamic]``)."""

_EXPORTS = {
    "DataError": ".data", "Ratings": ".data", "from_arrays": ".data", "load_ratings": ".data",
    "ENGINES": ".engines",
    "SGDFactorizer": ".models", "BPRFactorizer": ".models",
    "ALSFactorizer": ".models", "EASE": ".models", "ItemKNN": ".models", "EpochResult": ".models",
    "NotFittedError": ".models",
    "TrainingDiverged": ".models", "check_is_fitted": ".models",
    "PARAMETERS": ".models", "SPLIT_PARAMETERS": ".models",
    "per_user_split": ".evaluation", "random_split": ".evaluation", "temporal_split": ".evaluation",
    "as_ratings": ".data.coerce", "plot_history": ".models.history",
}
_exported, _listed, __all__ = lazy_exports(__name__, _EXPORTS)
__all__ = [*__all__, "datasets"]


def __getattr__(name: str):
    if name == "datasets":  # the subpackage itself, imported on first use: mfcore.datasets.movielens("100k")
        import importlib
        return importlib.import_module(".datasets", __name__)
    return _exported(name)


def __dir__() -> list[str]:
    return sorted({*_listed(), "datasets"})
