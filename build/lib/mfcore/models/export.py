"""Files a fitted model can be saved as, without pickle: factors as ``.npz`` or CSV, the per-epoch
history as CSV, and a short Python script that reproduces a run with mfcore."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from .base import check_is_fitted
from .model_file import plain_ids
from .params import SPLIT_PARAMETERS
from .sgd import SGDFactorizer

__all__ = ["factors_npz", "factors_csv", "history_frame", "reproduction_snippet"]


def factors_npz(model: SGDFactorizer) -> bytes:
    """``P, Q, bu, bi, global_mean, user_ids, item_ids`` as the bytes of a compressed ``.npz``."""
    check_is_fitted(model)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, P=model.P_, Q=model.Q_, bu=model.bu_, bi=model.bi_,
                        global_mean=np.float64(model.global_mean_),
                        user_ids=plain_ids(model.user_ids_), item_ids=plain_ids(model.item_ids_))
    return buffer.getvalue()


def factors_csv(model: SGDFactorizer) -> bytes:
    """One row per user and item: ``kind, id, bias, f0 .. f{K-1}``; the global mean is the first row."""
    check_is_fitted(model)
    k = model.P_.shape[1]
    factor_names = [f"f{n}" for n in range(k)]

    def block(kind, ids, bias, factors):
        frame = pd.DataFrame(factors, columns=factor_names)
        frame.insert(0, "bias", bias)
        frame.insert(0, "id", ids)
        frame.insert(0, "kind", kind)
        return frame

    mean = pd.DataFrame([["global_mean", "", model.global_mean_] + [0.0] * k],
                        columns=["kind", "id", "bias"] + factor_names)
    frame = pd.concat([mean, block("user", model.user_ids_, model.bu_, model.P_),
                       block("item", model.item_ids_, model.bi_, model.Q_)], ignore_index=True)
    return frame.to_csv(index=False).encode()


def history_frame(history) -> pd.DataFrame:
    """A list of :class:`~mfcore.models.EpochResult` as a DataFrame, one row per epoch."""
    return pd.DataFrame([{"epoch": r.epoch, "train_rmse": r.train_rmse, "test_rmse": r.test_rmse,
                          "seconds": r.seconds} for r in history],
                        columns=["epoch", "train_rmse", "test_rmse", "seconds"])


def reproduction_snippet(params: dict, data_path: str, test_size: float, split_seed: int,
                         validation_size: float = SPLIT_PARAMETERS["validation_size"].default) -> str:
    """Python source that loads ``data_path``, splits it the same way and trains with ``params``,
    every parameter written out (a default may differ between versions or from a page's default).

    The split is ``random_split(ratings, test_size, split_seed)``; under early stopping
    (``params["patience"]`` not None) it is :func:`mfcore.evaluation.protocol.holdout`, which also
    holds out a random ``validation_size`` of the training ratings (seeded ``split_seed + 1``) as the
    validation set ``fit_iter`` scores every epoch: the split the dashboard's Train and the CLI's
    ``train --patience`` make, so the script gets the same epochs and keeps the same best one."""
    arguments = "".join(f"\n    {name}={value!r}," for name, value in params.items())
    if params.get("patience") is None:
        return (
            "from mfcore import SGDFactorizer, load_ratings, random_split\n\n"
            f"ratings = load_ratings({data_path!r})\n"
            f"train, test = random_split(ratings, test_size={test_size!r}, seed={split_seed!r})\n"
            f"model = SGDFactorizer({arguments}\n)\n"
            "for epoch in model.fit_iter(train, test):\n"
            "    print(epoch)\n"
            "print(model.evaluate(test) if len(test) else 'no test set')\n"
        )
    return (
        "from mfcore import SGDFactorizer, load_ratings\n"
        "from mfcore.evaluation.protocol import holdout\n\n"
        f"ratings = load_ratings({data_path!r})\n"
        "# the test set, then the validation set (out of the training ratings) that early stopping watches\n"
        f"split = holdout(ratings, test_size={test_size!r}, validation_size={validation_size!r}, "
        f"seed={split_seed!r})\n"
        "train, validation, test = split.train, split.validation, split.test\n"
        f"model = SGDFactorizer({arguments}\n)\n"
        "for epoch in model.fit_iter(train, test, validation=validation):\n"
        "    print(epoch)\n"
        "print(f'kept epoch {model.best_epoch_} (the lowest validation RMSE)')\n"
        "print(model.evaluate(test) if len(test) else 'no test set')\n"
    )
