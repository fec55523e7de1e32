"""What the Explore page works on: a fitted model with its training and test ratings and item titles,
taken from a run of this session or from an uploaded model file; and the tables and figures it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import streamlit as st

from mfcore import Ratings, SGDFactorizer, explore
from mfcore.models.persist import ModelBundle, model_bytes

from dashboard.logic import run_driver
from dashboard.server.run_record import model_kind
from dashboard.render import safe

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
