"""Train: set hyperparameters, watch train and test RMSE per epoch, compare runs, download results."""

import time

import streamlit as st

from dashboard import charts, data, run_store, runs, settings
from mfcore import ENGINES, SGDFactorizer, TrainingDiverged, random_split
from mfcore.export import factors_csv, factors_npz, reproduction_snippet

RENDER_EVERY = 0.25  # seconds between chart updates while training

st.set_page_config(page_title="Train · Factorization Playground", layout="wide")
st.title("Train")
dataset = data.current()
st.caption(f"Dataset: {dataset.name}, {len(dataset.ratings):,} ratings "
           f"({dataset.ratings.n_users:,} users x {dataset.ratings.n_items:,} items). Change it on Home.")
runs.finish_interrupted()

from_url, ignored = settings.from_query(st.query_params.to_dict())
if ignored:
    st.error(f"Ignored link settings: {'; '.join(ignored)}.")
chosen = settings.current()
if any(chosen[name] != value for name, value in from_url.items()):
    chosen = {**chosen, **from_url}
    for name in from_url:
        st.session_state.pop(f"train_{name}", None)
settings.save(chosen)

limits = settings.LIMITS
with st.form("train_form"):
    row = st.columns(4)
    row[0].slider("Factors K", *limits["k"], value=chosen["k"], key="train_k")
    row[1].number_input("Learning rate", *limits["lr"], value=chosen["lr"], step=0.001, format="%.4f",
                        key="train_lr")
    row[2].number_input("Regularization", *limits["reg"], value=chosen["reg"], step=0.01, format="%.3f",
                        key="train_reg")
    row[3].slider("Epochs", *limits["epochs"], value=chosen["epochs"], key="train_epochs")
    row = st.columns(4)
    row[0].selectbox("Engine", list(ENGINES), index=list(ENGINES).index(chosen["engine"]), key="train_engine")
    row[1].slider("Test size", *limits["test"], value=chosen["test"], step=0.05, key="train_test")
    row[2].number_input("Seed", *limits["seed"], value=chosen["seed"], step=1, key="train_seed")
    row[3].checkbox("Learn biases (μ, b_u, b_i)", value=chosen["bias"], key="train_bias")
    submitted = st.form_submit_button("Train", type="primary")
    st.caption("The python engine is the readable reference loop, a few hundred times slower than numba: "
               "on large data use few epochs, or Stop training.")

stop_column, status_column = st.columns([1, 5])
stop_column.button("Stop training", help="Ends the run after the current epoch; its curve is kept.")
progress_slot = status_column.empty()
message_slot = st.empty()
chart_slot = st.empty()

history = runs.all_runs()
if submitted:
    new = {name: st.session_state[f"train_{name}"] for name in settings.DEFAULTS}
    settings.save(new)
    earlier = [run for run in history if run.dataset == dataset.name]
    model = SGDFactorizer(**settings.model_params(new))
    train, test = random_split(dataset.ratings, new["test"], seed=new["seed"])
    run = runs.start(new, dataset.name, dataset.path, model, test)
    progress = progress_slot.progress(0.0, text=f"{run.label}: starting")
    last_render = 0.0
    try:
        for result in model.fit_iter(train, test):
            run.history.append(result)
            final = result.epoch == new["epochs"]
            if final or time.perf_counter() - last_render > RENDER_EVERY:
                test_text = f", test RMSE {result.test_rmse:.4f}" if result.test_rmse is not None else ""
                progress.progress(result.epoch / new["epochs"],
                                  text=f"{run.label}: epoch {result.epoch}/{new['epochs']}, "
                                       f"train RMSE {result.train_rmse:.4f}{test_text}")
                chart_slot.plotly_chart(charts.learning_curves(run, earlier, new["epochs"]),
                                        key=f"curve-{run.number}-{result.epoch}")
                last_render = time.perf_counter()
        run.finish("done")
    except TrainingDiverged as exc:
        run.finish("diverged", str(exc))
    except ValueError as exc:
        run.finish("failed", str(exc))

latest = runs.all_runs()[-1] if runs.all_runs() else None
if latest is not None:
    if latest.status == "diverged":
        message_slot.error(f"{latest.message} A smaller K or a larger regularization also helps; the "
                           "curve shows the epochs before it diverged.")
    elif latest.status == "failed":
        message_slot.error(f"Could not train: {latest.message}")
    elif latest.status == "stopped":
        message_slot.info(f"{latest.label} {latest.message}; its partial curve is kept below.")
    if not submitted:
        progress_slot.progress(len(latest.history) / latest.settings["epochs"],
                               text=f"{latest.label}: {latest.status}, {len(latest.history)} of "
                                    f"{latest.settings['epochs']} epochs")
    if not submitted or latest.status != "done":
        earlier = [run for run in runs.all_runs()[:-1] if run.dataset == latest.dataset]
        chart_slot.plotly_chart(charts.learning_curves(latest, earlier, latest.settings["epochs"]),
                                key=f"curve-{latest.number}-final")
else:
    chart_slot.plotly_chart(charts.learning_curves(None, (), chosen["epochs"]), key="curve-empty")

if runs.all_runs():
    st.subheader("Runs in this session")
    st.dataframe(runs.table(runs.all_runs()), hide_index=True, key="runs_table",
                 column_config={"best test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                "final RMSE": st.column_config.NumberColumn(format="%.4f"),
                                "final MAE": st.column_config.NumberColumn(format="%.4f"),
                                "seconds": st.column_config.NumberColumn(format="%.3f"),
                                "updates/s": st.column_config.NumberColumn(format="compact")})

    st.subheader("Reproduce and share")
    st.caption("The page URL holds the current settings: copy it to reopen this configuration.")
    restored = [run for run in runs.all_runs() if run_store.needs_refit(run)]
    if restored and st.button(f"Retrain {restored[-1].label} for its downloads",
                              help="Runs reloaded from the link keep their curves; their models are "
                                   "trained again on demand, with the same settings and seed."):
        run_store.refit(restored[-1])
    downloadable = [run for run in runs.all_runs() if hasattr(run.model, "P_")]
    cells = st.columns(4)
    cells[0].download_button("Run history (CSV)", runs.history_csv(runs.all_runs()),
                             file_name="run_history.csv", mime="text/csv", on_click="ignore")
    if downloadable:
        chosen_run = downloadable[-1]
        cells[1].download_button(f"Factors of {chosen_run.label} (.npz)",
                                 lambda: factors_npz(chosen_run.model),
                                 file_name=f"factors_run{chosen_run.number}.npz",
                                 mime="application/octet-stream", on_click="ignore")
        cells[2].download_button(f"Factors of {chosen_run.label} (CSV)",
                                 lambda: factors_csv(chosen_run.model),
                                 file_name=f"factors_run{chosen_run.number}.csv", mime="text/csv",
                                 on_click="ignore")
        snippet = reproduction_snippet(chosen_run.model.get_params(), chosen_run.data_path,
                                       chosen_run.settings["test"], chosen_run.settings["seed"])
        cells[3].download_button(f"Python script for {chosen_run.label}", snippet,
                                 file_name=f"reproduce_run{chosen_run.number}.py", mime="text/x-python",
                                 on_click="ignore")
        with st.expander(f"Python that reproduces {chosen_run.label}"):
            st.code(snippet, language="python")
