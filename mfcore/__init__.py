"""mfcore: fast SGD matrix factorization of rating matrices (Funk SVD, biased MF).

>>> from mfcore import load_ratings, random_split, SGDFactorizer
>>> ratings = load_ratings("sample_data/ratings.csv")
>>> train, test = random_split(ratings, test_size=0.1, seed=0)
>>> model = SGDFactorizer(n_factors=50, n_epochs=20).fit(train, test)
"""

import importlib

_EXPORTS = {
    "DataError": "data", "Ratings": "data", "from_arrays": "data", "load_ratings": "data",
    "ENGINES": "engines",
    "EpochResult": "model", "NotFittedError": "model", "SGDFactorizer": "model",
    "TrainingDiverged": "model", "check_is_fitted": "model",
    "PARAMETERS": "params", "SPLIT_PARAMETERS": "params",
    "per_user_split": "split", "random_split": "split", "temporal_split": "split",
}
"""Where each public name lives: imported on first use (PEP 562), so ``python -m mfcore --help`` and
``import mfcore.params`` do not pay for pandas and Numba."""


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"
__all__ = list(_EXPORTS)
