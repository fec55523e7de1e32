"""How models are judged and what they cost: splits, the honest train/validation/test protocol,
ranking metrics, engine timing and the memory guards.

Owns: :mod:`.split` (random, per-user, temporal), :mod:`.protocol` (holdout, baselines, the one test
score, cross-validation), :mod:`.metrics` (top-N ranking metrics; RMSE/MAE re-exported),
:mod:`.bench` (timing engines), :mod:`.estimate` (a fit's seconds, known before it starts),
:mod:`.resources` (memory estimates and caps, the python engine's work sample).
May import: :mod:`mfcore.models`, :mod:`mfcore.engines`, :mod:`mfcore.data`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "random_split": ".split",
    "per_user_split": ".split",
    "temporal_split": ".split",
    "Holdout": ".protocol",
    "holdout": ".protocol",
    "baselines": ".protocol",
    "biases_only": ".protocol",
    "score_on_test": ".protocol",
    "cross_validate": ".protocol",
    "RANKING_COLUMNS": ".metrics",
    "ranking_metrics": ".metrics",
    "model_scorer": ".metrics",
    "popularity_scorer": ".metrics",
    "random_scorer": ".metrics",
    "BenchResult": ".bench",
    "time_engine": ".bench",
    "max_factor_difference": ".bench",
    "estimate_seconds": ".estimate",
    "MemoryGuardError": ".resources",
    "check_training_memory": ".resources",
    "check_dataset_memory": ".resources",
    "training_peak_bytes": ".resources",
    "memory_cap_bytes": ".resources",
    "work_sample": ".resources",
    "human_bytes": ".resources",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
