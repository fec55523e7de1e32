"""Error schedules: how often should SGD recompute the error? All four schedules, same data and random seed."""

import pandas as pd
import streamlit as st

from dashboard import data, settings, teaching, texts, training
from dashboard.run import Run
from mfcore import SGDFactorizer
from mfcore.engines import SCHEDULES
from mfcore.evaluation.resources import MemoryGuardError

KEY = "schedule_results"
ENGINE = "numba"
FIELDS = ("n_factors", "n_epochs", "lr", "reg", "epochs_per_feature", "seed")

st.set_page_config(page_title="Error schedules · Factorization Playground", layout="wide")
st.title("Error schedules")
dataset = data.current()
ratings = dataset.ratings
chosen = settings.current()
test_size = chosen["test_size"] or settings.default("test_size")  # the curves need a test set
st.caption(f"{dataset.caption} Every schedule trains with the {ENGINE} engine "
           f"on the same random split ({test_size:.0%} test, biases {'on' if chosen['biased'] else 'off'}, "
           "as on the Train page), from the same initial factors, visiting the ratings in the same orders.")

st.markdown("The naive loop in the original question raises this: **how often should the error "
            "e = r − r̂ be recomputed?** Four answers, each one epoch = one pass over the training ratings:\n"
            + "\n".join(f"- **{name}**: {texts.SCHEDULES[name]}" for name in SCHEDULES))

with st.form("schedules_form"):
    row = st.columns(len(FIELDS))
    for cell, name in zip(row, FIELDS):
        settings.widget(cell, name, key=f"sch_{name}", value=chosen.get(name))
    submitted = st.form_submit_button("Run all four schedules", type="primary")

cancel_column, status_column = st.columns([1, 5])
cancel, status_slot, live = cancel_column.empty(), status_column.empty(), st.empty()
if submitted:
    values = {name: st.session_state[f"sch_{name}"] for name in FIELDS}
    try:
        training.check_memory(ratings, values["n_factors"], test_size, "funk")
    except MemoryGuardError as exc:
        st.error(f"Not started: {texts.escape_markdown(exc)}")
        submitted = False
if submitted:
    params = {**settings.model_params(chosen), **values, "engine": ENGINE}
    train, test = training.split(ratings, {"test_size": test_size, "seed": values["seed"]})
    schedule_runs = []
    st.session_state[KEY] = {"runs": schedule_runs, "params": params, "dataset": dataset.name,
                             "n_train": len(train)}
    cancel.button("Cancel", help="Ends the race after the current epoch (or leaves the queue); "
                         "the curves so far are kept.")

    def tick(run: Run) -> None:
        status_slot.caption(run.progress_text)

    def render(run: Run) -> None:
        tick(run)
        with live.container():
            columns = st.columns(2)
            for column, axis in zip(columns, ("epoch", "seconds")):
                column.plotly_chart(teaching.schedule_curves(schedule_runs, axis),
                                    key=f"sch_live_{axis}_{run.label}_{len(run.history)}")

    for number, name in enumerate(SCHEDULES, start=1):
        run = Run(number, {**params, "schedule": name}, dataset.name, dataset.path,
                  SGDFactorizer(**{**params, "schedule": name}), test, name=name)
        schedule_runs.append(run)
        training.execute(run, train, render, tick=tick)
        if run.status == "failed":
            schedule_runs.remove(run)
            st.error(f"Cannot train: {texts.escape_markdown(run.message)}")
            break
    status_slot.empty()
    cancel.empty()
    live.empty()

saved = st.session_state.get(KEY)
if saved and training.interrupted(saved["runs"]):
    with st.spinner("Stopping: waiting for the current epoch to end..."):
        training.settle(saved["runs"])
if not saved or not saved["runs"]:
    st.info("Press **Run all four schedules**. On MovieLens 100k it takes a few seconds.")
else:
    schedule_runs, params = saved["runs"], saved["params"]
    for run in schedule_runs:
        if run.status == "diverged":
            st.warning(f"{run.label}: {texts.escape_markdown(run.message)}")
    st.subheader(f"{texts.escape_markdown(saved['dataset'])}: {saved['n_train']:,} training ratings, "
                 f"K={params['n_factors']}, "
                 f"lr {params['lr']}, reg {params['reg']}")
    columns = st.columns(2)
    columns[0].markdown("**Test RMSE per epoch**")
    columns[0].plotly_chart(teaching.schedule_curves(schedule_runs, "epoch"), key="sch_epoch")
    columns[1].markdown("**Test RMSE against training time** (evaluation excluded)")
    columns[1].plotly_chart(teaching.schedule_curves(schedule_runs, "seconds"), key="sch_seconds")
    st.dataframe(teaching.schedule_table(schedule_runs), hide_index=True,
                 column_config={"last test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                "best test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                "s/epoch": st.column_config.NumberColumn(format="%.4f"),
                                "training s": st.column_config.NumberColumn(format="%.3f")})
    for finding in teaching.schedule_findings(schedule_runs, params["n_factors"]):
        st.markdown(finding)
    st.markdown(texts.SCHEDULE_MECHANISMS)

st.subheader("What the naive loop's dense error matrix would cost")
st.markdown("The naive loop from the question kept the per-epoch errors in a dense users x items matrix, "
            "one cell per pair whether rated or not. mfcore's per-epoch kernel keeps one float32 per "
            "rating instead.")
rows = []
for label, users, items, n_ratings in (
        (f"{dataset.name}", ratings.n_users, ratings.n_items, len(ratings)),
        ("Netflix Prize size", teaching.NETFLIX_USERS, teaching.NETFLIX_ITEMS, teaching.NETFLIX_RATINGS)):
    rows.append({"data": label, "users x items": f"{users:,} x {items:,}",
                 "dense float64": teaching.human_bytes(teaching.dense_matrix_bytes(users, items, 8)),
                 "dense float32": teaching.human_bytes(teaching.dense_matrix_bytes(users, items, 4)),
                 "one float32 per rating": teaching.human_bytes(4 * n_ratings)})
st.table(pd.DataFrame(rows).set_index("data"))
