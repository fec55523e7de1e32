"""``history_``: the per-epoch results of a fit, a list that is also a table, and its plot.

:class:`History` is a ``list`` of the model's epoch results (``EpochResult`` or
``RankingEpochResult``: ``history_[-1].test_rmse``, ``len``, iteration), which also reads as a
:class:`pandas.DataFrame` with one row per epoch and one column per field: ``history_["test_rmse"]``
is a column, ``history_.to_frame()`` the table, any other public DataFrame attribute
(``history_.tail()``, ``history_.describe()``, ``history_.columns``) is the table's, and a notebook
shows it as the table. :func:`plot_history` draws the curves with Plotly.
"""

from __future__ import annotations

import dataclasses

from .._optional import require

__all__ = ["History", "plot_history", "curve_columns"]

class History(list):
    """The epoch results of a fit, in order (module docstring)."""

    def to_frame(self):
        """One row per epoch, one column per field of the results (an empty table before any epoch)."""
        import pandas as pd
        return pd.DataFrame([dataclasses.asdict(result) for result in self])

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.to_frame()[key]
        return super().__getitem__(key)

    def __getattr__(self, name: str):
        if name.startswith("_"):  # copy, pickle and IPython probe private names: never the table's
            raise AttributeError(name)
        frame = self.to_frame()
        if hasattr(frame, name):
            return getattr(frame, name)
        raise AttributeError(f"'History' has no attribute {name!r} (nor has its DataFrame).")

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def curve_columns(frame) -> list[str]:
    """The columns of a history table worth a curve: the errors and ranking scores that hold a value."""
    wanted = ("rmse", "ndcg", "recall")
    return [name for name in frame.columns if name.endswith(wanted) and frame[name].notna().any()]


def plot_history(history, title: str | None = None):
    """A Plotly figure of a model's curves per epoch (``history`` is a fitted model or its
    ``history_``): every RMSE, NDCG and recall column that holds a value; the best epoch marked when
    the model kept one (early stopping). Needs plotly (one sentence naming the extra otherwise)."""
    go = require("plotly.graph_objects", "plot_history")
    model = None if isinstance(history, list) else history
    frame = History(history if model is None else model.history_).to_frame()
    if frame.empty:
        raise ValueError("the history is empty: fit the model first.")
    figure = go.Figure()
    for name in curve_columns(frame):
        figure.add_trace(go.Scatter(x=frame["epoch"], y=frame[name], mode="lines+markers",
                                    name=name.replace("_", " ")))
    best = getattr(model, "best_epoch_", None)
    if best is not None and best < len(frame):
        figure.add_vline(x=best, line_dash="dot", annotation_text=f"best epoch {best}")
    figure.update_layout(title=title or (type(model).__name__ if model is not None else None),
                         xaxis_title="epoch", yaxis_title="score", template="plotly_white")
    return figure
