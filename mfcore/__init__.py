"""mfcore: fast SGD matrix factorization of rating matrices (Funk SVD, biased MF).

>>> from mfcore import load_ratings, random_split, SGDFactorizer
>>> ratings = load_ratings("sample_data/ratings.csv")
>>> train, test = random_split(ratings, test_size=0.1, seed=0)
>>> model = SGDFactorizer(n_factors=50, n_epochs=20).fit(train, test)
"""

from .data import DataError, Ratings, from_arrays, load_ratings
from .engines import ENGINES
from .model import EpochResult, NotFittedError, SGDFactorizer, TrainingDiverged, check_is_fitted
from .params import PARAMETERS, SPLIT_PARAMETERS
from .split import per_user_split, random_split, temporal_split

__version__ = "0.1.0"
__all__ = [
    "DataError", "Ratings", "from_arrays", "load_ratings", "ENGINES", "EpochResult",
    "NotFittedError", "check_is_fitted", "PARAMETERS", "SPLIT_PARAMETERS", "SGDFactorizer",
    "TrainingDiverged", "per_user_split", "random_split",
    "temporal_split",
]
