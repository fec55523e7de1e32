"""How long work will take, said before it starts: from the time per update measured in this process.

A small calibration fit per (dataset, engine, schedule), on a random sample of the dataset's own
ratings (so that its users and items spread over memory as the full data's do), at two K, gives the
seconds per rating and epoch as ``a + b * K``: training and the per-epoch evaluation, timed on the
clock after a warm-up fit that pays compiling and first-use costs. It is cached for the life of the
server process. Estimates are rough (the machine is shared, and parallel engines may use more
threads on large data), which is all a warning needs.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from mfcore import Ratings, SGDFactorizer, random_split
from mfcore.evaluation.resources import PYTHON_MAX_RATINGS

WARN_SECONDS = 10.0
"""Work estimated above this many seconds is announced with a warning before it starts."""
CALIBRATION_RATINGS = {"python": 2_000}
"""Ratings of a calibration fit per engine (others: :data:`DEFAULT_CALIBRATION_RATINGS`)."""
DEFAULT_CALIBRATION_RATINGS = 50_000
CALIBRATION_K = (8, 64)
CALIBRATION_EPOCHS = 2
MEASURED_ALIKE = {"cython": "numba"}
"""Engines estimated from another's measurement (Cython's first use builds a C extension)."""
_lock = threading.Lock()
_costs: dict[tuple, tuple[float, float]] = {}
_KEPT = 256


def _calibrate(ratings: Ratings, engine: str, schedule: str) -> tuple[float, float]:
    """``(a, b)``: seconds per training rating and epoch at K factors are ``a + b * K``."""
    n = min(CALIBRATION_RATINGS.get(engine, DEFAULT_CALIBRATION_RATINGS), len(ratings))
    rows = np.sort(np.random.default_rng(0).choice(len(ratings), n, replace=False))
    train, test = random_split(ratings.take(rows), 0.1, seed=0)
    per_rating = []
    for k in CALIBRATION_K:
        settings = {"n_factors": k, "engine": engine, "schedule": schedule, "n_threads": 1}
        SGDFactorizer(**settings, n_epochs=1).fit(train.take(np.arange(min(500, len(train)))), test)
        start = time.perf_counter()
        SGDFactorizer(**settings, n_epochs=CALIBRATION_EPOCHS).fit(train, test)
        seconds = time.perf_counter() - start
        per_rating.append(max(seconds, 1e-6) / (CALIBRATION_EPOCHS * len(train)))
    b = max((per_rating[1] - per_rating[0]) / (CALIBRATION_K[1] - CALIBRATION_K[0]), 0.0)
    return max(per_rating[0] - b * CALIBRATION_K[0], 0.0), b


def seconds_per_rating(ratings: Ratings, key: str, engine: str, n_factors: int,
                       schedule: str = "per-rating") -> float:
    """Measured seconds per training rating and epoch (with its share of evaluation) at ``n_factors``
    on ``ratings`` (``key`` names them in the cache, e.g. the dataset's fingerprint)."""
    wanted = (key, MEASURED_ALIKE.get(engine, engine), schedule)
    with _lock:  # one calibration at a time: concurrent ones would time each other
        if wanted not in _costs:
            if len(_costs) >= _KEPT:
                _costs.clear()
            _costs[wanted] = _calibrate(ratings, *wanted[1:])
        a, b = _costs[wanted]
    return a + b * n_factors


def training_seconds(ratings: Ratings, key: str, n_train: int, n_epochs: int, n_factors: int, engine: str,
                     schedule: str = "per-rating") -> float:
    """Estimated seconds of training ``n_epochs`` on ``n_train`` of ``ratings`` (the python engine's
    sample when it is capped)."""
    if engine == "python":
        n_train = min(n_train, PYTHON_MAX_RATINGS)
    return RUN_OVERHEAD + n_train * n_epochs * seconds_per_rating(ratings, key, engine, n_factors, schedule)


RUN_OVERHEAD = 0.25
"""Seconds a training run spends besides its epochs (queueing, the epoch plan, the page's renders)."""
TIMING_OVERHEAD = 0.3
"""Seconds per engine the Speed page spends besides its timed epochs (probe fit, evaluation)."""


def timing_seconds(ratings: Ratings, key: str, engines, n_train: int, n_epochs: int, n_factors: int,
                   budget: float) -> float:
    """Estimated seconds of the Speed page's timings (``mfcore.evaluation.bench.time_engine``): per
    engine, its epochs, stopped once the next would pass the budget (at least one), or half the
    budget on a sample when one epoch would not fit in it."""
    total = 0.0
    for engine in engines:
        epoch = n_train * seconds_per_rating(ratings, key, engine, n_factors)
        total += TIMING_OVERHEAD + (budget / 2 if epoch > budget else min(n_epochs * epoch, max(budget, epoch)))
    return total


def sentence(seconds: float, what: str, basis: str = "estimated from its measured speed") -> str:
    """``what`` will take about ``seconds``, said in words, with what the number rests on."""
    shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} minutes"
    return f"{what} should take about {shown} on this server ({basis})."


def is_long(seconds: float) -> bool:
    return seconds > WARN_SECONDS
