"""Explore: what a trained model learned. Recommendations with their reasons, similar items, maps of
the factors, ranking metrics against baselines, and recommendations for your own ratings."""

import time

import numpy as np
import streamlit as st

from dashboard.render import boundary
from dashboard.render import safe
from dashboard.server import datasets
from dashboard.logic import explore_runs, long_work, session_runs
from dashboard.server import store
from dashboard.logic import map_views as maps
from dashboard.logic import model_views as view
from dashboard.logic import ranking_views as rank
from dashboard.logic import newuser_views as newuser
from dashboard.render.texts import positives
from mfcore import explore
from mfcore.evaluation.resources import memory_cap_bytes
from mfcore.models.base import is_fitted
from mfcore.models.persist import ModelFileError, load_bundle

with boundary.page("Explore"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Explore · Factorization Playground", layout="wide")
    safe.title(st, "Explore")
    safe.caption(st, "What the model learned: whom it recommends what and why, which items it puts together, "
                     "and how its top-N lists do against ranking models (BPR, ALS, EASE, item-kNN) and popularity.")

    dataset = datasets.current()
    datasets.store_warning()
    offered = explore_runs.explorable(session_runs.all_runs(), dataset.name)
    UPLOAD = "Upload a model file"
    choices = [run.label for run in offered] + [UPLOAD]
    texts = {run.label: explore_runs.choice_text(run) for run in offered}
    view.follow_session(f"{dataset.name} {dataset.key}", choices[0] if offered else None)
    kept = st.session_state.get("explore_source_kept")
    source = safe.radio(st, "Model", choices, index=choices.index(kept) if kept in choices else 0, horizontal=True,
                      key="explore_source", format_func=lambda label: texts.get(label, label))
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
                    st.session_state["explore_file"] = (upload.name, digest,
                                                        load_bundle(raw, memory_cap_bytes(), name=upload.name))
                except ModelFileError as exc:  # a sentence that names the file
                    safe.error(st, "{} Upload a model file downloaded from Train.", exc)
        if "explore_file" in st.session_state:
            name, digest, bundle = st.session_state["explore_file"]
            subject = view.remembered(f"file-{digest}", lambda: view.from_bundle(name, digest, bundle))
    else:
        run = next(run for run in offered if run.label == source)
        sentence, restoring = st.empty(), st.empty()  # on every run: the tabs below keep their place (and tab)
        if not is_fitted(run.model):
            safe.info(sentence, "{}", explore_runs.restore_sentence(run))
            restoring.progress(0.0, text=safe.md("retraining {}: starting", run.label))
            problem = explore_runs.restore(run, session_runs.all_runs(),
                                           lambda fraction, text: restoring.progress(fraction, text=text))
            sentence.empty()
            restoring.empty()
            if problem:
                safe.error(st, "{}", problem)
                st.stop()
        subject = view.remembered(view.run_key(run), lambda: view.from_run(run, dataset.ratings))
        joining = st.empty()
        for name, params in rank.join_train_runs(subject, run, session_runs.all_runs()):  # one-step runs
            problem = rank.train(subject, name, params, lambda fraction, text: joining.progress(fraction, text=text))
            joining.empty()
            if problem:
                safe.error(st, "{}", problem)

    if subject is None:
        safe.info(st, "Train a model on the Train page (runs on the current dataset appear above), or upload a "
                      "model file downloaded from Train. EASE and item-kNN runs have no factors to map: they join a "
                      "factor model's lists here.")
        st.stop()

    model = subject.model
    k_factors = model.Q_.shape[1]
    test_text = f", {len(subject.test):,} test ratings" if subject.test is not None else ", no test ratings"
    safe.caption(st, "{}: K = {}, {:,} users x "
                     "{:,} items, {:,} training ratings{}.",
                     subject.label, k_factors, len(model.user_ids_), len(model.item_ids_), model.n_train_ratings_,
                     test_text)
    if not subject.has_values:
        safe.caption(st, "This model file has no training ratings, only which items each user rated: ratings "
                         "and mean ratings are not shown.")

    with st.expander("Ranking models on the same training ratings: BPR, ALS, EASE and item-kNN",
                     expanded=len(rank.models(subject)) < len(rank.KINDS)):
        safe.caption(st, "A rating model is trained for a low RMSE, a ranking model for a good top-N: BPR by SGD on "
                         "(user, liked item, other item) triples, implicit ALS by alternating least squares on which "
                         "items each user liked (positives: {}); EASE and item-kNN weigh items by items in one step, "
                         "without epochs or factors (EASE solves for the weights, item-kNN keeps each item's most "
                         "similar items by cosine). All train here on the explored model's training ratings, on one "
                         "thread of the shared server.", positives(subject.train.scale))
        rank_kind = safe.radio(st, "Ranking model", list(rank.KINDS), horizontal=True, key="explore_rank_kind")
        param_table = rank.KINDS[rank_kind][1]
        with st.form("explore_rank_form"):
            cells = st.columns(len(rank.FORM_FIELDS[rank_kind]) + 1, vertical_alignment="bottom")
            params = {name: cell.number_input(rank.FORM_LABELS[name], *rank.field_range(param_table[name]),
                                              key=f"explore_{rank_kind}_{name}", help=param_table[name].help)
                      for cell, name in zip(cells, rank.FORM_FIELDS[rank_kind])}
            train_clicked = cells[-1].form_submit_button(safe.md("Train {}", rank_kind), type="primary")
        confirm_slot, progress = st.empty(), st.empty()
        request, seconds, asked = None, 0.0, ""
        if train_clicked:  # long training waits for Start under its estimate
            request = {"kind": rank_kind, "params": params}
            with st.spinner("Estimating the time..."):
                seconds = rank.estimated_seconds(subject, rank_kind, params)
            asked = (f"{long_work.sentence(seconds, f'Training {rank_kind}')} "
                     + ("It is one step; it grows with the number of items." if rank_kind in rank.ONE_STEP
                        else "Fewer epochs or a smaller K shorten it."))
        go = long_work.gate(confirm_slot, f"explore_{subject.key}", request, seconds, asked, f"Training {rank_kind}")
        if go is not None:
            problem = rank.train(subject, go[0]["kind"], go[0]["params"],
                                 lambda fraction, text: progress.progress(fraction, text=text))
            progress.empty()
            if problem:
                safe.error(st, "{}", problem)
        for name, trained_model in rank.models(subject).items():
            safe.caption(st, "{}", rank.model_caption(name, trained_model))

    every_model = rank.all_models(subject)
    left, middle, right = st.columns([2, 2, 3])
    support = 0  # the minimum support filters a rating model's lists only
    if subject.kind == "sgd":
        support = int(left.number_input("Minimum support (training ratings)", 0, int(subject.counts.max()) + 1,
                                        rank.default_support(subject), key="explore_support",
                                        help="The rating model's lists leave out items with fewer training ratings."))
        safe.caption(right, "{}", rank.support_sentence(subject, support))
    factor_models = rank.factor_models(subject)  # EASE and item-kNN: in the side-by-side lists only
    shown_name = safe.radio(middle, "Lists of", list(factor_models), horizontal=True, key="explore_model")
    shown = factor_models[shown_name]
    is_rating = shown_name == rank.RATING
    shown_support = support if is_rating else 0

    tabs = st.tabs(["Recommendations", "Side by side", "Similar items", "Map", "Ranking metrics", "Your ratings"])
    titles = subject.titles
    trained = np.flatnonzero(subject.counts > 0)
    by_title = trained[np.argsort(titles[trained], kind="stable")]
    user_ids = model.user_ids_

    with tabs[0]:
        left, right = st.columns([2, 1])
        user_position = view.pick(left, "User", np.arange(len(user_ids)), user_ids, "explore_user")
        n = right.slider("Recommendations", 5, 30, 10, key="explore_n")
        if user_position is not None:
            rated, values = explore.user_ratings(subject.train, user_position)
            history, recommended = st.columns([1, 2])
            safe.subheader(history, "Rated by user {}", user_ids[user_position], anchor=False)
            safe.caption(history, "{} training ratings, highest first.", len(rated))
            view.static_table(history, view.rated_table(subject, rated, values))
            if is_rating:
                table = view.recommendations(subject, model.P_[user_position], float(model.bu_[user_position]),
                                             rated, values, n, support)
                safe.subheader(recommended, "Top {} for user {}", len(table), user_ids[user_position],
                                      anchor=False)
                safe.caption(recommended, "Items they did not rate, with at least the minimum support, by predicted "
                                          "rating = μ + b_u + b_i + p_u · q_i; 'because you rated' lists their rated "
                                          "items nearest in factor space (cosine).")
                view.static_table(recommended, view.recommendation_view(table, model.scale_))
                safe.caption(recommended, "{}",
                                          " ".join(filter(None, [view.explanation_sentence(table),
                                                           view.clipped_sentence(table, model.scale_)])))
            else:
                table = view.ranked_table(subject, shown.recommend(user_ids[user_position], n))
                safe.subheader(recommended, "{}'s top {} for user "
                                            "{}", shown_name, len(table), user_ids[user_position], anchor=False)
                safe.caption(recommended, "Items they did not rate, by the ranking score b_i + p_u · q_i (BPR) or "
                                          "p_u · q_i (ALS): a score orders items, it is not a rating.")
                view.static_table(recommended, table)

    with tabs[1]:
        if user_position is not None:
            lists = explore.lists_for_user(every_model, subject.train, user_position, 10, support)
            safe.subheader(st, "Top 10 for user {}, model by model", user_ids[user_position], anchor=False)
            safe.table(st, rank.side_by_side(subject, lists), hide_index=True)
            safe.caption(st, "{} Pick the user on the Recommendations tab.{}", rank.overlap_sentence(lists),
                         "" if rank.models(subject) else " Train BPR, ALS, EASE or item-kNN above to add their lists.")
            known = rank.user_positives(subject, user_position)
            numbers = rank.list_numbers(subject, lists, known)
            safe.table(st, rank.numbers_table(numbers), hide_index=True)
            safe.markdown(st, "{}", rank.personal_reading(numbers, f"user {user_ids[user_position]}",
                                                          f"the {len(known)} items they rated "
                                                          f"({positives(subject.train.scale)})"))

    with tabs[2]:
        left, right = st.columns([3, 1])
        item = view.pick(left, "Item", by_title, titles, "explore_item", default=int(np.argmax(subject.counts)))
        count = right.slider("Neighbours", 5, 30, 10, key="explore_similar_n")
        if item is not None:
            similar = explore.similar_items(shown, int(item), count, shown_support, subject.counts)
            stats = subject.stats
            neighbours = view.neighbour_table(subject, similar)
            neighbours["ratings"] = stats["ratings"].to_numpy()[similar["code"]]
            if subject.has_values:
                neighbours["mean rating"] = stats["mean"].to_numpy()[similar["code"]]
            safe.caption(st, "Nearest to {} by the cosine of {}'s {} item factors{}", titles[item], shown_name,
                         shown.Q_.shape[1],
                         f", among items with at least {support} training ratings." if shown_support > 1 else ".")
            view.static_table(st, neighbours)

    with tabs[3]:
        left, middle, right = st.columns(3)
        kind = safe.radio(left, "Map of", ["items", "users"], horizontal=True, key="explore_map_kind")
        method = safe.radio(middle, "Layout", maps.MAP_METHODS, horizontal=True, key="explore_map_method",
                            help="t-SNE keeps each point's nearest neighbours near it; PCA keeps the two "
                                 "directions of largest variance.")
        colours = ["ratings", "mean rating"] if subject.has_values else ["ratings"]
        if kind == "items" and maps.has_genres(subject):
            colours = [maps.MAIN_GENRE, *colours]
        colour = safe.radio(right, "Colour by", colours, horizontal=True, key="explore_map_colour")
        mapped = factor_models  # the models with item and user factors
        map_support = support if kind == "items" else 1
        names = list(mapped)
        structure = maps.factor_structure(subject, mapped, method, support)  # the most genre opens the map
        opened = maps.most_structured(structure) if structure else names[0]
        map_name = safe.radio(st, "Factors of", names, index=names.index(opened), horizontal=True,
                              key=f"explore_map_model_{'_'.join(names)}")
        if structure:
            safe.caption(st, "{}", maps.choice_sentence(structure))
        map_model = mapped[map_name]
        factors = map_model.Q_ if kind == "items" else map_model.P_
        with st.spinner(safe.md("Laying out the {} with {} (t-SNE takes a few seconds, once per model)...", kind,
                                method)):
            codes, coords, share = maps.map_points(subject, kind, factors, method, map_name, map_support)
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
        if st.session_state.get(pick_key) not in name_of:
            st.session_state.pop(pick_key, None)
        selected = st.selectbox("Show the neighbours of (or click a point)", [None, *order.tolist()], key=pick_key,
                                format_func=lambda code: "(nobody)" if code is None else name_of[code])
        if kind == "items":
            neighbours = (explore.similar_items(map_model, selected, 8, counts=subject.counts)
                          if selected is not None else None)
            ringed = [] if selected is None else [selected, *neighbours["code"]]
        else:
            neighbours = view.nearest_users(map_model, selected, 8) if selected is not None else None
            ringed = [] if selected is None else [selected, *explore.user_codes(model, neighbours["user"])]
        at = {code: index for index, code in enumerate(codes)}
        highlight = [at[code] for code in ringed if code in at]
        values = maps.colour_values(subject, kind, colour, codes)
        figure = maps.map_figure(labels, coords, values, colour, highlight, share, kind, method, map_name)
        safe.plotly_chart(st, figure, key=f"explore_map_{kind}", on_select="rerun", selection_mode="points")
        shown_points = maps.map_points_sentence(subject, kind, method, codes, support)
        k_shown = factors.shape[1]
        placed = (f"placed by t-SNE so that each one's nearest neighbours by cosine of its {k_shown} factors stay "
                  "near it; distances between groups and the axes mean nothing"
                  if method == "t-SNE" else
                  f"placed by the first two principal axes of their {k_shown} factors, which keep {share:.0%} of "
                  f"the variance: nearby points are similar, but distant ones may still be close in the other "
                  f"{max(k_shown - 2, 0)} dimensions")
        safe.markdown(st, "{}", maps.map_sentence(subject, kind, (map_name, kind, method, map_support), codes, coords))
        safe.caption(st, "Points: {}, {}. Rings mark the picked point and its nearest neighbours by cosine of all "
                         "factors.{}", shown_points, placed,
                     " " + maps.palette_sentence(subject, codes, maps.genre_colours(values))
                     if colour == maps.MAIN_GENRE else "")
        if selected is not None:
            safe.markdown(st, "**Nearest to {}** (cosine of all {} factors):", name_of[selected], k_shown)
            if kind == "items":
                neighbours = view.neighbour_table(subject, neighbours)
            view.static_table(st, neighbours)

    with tabs[4]:
        if subject.test is None:
            safe.info(st, "This model has no test ratings, so there is nothing to rank against.")
        else:
            k = st.slider("k (list length)", 1, 50, 10, key="explore_k")
            with st.spinner("Ranking every sampled test user's unrated items, model by model..."):
                ranking = rank.metrics_table(subject, support, k)
            safe.plotly_chart(st, rank.metrics_figure(ranking, k), key="explore_metrics_chart")
            safe.markdown(st, "{}", explore.topn_reading(ranking, k, rank.RATING))
            fresh = newuser.measured(subject)
            if fresh is None and newuser.ranking_models(subject):
                fresh_slot, fresh_confirm = st.empty(), st.empty()
                request, seconds = None, 0.0
                if fresh_slot.button("Measure on new users too", key="explore_new_users_start",
                                     help="Holds out 10% of the users, fits every ranking model again on the "
                                          "others, and folds the held-out users in: what Your ratings does."):
                    request = {"subject": subject.key}
                    with st.spinner("Estimating the time..."):
                        seconds = newuser.estimated_seconds(subject)
                go = long_work.gate(fresh_confirm, f"explore_new_users_{subject.key}", request, seconds,
                                    long_work.sentence(seconds, "Fitting every ranking model on the other users"),
                                    "Measuring on new users")
                if go is not None:
                    problem = newuser.measure(subject, lambda fraction, text: fresh_slot.progress(fraction, text=text))
                    fresh_slot.empty()
                    if problem:
                        safe.error(st, "{}", problem)
                    fresh = newuser.measured(subject)
            if fresh is not None:
                with st.spinner("Folding in every new user, model by model..."):
                    fresh_table = newuser.table(subject, fresh, k)
                safe.plotly_chart(st, newuser.figure(ranking, fresh_table, k), key="explore_new_users_chart")
                safe.markdown(st, "{}", newuser.reading(ranking, fresh_table, k))
                safe.caption(st, "{}", newuser.caption(fresh, k))
            shown_table = rank.display_metrics(ranking, k)
            view.static_table(st, shown_table, rank.metric_formats(k))
            evaluated, eligible = int(ranking["users"].iloc[0]), int(ranking["eligible"].iloc[0])
            who = (f"Each of the {evaluated:,} test users with a positive test rating" if evaluated == eligible else
                   f"Each of a random sample of {evaluated:,} of the {eligible:,} test users with a positive test "
                   "rating (the same sample for every model)")
            safe.caption(st, "{} gets a top-{} list from the items with a training rating that they did not rate "
                             "in training; relevant items are their test positives, {}. Every model trained on the "
                             "same training ratings. Popularity ranks by training positives, random at random (seed "
                             "0); coverage is the share of items in any list; the mean popularity of a list is the "
                             "mean training positives of its items.{}", who, k, positives(subject.train.scale),
                         "" if rank.models(subject) else " Train BPR, ALS, EASE or item-kNN above to add them.")

    with tabs[5]:
        mine = st.session_state.setdefault("explore_mine", {})
        if mine.get("key") != subject.key:
            mine.clear()
            mine.update(key=subject.key, ratings={})
        ratings = mine["ratings"]
        safe.caption(st, "Rate a few items: each model folds you in as a new user with its item factors fixed (the "
                         "rating model by the exact ridge solution for your factors and bias, BPR by SGD on your "
                         "vector, ALS by its closed-form solve; EASE and item-kNN score items by their weights from "
                         "the items you rated as positives; no retraining) and recommends at once.")
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
            safe.subheader(st, "Your ratings")
            left, right = st.columns([2, 1])
            view.static_table(left, mine_table)
            if right.button("Clear my ratings", key="explore_clear"):
                ratings.clear()
                st.rerun()
            if subject.kind == "sgd":  # a rating model predicts ratings and explains them
                start = time.perf_counter()
                folded = explore.fold_in(model, model.item_ids_[codes], list(ratings.values()))
                table = view.recommendations(subject, folded.p, folded.bu, folded.items, folded.ratings, 10,
                                             support)
                seconds = time.perf_counter() - start
                safe.subheader(st, "Recommended for you by the rating model")
                view.static_table(st, view.recommendation_view(table, model.scale_))
                safe.caption(st, "Folded in {} rating{} and ranked {:,} items in {:.0f} ms; your bias b_u = {:+.2f}. "
                                 "{}",
                             len(ratings), "s" if len(ratings) != 1 else "", len(trained), seconds * 1000, folded.bu,
                             " ".join(filter(None, [view.explanation_sentence(table),
                                                    view.clipped_sentence(table, model.scale_)])))
            lists = explore.lists_for_new_user(every_model, subject.train, model.item_ids_[codes],
                                               list(ratings.values()), 10, support)
            safe.subheader(st, "Your top 10, model by model")
            safe.table(st, rank.side_by_side(subject, lists), hide_index=True)
            safe.caption(st, "{}", rank.overlap_sentence(lists))
            liked = rank.liked_codes(subject, ratings)
            numbers = rank.list_numbers(subject, lists, liked)
            safe.table(st, rank.numbers_table(numbers), hide_index=True)
            safe.markdown(st, "{}", rank.personal_reading(numbers, "you", f"the {len(liked)} items you rated "
                                                                          f"({positives(subject.train.scale)})"))
            safe.caption(st, "{}", rank.numbers_caption(numbers, rank.subject_genres(subject) is not None))
        else:
            safe.info(st, "No ratings yet: pick an item, set your rating and press Add rating.")
