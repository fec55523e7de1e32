"""The ranking models' rows of the hyperparameter table (moved into mfcore/models/params.py once the
restructure lands)."""

from __future__ import annotations

from ..params import Param

POSITIVE_LEVEL = 0.75
"""Default position of the positive threshold on the rating scale: ``min + 0.75 (max - min)``, i.e.
ratings >= 4 on 1..5 and >= 4 on 0.5..5 (whose threshold 3.875 admits 4, 4.5 and 5)."""

_COMMON = {
    "positive_level": Param(
        "positive_level", float, POSITIVE_LEVEL,
        "which ratings are positives (interactions): those >= min + level (max - min) of the rating "
        "scale (0.75: >= 4 of 1..5); None: every rating is an interaction", low=0, high=1,
        none_allowed=True, step=0.05),
    "n_threads": Param("n_threads", int, None, "threads (None: every available core)", low=1,
                       none_allowed=True, widget_high=64, cli=("--threads",)),
    "seed": Param("seed", int, 0, "random seed of the initial factors and of every sample and order",
                  low=0, widget_high=2**31 - 1),
}

BPR_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("n_factors", int, 64, "K, the number of latent factors per user and per item", low=1,
          widget_high=500, cli=("--factors",)),
    Param("n_epochs", int, 30, "passes over the positives", low=1, widget_high=500, cli=("--epochs",)),
    Param("lr", float, 0.05, "learning rate γ of the pairwise SGD step", low=0, low_inclusive=False,
          widget_low=0.0001, widget_high=1.0, step=0.005),
    Param("reg", float, 0.002, "L2 regularization λ of the factors and item biases", low=0,
          widget_high=1.0, step=0.001),
    Param("negatives", int, 1, "sampled negative items per positive and epoch", low=1, widget_high=20),
    Param("init_std", float, 0.1, "standard deviation of the random initial factors", low=0,
          widget_high=1.0, step=0.01),
    _COMMON["positive_level"], _COMMON["n_threads"], _COMMON["seed"],
)}
""":class:`~mfcore.models.bpr.BPRFactorizer`'s hyperparameters, in ``__init__`` order."""

ALS_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("n_factors", int, 64, "K, the number of latent factors per user and per item", low=1,
          widget_high=500, cli=("--factors",)),
    Param("n_epochs", int, 10, "ALS iterations (each solves all users, then all items)", low=1,
          widget_high=100, cli=("--epochs",)),
    Param("reg", float, 1.0, "L2 regularization λ of the factors (scaled per row by reg_exponent)", low=0,
          widget_high=100.0, step=0.05),
    Param("reg_exponent", float, 1.0, "ν: a user's (item's) regularization is λ times its number of "
          "positives to the power ν (0: constant λ as in Hu et al.; 1: weighted-λ of Zhou et al.)",
          low=0, high=2, step=0.25),
    Param("alpha", float, 10.0, "confidence of a positive: c = 1 + α (every other cell has c = 1)",
          low=0, widget_high=200.0, step=1.0),
    Param("cg_steps", int, 3, "conjugate-gradient steps per user and item solve (warm-started)",
          low=1, widget_high=20),
    Param("init_std", float, 0.01, "standard deviation of the random initial factors", low=0,
          widget_high=1.0, step=0.01),
    _COMMON["positive_level"], _COMMON["n_threads"], _COMMON["seed"],
)}
""":class:`~mfcore.models.als.ALSFactorizer`'s hyperparameters, in ``__init__`` order."""
