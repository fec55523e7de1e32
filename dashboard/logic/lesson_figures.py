"""Figures, LaTeX and small formatting helpers for the Update rule and Error schedules pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mfcore.teaching import StepRecord

from dashboard.render import safe
from dashboard.render.charts import COLORS
from dashboard.render.texts import Markdown, md

HIGHLIGHT = "#d62728"
NETFLIX_USERS, NETFLIX_ITEMS, NETFLIX_RATINGS = 480_189, 17_770, 100_480_507
"""The Netflix Prize training set's size (users, movies, ratings)."""


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


def item_name(ratings, code: int) -> str:
    """Item ``code`` of ``ratings`` as the page names it: its title (and id) when the data has
    titles, a text id as it is, else "item <id>"."""
    title, item_id = str(ratings.item_titles[code]), str(ratings.item_ids[code])
    if title == item_id:
        return f"item {item_id}" if item_id.lstrip("-").isdigit() else item_id
    return f"{title} (item {item_id})"


def item_labels(ratings, width: int = 30) -> list[str]:
    """One column label per item code: its title (cut to ``width`` characters) or id; a label two
    items share gets its id appended, so every column stays its own."""
    labels = [str(title) if len(str(title)) <= width else str(title)[:width - 1] + "…"
              for title in ratings.item_titles]
    seen = pd.Series(labels).duplicated(keep=False).to_numpy()
    return [f"{label} ({item_id})" if twice else label
            for label, item_id, twice in zip(labels, ratings.item_ids, seen)]


def epoch_sentence(records: list, n_ratings: int) -> str:
    """What One epoch ran: the whole epoch, or the rest of one that Next update had begun."""
    first = records[0].position + 1
    if first == 1 and len(records) == n_ratings:
        return (f"One epoch: {len(records)} updates, one per rating of the epoch's order; the formulas show "
                "the last of them.")
    return (f"Finished epoch {records[-1].epoch}: {len(records)} updates, ratings {first} to {n_ratings} of "
            f"its {n_ratings} (Next update had taken the first {first - 1}); the formulas show the last of them.")


def before_after(old: np.ndarray, new: np.ndarray) -> pd.DataFrame:
    """The before/after/change table of one factor vector."""
    return pd.DataFrame([old, new, new - old], index=["before", "after", "change"],
                        columns=[f"k={k + 1}" for k in range(len(old))]).astype(float)


def change_colours(column: pd.Series) -> list[str]:
    """The cell styles of one column of :func:`before_after`: a changed factor's after and change cells
    green where the value rose and red where it fell."""
    change = column["change"]
    shade = "" if change == 0 else ("background-color: #c8f0c8" if change > 0 else "background-color: #f6c9c9")
    return ["", shade, shade]


def before_after_table(container, old: np.ndarray, new: np.ndarray) -> None:
    """:func:`before_after` as a static table in ``container``, four decimals, changes coloured."""
    safe.table(container, before_after(old, new), formats="{:.4f}", style=change_colours)


def rmse_steps(steps, values) -> go.Figure:
    """The training RMSE after each step (step 0: the initial factors)."""
    figure = go.Figure(go.Scatter(x=list(steps), y=list(values), mode="lines+markers",
                                  marker=dict(size=4), line=dict(color=COLORS[0])))
    figure.update_layout(height=220, margin=dict(t=30, b=30, l=40, r=10), title="training RMSE",
                         xaxis_title="updates", yaxis_title=None)
    return figure


MARKERS = ("circle", "square-open", "diamond", "triangle-up-open", "x", "star")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def schedule_curves(runs: list, x: str) -> go.Figure:
    """Test RMSE of every schedule's run (:class:`~dashboard.server.run_record.Run`, labelled by schedule) against
    ``x`` = "epoch" or "seconds" (cumulative training time). Each curve has its own dash and marker,
    and earlier curves are drawn wider, so a later curve lying on top of one leaves its edges visible.
    The y range runs from the lowest point to the highest first point of the runs that did not
    diverge (all runs when every one did), so a run that blows up leaves the top edge; a run that
    diverged ends in a large x marker pinned to the top edge where it diverged (the epoch after its
    last), labelled "diverged"."""
    figure = go.Figure()
    steady = [run for run in runs if run.status != "diverged"] or runs
    curves = [[r.test_rmse for r in run.history if r.test_rmse is not None and np.isfinite(r.test_rmse)]
              for run in steady]
    drawn = [curve for curve in curves if curve]
    low = min(min(curve) for curve in drawn) if drawn else 0.0
    high = max(max(curve[0], min(curve)) for curve in drawn) if drawn else 1.0
    pad = high - low + 0.01
    top = high + 0.08 * pad
    for number, run in enumerate(runs):
        tested = [r for r in run.history if r.test_rmse is not None]
        elapsed = np.cumsum([r.seconds for r in run.history]).tolist()
        xs = [r.epoch for r in tested] if x == "epoch" else elapsed[:len(tested)]
        color = COLORS[number % len(COLORS)]
        figure.add_trace(go.Scatter(
            x=xs, y=[r.test_rmse for r in tested], mode="lines+markers", name=run.label,
            marker=dict(size=6 + 2 * (len(runs) - 1 - number), symbol=MARKERS[number % len(MARKERS)]),
            line=dict(color=color, width=1.5 + (len(runs) - 1 - number),
                      dash=DASHES[number % len(DASHES)])))
        if run.status == "diverged":
            where = len(run.history) + 1 if x == "epoch" else (elapsed[-1] if elapsed else 0.0)
            figure.add_trace(go.Scatter(
                x=[where], y=[top], mode="markers+text", text=[f"{run.label} diverged"],
                textposition="middle left",
                name=f"{run.label} diverged", showlegend=False, cliponaxis=False,
                marker=dict(size=14, symbol="x", color=color)))
    figure.update_yaxes(range=[low - 0.02 * pad, top])
    figure.update_layout(height=380, xaxis_title="epoch" if x == "epoch" else "training seconds",
                         yaxis_title="test RMSE", margin=dict(t=30, b=40, l=50, r=10),
                         legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return figure


STALE_STEP = 2.0
"""The largest learning rate x ratings-per-row the per-epoch schedule is given by default. Its stale
errors add a row's steps up over the epoch, so it diverges once lr times the most ratings of one
user or item passes about 2 to 3 (measured on 90% training splits, K=32, 10 epochs: the bundled
sample's 862 x 0.002 = 1.7 trains; ML-1M's 3,079 x 0.001 = 3.1 diverges; its cap 2.0 / 3,428 =
0.00058 trains 20 epochs at K=32 and K=100)."""


RACE_STEP_RULE = "constant"
"""The step rule of every schedule in the race: it compares when the error is computed, so each takes
the same kind of step (AdaGrad exists for the per-rating kernels only)."""


def schedule_rates(ratings) -> dict[str, float]:
    """Each schedule's own constant learning rate on ``ratings``: its default (``default_lr``), and for
    per-epoch at most :data:`STALE_STEP` over the most ratings a user or an item has (2 significant
    digits, rounded down), so that a first race does not diverge on data with very busy rows."""
    from mfcore.engines import SCHEDULES
    from mfcore.models.params import default_lr
    busiest = max(np.bincount(ratings.users).max(), np.bincount(ratings.items).max())
    rates = {name: default_lr(name, RACE_STEP_RULE) for name in SCHEDULES}
    cap = STALE_STEP / busiest
    if cap < rates["per-epoch"]:
        digits = -int(np.floor(np.log10(cap))) + 1
        rates["per-epoch"] = float(np.floor(cap * 10 ** digits) / 10 ** digits)
    return rates


def rates_text(rates: dict[str, float]) -> str:
    """``rates`` in a few words: "per-epoch 0.002, the others 0.007"."""
    common = max(set(rates.values()), key=list(rates.values()).count)
    others = [f"{name} {value:g}" for name, value in rates.items() if value != common]
    return ", ".join(others + [f"the others {common:g}" if others else f"all {common:g}"])


def _number(x: float) -> str:
    return f"{x:.4f}"


def _vector(values) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(_number(v) for v in values) + r"\end{bmatrix}"


def update_latex(record: StepRecord) -> list[str]:
    """The step's equations as LaTeX lines with the record's numbers substituted (4 decimals; p_u and
    q_i as column vectors)."""
    r, e, lr, reg = record, record.error, record.lr, record.reg
    dot = float(np.dot(r.p_old.astype(np.float64), r.q_old))
    lines = [
        r"\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i = " + f"{_number(r.mu)} + ({_number(r.bu_old)}) "
        f"+ ({_number(r.bi_old)}) + ({_number(dot)}) = {_number(r.prediction)}",
        r"e_{ui} = r_{ui} - \hat r_{ui} = " + f"{_number(r.rating)} - {_number(r.prediction)} = {_number(e)}",
    ]
    if r.biased:
        for name, old, new in (("b_u", r.bu_old, r.bu_new), ("b_i", r.bi_old, r.bi_new)):
            lines.append(
                f"{name} \\leftarrow {name} + \\gamma (e_{{ui}} - \\lambda {name}) = {_number(old)} + "
                f"{_number(lr)} ({_number(e)} - {_number(reg)} \\cdot ({_number(old)})) = {_number(new)}")
    for name, other, old, other_old, new in (("p_u", "q_i", r.p_old, r.q_old, r.p_new),
                                              ("q_i", "p_u", r.q_old, r.p_old, r.q_new)):
        lines.append(
            f"{name} \\leftarrow {name} + \\gamma (e_{{ui}} {other} - \\lambda {name}) = " + _vector(old)
            + f" + {_number(lr)}" + r"\left(" + _number(e) + _vector(other_old) + f" - {_number(reg)}"
            + _vector(old) + r"\right) = " + _vector(new))
    return lines


def bpr_latex(record) -> list[str]:
    """BPR's pairwise step (:class:`mfcore.teaching.BPRStepRecord`) as LaTeX lines with its numbers
    substituted: the two scores, their difference, the sigmoid and z, then the three factor
    gradients and updates and the two bias updates."""
    r, n = record, _number
    lines = [
        r"\hat x_{ui} = b_i + p_u^\top q_i = " + f"{n(r.bi_old)} + ({n(r.x_ui - r.bi_old)}) = {n(r.x_ui)}",
        r"\hat x_{uj} = b_j + p_u^\top q_j = " + f"{n(r.bj_old)} + ({n(r.x_uj - r.bj_old)}) = {n(r.x_uj)}",
        r"\hat x_{uij} = \hat x_{ui} - \hat x_{uj} = " + f"{n(r.x_ui)} - ({n(r.x_uj)}) = {n(r.x_uij)}",
        r"\sigma(\hat x_{uij}) = \frac{1}{1 + e^{-\hat x_{uij}}} = " + n(r.sigmoid)
        + r", \quad z = 1 - \sigma(\hat x_{uij}) = " + n(r.z)
        + r", \quad -\ln \sigma(\hat x_{uij}) = " + n(r.loss),
        r"g_{p_u} = z (q_i - q_j) - \lambda p_u = " + n(r.z) + r"\left(" + _vector(r.qi_old) + " - "
        + _vector(r.qj_old) + r"\right) - " + n(r.reg) + _vector(r.p_old) + " = " + _vector(r.grad_p),
        r"g_{q_i} = z\, p_u - \lambda q_i = " + n(r.z) + _vector(r.p_old) + f" - {n(r.reg)}" + _vector(r.qi_old)
        + " = " + _vector(r.grad_qi),
        r"g_{q_j} = -z\, p_u - \lambda q_j = -" + n(r.z) + _vector(r.p_old) + f" - {n(r.reg)}"
        + _vector(r.qj_old) + " = " + _vector(r.grad_qj),
    ]
    for name, grad, old, new in (("p_u", r.grad_p, r.p_old, r.p_new), ("q_i", r.grad_qi, r.qi_old, r.qi_new),
                                 ("q_j", r.grad_qj, r.qj_old, r.qj_new)):
        lines.append(f"{name} \\leftarrow {name} + \\gamma\\, g_{{{name}}} = " + _vector(old) + f" + {n(r.lr)}"
                     + _vector(grad) + " = " + _vector(new))
    for name, sign, old, new in (("b_i", "", r.bi_old, r.bi_new), ("b_j", "-", r.bj_old, r.bj_new)):
        lines.append(f"{name} \\leftarrow {name} + \\gamma ({sign}z - \\lambda {name}) = {n(old)} + {n(r.lr)} "
                     f"({sign}{n(r.z)} - {n(r.reg)} \\cdot ({n(old)})) = {n(new)}")
    return lines


def dense_matrix_bytes(n_users: int, n_items: int, itemsize: int) -> int:
    """Bytes of a dense users x items matrix, e.g. the naive loop's matrix of errors (8 for float64)."""
    return int(n_users) * int(n_items) * int(itemsize)


def human_bytes(n: float) -> str:
    """``n`` bytes in decimal units: 12.7 MB, 68.3 GB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def run_status(run) -> str:
    """How a schedule's run ended, for its table row."""
    if run.status == "diverged":
        return f"diverged at epoch {len(run.history) + 1}"
    return "finished" if run.status == "done" else run.status


def schedule_table(runs: list) -> pd.DataFrame:
    """One row per schedule run: epochs done, last and best test RMSE, seconds per epoch (median)
    and in all, and how the run ended."""
    rows = []
    for run in runs:
        history = run.history
        tested = [r.test_rmse for r in history if r.test_rmse is not None]
        rows.append({
            "schedule": run.label, "epochs": len(history),
            "last test RMSE": tested[-1] if tested else np.nan,
            "best test RMSE": min(tested) if tested else np.nan,
            "s/epoch": seconds_per_epoch(run),
            "training s": float(sum(r.seconds for r in history)),
            "status": run_status(run),
        })
    return pd.DataFrame(rows)


def seconds_per_epoch(run) -> float:
    """The median training seconds of the run's epochs (NaN without any)."""
    return float(np.median([r.seconds for r in run.history])) if run.history else np.nan


def schedule_findings(runs: list, n_factors: int) -> list[Markdown]:
    """Plain sentences on what the curves and the table show, generated from them: among the runs that
    finished, the lowest test RMSE after the last epoch they all reached and the time each needed to
    reach a level they all reached; each schedule's cost per epoch against per-rating's; then the runs
    that diverged."""
    finished = {run.label: run for run in runs if run.status == "done"}
    curves = {name: [r for r in run.history if r.test_rmse is not None] for name, run in finished.items()}
    curves = {name: history for name, history in curves.items() if history}
    findings = []
    common = min(len(history) for history in curves.values()) if curves else 0
    if common:
        findings += _ranking(finished, curves, common)
    findings += _costs(runs, n_factors)
    diverged = [run for run in runs if run.status not in ("done", "running")]
    if diverged:
        findings.append(md("**Stability:** {}. Its curve stops where its run stopped (the x marks where it "
                           "diverged).", "; ".join(f"{run.label} {run_status(run)}" for run in diverged)))
    else:
        findings.append(md("**Stability:** no schedule diverged at these learning rates; raise them to "
                           "find where each one breaks."))
    return findings


def _costs(runs: list, n_factors: int) -> list[Markdown]:
    """Each schedule's median seconds per epoch as a multiple of per-rating's."""
    timed = {run.label: seconds_per_epoch(run) for run in runs if run.history}
    base = timed.get("per-rating")
    if not base or len(timed) < 2:
        return []
    parts = []
    for name, seconds in timed.items():
        if name == "per-rating":
            continue
        ratio = seconds / base
        how = (f"{ratio:.2f}x the time" if ratio >= 1.05 else
               f"{1 / ratio:.2f}x less time" if ratio <= 1 / 1.05 else "about the same time")
        parts.append(f"{name} {seconds:.4f} s ({how})")
    text = md("**Cost per epoch** (median, K={}): per-rating {:.4f} s; {}.", n_factors, base, "; ".join(parts))
    if "funk" in timed:
        ratio = base / timed["funk"]
        text += f" Funk's epoch multiplies 1 feature where per-rating's multiplies K={n_factors}; here it is "
        if ratio >= 0.8 * n_factors:
            text += f"{ratio:.1f}x cheaper, close to what the fewer multiplications predict."
        else:
            text += (f"{ratio:.1f}x cheaper, not {n_factors}x" if ratio >= 1 else f"{1 / ratio:.1f}x dearer")
            text += (": every rating still costs reading its user, item and cached residual, and that "
                     "memory traffic, not the multiplications, sets the pace of a compiled epoch.")
    return [text]


def _ranking(runs: dict, curves: dict, common: int) -> list[Markdown]:
    findings = []
    at_common = {name: history[common - 1].test_rmse for name, history in curves.items()}
    ranked = sorted(at_common, key=at_common.get)
    findings.append(md("**Per epoch:** after epoch {}, the lowest test RMSE is **{}** ({:.4f}); the order is {}.",
                       common, ranked[0], at_common[ranked[0]],
                       ", ".join(f"{name} {at_common[name]:.4f}" for name in ranked)))
    level = max(min(r.test_rmse for r in history) for history in curves.values())
    reached = {}
    for name, history in curves.items():
        elapsed = np.cumsum([r.seconds for r in runs[name].history])
        first = next(n for n, r in enumerate(history) if r.test_rmse <= level)
        reached[name] = (float(elapsed[first]), first + 1)
    ranked = sorted(reached, key=lambda name: reached[name][0])
    findings.append(md("**Per second:** every finished run got down to test RMSE {:.4f}; **{}** got there first. "
                       "Training seconds to reach it: {}.", level, ranked[0],
                       ", ".join(f"{name} {reached[name][0]:.3f} s (epoch {reached[name][1]})" for name in ranked)))
    return findings
