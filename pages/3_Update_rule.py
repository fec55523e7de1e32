"""Update rule: one SGD update at a time on a tiny rating matrix, with every number shown."""

import inspect
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.render import boundary
from dashboard.render import safe
from dashboard.server import datasets
from dashboard.logic import lesson_figures
from dashboard.logic import settings
from dashboard.logic.settings import help_text, widget_param
from dashboard.render.texts import positives
from mfcore import PARAMETERS, DataError, TrainingDiverged, load_ratings
from mfcore.teaching import BPRStepper, UpdateStepper, dense_slice

TOY = Path(__file__).resolve().parent.parent / "sample_data" / "toy.csv"
KEY = "update_rule"
MAX_TOY_FACTORS = 6  # every factor is a column of the heatmaps
SOURCES = ("Toy set (8 users x 10 items)", "Slice of the loaded dataset (busiest 10 users x 12 items)")

with boundary.page("Update rule"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Update rule · Factorization Playground", layout="wide")
    safe.title(st, "Update rule")
    safe.caption(st, "Per-rating SGD one rating at a time: press **Next update** to take the next rating of the "
                     "epoch's random order, see its prediction and error, and watch p_u, q_i and the biases move. "
                     "The steps are exactly the ones mfcore's engines take with the same settings and random seed.")


    @st.cache_data(show_spinner=False)
    def toy_ratings():
        return load_ratings(TOY)


    row = st.columns([2.4, 1, 1.2, 1.3, 1.1, 1.3])
    source = safe.radio(row[0], "Ratings", SOURCES, key="ur_source")
    toy = {name: p.default for name, p in inspect.signature(UpdateStepper).parameters.items()}
    k = row[1].slider("Factors K", 1, MAX_TOY_FACTORS, toy["n_factors"], key="ur_k", help=PARAMETERS["n_factors"].help)
    lr = row[2].number_input("Learning rate γ", *widget_param("lr").widget_range, toy["lr"], step=0.01,
                             format="%.4f", key="ur_lr", help=help_text("lr"))
    reg = row[3].number_input("Regularization λ", *map(float, widget_param("reg").widget_range), toy["reg"],
                              step=0.01, format="%.3f", key="ur_reg", help=PARAMETERS["reg"].help)
    seed = row[4].number_input("Random seed", *widget_param("seed").widget_range, toy["seed"], step=1,
                               key="ur_seed", help=PARAMETERS["seed"].help)
    biased = row[5].checkbox("Learn biases", toy["biased"], key="ur_bias", help=PARAMETERS["biased"].help)

    buttons = st.columns([1, 1, 1, 5])
    next_clicked = buttons[0].button("Next update", type="primary")
    epoch_clicked = buttons[1].button("One epoch")
    reset_clicked = buttons[2].button("Reset")

    dataset_name = datasets.current().name if source == SOURCES[1] else "toy"
    wanted = (source, dataset_name, k, lr, reg, seed, biased)
    state = st.session_state.get(KEY)
    if reset_clicked or state is None or state["settings"] != wanted:
        try:
            ratings = toy_ratings() if source == SOURCES[0] else dense_slice(datasets.current().ratings)
            stepper = UpdateStepper(ratings, n_factors=k, lr=lr, reg=reg, biased=biased, seed=int(seed))
        except (DataError, ValueError) as exc:
            safe.error(st, "Cannot set up the stepper: {}", settings.form_words(exc))
            st.stop()
        state = {"settings": wanted, "stepper": stepper, "last": None, "steps": [0], "rmse": [stepper.rmse()]}
        st.session_state[KEY] = state

    stepper = state["stepper"]
    try:
        if next_clicked:
            records = [stepper.step()]
        elif epoch_clicked:
            records = stepper.finish_epoch()
        else:
            records = []
    except TrainingDiverged as exc:
        safe.error(st, "{} Press Reset to start again.", settings.form_words(exc))
        st.stop()
    for record in records:
        state["steps"].append(record.step)
        state["rmse"].append(record.rmse)
    if records:
        state["last"] = records[-1]

    ratings, last = stepper.ratings, state["last"]
    n = len(ratings)
    safe.markdown(st, "**{}** updates done ({} epoch(s) started, {} ratings per epoch) "
                      "· training RMSE **{:.4f}** · μ = {:.4f}",
                      stepper.steps, stepper.epoch, n, state['rmse'][-1], stepper.mu)

    if last is None:
        safe.info(st, "Press **Next update** to take the first rating of a random order, or **One epoch** to take "
                      "them all. The outlined cells are the rating taken and the rows it changes.")
    else:
        safe.markdown(
            st, "**Step {}** (epoch {}, rating {} of {}): "
            "user **{}** (u = {}) "
            "rated **{}** (i = {}) "
            "**r = {:g}**; "
            "prediction **{:.4f}**, error **{:.4f}**.",
            last.step, last.epoch, last.position + 1, n, last.user, last.u, lesson_figures.item_name(ratings, last.i),
            last.i, last.rating, last.prediction, last.error)
        if len(records) > 1:
            safe.caption(st, "{}", lesson_figures.epoch_sentence(records, n))
        for line in lesson_figures.update_latex(last):
            st.latex(line)
        columns = st.columns(3 if last.biased else 2)
        safe.markdown(columns[0], "**p_u**, user {}", last.user)
        lesson_figures.before_after_table(columns[0], last.p_old, last.p_new)
        safe.markdown(columns[1], "**q_i**, {}", lesson_figures.item_name(ratings, last.i))
        lesson_figures.before_after_table(columns[1], last.q_old, last.q_new)
        if last.biased:
            biases = pd.DataFrame({"before": [last.bu_old, last.bi_old], "after": [last.bu_new, last.bi_new]},
                                  index=["b_u", "b_i"])
            biases["change"] = biases["after"] - biases["before"]
            safe.markdown(columns[2], "**biases**")
            safe.table(columns[2], biases, formats="{:.4f}")

    items = lesson_figures.item_labels(ratings)  # titles when the dataset has them, else ids
    users = [str(user) for user in ratings.user_ids]
    R = stepper.rating_matrix().set_axis(items, axis=1)
    P = pd.DataFrame(stepper.P, index=users, columns=[f"k={k + 1}" for k in range(stepper.n_factors)])
    Qt = pd.DataFrame(stepper.Q.T, index=[f"k={k + 1}" for k in range(stepper.n_factors)], columns=items)
    top = st.columns([1, 3])
    safe.markdown(top[0], "**P** (users x K)")
    safe.plotly_chart(top[0], lesson_figures.heatmap(P, rows=[last.u] if last else (), zmid=0), key="ur_P")
    safe.markdown(top[1], "**R** (users x items), the ratings")
    safe.plotly_chart(top[1], lesson_figures.heatmap(R, cell=(last.u, last.i) if last else None, colorscale="Blues"),
                        key="ur_R")
    bottom = st.columns([1, 3])
    safe.plotly_chart(bottom[0], lesson_figures.rmse_steps(state["steps"], state["rmse"]), key="ur_rmse")
    safe.markdown(bottom[1], "**Qᵀ** (K x items), same columns as R")
    safe.plotly_chart(bottom[1], lesson_figures.heatmap(Qt, columns=[last.i] if last else (), zmid=0, row_height=32,
                                            show_x=False), key="ur_Q")
    safe.caption(st, "R ≈ μ + b_u + b_i + P Qᵀ: row u of P times column i of Qᵀ is the dot product in the "
                     "prediction. Red outlines: the rating taken and the row of P and column of Qᵀ it updates.")

    safe.subheader(st, "Beside it: BPR's pairwise step, for ranking")
    positive_level = settings.RANKING_TABLES["bpr"]["positive_level"].default  # Train's BPR default
    safe.caption(st, "A ranking model learns an order, not ratings: BPR takes a user u, an item i they liked and an "
                     "item j they did not, and nudges p_u, q_i and q_j so that i scores above j. Like Train's BPR by "
                     "default, it learns from positives, {}. Same γ, λ, K and seed as above, on the same ratings; "
                     "the steps are those of BPRFactorizer's kernel (tests/teaching/test_bpr_step.py checks the "
                     "numbers).", positives(ratings.scale, positive_level))
    bpr_buttons = st.columns([1.6, 1.2, 5])
    bpr_next = bpr_buttons[0].button("Next BPR step", type="primary")
    bpr_reset = bpr_buttons[1].button("Reset BPR")
    bpr_state = st.session_state.get(f"{KEY}_bpr")
    if bpr_reset or bpr_state is None or bpr_state["settings"] != wanted:
        try:
            bpr_state = {"settings": wanted, "last": None,
                         "stepper": BPRStepper(ratings, n_factors=k, lr=lr, reg=reg, seed=int(seed),
                                                positive_level=positive_level)}
        except ValueError as exc:
            safe.error(st, "Cannot set up BPR on these ratings: {}", settings.form_words(exc))
            st.stop()
        st.session_state[f"{KEY}_bpr"] = bpr_state
    bpr = bpr_state["stepper"]
    if bpr_next:
        try:
            bpr_state["last"] = bpr.step()
        except ValueError as exc:
            safe.error(st, "Cannot take a BPR step: {}", settings.form_words(exc))
    step = bpr_state["last"]
    safe.markdown(st, "**{}** BPR steps done · positives: {} · "
                      "the share of (liked, not liked) pairs ordered right (AUC) **{:.3f}**",
                      bpr.steps, positives(ratings.scale, bpr.positive_level), bpr.auc())
    if step is None:
        safe.info(st, "Press **Next BPR step** to draw a (user, liked item, other item) triple and take its step.")
    else:
        safe.markdown(st, "User **{}** (u = {}) liked "
                          "**{}** (i = {}); "
                          "drawn as not liked: "
                          "**{}** (j = {}).",
                          ratings.user_ids[step.u], step.u, lesson_figures.item_name(ratings, step.i), step.i,
                          lesson_figures.item_name(ratings, step.j), step.j)
        for line in lesson_figures.bpr_latex(step):
            st.latex(line)
