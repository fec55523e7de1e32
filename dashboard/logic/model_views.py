"""What the Explore page works on: a fitted model with its training and test ratings and item titles,
taken from a run of this session or from an uploaded model file; and the tables and figures it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mfcore import Ratings, SGDFactorizer, explore
from mfcore.models.persist import ModelBundle, model_bytes

from dashboard.logic import run_driver
from dashboard.server.run_record import model_kind
from dashboard.render import safe

MAP_POINTS = 5000  # the most-rated users or items drawn on a map
SELECT_LIMIT = 20_000  # above it, a search box narrows a selectbox's options
RANKING_USERS = 5000  # ranking metrics on a random sample of at most this many test users
TABLE_FORMATS = {"rating": "{:g}", "μ + b_u + b_i": "{:.3f}", "p_u · q_i": "{:.3f}", "cosine": "{:.3f}",
                 "score": "{:.3f}", "mean rating": "{:.2f}", "ratings": "{:,.0f}"}
"""How Explore's tables write their numbers."""
CLIPPED_MARK = " *"
"""Follows a predicted rating clipped to the rating scale."""
SCROLL_ROWS, SCROLL_HEIGHT = 12, 460
"""A table of more rows scrolls inside a frame this many pixels high (its scroll bar shows)."""


SEEN_KEY = "explore_seen"


def follow_session(dataset_key: str, newest_run: str | None) -> None:
    """Make Explore follow the session: when the dataset changed since Explore last drew, forget the
    model choice and the uploaded model file (they belong to the other data); when a new run was
    trained, pick it. Call before drawing the model choice."""
    seen = st.session_state.get(SEEN_KEY)
    if seen == (dataset_key, newest_run):
        return
    if seen is None or seen[0] != dataset_key:
        for key in ("explore_file", "explore_upload"):
            st.session_state.pop(key, None)
    for key in ("explore_source_kept", "explore_source"):
        st.session_state.pop(key, None)
    st.session_state[SEEN_KEY] = (dataset_key, newest_run)


@dataclass
class Subject:
    """A fitted ``model`` and what Explore shows beside it: the ``train`` ratings (their values are NaN
    when a model file did not bundle them, ``has_values`` False), the ``test`` ratings or None,
    ``info`` (title and genres per item code), ``stats`` (ratings count and mean per item code) and
    the model's ``kind`` (``sgd``: a rating model; ``bpr``, ``als``: a ranking model)."""

    key: str
    label: str
    model: SGDFactorizer
    train: Ratings
    test: Ratings | None
    info: pd.DataFrame
    has_values: bool
    kind: str = "sgd"
    maps: dict = field(default_factory=dict)

    @cached_property
    def titles(self) -> np.ndarray:
        return self.info["title"].to_numpy()

    @cached_property
    def stats(self) -> pd.DataFrame:
        return explore.item_stats(self.train)

    @cached_property
    def counts(self) -> np.ndarray:
        """Training ratings per item code."""
        return self.stats["ratings"].to_numpy()


def remembered(key: str, make) -> Subject:
    """The session's subject for ``key``, made by ``make()`` only when the key changes (splitting a
    large dataset again on every rerun would cost seconds)."""
    kept = st.session_state.get("explore_subject")
    if kept is None or kept[0] != key:
        kept = (key, make())
        st.session_state["explore_subject"] = kept
    return kept[1]


def run_key(run) -> str:
    return f"run-{run.number}-{id(run.model)}-{len(run.history)}"


def run_split(run, ratings: Ratings) -> tuple[Ratings, Ratings]:
    """The train/test split a Train run used: the run driver's split of the same ratings."""
    return run_driver.split(ratings, run.settings)


def from_run(run, ratings: Ratings) -> Subject:
    """The subject of a Train run trained on ``ratings`` (the session's dataset)."""
    train, test = run_split(run, ratings)
    info = explore.item_info(run.model.item_ids_, explore.ratings_items(ratings))
    return Subject(run_key(run), run.label, run.model, train,
                   test if len(test) else None, info, True, model_kind(run.model))


def run_file(run, ratings: Ratings, model: SGDFactorizer | None = None) -> bytes:
    """The model file of a Train run (its ``model``, by default ``run.model``), bundling its training
    and test ratings and the item titles."""
    train, test = run_split(run, ratings)
    return model_bytes(run.model if model is None else model, train, test if len(test) else None,
                       explore.ratings_items(ratings))


def from_bundle(name: str, digest: str, bundle: ModelBundle) -> Subject:
    """The subject of a loaded model file (``digest``: :func:`dashboard.server.store.fingerprint` of its
    bytes); without bundled training ratings, the rated pairs with NaN values stand in for them."""
    model = bundle.model
    train = bundle.train
    if train is None:
        users, items = model.rated_pairs()
        train = Ratings(users=users, items=items, values=np.full(len(users), np.nan, np.float32),
                        user_ids=model.user_ids_, item_ids=model.item_ids_, scale=model.scale_)
    info = explore.item_info(model.item_ids_, bundle.items)
    return Subject(f"file-{digest}", name, model, train, bundle.test, info, bundle.train is not None,
                   model_kind(model))


def pick(container, label: str, codes: np.ndarray, names: np.ndarray, key: str, default: int | None = None):
    """A code chosen by name: a selectbox searchable by typing when there are at most
    ``SELECT_LIMIT`` codes; otherwise a search box and a selectbox of the first 100 names containing
    the text (a selectbox of every one of 100,000s of names would be slow to send). ``names[code]``
    is the name of ``code``; ``default`` the code chosen first. Returns None while nothing matches."""
    if len(codes) <= SELECT_LIMIT:
        index = int(np.flatnonzero(codes == default)[0]) if default in codes else 0
        return container.selectbox(safe.md("{} (type to search)", label), codes,
                                   format_func=lambda code: str(names[code]), index=index, key=key)
    query = container.text_input(safe.md("{}: search ({:,}; type part of the name)", label, len(codes)),
                                 key=f"{key}_query")
    found = codes[pd.Series(names[codes]).astype(str).str.contains(query, case=False, regex=False).to_numpy()]
    if not len(found):
        safe.caption(container, "No name contains {}.", repr(query))
        return None
    return container.selectbox(safe.md("{} ({:,} match; the first 100)", label, len(found)), found[:100],
                               format_func=lambda code: str(names[code]), key=key)


# --- tables -----------------------------------------------------------------------------------------

def _because(subject: Subject, parts: dict) -> str:
    """The rated items nearest to a recommendation, those with a positive cosine only."""
    near = [(code, rating, cosine) for code, rating, cosine in parts["because"] if cosine > 0]
    if not near:
        return "(no rated item points the same way)"
    titles = subject.titles
    if subject.has_values:
        return "; ".join(f"{titles[code]} ({rating:g}★, cos {cosine:.2f})" for code, rating, cosine in near)
    return "; ".join(f"{titles[code]} (cos {cosine:.2f})" for code, _, cosine in near)


def recommendations(subject: Subject, p: np.ndarray, bu: float, rated: np.ndarray,
                    rated_values: np.ndarray, n: int, min_ratings: int = 0) -> pd.DataFrame:
    """Top-``n`` items for factors ``p`` and bias ``bu``, leaving out ``rated`` (codes) and items with
    fewer than ``min_ratings`` training ratings (the minimum support): title, genres, predicted score
    (clipped to the scale), its parts and the explanation."""
    model = subject.model
    scores = explore.recommend_scores(model, p, bu)
    rows = []
    for rank, code in enumerate(explore.top_items(model, scores, rated, n, subject.counts, min_ratings), 1):
        parts = explore.explain(model, p, bu, code, rated, rated_values)
        rows.append({"rank": rank, "title": subject.titles[code], "genres": subject.info["genres"].iat[code],
                     "predicted": float(np.clip(parts["score"], *model.scale_)),
                     "μ + b_u + b_i": parts["mean"] + parts["user_bias"] + parts["item_bias"],
                     "p_u · q_i": parts["dot"], "because you rated": _because(subject, parts)})
    table = pd.DataFrame(rows, columns=["rank", "title", "genres", "predicted", "μ + b_u + b_i", "p_u · q_i",
                                        "because you rated"])
    return _without_empty_genres(subject, table)


def ranked_table(subject: Subject, found: pd.DataFrame) -> pd.DataFrame:
    """A ranking model's ``recommend``/``recommend_new`` rows (``item`` ids, ``score``) with rank, title,
    genres and the items' numbers of training ratings."""
    codes = explore.item_codes(subject.model, found["item"].to_numpy())
    table = pd.DataFrame({"rank": np.arange(1, len(found) + 1), "title": subject.titles[codes],
                          "genres": subject.info["genres"].to_numpy()[codes], "score": found["score"].to_numpy(),
                          "ratings": subject.counts[codes]})
    return _without_empty_genres(subject, table)


def rated_table(subject: Subject, items: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Items (codes) a user rated: rating, title and genres (when the data has them)."""
    table = pd.DataFrame({"rating": values, "title": subject.titles[items],
                          "genres": subject.info["genres"].to_numpy()[items]})
    return _without_empty_genres(subject, table)


def neighbour_table(subject: Subject, similar: pd.DataFrame) -> pd.DataFrame:
    """Title, genres (when the data has them) and cosine of :func:`mfcore.explore.similar_items`'s rows."""
    codes = similar["code"].to_numpy()
    table = pd.DataFrame({"title": subject.titles[codes], "genres": subject.info["genres"].to_numpy()[codes],
                          "cosine": similar["cosine"].to_numpy()})
    return _without_empty_genres(subject, table)


def static_table(container, frame: pd.DataFrame, formats: dict | None = None) -> None:
    """``frame`` as a static table in ``container``, sized to its content: every column as wide as
    its words, long text wraps, nothing is clipped; more than :data:`SCROLL_ROWS` rows scroll in a
    frame of :data:`SCROLL_HEIGHT` pixels."""
    shown = {**TABLE_FORMATS, **(formats or {})}
    safe.table(container.container(height=SCROLL_HEIGHT) if len(frame) > SCROLL_ROWS else container, frame,
               {name: text for name, text in shown.items() if name in frame},
               na_rep="–", hide_index=True)  # a lone "-" renders as a list bullet


def clipped(table: pd.DataFrame, scale: tuple[float, float]) -> np.ndarray:
    """Which rows of :func:`recommendations`' ``table`` have a score outside the rating ``scale``,
    so that their predicted rating is the scale's end."""
    score = (table["μ + b_u + b_i"] + table["p_u · q_i"]).to_numpy()
    return (score < scale[0]) | (score > scale[1])


def recommendation_view(table: pd.DataFrame, scale: tuple[float, float]) -> pd.DataFrame:
    """:func:`recommendations`' ``table`` as the page shows it: each predicted rating to 3 decimals,
    followed by :data:`CLIPPED_MARK` when it was clipped to the scale."""
    view = table.copy()
    view["predicted"] = [f"{value:.3f}{CLIPPED_MARK if mark else ''}"
                         for value, mark in zip(table["predicted"], clipped(table, scale))]
    return view


def clipped_sentence(table: pd.DataFrame, scale: tuple[float, float]) -> str:
    """What the :data:`CLIPPED_MARK` on predicted ratings means, with how many there are; empty when
    none was clipped."""
    marks = clipped(table, scale)
    if not marks.any():
        return ""
    scores = (table["μ + b_u + b_i"] + table["p_u · q_i"]).to_numpy()[marks]
    low, high = (float(v) for v in scale)
    above = scores > high
    beyond = (f"above {high:g} (up to {scores.max():.2f})" if above.all() else
              f"below {low:g} (down to {scores.min():.2f})" if not above.any() else f"outside {low:g} to {high:g}")
    return (f"* {int(marks.sum())} of these {len(table)} predicted ratings are clipped to the rating scale "
            f"({low:g} to {high:g}): the model scores them {beyond}, so the table shows the scale's end; "
            "their order comes from the unclipped scores, μ + b_u + b_i + p_u · q_i.")


def _without_empty_genres(subject: Subject, table: pd.DataFrame) -> pd.DataFrame:
    return table if (subject.info["genres"] != "").any() else table.drop(columns="genres")


def explanation_sentence(table: pd.DataFrame) -> str:
    """How much of the top recommendation's score the biases and the dot product make."""
    if table.empty:
        return "No item is left to recommend."
    top = table.iloc[0]
    return (f"The top recommendation, {top['title']}, scores {top['μ + b_u + b_i'] + top['p_u · q_i']:.2f} "
            f"before clipping: {top['μ + b_u + b_i']:.2f} from the mean and biases and "
            f"{top['p_u · q_i']:+.2f} from the factor dot product.")


# --- maps -------------------------------------------------------------------------------------------

MAP_METHODS = ("PCA", "t-SNE")
"""The map layouts, the first the default: PCA is instant, t-SNE (seconds, cached per model) is asked
for, so opening Explore never waits for it (every tab renders on each run of the page)."""


def map_points(subject: Subject, kind: str, factors: np.ndarray, method: str = "PCA", name: str = "",
               min_ratings: int = 1) -> tuple[np.ndarray, np.ndarray, float]:
    """Codes drawn on the ``kind`` ("items" or "users") map of ``factors`` (rows by code; ``name``
    names the model they come from), their 2-D coordinates and the variance share PCA's two axes keep
    (NaN for t-SNE): the ``MAP_POINTS`` most rated codes for PCA; for t-SNE the ``EMBED_POINTS`` most
    rated among those with at least ``min_ratings`` training ratings (the minimum support: a thinly
    rated item's factors are still mostly their random start, and place it anywhere). Computed once
    per subject, model, kind, method and support (t-SNE takes seconds)."""
    key = (name, kind, method, min_ratings if method == "t-SNE" else 1)
    if key not in subject.maps:
        subject.maps[key] = _map_points(subject, kind, factors, method, key[-1])
    return subject.maps[key]


def _map_points(subject: Subject, kind: str, factors: np.ndarray, method: str, min_ratings: int):
    from mfcore.explore.embed import EMBED_POINTS

    codes = subject.train.items if kind == "items" else subject.train.users
    size = subject.train.n_items if kind == "items" else subject.train.n_users
    counts = np.bincount(codes, minlength=size)
    chosen = np.flatnonzero((counts >= max(min_ratings, 1)) & (np.linalg.norm(factors, axis=1) > 0))
    limit = EMBED_POINTS if method == "t-SNE" else MAP_POINTS
    if len(chosen) > limit:
        chosen = np.sort(chosen[np.argsort(-counts[chosen], kind="stable")[:limit]])
    if method == "t-SNE":
        return chosen, explore.tsne_2d(factors[chosen]), float("nan")
    coords, share = explore.project_2d(factors[chosen])
    return chosen, coords, share


def map_points_sentence(subject: Subject, kind: str, method: str, codes: np.ndarray, support: int) -> str:
    """Which points a map draws, from the numbers."""
    rated = int((np.bincount(subject.train.items if kind == "items" else subject.train.users) > 0).sum())
    if method == "t-SNE" and kind == "items" and support > 1:
        return f"the {len(codes):,} most rated of the items with at least {support} training ratings"
    return f"the {len(codes):,} most rated {kind}" if len(codes) < rated else f"all {len(codes):,} rated {kind}"


SEVERAL = "several"
GENRE_PALETTE = ["#0067A5", "#F38400", "#008856", "#BE0032", "#875692", "#F3C300", "#A1CAF1", "#E68FAC",
                 "#882D17", "#8DB600", "#604E97", "#F99379", "#C2B280", "#B3446C", "#DCD300", "#654522",
                 "#E25822", "#2B3D26", "#F6A600"]
"""A qualitative palette, one colour per genre: Kelly's colours of maximum contrast (1965) less white,
black and grey, strongest first (the commonest genres get them); MovieLens has 18 or 19 genres, so
no two share a colour. The greys are kept for ``several`` genres and ``(none)``."""
GREYS = {SEVERAL: "#c7c7c7", "(none)": "#7f7f7f"}


def colour_values(subject: Subject, kind: str, colour: str, codes: np.ndarray) -> np.ndarray:
    """The value each point is coloured by: ``ratings`` (count), ``mean rating``, or for items
    ``main genre`` (the rarest of an item's genres across all items: Animation for
    Animation|Children's|Comedy, War for Drama|War), ``genre`` (the one genre of a single-genre item,
    :data:`SEVERAL` for more) or ``first genre``."""
    column = subject.train.items if kind == "items" else subject.train.users
    size = subject.train.n_items if kind == "items" else subject.train.n_users
    counts = np.bincount(column, minlength=size)
    if colour == "ratings":
        return counts[codes]
    if colour == "mean rating":
        sums = np.bincount(column, weights=subject.train.values, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts)[codes]
    genres = subject.info["genres"].str.split("|")
    if colour == "main genre":
        frequency = genres.explode().value_counts()
        named = genres.map(lambda names: min(names, key=lambda name: (frequency.get(name, 0), name)))
    else:
        named = genres.str[0].where(genres.str.len() == 1, SEVERAL) if colour == "genre" else genres.str[0]
    return named.replace("", "(none)").to_numpy()[codes]


def genre_colours(values: np.ndarray) -> dict:
    """``{genre: colour}``: the genres of ``values`` by frequency, each its own colour of
    :data:`GENRE_PALETTE` (cycling past 19), greys for several and none."""
    names, counts = np.unique(values, return_counts=True)
    ordered = [name for name in names[np.argsort(-counts, kind="stable")] if name not in GREYS]
    colours = {name: GENRE_PALETTE[n % len(GENRE_PALETTE)] for n, name in enumerate(ordered)}
    return {**colours, **{name: grey for name, grey in GREYS.items() if name in set(names)}}


def map_figure(labels: np.ndarray, coords: np.ndarray, colour: np.ndarray, colour_name: str,
               highlight: list[int], share: float, kind: str, method: str = "PCA", model: str = "") -> go.Figure:
    """Scatter of the 2-D projection with labels and colour values on hover; every point's
    ``customdata`` is its position in ``labels`` (what a selection reports); points at positions
    ``highlight`` are ringed (trace ``selected``), the first one named."""
    figure = go.Figure()
    labels = np.asarray(labels, dtype=object)
    positions = np.arange(len(labels))
    if colour.dtype.kind in "fiu":
        log_scale = colour_name == "ratings"
        shown = np.log10(np.maximum(colour, 1)) if log_scale else colour
        hover = [f"{label}\n{colour_name} {value:.3g}" for label, value in zip(labels, colour)]
        figure.add_trace(go.Scattergl(
            x=coords[:, 0], y=coords[:, 1], mode="markers", text=hover, customdata=positions,
            hovertemplate="%{text}<extra></extra>", showlegend=False,
            marker={"size": 6, "color": shown, "colorscale": "Viridis", "showscale": True, "opacity": 0.75,
                        "colorbar": {"title": "log10 ratings" if log_scale else colour_name}}))
    else:
        for group, hue in genre_colours(colour).items():
            rows = np.flatnonzero(colour == group)
            figure.add_trace(go.Scattergl(x=coords[rows, 0], y=coords[rows, 1], mode="markers",
                                          name=f"{group} ({len(rows)})", text=labels[rows],
                                          customdata=rows,
                                          hovertemplate="%{text}<extra>" + group + "</extra>",
                                          marker={"size": 6, "opacity": 0.8, "color": hue}))
    if highlight:
        names = labels[highlight]
        figure.add_trace(go.Scatter(x=coords[highlight, 0], y=coords[highlight, 1], mode="markers+text",
                                    text=[names[0]] + [""] * (len(names) - 1), hovertext=names,
                                    textposition="top center", name="selected", showlegend=False,
                                    customdata=positions[highlight], hoverinfo="text",
                                    marker={"size": 14, "color": "rgba(0,0,0,0)",
                                            "line": {"color": "crimson", "width": 2}}))
    whose = f"{model}: " if model else ""
    if method == "t-SNE":
        title = f"{whose}{kind[:-1]} factors, t-SNE: nearby points are neighbours by cosine (axes have no meaning)"
        axes = {"xaxis_title": "t-SNE 1", "yaxis_title": "t-SNE 2"}
    else:
        title = f"{whose}{kind[:-1]} factors, PCA: the two axes keep {share:.0%} of the variance"
        axes = {"xaxis_title": "first principal axis", "yaxis_title": "second principal axis"}
    figure.update_layout(height=620, legend={"orientation": "v", "x": 1.02, "y": 1, "itemsizing": "constant"},
                         margin={"t": 40, "b": 40, "l": 40, "r": 20}, title=title[0].upper() + title[1:], **axes)
    return figure


def nearest_users(model: SGDFactorizer, user: int, n: int = 10) -> pd.DataFrame:
    """The ``n`` users nearest to user code ``user`` by cosine of user factors."""
    norms = np.linalg.norm(model.P_, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = (model.P_ @ model.P_[user]) / (norms * norms[user])
    cosine = np.where(norms > 0, cosine, -np.inf)
    cosine[user] = -np.inf
    n = int(min(n, np.isfinite(cosine).sum()))
    top = np.argsort(-cosine, kind="stable")[:n]
    return pd.DataFrame({"user": model.user_ids_[top], "cosine": cosine[top]})
