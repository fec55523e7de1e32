"""Error schedules: how often should SGD recompute the error? All four schedules, same data and random seed."""

import itertools

import pandas as pd
import streamlit as st

from dashboard.render import boundary
from dashboard.render import safe
from dashboard.server import datasets
from dashboard.logic import long_work
from dashboard.logic import settings
from dashboard.logic import lesson_figures
from dashboard.render import texts
from dashboard.logic import run_driver
from dashboard.server.run_record import Run
from mfcore import SGDFactorizer
from mfcore.engines import SCHEDULES
from mfcore.evaluation.resources import MemoryGuardError

KEY = "schedule_results"
ENGINE = "numba"
FIELDS = ("n_factors", "n_epochs", "lr", "reg", "epochs_per_feature", "seed")
OWN = {"n_factors": 16, "n_epochs": 10}  # the page's own defaults: four schedules train in turn

with boundary.page("Error schedules"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Error schedules · Factorization Playground", layout="wide")
    safe.title(st, "Error schedules")
    dataset = datasets.current()
    datasets.store_warning()
    ratings = dataset.ratings
    chosen = settings.current()
    test_size = chosen["test_size"] or settings.default("test_size")  # the curves need a test set
    safe.caption(st, "{} Every schedule trains with the {} engine "
                     "on the same random split ({:.0%} test, biases {}, "
                     "as on the Train page), from the same initial factors, visiting the ratings in the same orders.",
                     dataset.caption, ENGINE, test_size, 'on' if chosen['biased'] else 'off')

    safe.markdown(st, "The naive loop in the original question raises this: **how often should the error "
                      "e = r − r̂ be recomputed?** Four answers, each one epoch = one pass over the training ratings:\n"
                      "{}", safe.md("\n").join(safe.md("- **{}**: {}", name, texts.SCHEDULES[name])
                                                for name in SCHEDULES))

    own_rates = lesson_figures.schedule_rates(ratings)
    with st.form("schedules_form"):
        row = st.columns(len(FIELDS))
        for cell, name in zip(row, FIELDS):
            settings.widget(cell, name, key=f"sch_{name}", value=OWN.get(name, chosen.get(name)))
        own_lr = st.checkbox(safe.md("Learning rate: each schedule's own ({}), so that no schedule starts diverging; "
                                     "untick to use the learning rate above for all four",
                                     lesson_figures.rates_text(own_rates)),
                             value=True, key="sch_own_lr", help=safe.md("per-epoch's stale errors add a user's or an "
                             "item's steps up over the epoch: its rate is lower, and lower still on data where "
                             "one user or item has many ratings (at most {:g} / the most "
                             "ratings of one row).", lesson_figures.STALE_STEP))
        submitted = st.form_submit_button("Run all four schedules", type="primary")
    form_values = {name: st.session_state[f"sch_{name}"] for name in FIELDS}
    differ = settings.differences({name: value for name, value in form_values.items()
                                   if name != "lr" or not own_lr}, chosen)
    safe.caption(st, "This page has its own defaults (a small K and few epochs: four schedules train in turn). {}{}",
                 f"Differs from Train: {differ}." if differ else "The form agrees with Train's settings.",
                 f" Learning rate: each schedule's own ({lesson_figures.rates_text(own_rates)})." if own_lr else "")

    cancel_column, status_column = st.columns([1, 5])
    cancel, status_slot, confirm_slot, live = cancel_column.empty(), status_column.empty(), st.empty(), st.empty()
    confirmed = None if submitted else long_work.gate(confirm_slot, "schedules")  # Start clicked for a long race
    values = dict(form_values) if submitted else confirmed[0]["values"] if confirmed else None
    own_lr = own_lr if submitted else confirmed[0]["own_lr"] if confirmed else own_lr
    if values is not None:
        try:
            run_driver.check_memory(ratings, values["n_factors"], test_size, "funk")
        except MemoryGuardError as exc:
            safe.error(st, "Not started: {}", settings.form_words(exc))
            values = None
    if values is not None:
        train, test = run_driver.split(ratings, {"test_size": test_size, "seed": values["seed"]})
    if values is not None and submitted:
        with st.spinner("Estimating the time..."):
            seconds = sum(long_work.training_seconds(len(train), values["n_epochs"], values["n_factors"], ENGINE, name)
                          for name in SCHEDULES)
        text = (long_work.sentence(seconds, "The race of the four schedules")
                + " Cancel ends it after the current epoch; a smaller K or fewer epochs shorten it.")
        if long_work.gate(confirm_slot, "schedules", {"values": values, "own_lr": own_lr}, seconds, text,
                          "The race") is None:
            values = None
    if values is not None:
        params = {**settings.model_params(chosen), **values, "engine": ENGINE}
        rates = own_rates if own_lr else {name: values["lr"] for name in SCHEDULES}
        schedule_runs = []
        st.session_state[KEY] = {"runs": schedule_runs, "params": params, "dataset": dataset.name,
                                 "n_train": len(train), "rates": rates}
        cancel.button("Cancel", help="Ends the race after the current epoch (or leaves the queue); "
                             "the curves so far are kept.")

        def tick(run: Run) -> None:
            safe.caption(status_slot, "{}", run.progress_text)

        renders = itertools.count()  # a new key per render: the history may grow between two renders' reads

        def render(run: Run) -> None:
            tick(run)
            with live.container():
                columns = st.columns(2)
                for column, axis in zip(columns, ("epoch", "seconds")):
                    safe.plotly_chart(column, lesson_figures.schedule_curves(schedule_runs, axis),
                                        key=f"sch_live_{axis}_{next(renders)}")

        for number, name in enumerate(SCHEDULES, start=1):
            race_params = {**params, "schedule": name, "lr": rates[name], "step_rule": lesson_figures.RACE_STEP_RULE}
            run = Run(number, race_params, dataset.name, dataset.path, SGDFactorizer(**race_params), test, name=name)
            schedule_runs.append(run)
            run_driver.execute(run, train, render, tick=tick)
            if run.status == "failed":
                schedule_runs.remove(run)
                safe.error(st, "Cannot train: {}", settings.form_words(run.message))
                break
        status_slot.empty()
        cancel.empty()
        live.empty()

    saved = st.session_state.get(KEY)
    if saved and run_driver.interrupted(saved["runs"]):
        with st.spinner("Stopping: waiting for the current epoch to end..."):
            run_driver.settle(saved["runs"])
    if not saved or not saved["runs"]:
        safe.info(st, "Press **Run all four schedules**: the page says first if it should take more than "
                      "{:.0f} s.", long_work.WARN_SECONDS)
    else:
        schedule_runs, params = saved["runs"], saved["params"]
        for run in schedule_runs:
            if run.status == "diverged":
                safe.warning(st, "{}: {}", run.label, settings.form_words(run.message))
        rates = sorted(set(saved["rates"].values()))
        rate_text = (f"{rates[0]:g}" if len(rates) == 1 else
                     ", ".join(f"{name} {value:g}" for name, value in saved["rates"].items()))
        safe.subheader(st, "{}: {:,} training ratings, {}, {} {}, {}", saved["dataset"], saved["n_train"],
                       settings.described({name: params[name] for name in ("n_factors", "n_epochs")}),
                       settings.LABELS["lr"], rate_text, settings.described({"reg": params["reg"]}), anchor=False)
        columns = st.columns(2)
        safe.markdown(columns[0], "**Test RMSE per epoch**")
        safe.plotly_chart(columns[0], lesson_figures.schedule_curves(schedule_runs, "epoch"), key="sch_epoch")
        safe.markdown(columns[1], "**Test RMSE against training time** (evaluation excluded)")
        safe.plotly_chart(columns[1], lesson_figures.schedule_curves(schedule_runs, "seconds"), key="sch_seconds")
        st.dataframe(lesson_figures.schedule_table(schedule_runs), hide_index=True,
                     column_config={"last test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                    "best test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                    "s/epoch": st.column_config.NumberColumn(format="%.4f"),
                                    "training s": st.column_config.NumberColumn(format="%.3f")})
        for finding in lesson_figures.schedule_findings(schedule_runs, params["n_factors"]):
            safe.markdown(st, "{}", finding)
        safe.markdown(st, "{}", texts.SCHEDULE_MECHANISMS)

    safe.subheader(st, "What the naive loop's dense error matrix would cost")
    safe.markdown(st, "The naive loop from the question kept the per-epoch errors in a dense users x items matrix, "
                      "one cell per pair whether rated or not. mfcore's per-epoch kernel keeps one float32 per "
                      "rating instead.")
    rows = []
    for label, users, items, n_ratings in (
            (f"{dataset.name}", ratings.n_users, ratings.n_items, len(ratings)),
            ("Netflix Prize size", lesson_figures.NETFLIX_USERS, lesson_figures.NETFLIX_ITEMS,
             lesson_figures.NETFLIX_RATINGS)):
        rows.append({"data": label, "users x items": f"{users:,} x {items:,}",
                     "dense float64": lesson_figures.human_bytes(lesson_figures.dense_matrix_bytes(users, items, 8)),
                     "dense float32": lesson_figures.human_bytes(lesson_figures.dense_matrix_bytes(users, items, 4)),
                     "one float32 per rating": lesson_figures.human_bytes(4 * n_ratings)})
    safe.table(st, pd.DataFrame(rows).set_index("data"))
