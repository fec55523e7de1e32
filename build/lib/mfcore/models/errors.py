"""Rating errors of predictions: RMSE and MAE (the estimator reports them per epoch).
"""

from __future__ import annotations

import numpy as np


def rmse(truth, predicted) -> float:
    """Root mean squared error, sqrt(mean((truth - predicted)^2)), accumulated in float64."""
    diff = np.asarray(truth, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    return float(np.sqrt(np.mean(diff * diff))) if diff.size else float("nan")


def mae(truth, predicted) -> float:
    """Mean absolute error, mean(|truth - predicted|), accumulated in float64."""
    diff = np.asarray(truth, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    return float(np.mean(np.abs(diff))) if diff.size else float("nan")
