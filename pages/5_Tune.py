"""Tune: search hyperparameters with Optuna on a validation split, live; score the best on the test set."""

import time

import pandas as pd
import streamlit as st

from dashboard.render import boundary
from dashboard.render import safe
from dashboard.server import datasets
from dashboard.logic import long_work
from dashboard.server import jobs
from dashboard.logic import search
from dashboard.logic import search_figures
from dashboard.logic import settings
from dashboard.render.texts import md, positives
from mfcore.tuning import DEFAULT_PATIENCE, DEFAULT_PRUNER, Range
from mfcore.tuning.ranking import VALIDATION_USERS

RENDER_EVERY = 1.0  # seconds between live updates

with boundary.page("Tune"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Tune · Factorization Playground", layout="wide")
    safe.title(st, "Tune")
    dataset = datasets.current()
    datasets.store_warning()
    model = safe.radio(st, "Model to tune", list(search.MODELS), format_func=search.MODELS.get, horizontal=True,
                     key="tune_model")
    score = "validation RMSE" if model == "sgd" else "validation NDCG@10"
    judged = (md("and is judged on that {} only, in one step (it has no epochs, so no trial is pruned)", score)
              if model in search.ONE_STEP else
              md("and is judged on that {} only, reported every epoch: {} pruning cuts unpromising trials short",
                 score, DEFAULT_PRUNER.capitalize())
              + (f", and early stopping ends a trial after {DEFAULT_PATIENCE} epochs without a better {score}"
                 if model == "sgd" else ""))
    safe.caption(st, md("{} {:.0%} of the ratings are the test set. "
                        "Each trial trains on the other ratings minus {:.0%} held out for validation, ",
                        dataset.caption, search.TEST_SIZE, search.VALIDATION_SIZE)
                 + judged
                 + ". The test set is scored once, for the best configuration"
                 + ("." if model == "sgd" else
                    f", beside popularity's. A ranking model's NDCG@10 ranks the validation positives "
                    f"({positives(dataset.ratings.scale)} by default) among every unseen item, on at most "
                    f"{VALIDATION_USERS:,} validation users; its trials run on one thread."))
    space = search.default_space(model)
    with st.form("tune_form" if model == "sgd" else f"tune_form_{model}"):
        safe.markdown(st, "**Search ranges** (numbers between low and high; the ones marked log are sampled on a log "
                          "scale)")
        chosen = {}
        columns = st.columns(5)
        for column, (name, rng) in zip(columns, [(n, r) for n, r in space.items() if r.kind is not bool]):
            label = search.LABELS[name] + (" (log)" if rng.log else "")
            step = 1 if rng.kind is int else 0.001
            fmt = None if rng.kind is int else "%.4f"
            prefix = "tune" if model == "sgd" else f"tune_{model}"
            bounds = dict(zip(("min_value", "max_value"), map(rng.kind, rng.param.widget_range)))  # Train's
            low = column.number_input(safe.md("{}: low", label), value=rng.low, step=step, format=fmt,
                                      key=f"{prefix}_{name}_low", **bounds)
            high = column.number_input(safe.md("{}: high", label), value=rng.high, step=step, format=fmt,
                                       key=f"{prefix}_{name}_high", **bounds)
            chosen[name] = Range(name, low, high, rng.log, model)
        try_unbiased = model == "sgd" and st.checkbox("Also try the unbiased model (Funk's p_u·q_i, no μ, b_u, b_i)",
                                                      value=True, key="tune_try_unbiased")
        row = st.columns(3)
        budget_kind = safe.radio(row[0], "Budget", ["trials", "seconds"], horizontal=True, key="tune_budget_kind")
        budget = row[1].number_input("Trials or seconds", min_value=1, max_value=5000, value=100, step=10,
                                     key="tune_budget")
        seed = row[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="tune_seed")
        start = st.form_submit_button("Start search", type="primary")

    job = st.session_state.get(search.KEY)
    linked = st.query_params.get(search.STUDY_PARAM)
    reopen_failed = False
    if linked and (job is None or job.study_name != linked):  # a reload or a copied link
        job = search.reopen(linked)
        reopen_failed = job is None
        if job is None:
            del st.query_params[search.STUDY_PARAM]
        st.session_state[search.KEY] = job
    stop_column, status_column = st.columns([1, 5])
    watching = job is not None and not search.owns(job)  # another session's search: watch and copy only
    stop_clicked = stop_column.button("Stop search", disabled=watching,
                                      help="This search belongs to the session that started it: you can watch it "
                                      "and copy its best settings." if watching else "Ends the search after the "
                                      "running trial's current epoch; finished trials are kept.")
    status_slot = status_column.empty()
    confirm_slot = st.empty()  # a long search's estimate and its Start button, before it starts
    message_slot = st.empty()
    table_slot = st.empty()
    chart_slot = st.empty()
    if reopen_failed:
        safe.error(message_slot, "The link names search {}, which this server does not keep: "
                                 "start a new one.", linked)
    elif watching and job.running:
        safe.info(message_slot, "This search was started in another session: you can watch it and copy its best "
                                "settings; Start search starts a search of your own.")
    confirmed = None if start else long_work.gate(confirm_slot, "tune")  # Start clicked for a long search
    request = None
    if start:
        if try_unbiased:
            chosen["biased"] = Range("biased")
        n_trials, timeout = (int(budget), None) if budget_kind == "trials" else (None, float(budget))
        request = {"space": chosen, "n_trials": n_trials, "timeout": timeout, "seed": int(seed), "model": model}
        try:
            for rng in chosen.values():
                rng.check()
        except ValueError as exc:
            safe.error(message_slot, "Could not start the search: {}",
                       settings.form_words(exc, search.LABELS))
            request = None
    if request is not None:
        with st.spinner("Estimating the time..."):
            seconds = search.estimated_seconds(chosen, n_trials, timeout, len(dataset.ratings), model,
                                               dataset.ratings.n_items)
        basis = ("its budget in seconds" if timeout else
                 "one step per trial, estimated from a measured fit and the load" if model in search.ONE_STEP else
                 "at most, if no trial is pruned or stopped early; estimated from its measured speed and load")
        text = (long_work.sentence(seconds, "This search", basis)
                + " Stop search ends it after the running trial, keeping the finished ones.")
        confirmed = long_work.gate(confirm_slot, "tune", request, seconds, text, "The search")
    if confirmed is not None:
        request = confirmed[0]
        if search.owns(job) and job.running:  # a session replaces only its own search
            job.stop.set()
        if long_work.is_long(confirmed[1]):
            safe.info(message_slot, "{} Stop search ends it after the running trial, keeping the finished ones.",
                      long_work.sentence(confirmed[1], "This search", "at most"))
        try:
            job = search.start(dataset.ratings, dataset.name, request["space"], n_trials=request["n_trials"],
                               timeout=request["timeout"], seed=request["seed"], dataset_key=dataset.key,
                               model=request["model"])
            st.session_state[search.KEY] = job
        except ValueError as exc:
            safe.error(message_slot, "Could not start the search: {}",
                       settings.form_words(exc, search.LABELS))
    if stop_clicked and search.owns(job) and job.running:
        job.stop.set()
    if job is not None and job.memory_note:
        safe.warning(st, "{}", job.memory_note)
    if job is not None and st.query_params.get(search.STUDY_PARAM) != job.study_name:
        st.query_params[search.STUDY_PARAM] = job.study_name  # a reload or a copied link reopens it


    def render(job, final: bool):
        """Draw the search's status line, trial table and curves; returns the study it read (None while queued)."""
        if not final and job.scheduled is not None and job.scheduled.state == jobs.QUEUED:
            safe.markdown(status_slot, "{}", job.scheduled.status_line())
            return
        study = job.study()
        rows = search.table(study)
        counts = pd.Series([row["state"] for row in rows]).value_counts().to_dict() if rows else {}
        elapsed = job.elapsed
        state = ("stopped at the work limit" if job.timed_out else "stopped" if job.stop.is_set()
                 else "finished") if final else "running"
        safe.markdown(status_slot, "Search **{}**: {} trials in {:.1f} s ({})", state, len(rows), elapsed,
                      ", ".join(f"{count} {name}" for name, count in sorted(counts.items())))
        frame = pd.DataFrame(rows)
        if not frame.empty:
            frame = frame.sort_values("trial", ascending=False)
            if job.model in search.ONE_STEP:  # a trial is one step: no epochs to count
                frame = frame.drop(columns="epochs run")
        table_slot.dataframe(frame, hide_index=True, height=300, key=f"trials-{len(rows)}-{final}",
                             column_config={"validation RMSE": st.column_config.NumberColumn(format="%.4f"),
                                            "validation NDCG@10": st.column_config.NumberColumn(format="%.4f"),
                                            "learning rate": st.column_config.NumberColumn(format="%.4f"),
                                            "regularization": st.column_config.NumberColumn(format="%.4f"),
                                            "init std": st.column_config.NumberColumn(format="%.4f")})
        max_epochs = int(job.space["n_epochs"].high) if "n_epochs" in job.space else 20
        figure = (search_figures.trial_scores(study) if job.model in search.ONE_STEP
                  else search_figures.curves_figure(study, max_epochs))
        safe.plotly_chart(chart_slot, figure, key=f"curves-{len(rows)}-{final}-{elapsed:.2f}")
        return study


    if job is not None:
        last = 0.0
        while job.running:
            if time.perf_counter() - last > RENDER_EVERY:
                render(job, final=False)
                last = time.perf_counter()
            time.sleep(0.05)
        study = render(job, final=True)
        if job.error:
            safe.error(message_slot, "The search ended without a result: {}",
                       settings.form_words(job.error, search.LABELS))
        elif job.scheduled is not None and job.scheduled.state == jobs.FAILED:  # logged with its traceback
            safe.error(message_slot, "The search ended without a result: {}.",
                       settings.form_words(jobs.failure(job.scheduled), search.LABELS))
        elif job.result is not None and job.model != "sgd":  # a ranking model: NDCG@10 beside popularity
            result = job.result
            safe.subheader(st, "Best configuration on the test set")
            safe.caption(st, "{}", search.settings_sentence(result, job.model))
            st.page_link("pages/1_Train.py", label="Train it", icon="➡️",
                         query_params=search.ranking_train_query(result, job.model),
                         help="Opens Train's form for this model with these settings (and the search's seed and "
                              "test size); press Train there.")
            safe.markdown(st, "{}", search.summary(result))
            scores, metric = search.scores_table(result)
            st.dataframe(scores, hide_index=True, key="tune_scores",
                         column_config={metric: st.column_config.NumberColumn(format="%.4f")})
            for title, figure in search_figures.optuna_figures(study).items():
                safe.subheader(st, "{}", title)
                safe.plotly_chart(st, figure, key=f"optuna-{title}")
        elif job.result is not None:
            result = job.result
            safe.subheader(st, "Best configuration on the test set")
            if job.dataset != dataset.name:
                safe.warning(st, "This search ran on {}; the pages now use "
                                 "{}, so Train it "
                                 "and Explore it train on that instead.", job.dataset, dataset.name)
            safe.markdown(st, "{}", search.best_in_words(result))
            train_it, explore_it, _ = st.columns([1, 1, 4])
            train_it.page_link("pages/1_Train.py", label="Train it", icon="➡️",
                               query_params=search.train_query(result, test_size=search.TEST_SIZE),
                               help="Opens Train with these settings (and the search's seed and test size); "
                                    "press Train there.")
            explore_clicked = explore_it.button("Explore it", help="Trains these settings as a new run, then "
                                                "opens Explore on it.")
            safe.markdown(st, "{}", search.summary(result))
            scores = pd.DataFrame(
                [{"model": f"best trial {result['best_trial']}", "test RMSE": result["test_rmse"]}]
                + [{"model": name, "test RMSE": value} for name, value in result["baselines"].items()])
            st.dataframe(scores, hide_index=True, key="tune_scores",
                         column_config={"test RMSE": st.column_config.NumberColumn(format="%.4f")})
            if explore_clicked:
                stop_column, progress_column = st.columns([1, 5])
                # a click reruns the page, which cancels the job (jobs.follow)
                stop_column.button("Stop training", key="tune_explore_stop",
                                   help="Stops this training after its current epoch; the run stays on Train "
                                        "as stopped, and Explore is not opened.")
                progress = progress_column.progress(0.0, text="Training the best configuration...")
                try:
                    run = search.explore_run(result, dataset,
                                             lambda run: progress.progress(run.progress_fraction,
                                                                           text=run.progress_text))
                except ValueError as exc:
                    safe.error(st, "Could not train it: {}", settings.form_words(exc, search.LABELS))
                else:
                    if run.status == "done":
                        st.switch_page("pages/6_Explore.py")
                    safe.error(st, "Could not train it: {} ended {}{}", run.label, run.status,
                               f" ({settings.form_words(run.message)})." if run.message else ".")
            for title, figure in search_figures.optuna_figures(study).items():
                safe.subheader(st, "{}", title)
                safe.plotly_chart(st, figure, key=f"optuna-{title}")
    else:
        safe.markdown(status_slot, "Set the ranges and the budget, then **Start search**.")
