"""Teaching aids: the update rule stepped one rating at a time with every number kept
(:class:`UpdateStepper`), on a dense slice of the data (:func:`dense_slice`); BPR's pairwise step
with every number kept (:func:`bpr_step`, :class:`BPRStepper`).

Owns: :mod:`.stepper`, :mod:`.pairwise`. May import: :mod:`mfcore.models`, :mod:`mfcore.engines`, :mod:`mfcore.data`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "StepRecord": ".stepper",
    "UpdateStepper": ".stepper",
    "dense_slice": ".stepper",
    "BPRStepRecord": ".pairwise",
    "BPRStepper": ".pairwise",
    "bpr_step": ".pairwise",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
