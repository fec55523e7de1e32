"""Explore: what a trained model learned. Recommendations with their reasons, similar items, maps of
the factors, ranking metrics against baselines, and recommendations for your own ratings."""

import time

import numpy as np
import streamlit as st

from dashboard import boundary, data, runs, store
from dashboard import explore as view
from dashboard.texts import escape_markdown
from mfcore import explore
from mfcore.evaluation.resources import memory_cap_bytes
from mfcore.models.base import is_fitted
from mfcore.models.persist import ModelFileError, load_bundle

with boundary.page("Explore"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Explore · Factorization Playground", layout="wide")
    st.title("Explore")
    st.caption("What the model learned: whom it recommends what and why, which items it puts together, "
               "and how well its top-N lists do against simple baselines.")

    dataset = data.current()
    fitted = [run for run in runs.all_runs() if is_fitted(run.model) and run.status != "running"
              and run.dataset == dataset.name]
    UPLOAD = "Upload a model file"
    choices = [run.label for run in reversed(fitted)] + [UPLOAD]
    view.follow_session(f"{dataset.name} {dataset.key}", choices[0] if fitted else None)
    kept = st.session_state.get("explore_source_kept")
    source = st.radio("Model", choices, index=choices.index(kept) if kept in choices else 0, horizontal=True,
                      key="explore_source", format_func=escape_markdown)
    st.session_state["explore_source_kept"] = source

    subject = None
    if source == UPLOAD:
        upload = st.file_uploader("Model file (.npz) downloaded from Train or written by "
                                  "SGDFactorizer.save", type=["npz"], key="explore_upload")
        if upload is not None:
            raw = upload.getvalue()
            digest = store.fingerprint(raw)  # the same upload is read once
            opened = st.session_state.get("explore_file")
            if opened is None or opened[1] != digest:
                try:
                    st.session_state["explore_file"] = (upload.name, digest, load_bundle(raw, memory_cap_bytes()))
                except ModelFileError as exc:
                    st.error(f"Could not open {escape_markdown(upload.name)}: {escape_markdown(exc)}")
        if "explore_file" in st.session_state:
            name, digest, bundle = st.session_state["explore_file"]
            subject = view.remembered(f"file-{digest}", lambda: view.from_bundle(name, digest, bundle))
    else:
        run = next(run for run in fitted if run.label == source)
        subject = view.remembered(view.run_key(run), lambda: view.from_run(run, dataset.ratings))

    if subject is None:
        st.info("Train a model on the Train page (runs on the current dataset appear above), or upload a "
                "model file downloaded from Train.")
        st.stop()

    model = subject.model
    k_factors = model.Q_.shape[1]
    test_text = f", {len(subject.test):,} test ratings" if subject.test is not None else ", no test ratings"
    st.caption(f"{escape_markdown(subject.label)}: K = {k_factors}, {len(model.user_ids_):,} users x "
               f"{len(model.item_ids_):,} items, {model.n_train_ratings_:,} training ratings{test_text}.")
    if not subject.has_values:
        st.caption("This model file has no training ratings, only which items each user rated: ratings "
                   "and mean ratings are not shown.")

    tabs = st.tabs(["Recommendations", "Similar items", "Map", "Ranking metrics", "Your ratings"])
    titles = subject.titles
    trained = np.flatnonzero(subject.counts > 0)
    by_title = trained[np.argsort(titles[trained], kind="stable")]

    with tabs[0]:
        user_ids = model.user_ids_
        left, right = st.columns([2, 1])
        user_position = view.pick(left, "User", np.arange(len(user_ids)), user_ids, "explore_user")
        n = right.slider("Recommendations", 5, 30, 10, key="explore_n")
        if user_position is not None:
            rated, values = explore.user_ratings(subject.train, user_position)
            table = view.recommendations(subject, model.P_[user_position], float(model.bu_[user_position]),
                                         rated, values, n)
            history, recommended = st.columns([1, 2])
            history.subheader(f"Rated by user {escape_markdown(user_ids[user_position])}")
            history.caption(f"{len(rated)} training ratings, highest first.")
            history.dataframe(view.rated_table(subject, rated, values), hide_index=True, key="explore_rated")
            recommended.subheader(f"Top {len(table)} for user {escape_markdown(user_ids[user_position])}")
            recommended.caption("Items they did not rate, by predicted rating = μ + b_u + b_i + p_u · q_i; "
                                "'because you rated' lists their rated items nearest in factor space (cosine).")
            recommended.dataframe(table, hide_index=True, key="explore_recommendations",
                                  column_config=view.RECOMMENDATION_COLUMNS)
            recommended.caption(view.explanation_sentence(table))

    with tabs[1]:
        left, middle, right = st.columns([3, 1, 1])
        item = view.pick(left, "Item", by_title, titles, "explore_item", default=int(np.argmax(subject.counts)))
        min_ratings = middle.number_input("At least this many ratings", 0, 10_000, 0, key="explore_min")
        count = right.slider("Neighbours", 5, 30, 10, key="explore_similar_n")
        if item is not None:
            similar = explore.similar_items(model, int(item), count, int(min_ratings), subject.counts)
            stats = subject.stats
            neighbours = view.neighbour_table(subject, similar)
            neighbours["ratings"] = stats["ratings"].to_numpy()[similar["code"]]
            if subject.has_values:
                neighbours["mean rating"] = stats["mean"].to_numpy()[similar["code"]]
            st.caption(f"Nearest to {escape_markdown(titles[item])} by the cosine of their {k_factors} item factors.")
            st.dataframe(neighbours, hide_index=True, key="explore_similar",
                         column_config={"cosine": st.column_config.NumberColumn(format="%.3f"),
                                        "mean rating": st.column_config.NumberColumn(format="%.2f")})

    with tabs[2]:
        left, right = st.columns(2)
        kind = left.radio("Map of", ["items", "users"], horizontal=True, key="explore_map_kind")
        colours = ["ratings", "mean rating"] if subject.has_values else ["ratings"]
        if kind == "items" and (subject.info["genres"] != "").any():
            colours.append("genre")
        colour = right.radio("Colour by", colours, horizontal=True, key="explore_map_colour")
        codes, coords, share = view.map_points(subject, kind)
        labels = titles[codes] if kind == "items" else np.array([f"user {u}" for u in model.user_ids_[codes]])
        pick_key, clicked_key = f"explore_map_pick_{kind}", f"explore_map_clicked_{kind}"
        event = st.session_state.get(f"explore_map_{kind}")
        points = event.selection.points if event is not None and event.selection else []
        if points and points[0].get("customdata") is not None:
            clicked = int(codes[int(np.ravel(points[0]["customdata"])[0])])
            if clicked != st.session_state.get(clicked_key):  # a new click picks; an old one is not re-applied
                st.session_state[clicked_key] = st.session_state[pick_key] = clicked
        order = codes[np.argsort(labels, kind="stable")]
        name_of = dict(zip(codes, labels))
        selected = st.selectbox("Show the neighbours of (or click a point)", [None, *order.tolist()],
                                format_func=lambda code: "(nobody)" if code is None else name_of[code], key=pick_key)
        if kind == "items":
            neighbours = (explore.similar_items(model, selected, 8, counts=subject.counts)
                          if selected is not None else None)
            ringed = [] if selected is None else [selected, *neighbours["code"]]
        else:
            neighbours = view.nearest_users(model, selected, 8) if selected is not None else None
            ringed = [] if selected is None else [selected, *explore.user_codes(model, neighbours["user"])]
        at = {code: index for index, code in enumerate(codes)}
        highlight = [at[code] for code in ringed if code in at]
        figure = view.map_figure(labels, coords, view.colour_values(subject, kind, colour, codes), colour,
                                 highlight, share, kind)
        st.plotly_chart(figure, key=f"explore_map_{kind}", on_select="rerun", selection_mode="points")
        shown = (f"the {len(codes):,} most rated {kind}" if len(codes) == view.MAP_POINTS
                 else f"{len(codes):,} {kind}, every one with a training rating")
        st.caption(f"Points: {shown}, placed by the first two principal axes of their {k_factors} factors, "
                   f"which keep {share:.0%} of the variance: nearby points are similar, but distant ones may "
                   f"still be close in the other {max(k_factors - 2, 0)} dimensions. Rings mark the picked "
                   "point and its nearest neighbours by cosine of all factors."
                   + (" Colour: each item's first listed genre." if colour == "genre" else ""))
        if selected is not None:
            st.markdown(f"**Nearest to {escape_markdown(name_of[selected])}** (cosine of all {k_factors} factors):")
            if kind == "items":
                neighbours = view.neighbour_table(subject, neighbours)
            st.dataframe(neighbours, hide_index=True, key=f"explore_map_neighbours_{kind}")

    with tabs[3]:
        if subject.test is None:
            st.info("This model has no test ratings, so there is nothing to rank against.")
        else:
            left, right = st.columns(2)
            k = left.slider("k (list length)", 1, 50, 10, key="explore_k")
            low, high = (float(v) for v in model.scale_)
            threshold = right.number_input("Relevant when the test rating is at least", low, high,
                                           min(max(4.0, low), high), step=0.5, key="explore_threshold")
            cache = st.session_state.setdefault("explore_ranking", {})
            cache_key = (subject.key, k, threshold)
            if cache_key not in cache:
                with st.spinner("Ranking every test user's unrated items..."):
                    cache.clear()
                    cache[cache_key] = explore.ranking_table(model, subject.train, subject.test, k, threshold,
                                                             max_users=view.RANKING_USERS)
            ranking = cache[cache_key]
            evaluated, eligible = int(ranking["users"].iloc[0]), int(ranking["eligible"].iloc[0])
            st.dataframe(ranking.drop(columns="eligible"), hide_index=True, key="explore_ranking_table",
                         column_config={name: st.column_config.NumberColumn(format="%.4f")
                                        for name in ranking.columns if name not in ("ranker", "users")})
            st.markdown(explore.ranking_reading(ranking, k))
            who = (f"Each of the {evaluated:,} test users with a test rating >= {threshold:g}"
                   if evaluated == eligible else
                   f"Each of a random sample of {evaluated:,} of the {eligible:,} test users with a test rating "
                   f">= {threshold:g} (the same sample for all three)")
            st.caption(f"{who} gets a top-{k} list from the items with a training rating that they did "
                       "not rate in training; relevant items are their test items rated >= the threshold. "
                       "Popularity ranks by number of training ratings, random at random (seed 0); "
                       "coverage is the share of items that appear in any list. Baselines predict no ratings, "
                       "so they have no RMSE.")

    with tabs[4]:
        mine = st.session_state.setdefault("explore_mine", {})
        if mine.get("key") != subject.key:
            mine.clear()
            mine.update(key=subject.key, ratings={})
        ratings = mine["ratings"]
        st.caption("Rate a few items: the model folds you in as a new user with its item factors fixed "
                   "(the exact ridge solution for your factors and bias; no retraining) and recommends at once.")
        low, high = (float(v) for v in model.scale_)
        left, middle, right = st.columns([4, 2, 1], vertical_alignment="bottom")
        pick = view.pick(left, "Item to rate", by_title, titles, "explore_rate_item")
        stars = middle.slider("Your rating", low, high, high, step=0.5 if high - low <= 10 else 1.0,
                              key="explore_rate_stars")
        if right.button("Add rating", disabled=pick is None):
            ratings[int(pick)] = float(stars)
        if ratings:
            codes = np.array(list(ratings), dtype=np.int64)
            mine_table = view.rated_table(subject, codes, np.array(list(ratings.values()), np.float32))
            st.subheader("Your ratings")
            left, right = st.columns([2, 1])
            left.dataframe(mine_table, hide_index=True, key="explore_mine_table")
            if right.button("Clear my ratings", key="explore_clear"):
                ratings.clear()
                st.rerun()
            start = time.perf_counter()
            folded = explore.fold_in(model, model.item_ids_[codes], list(ratings.values()))
            table = view.recommendations(subject, folded.p, folded.bu, folded.items, folded.ratings, 10)
            seconds = time.perf_counter() - start
            st.subheader("Recommended for you")
            st.dataframe(table, hide_index=True, key="explore_mine_recommendations",
                         column_config=view.RECOMMENDATION_COLUMNS)
            st.caption(f"Folded in {len(ratings)} rating{'s' if len(ratings) != 1 else ''} and ranked "
                          f"{len(trained):,} items in {seconds * 1000:.0f} ms; your bias b_u = {folded.bu:+.2f}. "
                          + view.explanation_sentence(table))
        else:
            st.info("No ratings yet: pick an item, set your rating and press Add rating.")
