r"""The minimum support of the rating model's lists: how many training ratings an item needs before
Recommendations, Similar items and Your ratings may show it.

Why: a rating model predicts :math:`\mu + b_u + b_i + p_u^\top q_i`, and an item rated by a handful of
enthusiasts gets a large :math:`b_i` from few ratings (a noisy mean), while its factors barely moved
from their random start. Ranked by predicted rating, such items fill the top of every list whatever
the user likes, and they sit near anything by cosine. A list is only as good as its least supported
item.

The rule (:func:`min_support`): the MEAN number of training ratings per item that has one, rounded
down, i.e. ``floor(n_ratings / n_rated_items)``; at least 1, never 0. Rating data are long-tailed, so
the mean sits well above the median count and the items it keeps hold most of the ratings: on
MovieLens 100K (80% training split) it is 48 and keeps a third of the items, which hold 81% of the
ratings (ML-1M: 217, a third of the items, 79% of the ratings); on MovieLens latest-small it is
about 9, where the median (3) would keep films with 5 and 8 ratings at the top. Rounded down, so that
on data whose items are rated about equally often (a toy set) it hides almost nothing. The pages let
the user lower or raise it; 0 is never the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SupportSummary", "min_support", "support_summary"]


def min_support(counts: np.ndarray) -> int:
    """The default minimum support of items with training-rating ``counts`` (one per item code):
    ``floor(sum(counts) / number of items with a count)``, at least 1 (module docstring)."""
    counts = np.asarray(counts)
    rated = counts[counts > 0]
    if len(rated) == 0:
        return 1
    return max(1, math.floor(float(rated.sum()) / len(rated) + 1e-9))


@dataclass(frozen=True)
class SupportSummary:
    """What a minimum ``support`` does: how many rated items it ``hidden`` and ``kept``, and the
    share of the training ratings the kept items hold (``share_kept``)."""

    support: int
    hidden: int
    kept: int
    share_kept: float


def support_summary(counts: np.ndarray, support: int) -> SupportSummary:
    """What a minimum ``support`` does to items with training-rating ``counts``."""
    counts = np.asarray(counts)
    rated = counts > 0
    keep = counts >= max(int(support), 1)
    total = float(counts[rated].sum())
    share = float(counts[keep].sum()) / total if total else float("nan")
    return SupportSummary(int(support), int((rated & ~keep).sum()), int(keep.sum()), share)
