"""A seeded generator of realistic synthetic ratings (the project's own sample data).

The true rating of user u for item i is

    s_ui = mu + b_u + b_i + p_u . q_i + noise,   observed as round(s_ui) clipped to 1..5 stars,

with mu = 3.6, b_u ~ N(0, 0.35^2), b_i ~ N(0, 0.5^2), p_u, q_i ~ N(0, (0.9 / sqrt(rank)))^2 per
coordinate in ``rank`` dimensions (so p_u . q_i has a standard deviation of about 0.8) and noise
~ N(0, ``noise_std``^2), 0.6 by default. Which pairs are rated is skewed like real data: user activity
is log-normal and item popularity follows a Zipf-like law, so a few items and users hold many ratings.
Items get readable made-up titles ("Quiet Harbor (1987)"); users are integers from 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_ADJECTIVES = (
    "Quiet", "Silent", "Golden", "Broken", "Hidden", "Last", "Midnight", "Crimson", "Distant", "Electric",
    "Frozen", "Gentle", "Hollow", "Iron", "Lonely", "Lost", "Northern", "Painted", "Restless", "Secret",
    "Shining", "Stolen", "Summer", "Wild", "Winter", "Burning", "Endless", "Falling", "Fading", "Second",
    "Velvet", "Paper", "Glass", "Silver", "Scarlet", "Ancient", "Bright", "Dark", "Little", "Savage",
)
_NOUNS = (
    "Harbor", "River", "Garden", "Empire", "Station", "Horizon", "Kingdom", "Mirror", "Orchard", "Signal",
    "Valley", "Voyage", "Witness", "Island", "Letter", "Machine", "Promise", "Shadow", "Storm", "Summit",
    "Tide", "Tower", "Whisper", "Circus", "Frontier", "Highway", "Lantern", "Meadow", "Planet", "Symphony",
    "Detective", "Engine", "Festival", "Journey", "Legacy", "Moon", "Parade", "Rebellion", "Sky", "Winter",
)
_FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jon", "Kira", "Liam")

GLOBAL_MEAN, USER_BIAS_STD, ITEM_BIAS_STD, DOT_STD = 3.6, 0.35, 0.5, 0.9


def item_titles(n_items: int, rng: np.random.Generator) -> np.ndarray:
    """``n_items`` distinct titles "Adjective Noun (Year)", drawn without replacement."""
    years = np.arange(1950, 2025)
    combos = len(_ADJECTIVES) * len(_NOUNS) * len(years)
    if n_items > combos:
        raise ValueError(f"n_items == {n_items}, must be <= {combos} to get distinct titles.")
    picks = rng.choice(combos, size=n_items, replace=False)
    adjective, rest = np.divmod(picks, len(_NOUNS) * len(years))
    noun, year = np.divmod(rest, len(years))
    return np.array([f"{_ADJECTIVES[a]} {_NOUNS[n]} ({years[y]})" for a, n, y in zip(adjective, noun, year)],
                    dtype=object)


def make_ratings(n_users: int = 1000, n_items: int = 1700, n_ratings: int = 100_000, *, rank: int = 10,
                 noise_std: float = 0.6, seed: int = 0, named_users: bool = False) -> pd.DataFrame:
    """A DataFrame ``user, item, rating, timestamp`` of ``n_ratings`` distinct (user, item) pairs.

    ``named_users`` gives users first names instead of numbers (for the small teaching set).
    """
    for name, value, low in (("n_users", n_users, 1), ("n_items", n_items, 1), ("n_ratings", n_ratings, 1),
                             ("rank", rank, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} == {value!r}, must be an integer >= {low}.")
    if n_ratings > n_users * n_items:
        raise ValueError(f"n_ratings == {n_ratings}, must be <= n_users * n_items == {n_users * n_items}.")
    if noise_std < 0:
        raise ValueError(f"noise_std == {noise_std}, must be >= 0.")
    if named_users and n_users > len(_FIRST_NAMES):
        raise ValueError(f"named_users needs n_users <= {len(_FIRST_NAMES)}.")
    rng = np.random.default_rng(seed)
    users, items = _rated_pairs(n_users, n_items, n_ratings, rng)

    user_bias = rng.normal(0, USER_BIAS_STD, n_users).astype(np.float32)
    item_bias = rng.normal(0, ITEM_BIAS_STD, n_items).astype(np.float32)
    scale = DOT_STD / np.sqrt(rank)
    P = rng.normal(0, scale, (n_users, rank)).astype(np.float32)
    Q = rng.normal(0, scale, (n_items, rank)).astype(np.float32)
    stars = np.empty(n_ratings, dtype=np.int8)
    chunk = 1_000_000
    for start in range(0, n_ratings, chunk):
        u, i = users[start:start + chunk], items[start:start + chunk]
        score = (GLOBAL_MEAN + user_bias[u] + item_bias[i] + np.einsum("nk,nk->n", P[u], Q[i])
                 + rng.normal(0, noise_std, len(u)).astype(np.float32))
        stars[start:start + chunk] = np.clip(np.rint(score), 1, 5)
    timestamps = rng.integers(1_420_070_400, 1_735_689_600, n_ratings)  # 2015-01-01 .. 2025-01-01

    user_labels = np.array(_FIRST_NAMES[:n_users], dtype=object) if named_users else np.arange(1, n_users + 1)
    return pd.DataFrame({
        "user": user_labels[users], "item": item_titles(n_items, rng)[items], "rating": stars,
        "timestamp": timestamps,
    })


def _rated_pairs(n_users, n_items, n_ratings, rng):
    """Distinct (user, item) pairs with log-normal user activity and Zipf-like item popularity,
    sorted by user then item."""
    activity = rng.lognormal(0, 1.0, n_users)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity = popularity[rng.permutation(n_items)]
    activity, popularity = activity / activity.sum(), popularity / popularity.sum()
    keys = np.zeros(0, dtype=np.int64)
    for attempt in range(1000):
        if len(keys) >= n_ratings:
            break
        if attempt == 20:  # a dense request the skewed draw cannot fill: top up uniformly
            activity = popularity = None
        wanted = int((n_ratings - len(keys)) * 1.3) + 16
        new = rng.choice(n_users, wanted, p=activity) * np.int64(n_items) + rng.choice(n_items, wanted, p=popularity)
        keys = np.unique(np.concatenate([keys, new]))
    keys = np.sort(rng.choice(keys, n_ratings, replace=False))
    users, items = np.divmod(keys, n_items)
    return users.astype(np.int32), items.astype(np.int32)
