"""Train: set hyperparameters, watch train and test RMSE per epoch, compare runs, download results."""

import itertools

import streamlit as st

from dashboard import charts, data, downloads, estimate, explore, jobs, run_store, runs, settings, training
from mfcore import SGDFactorizer
from mfcore import tuning
from mfcore.models.export import factors_csv, factors_npz, reproduction_snippet
from mfcore.models.base import is_fitted
from mfcore.evaluation.resources import PYTHON_MAX_RATINGS, MemoryGuardError

RENDERS = itertools.count()
EARLY_PATIENCE, EARLY_VALIDATION = tuning.DEFAULT_PATIENCE, training.VALIDATION_SIZE

st.set_page_config(page_title="Train · Factorization Playground", layout="wide")
st.title("Train")
dataset = data.current()
st.caption(dataset.caption)
if training.interrupted(runs.all_runs()):
    with st.spinner("Stopping: waiting for the current epoch to end..."):
        training.settle(runs.all_runs())

from_url, ignored = settings.from_query(st.query_params.to_dict())
if ignored:
    st.error(f"Ignored link settings: {'; '.join(ignored)}.")
chosen = settings.current()
if any(chosen[name] != value for name, value in from_url.items()):
    chosen = {**chosen, **from_url}
    for name in from_url:
        st.session_state.pop(f"train_{name}", None)
settings.save(chosen)

with st.form("train_form"):
    cells = [*st.columns(4), *st.columns(4), *st.columns(4)]
    for cell, name in zip(cells, settings.FIELDS):
        settings.widget(cell, name, key=f"train_{name}", value=chosen[name])
    early = st.checkbox(f"Early stopping: hold out {EARLY_VALIDATION:.0%} of the training ratings, stop after "
                        f"{EARLY_PATIENCE} epochs without a better validation RMSE, keep the best epoch",
                        key="train_early_stopping")
    submitted = st.form_submit_button("Train", type="primary")
    st.caption("The python engine is the readable reference loop, far slower than numba (the Speed page "
               "measures by how much on these ratings): on this shared server it trains on at most "
               f"{PYTHON_MAX_RATINGS:,} ratings (a random sample of larger training sets); use few epochs, "
               "or Stop training.")

stop_column, status_column = st.columns([1, 5])
stop_column.button("Stop training", help="Ends the run after the current epoch; its curve is kept and its "
                   "scores and downloads are those of the model after that epoch.")
progress_slot = status_column.empty()
message_slot = st.empty()
chart_slot = st.empty()


def tick(run: runs.Run) -> None:
    """Draw the progress bar of ``run`` (its queue position while it waits for a training slot)."""
    progress_slot.progress(run.progress_fraction, text=run.progress_text)


def render(run: runs.Run) -> None:
    """Draw the progress bar and the curves of ``run`` over the earlier runs on the same dataset."""
    tick(run)
    earlier = [other for other in runs.all_runs() if other.dataset == run.dataset and other is not run
               and other.number < run.number]
    shown_epochs = run.model.n_epochs if run.status == "running" else max(len(run.history), 1)
    figure = charts.learning_curves(run, earlier, shown_epochs)
    if run.model.patience is not None:  # early stopping: its validation curve and the epoch kept
        validated = [r for r in run.history if r.validation_rmse is not None]
        figure.add_scatter(x=[r.epoch for r in validated], y=[r.validation_rmse for r in validated],
                           mode="lines", name=f"{run.label} validation",
                           line={"width": 2, "dash": "dashdot", "color": charts.run_color(run.number)})
        if run.status == "done" and validated and is_fitted(run.model):  # restored runs: after Retrain
            figure.add_vline(x=run.model.best_epoch_, line_dash="dash", line_color="#2ca02c",
                             annotation_text=f"best epoch {run.model.best_epoch_} (kept)",
                             annotation_position=charts.label_side(run.model.best_epoch_, shown_epochs),
                             annotation_yshift=-24, annotation_bgcolor="rgba(255,255,255,0.85)")
    # a new key per render: the job thread may add an epoch between two renders' reads of the history
    chart_slot.plotly_chart(figure, key=f"curve-{run.number}-{run.status}-{next(RENDERS)}")


refusal = ""
if submitted:
    new = {name: st.session_state[f"train_{name}"] for name in settings.FIELDS}
    settings.save(new)
    try:
        training.check_memory(dataset.ratings, new["n_factors"], new["test_size"])
    except MemoryGuardError as exc:
        refusal = f"Not started: {exc}"
    else:
        train, test = training.split(dataset.ratings, new)
        patience = {"patience": EARLY_PATIENCE} if early else {}
        validation = None
        if early:
            train, validation = training.validation_split(train, new)
        with st.spinner("Estimating the time..."):
            seconds = estimate.training_seconds(dataset.ratings, dataset.key, len(train), new["n_epochs"],
                                                new["n_factors"], new["engine"])
        if estimate.is_long(seconds):
            message_slot.warning(estimate.sentence(seconds, "This run") + " Stop training ends it after the "
                                 "current epoch, keeping its curve.")
        run = runs.start(new, dataset.name, dataset.path,
                         SGDFactorizer(**settings.model_params(new), **patience), test)
        tick(run)
        training.execute(run, train, render, tick=tick, validation=validation)

latest = runs.all_runs()[-1] if runs.all_runs() else None
if refusal:
    message_slot.error(refusal)
elif latest is not None:
    if latest.status == "diverged":
        message_slot.error(f"{latest.message} A smaller K or a larger regularization also helps; the "
                           f"curve shows the {len(latest.history)} epoch(s) before it diverged.")
    elif latest.status == "failed":
        message_slot.error(f"Could not train: {latest.message}")
    elif latest.status == "done" and latest.model.patience is not None and is_fitted(latest.model):
        best = latest.history[latest.model.best_epoch_ - 1]
        message_slot.info(f"Early stopping: {latest.label} ran {len(latest.history)} of {latest.model.n_epochs} "
                          f"epochs and kept epoch {best.epoch}, whose validation RMSE {best.validation_rmse:.4f} "
                          f"was the lowest (test RMSE {best.test_rmse:.4f}).")
    elif latest.status == "stopped":
        scored = (f" (test RMSE {latest.scores['rmse']:.4f})" if latest.scores else "")
        message_slot.info(f"{latest.label} {latest.message}; its partial curve is kept below, and its "
                          f"scores and downloads are those of the model after epoch {len(latest.history)}"
                          f"{scored}.")
    elif latest.note:
        message_slot.info(latest.note)
if latest is not None:
    render(latest)
else:
    chart_slot.plotly_chart(charts.learning_curves(None, (), chosen["n_epochs"]), key="curve-empty")

if runs.all_runs():
    st.subheader("Runs in this session")
    st.table(runs.styled_table(runs.all_runs()))
    if runs.shared_settings(runs.all_runs()):
        st.caption(runs.shared_settings(runs.all_runs()))

    st.subheader("Reproduce and share")
    st.caption("The page URL holds the current settings: copy it to reopen this configuration.")
    restored = [run for run in runs.all_runs() if run_store.needs_refit(run)]
    if restored and st.button(f"Retrain {restored[-1].label} for its downloads",
                              help="Runs reloaded from the link keep their curves; their models are "
                                   "trained again on demand, with the same settings and seed."):

        def refit_steps(job, run=restored[-1], ratings=run_store.ratings_of(restored[-1])):
            run_store.refit(run, ratings)
            yield run

        refit = jobs.submit(refit_steps, f"retraining {restored[-1].label}",
                            engines=(restored[-1].model.engine,), n_threads=restored[-1].model.n_threads)
        jobs.follow(refit, lambda job: progress_slot.progress(0.0, text=job.status_line()))
        if refit.state == jobs.FAILED:
            message_slot.error(f"Could not retrain {restored[-1].label}: {refit.error}"
                               if isinstance(refit.error, ValueError) else
                               f"Could not retrain {restored[-1].label}: an internal error (in the server log).")
    downloadable = [run for run in runs.all_runs() if is_fitted(run.model)]
    cells = st.columns(5)
    cells[0].download_button("Run history (CSV)", runs.history_csv(runs.all_runs()),
                             file_name="run_history.csv", mime="text/csv", on_click="ignore")
    if downloadable:
        chosen_run = downloadable[-1]
        cells[1].download_button(f"Factors of {chosen_run.label} (.npz)",
                                 lambda: factors_npz(chosen_run.model),
                                 file_name=f"factors_run{chosen_run.number}.npz",
                                 mime="application/octet-stream", on_click="ignore")
        downloads.button(cells[2], f"Factors of {chosen_run.label} (CSV)", lambda: factors_csv(chosen_run.model),
                         downloads.factors_csv_bytes(chosen_run.model), f"factors_run{chosen_run.number}.csv",
                         "text/csv", key=f"factors-csv-{chosen_run.number}")
        trained = {**chosen_run.model.get_params(), "n_epochs": len(chosen_run.history)}
        snippet = reproduction_snippet(trained, chosen_run.data_path,
                                       chosen_run.settings["test_size"], chosen_run.settings["seed"])
        cells[3].download_button(f"Python script for {chosen_run.label}", snippet,
                                 file_name=f"reproduce_run{chosen_run.number}.py", mime="text/x-python",
                                 on_click="ignore")
        if chosen_run.dataset == dataset.name:
            cells[4].download_button(f"Model of {chosen_run.label} (.npz, opens on Explore)",
                                     lambda: explore.run_file(chosen_run, dataset.ratings),
                                     file_name=f"model_run{chosen_run.number}.npz",
                                     mime="application/octet-stream", on_click="ignore")
        with st.expander(f"Python that reproduces {chosen_run.label}"):
            st.code(snippet, language="python")
