"""Explore's ranking side: BPR, ALS, EASE and item-kNN trained on the explored model's own training
ratings (as jobs of the shared scheduler, after the memory guard), their top-10 beside the rating
model's and popularity's with the two numbers a student reads off each list and the reading of which
one personalises most, the minimum support of the rating model's lists, and the top-N metrics as a bar
chart.

The ranking models live in the session beside the subject (``explore_ranking_models``), for the
current subject only: a new run or model file starts without them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mfcore import ALSFactorizer, BPRFactorizer, explore
from mfcore.evaluation.newuser import POPULAR_ITEMS
from mfcore.evaluation.topn import scale_threshold
from mfcore.models.ranking import positive_mask
from mfcore.evaluation.resources import MemoryGuardError
from mfcore.explore.compare import METRIC_NAMES, POPULARITY
from mfcore.models.neighbors import EASE, ItemKNN
from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS, EASE_PARAMETERS, ITEMKNN_PARAMETERS

from mfcore.models.base import is_fitted

from dashboard.server import jobs
from dashboard.logic import run_driver
from dashboard.server.run_record import KIND_NAMES, is_closed_form
from dashboard.logic import long_work
from dashboard.logic import settings
from dashboard.render.texts import Markdown, md, positives

RATING = "rating model"
KINDS = {"BPR": (BPRFactorizer, BPR_PARAMETERS), "ALS": (ALSFactorizer, ALS_PARAMETERS),
         "EASE": (EASE, EASE_PARAMETERS), "item-kNN": (ItemKNN, ITEMKNN_PARAMETERS)}
"""The ranking models Explore trains, with their parameter tables (named as the runs table names them)."""
FORM_FIELDS = {"BPR": ("n_factors", "n_epochs"), "ALS": ("n_factors", "n_epochs"), "EASE": ("reg",),
               "item-kNN": ("n_neighbors", "shrinkage")}
"""The parameters Explore's training form shows per model; the others keep the table's defaults."""
ONE_STEP = tuple(name for name, (model_class, _) in KINDS.items() if model_class.KIND in settings.ITEM_KINDS)
"""The models of :data:`KINDS` fitted in one step, without epochs."""
FORM_LABELS = {name: settings.LABELS[name] for fields in FORM_FIELDS.values() for name in fields}
KEY = "explore_ranking_models"
METRIC_USERS = 2000  # top-N metrics on a seeded sample of at most this many test users
MODEL_COLOURS = {RATING: "#1f77b4", "BPR": "#ff7f0e", "ALS": "#2ca02c", "EASE": "#d62728", "item-kNN": "#8c564b",
                 POPULARITY: "#7f7f7f", "random": "#c7c7c7"}


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
    """The subject's own model first, then the ranking models trained for ``subject`` in :data:`KINDS`
    order (however they came: trained here or joined from Train)."""
    kept = models(subject)
    return {subject_name(subject): subject.model, **{name: kept[name] for name in KINDS if name in kept}}


def factor_models(subject) -> dict:
    """:func:`all_models` that have item factors (the item-item models have none): what the lists,
    similar items and maps of one model can show."""
    return {name: model for name, model in all_models(subject).items() if not is_closed_form(model)}


def join_train_runs(subject, run, all_runs) -> list[tuple[str, dict]]:
    """Ranking runs of the Train page that split the same dataset the same way as ``run`` (the
    subject's run: same test size and seed, so the same training ratings) join the subject's
    ranking models (the newest of each kind, unless one was trained here; never ``run`` itself).
    Returns ``[(kind, params)]`` of the one-step runs (EASE, item-kNN) whose model the session does
    not hold: the page fits them again with :func:`train` (one step, the same model), as a factor
    model's run is not (its epochs cost more)."""
    kept, pending = models(subject), []
    for other in reversed(all_runs):
        if other is run:
            continue
        same_split = all(other.settings.get(name) == run.settings.get(name) for name in ("test_size", "seed"))
        name = KIND_NAMES[other.kind] if other.ranking else None
        if (name not in KINDS or name in kept or name in dict(pending) or not same_split
                or other.dataset != run.dataset or other.status == "running"):
            continue
        if is_fitted(other.model):
            kept[name] = other.model
        elif other.needs_refit and other.closed_form:
            pending.append((name, {key: value for key, value in other.model.get_params().items()
                                   if key in FORM_FIELDS[name] or key in ("positive_level", "seed")}))
    return pending


def estimated_seconds(subject, kind: str, params: dict) -> float:
    """Estimated seconds of :func:`train` of ``kind`` with ``params`` on ``subject.train``."""
    model_class, _ = KINDS[kind]
    if model_class.KIND in settings.ITEM_KINDS:
        return long_work.closed_form_seconds(model_class.KIND, subject.train.n_items)
    return long_work.ranking_seconds(model_class.KIND, len(subject.train), int(params["n_epochs"]),
                                     int(params["n_factors"]))


def train(subject, kind: str, params: dict, progress) -> str | None:
    """Train a ``kind`` ranking model with ``params`` (table defaults for the rest, one thread) on
    ``subject.train`` as a job of the shared scheduler, drawing ``progress(fraction, text)`` while it
    runs; keeps it for the subject. Returns None, or the sentence saying why there is no model (text,
    which the page shows escaped)."""
    cls, table = KINDS[kind]
    model = cls(**{**params, **{name: value for name, value in settings.RANKING_FIXED.items() if name in table}})
    steps_planned = 1 if is_closed_form(model) else model.n_epochs
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
        progress(job.fraction(done, steps_planned, seconds),
                 job.status_line() if job.state == jobs.QUEUED
                 else job.status_line(f"{kind}: fitting in one step" if is_closed_form(model)
                                      else f"{kind}: epoch {min(done + 1, model.n_epochs)}/{model.n_epochs}"))

    jobs.follow(job, poll)
    if job.state == jobs.DONE:
        models(subject)[kind] = model
        return None
    return ended_sentence(job, f"{kind} was not trained", one_step=is_closed_form(model))


def ended_sentence(job: jobs.Job, heading: str, unit: str = "epoch", one_step: bool = False) -> str:
    """``heading`` and why ``job`` ended without its result: the failure in the form's words, or how
    it stopped after its last ``unit`` (or before the ``one_step`` of an item-item model)."""
    if job.state == jobs.FAILED:
        return f"{heading}: {settings.form_words(jobs.failure(job))}."
    return f"{heading}: it {jobs.end_sentence(job, len(job.results), unit, one_step)}."


def field_range(param) -> tuple:
    """``(low, high, default, step)`` of a number table parameter's widget (ints for an integer one)."""
    low, high = param.widget_range
    if param.kind is int:
        return int(max(low or 1, 1)), int(high), int(param.default), 1
    return float(low or 0.0), float(high), float(param.default), float(param.step or 1.0)


def model_caption(kind: str, model) -> str:
    """What a ranking model trained for Explore is: its size (K and epochs, or its one step), time and
    positives."""
    if is_closed_form(model):
        shape = ", ".join(f"{settings.LABELS[name]} {model.get_params()[name]:g}" for name in FORM_FIELDS[kind])
        size = f"{shape}, one step (no epochs)"
    else:
        size = f"K = {model.n_factors}, {len(model.history_)} epochs"
    return (f"{kind}: {size}, {model.fit_seconds_:.1f} s, "
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


# --- the two numbers of every list, and which list is most the user's own ---------------------------

POPULAR_COLUMN = f"among the {POPULAR_ITEMS} most-rated"
GENRE_COLUMN = "sharing a genre with the liked items"


def subject_genres(subject):
    """One ``"A|B"`` genre string per item code, or None when the data names no genre."""
    genres = subject.info.get("genres")
    return genres if genres is not None and (genres.fillna("") != "").any() else None


def user_positives(subject, user: int) -> np.ndarray:
    """Item codes of user code ``user``'s training positives (ratings at or above the scale's positive
    threshold; every rated item when the ratings have no values)."""
    rows = np.flatnonzero(subject.train.users == user)
    values = subject.train.values[rows]
    keep = positive_mask(values, scale_threshold(subject.train)) if subject.has_values else np.ones(len(rows), bool)
    return subject.train.items[rows[keep]]


def liked_codes(subject, ratings: dict) -> np.ndarray:
    """Item codes of a visitor's ``ratings`` (``{item code: rating}``) at or above the scale's positive
    threshold: the items they told the models they like."""
    codes = np.array(list(ratings), np.int64)
    values = np.array(list(ratings.values()), np.float32)
    return codes[positive_mask(values, scale_threshold(subject.train))]


def numbers_caption(numbers: pd.DataFrame, has_genres: bool) -> str:
    """What the two numbers under the lists count (``has_genres``: the data names item genres)."""
    compared = numbers["genre"].notna().any()
    return (f"Under the lists: how many of each list's items are among the {POPULAR_ITEMS} items with the most "
            "training ratings (a list made of them is the popularity chart, the same for everyone)"
            + ("; and how many share at least one genre with the items you rated as positives." if compared else
               "; no item you rated is a positive yet, so no list is compared by genre." if has_genres else "."))


def list_numbers(subject, lists: dict, known) -> pd.DataFrame:
    """:func:`mfcore.explore.list_numbers` of ``lists`` (``known``: the item codes of the user's
    positives) on the subject's training ratings and genres."""
    return explore.list_numbers(lists, subject.train, known, subject_genres(subject))


def numbers_table(numbers: pd.DataFrame) -> pd.DataFrame:
    """:func:`list_numbers` as the page shows it, one row per list: "2 of 10" among the most-rated and
    sharing a genre (that column only when genres are known)."""
    table = pd.DataFrame({"list": numbers["model"],
                          POPULAR_COLUMN: [f"{p} of {n}" for p, n in zip(numbers["popular"], numbers["length"])]})
    if numbers["genre"].notna().any():
        table[GENRE_COLUMN] = [f"{g:.0f} of {n}" if np.isfinite(g) else "–"
                               for g, n in zip(numbers["genre"], numbers["length"])]
    return table


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def personal_reading(numbers: pd.DataFrame, whose: str, liked: str) -> Markdown:
    """Which model's list is most ``whose`` (e.g. "you"), read from :func:`list_numbers`: with genres,
    the highest count sharing a genre with ``liked`` (e.g. "the items you rated 4 or more") minus the
    count among the most-rated items; without, the fewest among the most-rated. Every model's numbers
    follow, then popularity's as the reference (:class:`Markdown`: the values are shown as text)."""
    models = numbers[(numbers["model"] != POPULARITY) & (numbers["length"] > 0)]
    if models.empty:
        return md("")
    popular = numbers[numbers["model"] == POPULARITY]
    with_genres = models["genre"].notna().all()
    if with_genres:
        score = models["genre"] - models["popular"]
        best = models[score == score.max()]
        parts = [f"{row.model} {row.genre:.0f} − {row.popular} = {row.genre - row.popular:+.0f}"
                 for row in models.itertuples()]
        head = best.iloc[0]
        names = list(best["model"])
        verb = "personalises" if len(names) == 1 else "personalise"
        text = (md("**{} {} most for {}**", _names(names), verb, whose) + (" (tied)" if len(names) > 1 else "")
                + f": {head.genre:.0f} of {'its' if len(names) == 1 else 'the'} {head.length} share a genre with "
                f"{liked} and {head.popular} are among the {POPULAR_ITEMS} most-rated items, the largest difference "
                f"(sharing a genre − most-rated: {'; '.join(parts)}).")
        if not popular.empty:
            row = popular.iloc[0]
            shared = f"{row.genre:.0f}" if np.isfinite(row.genre) else "–"
            text += f" Popularity's own list: {shared} and {row.popular} of {row.length}."
        return text
    fewest = models[models["popular"] == models["popular"].min()]
    names = list(fewest["model"])
    head = fewest.iloc[0]
    verb = "personalises" if len(names) == 1 else "personalise"
    parts = [f"{row.model} {row.popular}" for row in models.itertuples()]
    text = (md("**{} {} most for {}**", _names(names), verb, whose) + f": {head.popular} of {head.length} among the "
            f"{POPULAR_ITEMS} most-rated items, the fewest (most-rated items per list: {'; '.join(parts)}).")
    if not popular.empty:
        text += f" Popularity's own list: {popular.iloc[0].popular} of {popular.iloc[0].length}."
    return text


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
