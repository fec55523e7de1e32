"""Figures and small formatting helpers for the Update rule and Error schedules pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .charts import COLORS

HIGHLIGHT = "#d62728"


def heatmap(frame: pd.DataFrame, rows=(), columns=(), cell=None, colorscale="RdBu", zmid=None,
            row_height=26, show_x=True) -> go.Figure:
    """``frame`` as a heatmap with each value written in its cell (NaN cells left blank) and the column
    labels on top; the rows at positions ``rows``, the columns at ``columns`` and the (row, column)
    ``cell`` are outlined."""
    labels_y = [str(v) for v in frame.index]
    labels_x = [str(v) for v in frame.columns]
    figure = go.Figure(go.Heatmap(
        z=frame.to_numpy(dtype=float), x=labels_x, y=labels_y, colorscale=colorscale, zmid=zmid,
        texttemplate="%{z:.2f}", textfont=dict(size=10), hoverongaps=False, showscale=False,
        xgap=1, ygap=1))
    outline = dict(color=HIGHLIGHT, width=3)
    for row in rows:
        figure.add_shape(type="rect", x0=-0.5, x1=len(labels_x) - 0.5, y0=row - 0.5, y1=row + 0.5,
                         line=outline)
    for column in columns:
        figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=-0.5, y1=len(labels_y) - 0.5,
                         line=outline)
    if cell is not None:
        figure.add_shape(type="rect", x0=cell[1] - 0.5, x1=cell[1] + 0.5, y0=cell[0] - 0.5,
                         y1=cell[0] + 0.5, line=dict(color=HIGHLIGHT, width=4))
    top = 20 + 4 * max(map(len, labels_x)) if show_x else 10
    figure.update_layout(height=top + 20 + row_height * len(labels_y), margin=dict(t=top, b=10, l=10, r=10),
                         yaxis=dict(autorange="reversed", type="category"),
                         xaxis=dict(type="category", tickangle=-40, side="top", showticklabels=show_x))
    return figure


def before_after(old: np.ndarray, new: np.ndarray):
    """A styled before/after/change table of one factor vector: changed cells highlighted, green
    where the value rose and red where it fell."""
    table = pd.DataFrame([old, new, new - old], index=["before", "after", "change"],
                         columns=[f"k={k + 1}" for k in range(len(old))]).astype(float)

    def colour(column):
        change = column["change"]
        shade = "" if change == 0 else ("background-color: #c8f0c8" if change > 0
                                        else "background-color: #f6c9c9")
        return ["", shade, shade]

    return table.style.apply(colour, axis=0).format("{:.4f}")


def rmse_steps(steps, values) -> go.Figure:
    """The training RMSE after each step (step 0: the initial factors)."""
    figure = go.Figure(go.Scatter(x=list(steps), y=list(values), mode="lines+markers",
                                  marker=dict(size=4), line=dict(color=COLORS[0])))
    figure.update_layout(height=220, margin=dict(t=30, b=30, l=40, r=10), title="training RMSE",
                         xaxis_title="updates", yaxis_title=None)
    return figure


def schedule_curves(results: dict, x: str) -> go.Figure:
    """Test RMSE of every schedule's run against ``x`` = "epoch" or "seconds" (cumulative training
    time). ``results`` maps a schedule to ``{"history": [EpochResult...], ...}``. The y range runs from
    the lowest point to the highest first point, so a diverging run leaves the chart at the top."""
    figure = go.Figure()
    for number, (name, result) in enumerate(results.items()):
        history = [r for r in result["history"] if r.test_rmse is not None]
        xs = ([r.epoch for r in history] if x == "epoch"
              else np.cumsum([r.seconds for r in result["history"]])[:len(history)].tolist())
        figure.add_trace(go.Scatter(x=xs, y=[r.test_rmse for r in history], mode="lines+markers",
                                    name=name, marker=dict(size=5),
                                    line=dict(color=COLORS[number % len(COLORS)], width=2)))
    curves = [[r.test_rmse for r in result["history"] if r.test_rmse is not None] for result in results.values()]
    curves = [curve for curve in curves if curve]
    if curves:  # a diverging run shoots off the top rather than flattening every other curve
        low = min(min(curve) for curve in curves)
        high = max(max(curve[0], min(curve)) for curve in curves)
        figure.update_yaxes(range=[low - 0.02 * (high - low + 0.01), high + 0.08 * (high - low + 0.01)])
    figure.update_layout(height=380, xaxis_title="epoch" if x == "epoch" else "training seconds",
                         yaxis_title="test RMSE", margin=dict(t=30, b=40, l=50, r=10),
                         legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return figure


def human_bytes(n: float) -> str:
    """``n`` bytes in decimal units: 12.7 MB, 68.3 GB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def schedule_table(results: dict) -> pd.DataFrame:
    """One row per schedule run: epochs done, last and best test RMSE, seconds per epoch (median)
    and in all, and how the run ended."""
    rows = []
    for name, result in results.items():
        history = result["history"]
        tested = [r.test_rmse for r in history if r.test_rmse is not None]
        rows.append({
            "schedule": name, "epochs": len(history),
            "last test RMSE": tested[-1] if tested else np.nan,
            "best test RMSE": min(tested) if tested else np.nan,
            "s/epoch": float(np.median([r.seconds for r in history])) if history else np.nan,
            "training s": float(sum(r.seconds for r in history)),
            "status": result["status"],
        })
    return pd.DataFrame(rows)


def schedule_findings(results: dict) -> list[str]:
    """Plain sentences on what the curves show: among the runs that finished, the lowest test RMSE
    after the last epoch they all reached and the time each needed to reach a level they all reached;
    then the runs that diverged."""
    curves = {name: [r for r in result["history"] if r.test_rmse is not None]
              for name, result in results.items() if result["status"] == "finished"}
    curves = {name: history for name, history in curves.items() if history}
    findings = []
    common = min(len(history) for history in curves.values()) if curves else 0
    if common:
        findings += _ranking(results, curves, common)
    diverged = [name for name, result in results.items() if result["status"] != "finished"]
    if diverged:
        findings.append("**Stability:** " + "; ".join(f"{name} {results[name]['status']}" for name in diverged)
                        + ". A curve stops where its run stopped.")
    else:
        findings.append("**Stability:** no schedule diverged at this learning rate; raise it to find "
                        "where each one breaks.")
    return findings


def _ranking(results: dict, curves: dict, common: int) -> list[str]:
    findings = []
    at_common = {name: history[common - 1].test_rmse for name, history in curves.items()}
    ranked = sorted(at_common, key=at_common.get)
    findings.append(f"**Per epoch:** after epoch {common}, the lowest test RMSE is **{ranked[0]}** "
                    f"({at_common[ranked[0]]:.4f}); the order is "
                    + ", ".join(f"{name} {at_common[name]:.4f}" for name in ranked) + ".")
    level = max(min(r.test_rmse for r in history) for history in curves.values())
    reached = {}
    for name, history in curves.items():
        elapsed = np.cumsum([r.seconds for r in results[name]["history"]])
        first = next(n for n, r in enumerate(history) if r.test_rmse <= level)
        reached[name] = (float(elapsed[first]), first + 1)
    ranked = sorted(reached, key=lambda name: reached[name][0])
    findings.append(f"**Per second:** every finished run got down to test RMSE {level:.4f}; **{ranked[0]}** got there "
                    f"first. Training seconds to reach it: "
                    + ", ".join(f"{name} {reached[name][0]:.3f} s (epoch {reached[name][1]})" for name in ranked)
                    + ".")
    return findings
