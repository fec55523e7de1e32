"""Explore's map: which model's factors it draws (the one whose item factors put the most genre
together, measured), the points, their colours, the figure, and the sentences that say how much
genre the map shows, from numbers computed on the map itself (:mod:`mfcore.explore.embed`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from mfcore import explore
from mfcore.explore import embed


MAP_POINTS = 5000  # the most-rated users or items drawn on a PCA map
MAP_METHODS = ("PCA", "t-SNE")
"""The map layouts, the first the default: PCA is instant, t-SNE (seconds, cached per model) is asked
for, so opening Explore never waits for it (every tab renders on each run of the page)."""
MAIN_GENRE = "main genre"
GENRE_PALETTE = (("blue", "#0072B2"), ("orange", "#E69F00"), ("green", "#009E73"), ("vermilion", "#D55E00"),
                 ("sky blue", "#56B4E9"), ("purple", "#7B3294"), ("yellow", "#F0E442"), ("pink", "#CC79A7"),
                 ("brown", "#8C510A"), ("black", "#000000"))
"""Ten named colours a reader tells apart (Okabe and Ito's colour-blind-safe palette with brown and
purple added; one red-like hue only), for the ten commonest main genres on a map, commonest first;
every other genre is :data:`OTHER`'s grey."""
OTHER, NONE = "other genres", "(no genre)"
GREYS = {OTHER: "#BBBBBB", NONE: "#E5E5E5"}


def main_genres(subject) -> np.ndarray:
    """Each item code's main genre (:func:`mfcore.explore.embed.main_genres`: the rarest of its
    genres among the data's common ones), ``""`` for none; computed once per subject."""
    if "main genres" not in subject.maps:
        subject.maps["main genres"] = embed.main_genres(subject.info["genres"].to_numpy())
    return subject.maps["main genres"]


def has_genres(subject) -> bool:
    return bool((main_genres(subject) != "").any())


def map_codes(subject, kind: str, factors: np.ndarray, method: str, min_ratings: int = 1) -> np.ndarray:
    """Codes a ``kind`` ("items" or "users") map of ``factors`` draws: those with a training rating
    and non-zero factors, the ``MAP_POINTS`` most rated for PCA; for t-SNE the ``EMBED_POINTS`` most
    rated among those with at least ``min_ratings`` training ratings (the minimum support: a thinly
    rated item's factors are still mostly their random start, and place it anywhere)."""
    codes = subject.train.items if kind == "items" else subject.train.users
    size = subject.train.n_items if kind == "items" else subject.train.n_users
    counts = np.bincount(codes, minlength=size)
    floor = max(min_ratings, 1) if method == "t-SNE" else 1
    chosen = np.flatnonzero((counts >= floor) & (np.linalg.norm(factors, axis=1) > 0))
    limit = embed.EMBED_POINTS if method == "t-SNE" else MAP_POINTS
    if len(chosen) > limit:
        chosen = np.sort(chosen[np.argsort(-counts[chosen], kind="stable")[:limit]])
    return chosen


def factor_structure(subject, models: dict, method: str, min_ratings: int) -> dict:
    """``{name: GenreStructure}`` of each model's item factors (cosine, the similarity Explore uses)
    on the items its map would draw: how much genre the factors themselves hold; empty when the
    data has no genres or none of those items has a main genre. Cached per subject, model, method
    and support."""
    if not has_genres(subject):
        return {}
    found = {}
    for name, model in models.items():
        key = ("structure", name, id(model), method, min_ratings)
        if key not in subject.maps:
            codes = map_codes(subject, "items", model.Q_, method, min_ratings)
            subject.maps[key] = embed.genre_structure(model.Q_[codes], main_genres(subject)[codes], metric="cosine")
        found[name] = subject.maps[key]
    return {name: structure for name, structure in found.items() if structure.labelled}


def most_structured(structure: dict) -> str:
    """The name whose :class:`GenreStructure` has the highest neighbour share (the first on ties)."""
    return max(structure, key=lambda name: (structure[name].share, -list(structure).index(name)))


def choice_sentence(structure: dict) -> str:
    """Why the map opens on :func:`most_structured`'s model, from the numbers."""
    best = most_structured(structure)
    shares = ", ".join(f"{name} {found.share:.0%}" for name, found in structure.items())
    shuffled = np.mean([found.shuffled for found in structure.values()])
    k = next(iter(structure.values())).k
    if len(structure) == 1:
        return (f"Of each item's {k} nearest items by cosine of its factors, {structure[best].share:.0%} share "
                f"its main genre ({shuffled:.0%} with the genres shuffled). Train BPR or ALS above to compare "
                "their factors.")
    return (f"The map opens on {best}'s factors, the ones that put the most genre together: of each item's {k} "
            f"nearest items by cosine of its factors, the share with its main genre is {shares} ({shuffled:.0%} "
            "with the genres shuffled).")


def map_points(subject, kind: str, factors: np.ndarray, method: str = "PCA", name: str = "",
               min_ratings: int = 1) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`map_codes`, their 2-D coordinates and the variance share PCA's two axes keep (NaN for
    t-SNE), of the ``kind`` map of ``factors`` (rows by code; ``name`` names the model). Computed
    once per subject, model, kind, method and support (t-SNE takes seconds)."""
    key = (name, kind, method, min_ratings if method == "t-SNE" else 1)
    if key not in subject.maps:
        codes = map_codes(subject, kind, factors, method, key[-1])
        if method == "t-SNE":
            subject.maps[key] = codes, explore.tsne_2d(factors[codes]), float("nan")
        else:
            subject.maps[key] = (codes, *explore.project_2d(factors[codes]))
    return subject.maps[key]


def map_structure(subject, key: tuple, codes: np.ndarray, coords: np.ndarray) -> embed.GenreStructure:
    """:class:`GenreStructure` of a drawn item map (its 2-D coordinates, Euclidean), cached by ``key``."""
    key = ("map structure", *key)
    if key not in subject.maps:
        subject.maps[key] = embed.genre_structure(coords, main_genres(subject)[codes])
    return subject.maps[key]


def map_sentence(subject, kind: str, key: tuple, codes: np.ndarray, coords: np.ndarray) -> str:
    """What a drawn map shows of genre (:func:`structure_sentence`, measured on ``coords``), or why
    that is not measured (users have no genre; items without genres)."""
    if kind == "users":
        return "Users have no genre, so whether groups on this map mean anything is not measured."
    found = map_structure(subject, key, codes, coords) if has_genres(subject) else None
    if found is None or not found.labelled:
        return "These items have no genres, so groups on this map are not measured."
    return structure_sentence(found)


def structure_sentence(found: embed.GenreStructure) -> str:
    """What the map shows of genre, in words that agree with the numbers of ``found``: "no visible
    genre structure" unless the neighbour share is clearly above the shuffled one
    (:attr:`GenreStructure.visible`)."""
    measured = (f"Of each item's {found.k} nearest points on this map, {found.share:.0%} share its main genre, "
                f"against {found.shuffled:.0%} with the genres shuffled among the same points ({found.lift:.1f} "
                "times as many")
    if not found.visible:
        chance = ("no more than chance" if found.share <= found.shuffled_max else
                  f"above chance but under {embed.CLEAR_LIFT:g} times it, too little to see")
        return (f"{measured}; the {embed.SHUFFLES} shuffles reached up to {found.shuffled_max:.0%}): {chance}; no "
                "visible genre structure.")
    strength = ("genres gather in places, though most neighbours have another genre" if found.share < 0.5
                else "genres form clusters")
    return f"{measured}): {strength}."


def map_points_sentence(subject, kind: str, method: str, codes: np.ndarray, support: int) -> str:
    """Which points a map draws, from the numbers."""
    rated = int((np.bincount(subject.train.items if kind == "items" else subject.train.users) > 0).sum())
    if method == "t-SNE" and kind == "items" and support > 1:
        return f"the {len(codes):,} most rated of the items with at least {support} training ratings"
    return f"the {len(codes):,} most rated {kind}" if len(codes) < rated else f"all {len(codes):,} rated {kind}"


def colour_values(subject, kind: str, colour: str, codes: np.ndarray) -> np.ndarray:
    """The value each point is coloured by: ``ratings`` (count), ``mean rating``, or for items
    :data:`MAIN_GENRE` (:func:`main_genres`; :data:`NONE` for an item without one)."""
    column = subject.train.items if kind == "items" else subject.train.users
    size = subject.train.n_items if kind == "items" else subject.train.n_users
    counts = np.bincount(column, minlength=size)
    if colour == "ratings":
        return counts[codes]
    if colour == "mean rating":
        sums = np.bincount(column, weights=subject.train.values, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts)[codes]
    named = main_genres(subject)[codes].copy()
    named[named == ""] = NONE
    return named


def genre_colours(values: np.ndarray) -> dict:
    """``{legend group: colour}``: the ten commonest genres of ``values`` (ties by name) each get a
    colour of :data:`GENRE_PALETTE`, commonest first; the rest are grouped as :data:`OTHER`, and
    :data:`NONE` has its own grey."""
    names, counts = np.unique(values, return_counts=True)
    ordered = [name for name, _ in sorted(zip(names, counts), key=lambda pair: (-pair[1], pair[0]))
               if name not in GREYS]
    colours = {name: hue for name, (_, hue) in zip(ordered, GENRE_PALETTE)}
    if len(ordered) > len(GENRE_PALETTE):
        colours[OTHER] = GREYS[OTHER]
    if NONE in set(names):
        colours[NONE] = GREYS[NONE]
    return colours


def colour_groups(values: np.ndarray) -> tuple[dict, np.ndarray]:
    """:func:`genre_colours` of ``values`` and each value's legend group (:data:`OTHER` for the
    genres past the palette)."""
    colours = genre_colours(values)
    groups = np.array([value if value in colours else OTHER for value in values], dtype=object)
    return colours, groups


def palette_sentence(subject, codes: np.ndarray, colours: dict) -> str:
    """How the map's colours are chosen, with an example from the drawn items (text: a page shows it
    escaped): the most rated item with several genres whose main genre is not its first."""
    genres, main = subject.info["genres"].to_numpy()[codes], main_genres(subject)[codes]
    counts = subject.counts[codes]
    telling = [n for n in np.argsort(-counts, kind="stable")
               if main[n] and "|" in genres[n] and not genres[n].startswith(main[n] + "|")]
    example = (f" ({subject.titles[codes[telling[0]]]}, {genres[telling[0]].replace('|', ', ')}: {main[telling[0]]})"
               if telling else "")
    named = [name for name in colours if name not in GREYS]
    return (f"Colour: each item's main genre, the rarest of its genres among those that at least "
            f"{embed.MIN_GENRE_SHARE:.0%} of the items carry{example}; the {len(named)} commonest on the map have "
            "a colour each" + (", the others are grey." if OTHER in colours else "."))


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
        colours, groups = colour_groups(colour)
        for rank, (group, hue) in enumerate(colours.items()):
            rows = np.flatnonzero(groups == group)
            figure.add_trace(go.Scattergl(x=coords[rows, 0], y=coords[rows, 1], mode="markers",
                                          name=f"{group} ({len(rows)})", text=labels[rows], customdata=rows,
                                          hovertext=colour[rows],
                                          hovertemplate="%{text}<extra>%{hovertext}</extra>",
                                          legendrank=1000 + rank, marker={"size": 6, "opacity": 0.85, "color": hue}))
        named = [trace for trace in figure.data if trace.marker.color not in GREYS.values()]
        figure.data = tuple([trace for trace in figure.data if trace not in named] + named)  # greys drawn under
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
