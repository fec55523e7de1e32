"""A seeded generator of realistic synthetic ratings (the project's own sample data).

The true rating of user u for item i is

    s_ui = mu + b_u + b_i + p_u . q_i + noise,   observed as round(s_ui) clipped to 1..5 stars,

with mu = 3.6, b_u ~ N(0, 0.35^2), b_i ~ N(0, 0.5^2), p_u, q_i ~ N(0, (0.9 / sqrt(rank)))^2 per
coordinate in ``rank`` dimensions (so p_u . q_i has a standard deviation of about 0.8) and noise
~ N(0, ``noise_std``^2), 0.6 by default. Which pairs are rated is skewed like real data: user activity
is log-normal and item popularity follows a Zipf-like law, so a few items and users hold many ratings.
Items get readable made-up titles ("Quiet Harbor (1987)"); users are integers from 1.

Counts mode (``counts=True``: implicit feedback such as plays or clicks). A user's affinity for an
item is a_ui = 0.5 b_i + (p_u . q_i) / sd(p . q) (the same draws; taste standardised, so it weighs
more than the item's general appeal), and it decides both what a user goes back to and how often:

- (1 - ``ACCIDENTAL``) of the pairs are chosen by taste: twice as many candidate pairs as needed are
  drawn with the skew above and those with the largest a_ui + g_ui are kept (g_ui a standard Gumbel
  draw: sampling without replacement in proportion to exp(a_ui)); each one's count is 1 +
  Poisson(exp(COUNT_BASE + COUNT_GAIN a_ui + noise)), noise ~ N(0, ``noise_std``^2);
- ``ACCIDENTAL`` (0.3) of them are accidental: uniformly random (user, item) cells, with a count of
  1 + Poisson(ACCIDENTAL_RATE), mostly 1 (a click, a track skipped).

So an interaction says little by itself and a large count says a lot, as play counts do.
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
COUNT_BASE, COUNT_GAIN, ACCIDENTAL, ACCIDENTAL_RATE, COUNT_BIAS_WEIGHT = 0.5, 1.5, 0.3, 0.2, 0.5


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
                 noise_std: float = 0.6, seed: int = 0, named_users: bool = False,
                 counts: bool = False) -> pd.DataFrame:
    """A DataFrame ``user, item, rating, timestamp`` of ``n_ratings`` distinct (user, item) pairs;
    with ``counts``, ``user, item, count, timestamp`` (counts mode: module docstring).

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
    chosen = n_ratings - int(ACCIDENTAL * n_ratings) if counts else n_ratings
    users, items = _rated_pairs(n_users, n_items, min(2 * chosen, n_users * n_items) if counts else chosen, rng)

    user_bias = rng.normal(0, USER_BIAS_STD, n_users).astype(np.float32)
    item_bias = rng.normal(0, ITEM_BIAS_STD, n_items).astype(np.float32)
    scale = DOT_STD / np.sqrt(rank)
    P = rng.normal(0, scale, (n_users, rank)).astype(np.float32)
    Q = rng.normal(0, scale, (n_items, rank)).astype(np.float32)
    if counts:
        users, items, values = _counts(users, items, chosen, n_users, n_items, n_ratings, rank,
                                       (item_bias, P, Q), noise_std, rng)
        column = "count"
    else:
        values, column = _stars(users, items, user_bias, item_bias, P, Q, noise_std, rng), "rating"
    timestamps = rng.integers(1_420_070_400, 1_735_689_600, n_ratings)  # 2015-01-01 .. 2025-01-01

    user_labels = np.array(_FIRST_NAMES[:n_users], dtype=object) if named_users else np.arange(1, n_users + 1)
    return pd.DataFrame({
        "user": user_labels[users], "item": item_titles(n_items, rng)[items], column: values,
        "timestamp": timestamps,
    })


def _affinity(users, items, item_bias, P, Q, rank: int) -> np.ndarray:
    """a_ui = COUNT_BIAS_WEIGHT b_i + (p_u . q_i) / sd(p . q) of each pair, in chunks of a million."""
    out = np.empty(len(users), np.float32)
    spread = DOT_STD ** 2 / np.sqrt(rank)  # sd of p . q: rank products of two N(0, DOT_STD^2 / rank) draws
    for start in range(0, len(users), 1_000_000):
        u, i = users[start:start + 1_000_000], items[start:start + 1_000_000]
        out[start:start + len(u)] = COUNT_BIAS_WEIGHT * item_bias[i] + np.einsum("nk,nk->n", P[u], Q[i]) / spread
    return out


def _counts(users, items, chosen, n_users, n_items, n_ratings, rank, factors, noise_std, rng):
    """``n_ratings`` distinct pairs sorted by user then item, ``chosen`` of them by taste among the
    candidates ``users, items`` and the rest accidental, with their counts (module docstring)."""
    affinity = _affinity(users, items, *factors, rank)
    kept = np.argsort(-(affinity + rng.gumbel(size=len(affinity))), kind="stable")[:chosen]
    rate = np.exp(COUNT_BASE + COUNT_GAIN * affinity[kept] + rng.normal(0, noise_std, len(kept)))
    keys = users[kept].astype(np.int64) * n_items + items[kept]
    counts = 1 + rng.poisson(rate)
    extra = n_ratings - len(keys)
    while extra > 0:  # accidental cells: uniform, distinct from every pair so far
        drawn = np.unique(rng.integers(0, np.int64(n_users) * n_items, 2 * extra + 16))
        drawn = rng.permutation(drawn[~np.isin(drawn, keys)])[:extra]
        keys, counts = np.r_[keys, drawn], np.r_[counts, 1 + rng.poisson(ACCIDENTAL_RATE, len(drawn))]
        extra -= len(drawn)
    order = np.argsort(keys)
    pair_users, pair_items = np.divmod(keys[order], n_items)
    return pair_users.astype(np.int32), pair_items.astype(np.int32), counts[order].astype(np.int32)


def _stars(users, items, user_bias, item_bias, P, Q, noise_std, rng) -> np.ndarray:
    """Each pair's stars: round(mu + b_u + b_i + p_u . q_i + noise) clipped to 1..5."""
    n_ratings = len(users)
    stars = np.empty(n_ratings, dtype=np.int8)
    chunk = 1_000_000
    for start in range(0, n_ratings, chunk):
        u, i = users[start:start + chunk], items[start:start + chunk]
        score = (GLOBAL_MEAN + user_bias[u] + item_bias[i] + np.einsum("nk,nk->n", P[u], Q[i])
                 + rng.normal(0, noise_std, len(u)).astype(np.float32))
        stars[start:start + chunk] = np.clip(np.rint(score), 1, 5)
    return stars


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
