"""A planted ranking data set and small settings of the ranking models, shared by their tests."""

from __future__ import annotations

import numpy as np

from mfcore.data import from_arrays
from mfcore.models.als import ALSFactorizer
from mfcore.models.bpr import BPRFactorizer

SMALL = {ALSFactorizer: dict(n_factors=8, n_epochs=5), BPRFactorizer: dict(n_factors=8, n_epochs=20, lr=0.1)}


def planted(n_users=60, n_items=40, seed=0):
    """Two groups of users, each liking (5 stars) one half of the items and rating a few of the
    other half low; user ids are strings, item ids integers from 100."""
    rng = np.random.default_rng(seed)
    users, items, values = [], [], []
    for u in range(n_users):
        group = u % 2
        liked = np.arange(n_items)[np.arange(n_items) % 2 == group]
        other = np.arange(n_items)[np.arange(n_items) % 2 != group]
        for i in rng.choice(liked, 8, replace=False):
            users.append(f"u{u}"), items.append(100 + int(i)), values.append(5.0)
        for i in rng.choice(other, 2, replace=False):
            users.append(f"u{u}"), items.append(100 + int(i)), values.append(1.0)
    return from_arrays(users, items, values)
