r"""Hyperparameter search with Optuna: seeded TPE, every epoch reported, pruning, early stopping.

The protocol (:mod:`mfcore.evaluation.protocol`): each trial trains on ``split.train`` and is judged by
its RMSE on ``split.validation``, reported to Optuna after every epoch. A pruner stops unpromising
trials early (``"median"`` by default, ``"hyperband"`` or ``"none"``; ``benchmarks/tune.py --pruners``
measures which reaches a good RMSE sooner), and early stopping (``patience``) ends a trial whose own
curve has stopped improving; its value is the best validation RMSE over the epochs it ran,

.. math::  v(\theta) = \min_{e \le E(\theta)} \mathrm{RMSE}_{\mathrm{validation}}(\theta, e).

A trial whose training diverges is recorded as failed, with the reason in its user attribute
``fail_reason``. The test set is never looked at here: :func:`mfcore.evaluation.score_on_test`
scores the best configuration once, retrained on train + validation for its best epoch count.

Studies live in Optuna's storage: by default one SQLite file per study in :func:`data_dir`
(``mfcore-data/studies/`` in the working directory, or ``$MFCORE_DATA_DIR/studies``), visible and
safe to delete; any SQLAlchemy URL otherwise (``postgresql://user@host/db``), where several
processes on several machines can share one study. Each worker samples with its own seed, a study
refuses workers with another dataset, seed or search space, and heartbeats fail (and retry) a dead
worker's trial (:mod:`.storage`). Each trial is estimated against the memory cap before it runs and
stops within an epoch when the search is stopped (:mod:`.study`).

Ranking models (BPR, ALS) are tuned for NDCG@10 on the same validation split, direction maximize
(:mod:`.ranking`).

Owns: :mod:`.space` (search ranges), :mod:`.pruning`, :mod:`.storage`, :mod:`.study` (objective,
loop, results), :mod:`.ranking` (the ranking models' objective and final scores).
May import: :mod:`mfcore.evaluation`, :mod:`mfcore.models`, :mod:`mfcore.data`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "Range": ".space",
    "default_space": ".space",
    "suggest": ".space",
    "PRUNERS": ".pruning",
    "DEFAULT_PRUNER": ".pruning",
    "DEFAULT_PATIENCE": ".pruning",
    "HYPERBAND_MIN_EPOCHS": ".pruning",
    "MEDIAN_WARMUP_EPOCHS": ".pruning",
    "make_pruner": ".pruning",
    "first_judged_epoch": ".pruning",
    "data_dir": ".storage",
    "default_storage": ".storage",
    "open_storage": ".storage",
    "create_study": ".storage",
    "join_study": ".storage",
    "redact": ".storage",
    "fail_stale": ".storage",
    "sampler_seed": ".storage",
    "StorageError": ".storage",
    "StudyMismatch": ".storage",
    "HEARTBEAT_SECONDS": ".storage",
    "GRACE_SECONDS": ".storage",
    "SearchStopped": ".study",
    "fingerprint": ".study",
    "available_cores": ".study",
    "objective": ".study",
    "optimize": ".study",
    "best_params": ".study",
    "trials_table": ".study",
    "curves": ".study",
    "search": ".study",
    "final_scores": ".study",
    "metric_name": ".study",
    "ranking_space": ".space",
    "ranking_search": ".ranking",
    "ranking_final_scores": ".ranking",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
