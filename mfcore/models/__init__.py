"""The models: the one parameter table, the SGD rating estimator and its early stopping, what every
model shares (per-epoch results, the fitted check, top-n selection), model files and exports.

Owns: :mod:`.params` (the hyperparameter table the estimator, CLI and dashboard all read),
:mod:`.sgd` (:class:`SGDFactorizer`, the one training loop), the ranking models :mod:`.bpr`
(:class:`BPRFactorizer`), :mod:`.als` (:class:`ALSFactorizer`) and the item-item models
:mod:`.neighbors` (:class:`EASE`, :class:`ItemKNN`), all on :mod:`.ranking` (positives, their
loop, the scoring contract) and :mod:`.topn_metrics` (the top-N numbers their epochs report),
:mod:`.estimator` (what every model's estimator API shares: the one ``fit`` signature and its
inputs, scikit-learn's parameters, the progress bar), :mod:`.history` (``history_`` and its plot),
:mod:`.base`, :mod:`.early_stopping`,
:mod:`.errors` (RMSE, MAE), :mod:`.persist` (``.npz`` model files, never pickle), :mod:`.export`
(factors, history, a reproduction script) and :mod:`.warm` (compiles every kernel once).
May import: :mod:`mfcore.engines` and :mod:`mfcore.data`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "SGDFactorizer": ".sgd",
    "BPRFactorizer": ".bpr",
    "ALSFactorizer": ".als",
    "EASE": ".neighbors",
    "ItemKNN": ".neighbors",
    "RankingEpochResult": ".ranking",
    "Estimator": ".estimator",
    "History": ".history",
    "plot_history": ".history",
    "BPR_PARAMETERS": ".params",
    "ALS_PARAMETERS": ".params",
    "EASE_PARAMETERS": ".params",
    "ITEMKNN_PARAMETERS": ".params",
    "initial_parameters": ".sgd",
    "EpochResult": ".base",
    "TrainingDiverged": ".base",
    "NotFittedError": ".base",
    "check_is_fitted": ".base",
    "is_fitted": ".base",
    "best_codes": ".base",
    "rmse": ".errors",
    "mae": ".errors",
    "PARAMETERS": ".params",
    "SPLIT_PARAMETERS": ".params",
    "Param": ".params",
    "default_lr": ".params",
    "ModelFileError": ".persist",
    "ModelBundle": ".persist",
    "save_model": ".persist",
    "load_model": ".persist",
    "load_bundle": ".persist",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
