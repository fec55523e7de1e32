"""Explore's ranking metrics on new users: the new-user ("strong generalization") protocol of
:mod:`mfcore.evaluation.newuser` beside the standard one, for the ranking models of the page.

The standard protocol ranks the test ratings of users the models trained on. A visitor of "Your
ratings" is someone else: a user the models never saw, folded in from a few ratings. So a seeded
:data:`USER_SHARE` of the subject's training users is held out entirely; every ranking model of the
page (the same class and settings) and popularity are fitted again on the other users' ratings, as
one job of the shared scheduler after each model's memory guard; each held-out user is folded in from
:data:`FOLD_IN` of their positives and their other positives are the relevant items. The rating
model is left out: its fold-in needs each rating's value, the protocol gives positives only.

The fitted models live in the session for the current subject and its set of ranking models
(``explore_new_users``); their NDCG@k and recall@k are computed for the page's k.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mfcore.evaluation.newuser import evaluate_new_users, new_user_split
from mfcore.evaluation.resources import MemoryGuardError
from mfcore.explore.compare import POPULARITY
from mfcore.models.sgd import SGDFactorizer

from dashboard.logic import long_work, run_driver, settings
from dashboard.logic import ranking_views as rank
from dashboard.render.texts import Markdown, md
from dashboard.server import jobs
from dashboard.server.run_record import is_closed_form

KEY = "explore_new_users"
USER_SHARE = 0.1
"""The share of the subject's training users held out as new users."""
FOLD_IN = 0.8
"""The share of each new user's positives the models are told; the rest are the relevant items."""
SEED = 0
STANDARD, NEW_USERS = "standard: test ratings of known users", "new users: folded in"


def ranking_models(subject) -> dict:
    """``{name: model}``: the page's models that the protocol measures (every one but a rating model)."""
    return {name: model for name, model in rank.all_models(subject).items() if not isinstance(model, SGDFactorizer)}


def _key(subject) -> tuple:
    return subject.key, tuple(sorted((name, id(model)) for name, model in ranking_models(subject).items()))


def measured(subject) -> dict | None:
    """``{"split": NewUserSplit, "models": {name: model fitted on its training users}}`` for the page's
    current models, or None when they have not been measured on new users yet."""
    kept = st.session_state.get(KEY)
    return kept[1] if kept is not None and kept[0] == _key(subject) else None


def estimated_seconds(subject) -> float:
    """Estimated seconds of :func:`measure`: every model's fit on about ``1 - USER_SHARE`` of the ratings."""
    n_train = int(len(subject.train) * (1 - USER_SHARE))
    total = 0.0
    for model in ranking_models(subject).values():
        if is_closed_form(model):
            total += long_work.closed_form_seconds(model.KIND, subject.train.n_items)
        else:
            total += long_work.ranking_seconds(model.KIND, n_train, model.n_epochs, model.n_factors)
    return total


def measure(subject, progress) -> str | None:
    """Hold out the new users and fit every ranking model again on the others (one job, one model
    after another, each after its memory guard), drawing ``progress(fraction, text)``; keeps the
    fitted models for :func:`table`. Returns None, or the sentence saying why not (text)."""
    split = new_user_split(subject.train, USER_SHARE, FOLD_IN, seed=SEED)
    fresh = {name: type(model)(**model.get_params()) for name, model in ranking_models(subject).items()}
    try:
        for model in fresh.values():
            run_driver.check_memory(split.train, getattr(model, "n_factors", 0), 0.0, model=model, eval_users=0)
    except (MemoryGuardError, ValueError) as exc:
        return f"Not measured on new users: {settings.form_words(exc)}"

    def steps(job):
        for name, model in fresh.items():
            model.fit(split.train)
            yield name

    job = jobs.submit(steps, "new users for Explore", engines=("numba",), n_threads=1, n_ratings=len(split.train))
    names = list(fresh)

    def poll(job: jobs.Job) -> None:
        done = len(job.results)
        progress(done / max(len(names), 1),
                 job.status_line() if job.state == jobs.QUEUED else
                 job.status_line(f"fitting {names[min(done, len(names) - 1)]} on the other users "
                                 f"({done} of {len(names)} done)"))

    jobs.follow(job, poll)
    if job.state == jobs.DONE:
        st.session_state[KEY] = (_key(subject), {"split": split, "models": fresh})
        return None
    return rank.ended_sentence(job, "Not measured on new users", "model")


def table(subject, found: dict, k: int = 10, recall_k: int = 20) -> pd.DataFrame:
    """One row per fitted model of ``found`` (:func:`measured`) and popularity: NDCG@``k`` and
    recall@``recall_k`` of the held-out users, and their lists' popular and genre shares
    (:func:`mfcore.evaluation.newuser.evaluate_new_users`). Computed once per ``k`` and ``recall_k``
    and kept in ``found``: the page runs again on every widget change."""
    tables = found.setdefault("tables", {})
    if (k, recall_k) not in tables:
        split = found["split"]
        genres = rank.subject_genres(subject)
        rows = []
        counts = np.bincount(split.train.items, minlength=split.train.n_items).astype(np.float64)
        scorers = {**found["models"], POPULARITY: lambda positives: np.tile(counts, (len(positives), 1))}
        for name, scorer in scorers.items():
            result = evaluate_new_users(scorer, split, None if genres is None else genres.to_numpy(), k, recall_k)
            rows.append({"model": name, **result})
        tables[(k, recall_k)] = pd.DataFrame(rows)
    return tables[(k, recall_k)]


def figure(standard: pd.DataFrame, new_users: pd.DataFrame, k: int) -> go.Figure:
    """NDCG@``k`` of every model under both protocols, side by side: the standard protocol's
    (``standard``: :func:`dashboard.logic.ranking_views.metrics_table`) and the new users'."""
    names = list(new_users["model"])
    known = dict(zip(standard["model"], standard["ndcg"]))
    fresh = dict(zip(new_users["model"], new_users["ndcg"]))
    figure = go.Figure()
    for protocol, values, colour in ((STANDARD, known, "#1f77b4"), (NEW_USERS, fresh, "#ff7f0e")):
        heights = [values.get(name, np.nan) for name in names]
        figure.add_trace(go.Bar(x=names, y=heights, name=protocol, marker={"color": colour},
                                text=[f"{value:.3f}" for value in heights], textposition="outside",
                                hovertemplate=protocol + ", %{x}: %{y:.4f}<extra></extra>"))
    figure.update_layout(barmode="group", height=420, yaxis_title=f"NDCG@{k}",
                         title=f"NDCG@{k}: users the models trained on vs new users folded in (higher is better)",
                         margin={"t": 60, "b": 40, "l": 50, "r": 20}, legend={"orientation": "h", "y": -0.15})
    return figure


def reading(standard: pd.DataFrame, new_users: pd.DataFrame, k: int) -> Markdown:
    """Which model ranks best for new users, and how each one's NDCG@``k`` moves from the standard
    protocol to new users, read from the numbers (:class:`Markdown`: the values are shown as text)."""
    known = dict(zip(standard["model"], standard["ndcg"]))
    rows = [row for row in new_users.itertuples() if np.isfinite(row.ndcg)]
    if not rows:
        return md("No held-out user has a positive left to find, so there is nothing to rank.")
    best = max(rows, key=lambda row: row.ndcg)
    moves = "; ".join(f"{row.model} {known[row.model]:.3f} → {row.ndcg:.3f}" for row in rows if row.model in known)
    return md("For new users, **{} ranks best**: NDCG@{} {:.3f} on {:,} held-out users. From known users to new "
              "ones: {}.", best.model, k, best.ndcg, best.users, moves)


def caption(found: dict, k: int) -> str:
    """How the new users were measured, with the split's numbers."""
    split = found["split"]
    return (f"New users: {len(split.users):,} of the training users ({USER_SHARE:.0%}, seed {SEED}) held out "
            f"entirely; every model above was fitted again, with its settings, on the other "
            f"{len(np.unique(split.train.users)):,} users' ratings; each new user is folded in from "
            f"{FOLD_IN:.0%} of their positives, and the other {1 - FOLD_IN:.0%} are ranked among every item they "
            f"did not rate (NDCG@{k}). The rating model is left out: its fold-in needs each rating's value.")
