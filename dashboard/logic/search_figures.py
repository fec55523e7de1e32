"""The Tune page's figures of a search: every trial's validation curve (or, for a one-step model, its
score), and Optuna's own figures with the form's names."""

from __future__ import annotations

import contextlib

import numpy as np
import optuna
import plotly.graph_objects as go

from dashboard.logic.search import LABELS
from dashboard.render import charts
from mfcore import tuning


def curves_figure(study: optuna.Study, max_epochs: int) -> go.Figure:
    """Every trial's validation RMSE per epoch in one chart: completed trials in blue, pruned ones
    grey and dashed (they stop where the pruner cut them), failed ones red, the best one thick. The
    x axis spans the longest trial so far (at most ``max_epochs``, at least 5 epochs)."""
    figure = go.Figure()
    best = _best_number(study)
    style = {"complete": {"color": "#1f77b4", "width": 1.5},
             "pruned": {"color": "#999999", "width": 1, "dash": "dot"},
             "failed": {"color": "#d62728", "width": 1}, "running": {"color": "#ff7f0e", "width": 2}}
    finite, longest = [], 0
    for number, (state, epochs, values) in tuning.curves(study).items():
        if not len(epochs):
            continue
        longest = max(longest, int(epochs.max()))
        line = {"color": "#2ca02c", "width": 4} if number == best else style.get(state, style["running"])
        figure.add_trace(go.Scatter(x=epochs, y=values, mode="lines", line=line,
                                    name=f"trial {number} ({state})", showlegend=False,
                                    hovertemplate=f"trial {number} ({state})\n"
                                                  "epoch %{x}: %{y:.4f}<extra></extra>"))
        finite.extend(values[np.isfinite(values)])
    metric = tuning.metric_name(study)
    title = f"{metric[0].upper()}{metric[1:]} of every trial (dotted grey: pruned; thick green: best)"
    figure.update_layout(title=title,
                         xaxis_title="epoch", yaxis_title=metric, height=420,
                         xaxis_range=[0.5, min(max(longest, 5), max_epochs) + 0.5],
                         margin={"t": 50, "b": 40, "l": 60, "r": 20})
    if metric.endswith("NDCG@10"):  # higher is better: keep the top 90% of the values in view
        bottom, top = (float(np.quantile(finite, 0.1)), float(max(finite))) if finite else (None, None)
        if top is not None and top > bottom:
            figure.update_yaxes(range=[bottom, top + 0.01 * (top - bottom) + 0.002])
        return figure
    top = float(np.quantile(finite, 0.9)) if finite else None
    bottom = float(min(finite)) if finite else None
    if top is not None and top > bottom:
        figure.update_yaxes(range=[bottom - 0.01 * (top - bottom) - 0.002, top])
    return figure


def trial_scores(study: optuna.Study) -> go.Figure:
    """A one-step model's search: :func:`dashboard.render.charts.trial_scores` of its trials."""
    rows = [(trial.number, trial.value) for trial in study.get_trials(deepcopy=False) if trial.value is not None]
    return charts.trial_scores(rows, _best_number(study), tuning.metric_name(study))


def _best_number(study: optuna.Study) -> int | None:
    try:
        return study.best_trial.number
    except ValueError:
        return None


def optuna_figures(study: optuna.Study) -> dict[str, go.Figure]:
    """Optuna's own figures: optimization history, parameter importances (with 2+ completed trials
    whose parameters vary) and parallel coordinates. Importances by mean decrease in impurity
    (scikit-learn's forest, in C) rather than Optuna's default fANOVA, whose trees are Python: it held
    the GIL about 6x longer, and seven Tune pages finishing at once stalled every other page."""
    from optuna import visualization
    metric = tuning.metric_name(study)
    history = visualization.plot_optimization_history(study, target_name=metric)
    figures = {"Optimization history": history}
    completed = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(completed) >= 2:
        with contextlib.suppress(ValueError, RuntimeError):  # e.g. every trial drew the same values
            figures["Parameter importances"] = visualization.plot_param_importances(
                study, target_name=metric,
                evaluator=optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0))
        figures["Parallel coordinates"] = visualization.plot_parallel_coordinate(study, target_name=metric)
    for figure in figures.values():
        _relabel(figure)
        figure.update_layout(title=None, margin={"t": 60, "l": 150, "r": 60, "b": 50})
        figure.update_xaxes(automargin=True)
        figure.update_yaxes(automargin=True)
    return figures


def _relabel(figure: go.Figure) -> None:
    """Put the form's names (:data:`LABELS`) where Optuna's figures write the estimator's: bar
    categories, axis tick texts and parallel-coordinate dimensions."""
    def name(text):
        return LABELS.get(text, text) if isinstance(text, str) else text

    for trace in figure.data:
        if isinstance(trace, go.Bar) and trace.y is not None:
            trace.y = [name(value) for value in trace.y]
        if isinstance(trace, go.Parcoords):
            trace.dimensions = [{**dimension.to_plotly_json(), "label": name(dimension.label)}
                                for dimension in trace.dimensions]
    figure.for_each_xaxis(lambda axis: axis.update(ticktext=[name(t) for t in axis.ticktext])
                          if axis.ticktext else None)
    figure.for_each_yaxis(lambda axis: axis.update(ticktext=[name(t) for t in axis.ticktext])
                          if axis.ticktext else None)
