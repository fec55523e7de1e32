"""Plotly figures for the pages."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from mfcore import Ratings

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
RUN_COLORS = COLORS + ["#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                       "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#cedb9c",
                       "#e7969c", "#de9ed6"]
"""One colour per run: 24, twice the runs a session keeps (``dashboard.logic.session_runs.MAX_RUNS``), so the
runs on a chart never share one."""


def run_color(number: int) -> str:
    """The colour of run ``number`` on every chart."""
    return RUN_COLORS[(number - 1) % len(RUN_COLORS)]


def rating_histogram(ratings: Ratings) -> go.Figure:
    """How many ratings each rating value has (bars for a few distinct values, a histogram otherwise)."""
    values, counts = np.unique(ratings.values, return_counts=True)
    if len(values) <= 20:
        figure = go.Figure(go.Bar(x=values, y=counts, marker_color=COLORS[0]))
    else:
        figure = go.Figure(go.Histogram(x=ratings.values, nbinsx=40, marker_color=COLORS[0]))
    figure.update_layout(title="Rating histogram", xaxis_title="rating", yaxis_title="ratings",
                         height=320, margin=dict(t=50, b=40, l=50, r=20), bargap=0.1)
    return figure


def long_tail(ratings: Ratings) -> go.Figure:
    """Ratings per user and per item, each sorted from most to least rated (log scale)."""
    figure = go.Figure()
    for name, codes, size, color in (("users", ratings.users, ratings.n_users, COLORS[0]),
                                     ("items", ratings.items, ratings.n_items, COLORS[1])):
        counts = np.sort(np.bincount(codes, minlength=size))[::-1]
        rank = np.arange(1, len(counts) + 1) / max(len(counts), 1) * 100
        figure.add_trace(go.Scatter(x=rank, y=np.maximum(counts, 0.8), mode="lines", name=name,
                                    line=dict(color=color, width=2),
                                    hovertemplate="top %{x:.1f}%: %{y:.0f} ratings"))
    figure.update_layout(title="Long tail: ratings per user and per item", height=320,
                         xaxis_title="users / items, most rated first (%)", yaxis_title="ratings",
                         yaxis=dict(type="log", dtick=1, tickformat=",d"), margin=dict(t=50, b=40, l=50, r=20),
                         legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return figure


def epoch_span(runs, n_epochs: int | None = None) -> int:
    """The epochs an x axis spans so that every one of ``runs`` is drawn whole: the most epochs any of
    them reached, and at least ``n_epochs`` (the current run's plan, so its curve grows into a fixed frame)."""
    return max([n_epochs or 1] + [run.history[-1].epoch for run in runs if run is not None and run.history])


def learning_curves(current, earlier=(), n_epochs: int | None = None) -> go.Figure:
    """Train (dashed) and test (solid) RMSE per epoch of the ``current`` run, over the test curves of
    ``earlier`` runs (thin, dotted; click a legend entry to hide one). The x axis spans every run whole
    (:func:`epoch_span`: the current run's ``n_epochs`` or the longest run); with no run at all the
    chart is an empty frame with a hint, no axes."""
    figure = go.Figure()
    for run in earlier:
        tested = [r for r in run.history if r.test_rmse is not None]
        figure.add_trace(go.Scatter(
            x=[r.epoch for r in tested], y=[r.test_rmse for r in tested], mode="lines",
            name=f"{run.label} test", opacity=0.6,
            line=dict(color=run_color(run.number), width=1.5, dash="dot")))
    if current is not None:
        color = run_color(current.number)
        epochs = [r.epoch for r in current.history]
        figure.add_trace(go.Scatter(x=epochs, y=[r.train_rmse for r in current.history],
                                    mode="lines+markers", name=f"{current.label} train",
                                    line=dict(color=color, width=2, dash="dash"), marker=dict(size=5)))
        if any(r.test_rmse is not None for r in current.history):
            figure.add_trace(go.Scatter(x=epochs, y=[r.test_rmse for r in current.history],
                                        mode="lines+markers", name=f"{current.label} test",
                                        line=dict(color=color, width=3), marker=dict(size=6)))
    if current is None and not earlier:
        figure.add_annotation(text="Press Train: the curve appears after the first epoch.",
                              showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                              font=dict(size=16))
    if current is None and not earlier:
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
    else:
        figure.update_layout(xaxis_title="epoch", yaxis_title="RMSE")
    shown = epoch_span([current, *earlier], n_epochs)
    if shown <= 12:
        figure.update_xaxes(dtick=1)  # whole epochs only
    figure.update_layout(height=420, xaxis_range=[0.5, shown + 0.5], margin=dict(t=30, b=40, l=50, r=20),
                         legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return figure


def ranking_curves(current, earlier=(), n_epochs: int | None = None) -> go.Figure:
    """Test NDCG@k per epoch of the ``current`` ranking run (thick) over ``earlier`` ranking runs'
    (thin, dotted); higher is better. The x axis spans every run whole (:func:`epoch_span`). A run
    fitted in one closed-form step (``run.closed_form``: EASE, item-kNN) has no epochs: it is one
    point, drawn as a level line across the chart so the epoch curves compare with it."""
    figure = go.Figure()
    k = 10
    stepwise = [run for run in [*earlier, current] if not getattr(run, "closed_form", False)]
    shown = epoch_span(stepwise, n_epochs if not getattr(current, "closed_form", False) else None)
    for run in [*earlier, current]:
        scored = [r for r in run.history if r.test_ndcg is not None]
        if scored:
            k = scored[-1].k
        mine = run is current
        name = getattr(run, "kind_name", run.kind.upper())
        color = run_color(run.number)
        if getattr(run, "closed_form", False):
            if scored:
                value = scored[-1].test_ndcg
                figure.add_trace(go.Scatter(
                    x=[0.5, shown + 0.5], y=[value, value], mode="lines",
                    name=f"{run.label} ({name}, one step, no epochs) test NDCG {value:.3f}",
                    opacity=1.0 if mine else 0.6, hovertemplate=f"{run.label} ({name}): {value:.4f}<extra></extra>",
                    line=dict(color=color, width=3 if mine else 1.5, dash="dash")))
            continue
        figure.add_trace(go.Scatter(
            x=[r.epoch for r in scored], y=[r.test_ndcg for r in scored],
            mode="lines+markers" if mine else "lines", name=f"{run.label} ({name}) test NDCG",
            opacity=1.0 if mine else 0.6, marker=dict(size=6),
            line=dict(color=color, width=3 if mine else 1.5,
                      dash="solid" if mine else "dot")))
    if stepwise:
        if shown <= 12:
            figure.update_xaxes(dtick=1)
        figure.update_layout(xaxis_title="epoch")
    else:  # only one-step models: no epoch axis at all
        figure.update_xaxes(visible=False)
    figure.update_layout(height=420, xaxis_range=[0.5, shown + 0.5],
                         yaxis_title=f"test NDCG@{k} (higher is better)", margin=dict(t=30, b=40, l=50, r=20),
                         legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return figure


def trial_scores(rows, best: int | None, metric: str) -> go.Figure:
    """A search of a one-step model (no epochs): each trial's score (``rows``: ``(number, value)``)
    against its number, trial ``best`` in green."""
    figure = go.Figure(go.Scatter(
        x=[number for number, _ in rows], y=[value for _, value in rows], mode="markers",
        marker={"size": [14 if number == best else 8 for number, _ in rows],
                "color": ["#2ca02c" if number == best else COLORS[0] for number, _ in rows]},
        hovertemplate="trial %{x}: %{y:.4f}<extra></extra>"))
    figure.update_layout(title=f"{metric[0].upper()}{metric[1:]} of every trial, each one step (green: best)",
                         xaxis_title="trial", yaxis_title=metric, height=420,
                         margin={"t": 50, "b": 40, "l": 60, "r": 20})
    return figure


def label_side(x: float, x_max: float) -> str:
    """Where a vertical line's label goes so that it stays inside the chart: left of a line in the
    right half, right of one in the left half (at the top, where learning curves have come down;
    shift it below the top edge, clear of the legend)."""
    return "top left" if x > x_max / 2 else "top right"


def ratio_text(ratio: float) -> str:
    """A speed-up as the Speed page writes it in its table and on its bars: 0.8x, 3.4x, 412x."""
    return f"{ratio:,.1f}x" if ratio < 10 else f"{ratio:,.0f}x"


def rmse_after(rmse, epochs: int) -> str:
    """A timed engine's test RMSE and the epochs it trained, or why there is none."""
    if rmse is None or rmse != rmse:
        return "- (timed on a sample)"
    return f"{rmse:.4f} after {epochs} epoch{'s' * (epochs > 1)}"


def speed_bars(table) -> go.Figure:
    """Speed-up over the python engine per engine, log scale, extrapolated timings labelled."""
    labels = [ratio_text(speedup) + (" (extrapolated)" if extrapolated else "")
              for speedup, extrapolated in zip(table["speed-up"], table["extrapolated"])]
    figure = go.Figure(go.Bar(x=table["engine"], y=table["speed-up"], text=labels,
                              textposition="outside", cliponaxis=False,
                              marker_color=[COLORS[n % len(COLORS)] for n in range(len(table))]))
    figure.update_layout(title="Speed-up over the python loop (log scale)", yaxis_type="log",
                         yaxis_dtick=1,
                         yaxis_title="x faster than python", height=380,
                         margin=dict(t=60, b=40, l=60, r=20))
    return figure
