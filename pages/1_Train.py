"""Train: set hyperparameters, watch train and test RMSE per epoch, compare runs, download results."""

import itertools

import streamlit as st

from dashboard.render import boundary
from dashboard.render import charts
from dashboard.render import safe
from dashboard.server import datasets
from dashboard.logic import downloads
from dashboard.logic import long_work
from dashboard.server import saved_runs
from dashboard.logic import session_runs
from dashboard.logic import settings
from dashboard.logic import run_driver
from dashboard.server.run_record import KIND_NAMES, Run
from dashboard.render.texts import positives
from mfcore import SGDFactorizer, tuning
from mfcore.models.persist import KINDS
from mfcore.evaluation.resources import PYTHON_MAX_RATINGS, MemoryGuardError
from mfcore.models.base import is_fitted

RENDERS = itertools.count()
EARLY_PATIENCE, EARLY_VALIDATION = tuning.DEFAULT_PATIENCE, run_driver.VALIDATION_SIZE

with boundary.page("Train"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Train · Factorization Playground", layout="wide")
    safe.title(st, "Train")
    dataset = datasets.current()
    datasets.store_warning()
    safe.caption(st, "{}", dataset.caption)
    if run_driver.interrupted(session_runs.all_runs()):
        with st.spinner("Stopping: waiting for the current epoch to end..."):
            run_driver.settle(session_runs.all_runs())

    ranking_kind, ranking_from_url, ranking_ignored = settings.ranking_from_query(st.query_params.to_dict())
    if ranking_kind is not None:  # a link to a ranking model's form (Tune's "Train it"): it opens that form
        from_url, ignored = {}, ranking_ignored
        st.session_state["train_kind"] = ranking_kind
        st.session_state.setdefault("train_ranking_chosen", {})[ranking_kind] = ranking_from_url
        for name in ranking_from_url:
            st.session_state.pop(f"train_{ranking_kind}_{name}", None)
    else:
        from_url, ignored = settings.from_query(st.query_params.to_dict())
        ignored += ranking_ignored
    if ignored:
        safe.error(st, "Ignored link settings: {}.", '; '.join(ignored))
    chosen = settings.current()
    if any(chosen[name] != value for name, value in from_url.items()):
        chosen = {**chosen, **from_url}
        for name in from_url:
            st.session_state.pop(f"train_{name}", None)
    settings.save(chosen)

    KIND_HELP = {"sgd": "rating MF (SGD: predicts ratings; RMSE curve)", "bpr": "BPR (ranking; NDCG@10 curve)",
                 "als": "implicit ALS (ranking; NDCG@10 curve)", "ease": "EASE (ranking; one closed-form step)",
                 "itemknn": "item-kNN (ranking; one step)"}
    kind = safe.radio(st, "Model", list(KIND_NAMES), format_func=KIND_HELP.get, horizontal=True, key="train_kind")
    submitted = early = False
    if kind == "sgd":
        with st.form("train_form"):
            cells = [*st.columns(4), *st.columns(4), *st.columns(4)]
            for cell, name in zip(cells, settings.FIELDS):
                settings.widget(cell, name, key=f"train_{name}", value=chosen[name])
            early = st.checkbox(safe.md("Early stopping: hold out {:.0%} of the training ratings, stop after "
                                        "{} epochs without a better validation RMSE, keep the best epoch",
                                        EARLY_VALIDATION, EARLY_PATIENCE),
                                key="train_early_stopping")
            submitted = st.form_submit_button("Train", type="primary")
            safe.caption(st, "The python engine is the readable reference loop, far slower than numba (the Speed page "
                             "measures by how much on these ratings): on this shared server it trains on at most "
                             "{:,} ratings (a random sample of larger training sets); use few epochs, "
                             "or Stop training.", PYTHON_MAX_RATINGS)
    else:
        with st.form(f"train_form_{kind}"):
            fields = settings.ranking_fields(kind)
            cells = [cell for _ in range(0, len(fields), 4) for cell in st.columns(4)]
            for cell, name in zip(cells, fields):
                settings.widget(cell, name, key=f"train_{kind}_{name}", table=settings.RANKING_TABLES[kind],
                                value=st.session_state.get("train_ranking_chosen", {}).get(kind, {}).get(name))
            submitted = st.form_submit_button("Train", type="primary")
            safe.caption(st, "{}", settings.ranking_caption(kind, KIND_NAMES[kind], positives(dataset.ratings.scale),
                                                            run_driver.RANKING_EVAL_USERS))

    stop_column, status_column = st.columns([1, 5])
    stop_column.button("Stop training", help="Ends the run after the current epoch; its curve is kept and its "
                       "scores and downloads are those of the model after that epoch.")
    progress_slot = status_column.empty()
    confirm_slot = st.empty()  # a long run's estimate and its Start button, before it starts
    message_slot = st.empty()
    chart_slot = st.empty()


    def tick(run: Run) -> None:
        """Draw the progress bar of ``run`` (its queue position while it waits for a training slot)."""
        progress_slot.progress(run.progress_fraction, text=run.progress_text)


    def render(run: Run) -> None:
        """Draw the progress bar and the curves of ``run`` over the earlier runs on the same dataset."""
        tick(run)
        earlier = [other for other in session_runs.all_runs() if other.dataset == run.dataset and other is not run
                   and other.number < run.number]
        shown_epochs = run.model.n_epochs if run.status == "running" else max(len(run.history), 1)
        if run.ranking:
            figure = charts.ranking_curves(run, [other for other in earlier if other.ranking], shown_epochs)
            safe.plotly_chart(chart_slot, figure, key=f"curve-{run.number}-{run.status}-{next(RENDERS)}")
            return
        figure = charts.learning_curves(run, [other for other in earlier if not other.ranking], shown_epochs)
        if run.model.patience is not None:  # early stopping: its validation curve and the epoch kept
            validated = [r for r in run.history if r.validation_rmse is not None]
            figure.add_scatter(x=[r.epoch for r in validated], y=[r.validation_rmse for r in validated],
                               mode="lines", name=f"{run.label} validation",
                               line={"width": 2, "dash": "dashdot", "color": charts.run_color(run.number)})
            if run.status == "done" and validated and is_fitted(run.model):  # restored runs: after Retrain
                figure.add_vline(x=run.model.best_epoch_, line_dash="dash", line_color="#2ca02c",
                                 annotation_text=f"best epoch {run.model.best_epoch_} (kept)",
                                 annotation_position=charts.label_side(
                                     run.model.best_epoch_, charts.epoch_span([run, *earlier], shown_epochs)),
                                 annotation_yshift=-24, annotation_bgcolor="rgba(255,255,255,0.85)")
        # a new key per render: the job thread may add an epoch between two renders' reads of the history
        safe.plotly_chart(chart_slot, figure, key=f"curve-{run.number}-{run.status}-{next(RENDERS)}")


    refusal = ""
    confirmed = None if submitted else long_work.gate(confirm_slot, "train")  # a long run Start was clicked for
    if (submitted and kind != "sgd") or (confirmed is not None and "kind" in confirmed[0]["settings"]):
        new = confirmed[0]["settings"] if confirmed else {
            "kind": kind, **{name: st.session_state[f"train_{kind}_{name}"] for name in settings.ranking_fields(kind)}}
        model = KINDS[new["kind"]](**settings.ranking_params(new["kind"], new))
        try:
            run_driver.check_memory(dataset.ratings, model.n_factors, new["test_size"], model=model)
        except MemoryGuardError as exc:
            refusal = f"Not started: {exc}"
        else:
            train, test, _ = run_driver.prepare(dataset.ratings, new)
            if submitted and new["kind"] in settings.ITEM_KINDS:  # one step: no epochs to stop after
                with st.spinner("Estimating the time..."):
                    seconds = long_work.closed_form_seconds(new["kind"], dataset.ratings.n_items)
                text = (f"{long_work.sentence(seconds, 'This fit')} It is one step: Stop training cannot cut it "
                        "short; it grows with the number of items.")
            elif submitted:
                with st.spinner("Estimating the time..."):
                    seconds = long_work.ranking_seconds(new["kind"], len(train), new["n_epochs"], new["n_factors"])
                text = (f"{long_work.sentence(seconds, 'This run')} Stop training ends it after the current epoch, "
                        "keeping its curve; fewer epochs or a smaller K shorten it.")
                if long_work.gate(confirm_slot, "train", {"settings": new}, seconds, text, "This run") is None:
                    new = None
            if new is not None:
                run = session_runs.start(new, dataset.name, dataset.path, model, test)
                tick(run)
                run_driver.execute(run, train, render, tick=tick)
    elif submitted or confirmed is not None:
        if submitted:
            new = {name: st.session_state[f"train_{name}"] for name in settings.FIELDS}
        else:
            new, early = confirmed[0]["settings"], confirmed[0]["early"]
        settings.save(new)
        try:
            run_driver.check_memory(dataset.ratings, new["n_factors"], new["test_size"], engine=new["engine"])
        except MemoryGuardError as exc:
            refusal = f"Not started: {exc}"
        else:
            train, test, validation = run_driver.prepare(dataset.ratings, new, early)
            patience = {"patience": EARLY_PATIENCE} if early else {}
            seconds = confirmed[1] if confirmed else None
            if submitted:
                with st.spinner("Estimating the time..."):
                    seconds = long_work.training_seconds(len(train), new["n_epochs"], new["n_factors"],
                                                        new["engine"], threads=new.get("n_threads"))
                request = {"settings": new, "early": early}
                advice = "Stop training ends it after the current epoch, keeping its curve; fewer epochs or a " \
                         "smaller K shorten it."
                if long_work.gate(confirm_slot, "train", request, seconds,
                                  f"{long_work.sentence(seconds, 'This run')} {advice}", "This run") is None:
                    new = None
            if new is not None:
                if long_work.is_long(seconds):
                    safe.info(message_slot, "{} Stop training ends it after the current epoch, keeping its curve.",
                      long_work.sentence(seconds, "This run"))
                run = session_runs.start(new, dataset.name, dataset.path,
                                         SGDFactorizer(**settings.model_params(new), **patience), test)
                tick(run)
                run_driver.execute(run, train, render, tick=tick, validation=validation)

    latest = session_runs.all_runs()[-1] if session_runs.all_runs() else None
    if refusal:
        safe.error(message_slot, "{}", refusal)
    elif latest is not None:
        if latest.status == "diverged":
            safe.error(message_slot, "{} A smaller K or a larger "
                                     "regularization also helps; the curve shows the {} epoch(s) "
                                     "before it diverged.",
                                     settings.form_words(latest.message), len(latest.history))
        elif latest.status == "failed":
            safe.error(message_slot, "Could not train: {}", settings.form_words(latest.message))
        elif (latest.status == "done" and getattr(latest.model, "patience", None) is not None
              and is_fitted(latest.model)):
            best = latest.history[latest.model.best_epoch_ - 1]
            safe.info(message_slot, "Early stopping: {} ran {} of {} "
                                    "epochs and kept epoch {}, whose validation RMSE {:.4f} "
                                    "was the lowest (test RMSE {:.4f}).",
                                    latest.label, len(latest.history), latest.model.n_epochs, best.epoch,
                                    best.validation_rmse, best.test_rmse)
        elif latest.status in ("stopped", "interrupted"):
            safe.info(message_slot, "{}", settings.form_words(session_runs.ending(latest)))
        elif latest.note:
            safe.info(message_slot, "{}", latest.note)
    if latest is not None:
        render(latest)
    else:
        safe.plotly_chart(chart_slot, charts.learning_curves(None, (), chosen["n_epochs"]), key="curve-empty")

    if session_runs.all_runs():
        safe.subheader(st, "Runs in this session")
        shown_columns, more_columns = session_runs.column_choice(session_runs.all_runs())
        if "train_runs_more" in st.session_state:  # a column chosen before may have become a shown one
            st.session_state["train_runs_more"] = [name for name in st.session_state["train_runs_more"]
                                                   if name in more_columns]
        extra = st.multiselect("More columns", more_columns, key="train_runs_more", format_func=session_runs.header,
                               help="The table shows the scores, the times and the settings that differ between "
                                    "runs, as many as fit the page; add any other column here.")
        session_runs.show_table(st, session_runs.all_runs(), extra)
        safe.caption(st, "{}",
                         " ".join(filter(None, [session_runs.shared_settings(session_runs.all_runs()),
                                          session_runs.SECONDS_SENTENCE])))

        safe.subheader(st, "Reproduce and share")
        safe.caption(st, "The page URL holds the current settings: copy it to reopen this configuration.")
        pick_column, all_column = st.columns([2, 3])
        labels = [run.label for run in session_runs.all_runs()]
        label = pick_column.selectbox("Files of run", labels, index=len(labels) - 1,
                                      help="Every run's history, factors, model and script: pick a run, "
                                           "then download its files.")
        safe.download_button(all_column, "Run history (CSV)", session_runs.history_csv(session_runs.all_runs()),
                             "run_history.csv", mime="text/csv", on_click="ignore",
                             help="Every epoch of every run in this session, with its settings.")
        picked = session_runs.by_label(session_runs.all_runs(), label)
        retrain_slot, retrain_confirm = st.empty(), st.empty()
        request, seconds, asked = None, 0.0, ""
        if picked.needs_refit and retrain_slot.button(
                safe.md("Retrain {} for its downloads", picked.label),
                help="Only the newest run and the last one retrained keep their models (runs reloaded from "
                     "the link keep only their curves); this trains the model again, with the same "
                     "settings, split and seed, so its files are this run's."):
            source = saved_runs.ratings_of(picked)
            request = {"label": picked.label}
            if source is not None:  # else refit says the dataset is gone
                with st.spinner("Estimating the time..."):
                    seconds = long_work.refit_seconds(picked, len(source), source.n_items)
                asked = f"{long_work.sentence(seconds, f'Retraining {picked.label}')} Stop training ends it."
        go = long_work.gate(retrain_confirm, "retrain", request, seconds, asked, "The retraining")
        if go is not None:
            picked = session_runs.by_label(session_runs.all_runs(), go[0]["label"])
            try:
                run_driver.refit(picked, saved_runs.ratings_of(picked),
                               tick=lambda fraction, text: retrain_slot.progress(fraction, text=text))
            except ValueError as exc:
                retrain_slot.empty()
                safe.error(st, "Could not retrain {}: {}", picked.label, settings.form_words(exc))
            else:
                session_runs.hold(picked, session_runs.all_runs())
                retrain_slot.empty()
        files = downloads.of_run(picked, saved_runs.ratings_source(picked))
        cells = [cell for _ in range(0, len(files), 3) for cell in st.columns(3)]  # room for whole labels
        for cell, file in zip(cells, files):
            downloads.button(cell, file, key=f"download-{picked.number}-{file.file_name}")
        if downloads.no_model(picked):
            safe.caption(st, "{}", downloads.no_model(picked))
        with st.expander(safe.md("Python that reproduces {}", picked.label)):
            st.code(downloads.script(picked), language="python")
