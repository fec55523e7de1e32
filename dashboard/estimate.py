"""How long work will take, said before it starts: from the time per update measured in this process.

A small calibration fit per (engine, schedule) on the bundled sample, at two K, gives the seconds per
rating and epoch as ``a + b * K`` (training and the per-epoch evaluation, timed on the clock after a
warm-up fit that pays compiling and first-use costs); it is cached for the life of the server
process. Estimates are rough (the machine is shared, and parallel engines may use more threads on
large data), which is all a warning needs."""

from __future__ import annotations

import functools
import threading
import time

import numpy as np

from mfcore import SGDFactorizer, random_split
from mfcore.evaluation.resources import PYTHON_MAX_RATINGS

from . import data

WARN_SECONDS = 10.0
"""Work estimated above this many seconds is announced with a warning before it starts."""
CALIBRATION_RATINGS = {"python": 2_000, "numpy": 20_000}
"""Ratings of a calibration fit per engine (others: :data:`DEFAULT_CALIBRATION_RATINGS`)."""
DEFAULT_CALIBRATION_RATINGS = 50_000
CALIBRATION_K = (8, 64)
CALIBRATION_EPOCHS = 3
MEASURED_ALIKE = {"cython": "numba"}
"""Engines estimated from another's measurement (Cython's first use builds a C extension)."""
_lock = threading.Lock()


@functools.cache
def _cost(engine: str, schedule: str) -> tuple[float, float]:
    """``(a, b)``: seconds per training rating and epoch at K factors are ``a + b * K``."""
    sample = data.sample().ratings
    n = CALIBRATION_RATINGS.get(engine, DEFAULT_CALIBRATION_RATINGS)
    train, test = random_split(sample.take(np.arange(min(n, len(sample)))), 0.1, seed=0)
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


def seconds_per_rating(engine: str, n_factors: int, schedule: str = "per-rating") -> float:
    """Measured seconds per training rating and epoch (with its share of evaluation) at ``n_factors``."""
    with _lock:  # one calibration at a time: concurrent ones would time each other
        a, b = _cost(MEASURED_ALIKE.get(engine, engine), schedule)
    return a + b * n_factors


def training_seconds(n_train: int, n_epochs: int, n_factors: int, engine: str,
                     schedule: str = "per-rating") -> float:
    """Estimated seconds of training ``n_epochs`` on ``n_train`` ratings (the python engine's sample
    when it is capped)."""
    if engine == "python":
        n_train = min(n_train, PYTHON_MAX_RATINGS)
    return n_train * n_epochs * seconds_per_rating(engine, n_factors, schedule)


def timing_seconds(engines, n_train: int, n_epochs: int, n_factors: int, budget: float) -> float:
    """Estimated seconds of the Speed page's timings: per engine, its epochs or its time budget,
    whichever is less (``mfcore.evaluation.bench.time_engine`` samples beyond the budget)."""
    return sum(min(n_epochs * n_train * seconds_per_rating(engine, n_factors), budget) for engine in engines)


def sentence(seconds: float, what: str, basis: str = "estimated from its measured speed") -> str:
    """``what`` will take about ``seconds``, said in words, with what the number rests on."""
    shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} minutes"
    return f"{what} should take about {shown} on this server ({basis})."


def is_long(seconds: float) -> bool:
    return seconds > WARN_SECONDS
