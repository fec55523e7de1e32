r"""How long a training will take, known before it starts: pages warn before work over ~10 s.

The time of a fit is modelled as

.. math::
    t \approx E \cdot \frac{N\,(c_0 + c_1 K)}{s(T)}, \qquad s(T) = 1 + \eta\,(T - 1)

for :math:`E` epochs over :math:`N` training ratings with :math:`K` factors: :math:`c_0 + c_1 K` are the
seconds one update costs on one thread for the engine and schedule, :math:`T` the threads the engine
really runs (:func:`mfcore.engines.threads_used`: ``numba-parallel``'s per-rating kernel, at most one
per 100 000 ratings; 1 for every other kernel) and :math:`\eta` = :data:`PARALLEL_EFFICIENCY`, the
speed-up each further thread brings (0.6: ML-1M, K=100, 1.6x on 2 threads in README "Performance").

:math:`c_0` and :math:`c_1` are measured, not assumed: the first estimate for an (engine, schedule) in
a process times one-thread fits of :data:`CALIBRATION_EPOCHS` epochs on a small synthetic sample at
:math:`K` = 8 and 64 (the fastest epoch of each; the compiled engines' JIT compile or cache load is paid
by a warm-up before it) and solves for the line through the two points, each coefficient kept at
least a tenth of what its point alone gives (a loaded machine can time the K = 64 epoch no slower
than the K = 8 one, and a cost that did not grow with K would call a larger model free). That takes a
few tenths of a second per engine (plus the JIT compile or cache load the first compiled fit of a
process pays anyway, about a second), and is cached for the process
(:func:`calibrate`, :func:`clear_calibration`). What is left out: JIT compilation (once per process),
scoring the test and validation sets after every epoch (a few percent), and the machine's load at the
time; the figure is a rough scale (within a factor of 2 or 3), meant to say "about a minute" before a
page starts work, not to time it.

The ranking models (:func:`estimate_ranking_seconds`) follow the same line per training rating,
:math:`t \approx E\,N\,(c_0 + c_1 K)`, on one thread (how the dashboard trains them), with
:math:`c_0, c_1` measured the same way on fits of that model (BPR's pairwise SGD over the positives,
ALS's alternating solves); their per-epoch NDCG scoring is left out too.

The item-item models (:func:`estimate_item_seconds`: EASE, item-kNN) have no epochs; their one step
grows with the catalogue: EASE inverts the :math:`I \times I` Gram matrix, :math:`t \approx c\,(I / I_0)^3`;
item-kNN normalises and partitions it, :math:`t \approx c\,(I / I_0)^2`; :math:`c` is the measured time
of one fit on the calibration sample of :math:`I_0` = 1 000 items (timed once per process).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..data import from_arrays
from ..engines import threads_used
from ..models.sgd import SGDFactorizer

__all__ = ["CALIBRATION_EPOCHS", "ITEM_KINDS", "PARALLEL_EFFICIENCY", "RANKING_KINDS", "UpdateCost", "calibrate",
           "clear_calibration", "estimate_item_seconds", "estimate_ranking_seconds", "estimate_seconds"]

PARALLEL_EFFICIENCY = 0.6
"""Speed-up per thread beyond the first (README "Performance": ML-1M on 2 threads runs 1.6x one)."""
CALIBRATION_EPOCHS = 3
"""Epochs of each calibration fit; the fastest one is kept (the first may page the data in)."""
CALIBRATION_FACTORS = (8, 64)
"""The two K a calibration times, to separate the per-update cost from the per-factor cost."""
CALIBRATION_RATINGS = {"python": 2_000, "numpy": 20_000}
"""Ratings of a calibration sample for the slow engines; the compiled ones use :data:`COMPILED_RATINGS`."""
COMPILED_RATINGS = 100_000
RANKING_KINDS = ("bpr", "als")
"""Ranking model kinds (model file kinds) :func:`calibrate` times under the schedule ``"ranking"``."""
ITEM_KINDS = {"ease": 3, "itemknn": 2}
"""The item-item model kinds and the power of the item count their fit time grows with."""
CALIBRATION_ITEMS = 1_000
"""Items of the calibration sample (:func:`_sample`)."""

_cache: dict[tuple[str, str], UpdateCost] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class UpdateCost:
    """Seconds one update costs on one thread: ``per_update + per_factor * K``."""

    per_update: float
    per_factor: float

    def seconds(self, n_factors: int) -> float:
        return self.per_update + self.per_factor * n_factors


def _sample(n_ratings: int, seed: int = 0):
    """Synthetic ratings: ``n_ratings`` random pairs of 2 000 users x 1 000 items (1..5 stars)."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 2_000, 1_000
    keys = rng.choice(n_users * n_items, n_ratings, replace=False)
    users, items = np.divmod(keys, n_items)
    return from_arrays(users, items, rng.integers(1, 6, n_ratings).astype(np.float32))


def _epoch_seconds(engine: str, schedule: str, train, n_factors: int) -> float:
    model = SGDFactorizer(engine=engine, schedule=schedule, n_factors=n_factors,
                          n_epochs=CALIBRATION_EPOCHS, n_threads=1, lr=0.001, seed=0)
    model.fit(train)
    return min(result.seconds for result in model.history_)


def _ranking_epoch_seconds(kind: str, train, n_factors: int) -> float:
    from ..models.persist import KINDS

    model = KINDS[kind](n_factors=n_factors, n_epochs=CALIBRATION_EPOCHS, n_threads=1, seed=0)
    model.fit(train)
    return min(result.seconds for result in model.history_)


def calibrate(engine: str, schedule: str = "per-rating") -> UpdateCost:
    """The measured one-thread :class:`UpdateCost` of ``engine`` under ``schedule`` (timed once per
    process, then cached; see the module docstring); a ranking kind of :data:`RANKING_KINDS` as
    ``engine`` with ``schedule`` ``"ranking"`` times that model, per training rating."""
    key = (engine, schedule)
    with _lock:
        if key in _cache:
            return _cache[key]
        train = _sample(CALIBRATION_RATINGS.get(engine, COMPILED_RATINGS))
        small, large = CALIBRATION_FACTORS
        epoch = _ranking_epoch_seconds if engine in RANKING_KINDS else (
            lambda kind, train, k: _epoch_seconds(kind, schedule, train, k))
        per_rating = [epoch(engine, train, k) / len(train) for k in (small, large)]
        per_factor = max((per_rating[1] - per_rating[0]) / (large - small), 0.1 * per_rating[1] / large)
        per_update = max(per_rating[0] - per_factor * small, 0.1 * per_rating[0])
        _cache[key] = cost = UpdateCost(per_update, per_factor)
        return cost


def clear_calibration() -> None:
    """Forget the measured costs (the next estimate measures again)."""
    with _lock:
        _cache.clear()


def estimate_seconds(engine: str, n_ratings: int, n_factors: int, n_epochs: int,
                     schedule: str = "per-rating", threads: int | None = None) -> float:
    r"""Seconds a fit of ``n_epochs`` epochs over ``n_ratings`` training ratings with ``n_factors``
    factors will take with ``engine`` under ``schedule`` and ``threads`` (``n_threads``; None: every
    core): :math:`E\,N\,(c_0 + c_1 K) / (1 + 0.6\,(T - 1))` with the measured costs of
    :func:`calibrate` (the first call for an engine and schedule measures them: up to about a second).
    Give the ratings that will really be trained on (the dashboard's python engine trains on a sample:
    :func:`mfcore.evaluation.resources.work_sample`). Monotone: more ratings, factors or epochs never
    give less time. A rough scale; JIT compilation and per-epoch scoring are not included."""
    if n_ratings < 0 or n_factors < 1 or n_epochs < 0:
        raise ValueError(f"n_ratings == {n_ratings}, n_factors == {n_factors}, n_epochs == {n_epochs}: "
                         "must be >= 0, >= 1 and >= 0.")
    cost = calibrate(engine, schedule)
    used = threads_used(engine, schedule, n_ratings, threads)
    return n_epochs * n_ratings * cost.seconds(n_factors) / (1 + PARALLEL_EFFICIENCY * (used - 1))


def estimate_ranking_seconds(kind: str, n_ratings: int, n_factors: int, n_epochs: int) -> float:
    r"""Seconds a one-thread fit of the ranking model ``kind`` (``bpr`` or ``als``) of ``n_epochs``
    epochs over ``n_ratings`` training ratings with ``n_factors`` factors will take:
    :math:`E\,N\,(c_0 + c_1 K)` with the costs :func:`calibrate` measures for that model. A rough
    scale, as :func:`estimate_seconds`; the per-epoch NDCG scoring and compilation are not included."""
    if kind not in RANKING_KINDS:
        raise ValueError(f"kind == {kind!r}, must be one of {', '.join(RANKING_KINDS)}.")
    if n_ratings < 0 or n_factors < 1 or n_epochs < 0:
        raise ValueError(f"n_ratings == {n_ratings}, n_factors == {n_factors}, n_epochs == {n_epochs}: "
                         "must be >= 0, >= 1 and >= 0.")
    return n_epochs * n_ratings * calibrate(kind, "ranking").seconds(n_factors)


def estimate_item_seconds(kind: str, n_items: int) -> float:
    r"""Seconds the one-step fit of item-item model ``kind`` (``ease``, ``itemknn``) on ``n_items``
    items will take: :math:`c\,(I / 1000)^p` with :math:`p` = :data:`ITEM_KINDS` ``[kind]`` and
    :math:`c` one measured fit on the calibration sample (module docstring). Its test scoring is left out."""
    if kind not in ITEM_KINDS:
        raise ValueError(f"kind == {kind!r}, must be one of {', '.join(ITEM_KINDS)}.")
    if n_items < 0:
        raise ValueError(f"n_items == {n_items}, must be >= 0.")
    with _lock:
        key = (kind, "item")
        if key not in _cache:
            from ..models.persist import KINDS

            train = _sample(COMPILED_RATINGS)
            seconds = []
            for _ in range(2):  # the faster of two: the first may page the data in
                model = KINDS[kind]().fit(train)
                seconds.append(model.fit_seconds_)
            _cache[key] = UpdateCost(min(seconds), 0.0)
        cost = _cache[key]
    return cost.per_update * (n_items / CALIBRATION_ITEMS) ** ITEM_KINDS[kind]
