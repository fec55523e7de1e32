"""Explore's ranking side: BPR and ALS trained on the explored model's own training ratings (as jobs
of the shared scheduler, after the memory guard), their top-10 beside the rating model's and
popularity's, the minimum support of the rating model's lists, and the top-N metrics as a bar chart.

The ranking models live in the session beside the subject (``explore_ranking_models``), for the
current subject only: a new run or model file starts without them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mfcore import ALSFactorizer, BPRFactorizer, explore
from mfcore.evaluation.resources import MemoryGuardError
from mfcore.explore.compare import METRIC_NAMES, POPULARITY
from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS

from mfcore.models.base import is_fitted

from dashboard.server import jobs
from dashboard.logic import run_driver
from dashboard.server.run_record import KIND_NAMES
from dashboard.logic import long_work
from dashboard.logic import settings
from dashboard.render.texts import positives

RATING = "rating model"
KINDS = {"BPR": (BPRFactorizer, BPR_PARAMETERS), "ALS": (ALSFactorizer, ALS_PARAMETERS)}
"""The ranking models Explore trains, with their parameter tables."""
FORM_FIELDS = ("n_factors", "n_epochs")
"""The parameters Explore's training form shows; the others keep the table's defaults."""
FORM_LABELS = {name: settings.LABELS[name] for name in FORM_FIELDS}
KEY = "explore_ranking_models"
METRIC_USERS = 2000  # top-N metrics on a seeded sample of at most this many test users
MODEL_COLOURS = {RATING: "#1f77b4", "BPR": "#ff7f0e", "ALS": "#2ca02c", POPULARITY: "#7f7f7f",
                 "random": "#c7c7c7"}


def models(subject) -> dict:
    """``{kind: fitted ranking model}`` trained for ``subject`` in this session (forgotten when the
    subject changes)."""
    kept = st.session_state.get(KEY)
    if kept is None or kept[0] != subject.key:
        kept = (subject.key, {})
        st.session_state[KEY] = kept
    return kept[1]


def subject_name(subject) -> str:
    """How lists and tables name the subject's own model: :data:`RATING` for a rating model, else its
    kind and label (e.g. "BPR (run 2)"), apart from the ranking models trained beside it."""
    return RATING if subject.kind == "sgd" else f"{KIND_NAMES[subject.kind]} ({subject.label})"


def all_models(subject) -> dict:
    """The subject's own model first, then the ranking models trained for ``subject``."""
    return {subject_name(subject): subject.model, **models(subject)}


def join_train_runs(subject, run, all_runs) -> None:
    """Ranking runs of the Train page that split the same dataset the same way as ``run`` (the
    subject's run: same test size and seed, so the same training ratings) join the subject's
    ranking models (the newest of each kind, unless one was trained here; never ``run`` itself)."""
    kept = models(subject)
    for other in reversed(all_runs):
        if other is run:
            continue
        same_split = all(other.settings.get(name) == run.settings.get(name) for name in ("test_size", "seed"))
        name = KIND_NAMES[other.kind] if other.ranking else None
        if (name in KINDS and name not in kept and same_split and other.dataset == run.dataset
                and other.status != "running" and is_fitted(other.model)):
            kept[name] = other.model


def estimated_seconds(subject, kind: str, params: dict) -> float:
    """Estimated seconds of :func:`train` of ``kind`` with ``params`` on ``subject.train``."""
    return long_work.ranking_seconds(kind.lower(), len(subject.train), int(params["n_epochs"]),
                                     int(params["n_factors"]))


def train(subject, kind: str, params: dict, progress) -> str | None:
    """Train a ``kind`` ranking model with ``params`` (table defaults for the rest, one thread) on
    ``subject.train`` as a job of the shared scheduler, drawing ``progress(fraction, text)`` while it
    runs; keeps it for the subject. Returns None, or the sentence saying why there is no model (text,
    which the page shows escaped)."""
    cls, _ = KINDS[kind]
    model = cls(**{**params, "n_threads": 1})
    try:
        model.validate_params()
        run_driver.check_memory(subject.train, model.n_factors, 0.0, model=model, eval_users=0)
    except (MemoryGuardError, ValueError) as exc:
        return f"{kind} was not trained: {settings.form_words(exc)}"

    def steps(job):
        yield from model.fit_iter(subject.train)

    job = jobs.submit(steps, f"{kind} for Explore", engines=("numba",), n_threads=1,
                      n_ratings=len(subject.train))

    def poll(job: jobs.Job) -> None:
        done = len(job.results)
        seconds = job.results[-1].seconds if job.results else None
        progress(job.fraction(done, model.n_epochs, seconds),
                 job.status_line() if job.state == jobs.QUEUED
                 else job.status_line(f"{kind}: epoch {min(done + 1, model.n_epochs)}/{model.n_epochs}"))

    jobs.follow(job, poll)
    if job.state == jobs.DONE:
        models(subject)[kind] = model
        return None
    if job.state == jobs.FAILED:
        return f"{kind} was not trained: {settings.form_words(jobs.failure(job))}."
    return f"{kind} was not trained: it {jobs.end_sentence(job, len(job.results))}."


def field_range(param) -> tuple[int, int, int]:
    """``(low, high, default)`` of an integer table parameter's widget."""
    low, high = param.widget_range
    return int(max(low or 1, 1)), int(high), int(param.default)


def model_caption(kind: str, model) -> str:
    return (f"{kind}: K = {model.n_factors}, {len(model.history_)} epochs, {model.fit_seconds_:.1f} s, "
            f"{model.n_positives_:,} positives ({positives(model.scale_, model.positive_level)}).")


# --- the minimum support ------------------------------------------------------------------------------

def default_support(subject) -> int:
    return explore.min_support(subject.counts)


def support_sentence(subject, support: int) -> str:
    """What the minimum support does on this subject, from its numbers."""
    summary = explore.support_summary(subject.counts, support)
    rule = (f"the mean number of training ratings per item, {default_support(subject)}"
            if support == default_support(subject) else f"set here; the rule's default is {default_support(subject)}")
    if support <= 1:
        return "Minimum support off: the rating model's lists may show items with a single training rating."
    return (f"Minimum support {support} ratings ({rule}): the rating model's Recommendations, Similar items, "
            f"Your ratings and side-by-side lists leave out items with fewer training ratings, whose "
            f"biases rest on too few ratings to trust. It hides {summary.hidden:,} of "
            f"{summary.hidden + summary.kept:,} rated items; the {summary.kept:,} it keeps hold "
            f"{summary.share_kept:.0%} of the ratings. Ranking models and popularity are not filtered.")


# --- side by side --------------------------------------------------------------------------------

def side_by_side(subject, lists: dict) -> pd.DataFrame:
    """One column per model (and popularity) of ``lists`` (``{name: item codes}``), one row per rank:
    each item's title with its number of training ratings. The page shows it as a static table
    (``safe.table``), which wraps long titles instead of truncating them, so four lists read in full."""
    n = max((len(codes) for codes in lists.values()), default=0)
    table = {"rank": np.arange(1, n + 1)}
    for name, codes in lists.items():
        cells = [f"{subject.titles[code]} ({subject.counts[code]:,})" for code in codes]
        table[name] = cells + [""] * (n - len(cells))
    return pd.DataFrame(table)


def overlap_sentence(lists: dict) -> str:
    """How many items each model's list shares with popularity's (generated from the lists)."""
    popular = set(lists.get(POPULARITY, ()))
    parts = [f"{name} {len(set(codes) & popular)}" for name, codes in lists.items()
             if name != POPULARITY]
    return (f"Items shared with popularity's top {len(popular)}: {', '.join(parts)}. In brackets: each "
            "item's number of training ratings.")


# --- metrics ------------------------------------------------------------------------------------

def metrics_table(subject, support: int, k: int = 10) -> pd.DataFrame:
    """:func:`mfcore.explore.topn_comparison` of the subject's models, cached per subject, models and k."""
    ranking = models(subject)
    cache = st.session_state.setdefault("explore_topn", {})
    key = (subject.key, tuple(sorted((name, id(model)) for name, model in ranking.items())), support, k)
    if key not in cache:
        cache.clear()
        cache[key] = explore.topn_comparison(all_models(subject), subject.train, subject.test, k,
                                             max_users=METRIC_USERS, min_ratings=support)
    return cache[key]


def metric_formats(k: int = 10) -> dict:
    """Number formats of :func:`display_metrics`' columns."""
    return {**{name: "{:.4f}" for name in (f"precision@{k}", f"recall@{k}", f"NDCG@{k}", f"MAP@{k}", "coverage")},
            "mean popularity of the list": "{:.1f}", "users": "{:,.0f}"}


def display_metrics(table: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """:func:`metrics_table` as the page shows it: metric names with their k, no ``eligible``."""
    names = {"precision": f"precision@{k}", "recall": f"recall@{k}", "ndcg": f"NDCG@{k}", "map": f"MAP@{k}",
             "popularity": "mean popularity of the list"}
    return table.drop(columns="eligible").rename(columns=names)


def _colour(name: str) -> str:
    return MODEL_COLOURS.get(name.split(",")[0] if name.startswith(RATING) else name, "#9467bd")


def metrics_figure(table: pd.DataFrame, k: int = 10) -> go.Figure:
    """Grouped bars: NDCG, recall, precision and MAP at ``k`` for every row of ``table``."""
    names = list(METRIC_NAMES)
    labels = [f"{METRIC_NAMES[name]}@{k}" for name in names]
    figure = go.Figure()
    for _, row in table.iterrows():
        filtered = "," in row["model"]
        figure.add_trace(go.Bar(
            x=labels, y=[row[name] for name in names], name=row["model"],
            marker={"color": _colour(row["model"]), "pattern": {"shape": "/" if filtered else ""}},
            text=[f"{row[name]:.3f}" for name in names], textposition="outside",
            hovertemplate=row["model"] + ": %{y:.4f}<extra></extra>"))
    figure.update_layout(barmode="group", height=460, title=f"Top-{k} quality on the test ratings (higher is better)",
                         yaxis_title="score", margin={"t": 60, "b": 40, "l": 50, "r": 20},
                         legend={"orientation": "h", "y": -0.12}, uniformtext={"minsize": 8, "mode": "hide"})
    return figure
