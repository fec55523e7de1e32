"""Speed: time every engine on the loaded ratings with the chosen settings, and check they agree."""

import pandas as pd
import streamlit as st

from dashboard.render import boundary
from dashboard.render import charts
from dashboard.render import safe
from dashboard.server import datasets
from dashboard.logic import long_work
from dashboard.server import jobs
from dashboard.logic import settings
from dashboard.render import texts
from dashboard.logic import run_driver
from dashboard.logic.speed_verdicts import cancel_sentence, cython_verdict
from mfcore import ENGINES
from mfcore.evaluation import bench
from mfcore.engines import UNAVAILABLE

AGREEMENT_TOLERANCE = 1e-4
AGREEMENT_RATINGS, AGREEMENT_EPOCHS = 2000, 2
KEY = "speed_results"
OWN = {"n_factors": 32, "n_epochs": 3}  # the page's own defaults: every engine is timed in turn

CANCELLED, CANCELLED_JOB = "speed_cancelled", "speed_job"
CANCEL_WAIT = 30.0  # seconds Cancel waits for the engine in progress before saying what it kept


def cancelled() -> None:
    """Cancel's click: cancel the timing now (the script run that follows it says so)."""
    timing = st.session_state.get(CANCELLED_JOB)
    if timing is not None:
        timing["job"].cancel()
    st.session_state[CANCELLED] = True


with boundary.page("Speed"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Speed · Factorization Playground", layout="wide")
    safe.title(st, "Speed")
    dataset = datasets.current()
    datasets.store_warning()
    chosen = settings.current()
    safe.caption(st, "{} These settings come from the Train page: {}.", dataset.caption,
                 settings.described({name: chosen[name] for name in ("lr", "reg", "biased", "test_size", "seed")}))

    with st.form("speed_form"):
        engines = st.multiselect("Engines", list(ENGINES), default=list(ENGINES), key="speed_engines")
        row = st.columns(3)
        k = settings.widget(row[0], "n_factors", key="speed_k", value=OWN["n_factors"])
        epochs = row[1].slider("Epochs to time", 1, 20, value=OWN["n_epochs"], key="speed_epochs")
        budget = row[2].number_input("Time budget per engine (s)", 0.1, 60.0, value=3.0, step=0.5,
                                     key="speed_budget", help="An engine slower than this on the epochs asked "
                                     "is timed on a sample of the ratings, and its time per epoch extrapolated.")
        submitted = st.form_submit_button("Time engines", type="primary")
    differ = settings.differences({"n_factors": k, "n_epochs": epochs}, chosen)
    safe.caption(st, "This page has its own defaults (a small K and few epochs: every engine is timed in turn). {}",
                 f"Differs from Train: {differ}." if differ else "K and the epochs agree with Train's.")

    confirm_slot, cancelled_slot = st.empty(), st.empty()
    confirmed = None if submitted else long_work.gate(confirm_slot, "speed")  # Start clicked for long timings
    if st.session_state.pop(CANCELLED, None) is not None:
        timing = st.session_state.get(CANCELLED_JOB)
        if timing is not None:
            timing["job"].wait(CANCEL_WAIT)  # the engine in progress ends first
        safe.info(cancelled_slot, "{}", cancel_sentence(timing, st.session_state.get(KEY)))
    if submitted or confirmed is not None:
        ratings = dataset.ratings
        if confirmed is not None:
            engines, k, epochs, budget = (confirmed[0][name] for name in ("engines", "k", "epochs", "budget"))
        try:
            if not engines:
                raise ValueError("pick at least one engine to time.")
            run_driver.check_memory(ratings, k, chosen["test_size"])
        except ValueError as exc:
            safe.error(st, "Not started: {}", settings.form_words(exc))
            engines = []
        params = {**settings.model_params(chosen), "n_factors": k, "n_epochs": epochs}
        train, test = run_driver.split(ratings, chosen)
        if engines and submitted:
            with st.spinner("Estimating the time..."):
                seconds = long_work.timing_seconds(engines, len(train), epochs, k, budget)
            text = (long_work.sentence(seconds, "Timing the engines") + " Cancel ends it after the engine in progress; "
                    "fewer engines, a smaller K or a smaller time budget shorten it.")
            if long_work.gate(confirm_slot, "speed", {"engines": engines, "k": k, "epochs": epochs, "budget": budget},
                              seconds, text, "The timing") is None:
                engines = []
    if (submitted or confirmed is not None) and engines:

        def steps(job):
            """Each engine's timing in turn, then the python/numba agreement check."""
            for name in engines:
                yield bench.time_engine(name, train, test if len(test) else None, params, budget)
            if {"python", "numba"} <= set(ENGINES):
                yield bench.max_factor_difference(train, params, n_ratings=AGREEMENT_RATINGS,
                                                  n_epochs=AGREEMENT_EPOCHS)

        job = jobs.submit(steps, "timing", engines=engines, n_threads=params.get("n_threads"), n_ratings=len(train))
        st.session_state[CANCELLED_JOB] = {"job": job, "engines": list(engines)}
        cancel_column, progress_column = st.columns([1, 5])
        cancel = cancel_column.empty()
        cancel.button("Cancel", on_click=cancelled, help="Ends the timing after the engine in progress (or "
                      "leaves the queue); nothing of it is kept, and the results shown before stay.")
        progress = progress_column.progress(0.0, text="starting")

        def tick(job):
            done = len(job.results)
            current = engines[done] if done < len(engines) else "the python/numba agreement check"
            progress.progress(job.fraction(done, len(engines) + 1, None),
                              text=job.status_line(f"timing {current}"))

        jobs.follow(job, tick)
        if job.state == jobs.DONE:
            results = [result for result in job.results if isinstance(result, bench.BenchResult)]
            agreement = job.results[-1] if len(job.results) > len(engines) else None
            st.session_state[KEY] = {"results": results, "agreement": agreement, "k": k,
                                     "dataset": dataset.name, "n_train": len(train)}
        elif job.state == jobs.FAILED:
            safe.error(st, "Could not time the engines: "
                           "{}.", settings.form_words(jobs.failure(job)))
        else:
            safe.error(st, "Timing {}; nothing was kept.",
                           jobs.end_sentence(job, len(job.results), 'engine'))
        progress.empty()
        cancel.empty()

    saved = st.session_state.get(KEY)
    if saved is None:
        safe.info(st, "Press **Time engines**: each engine trains on the same split with the same random seed.")
    else:
        safe.subheader(st, "{}: {:,} training ratings, "
                           "K={}", saved['dataset'], saved['n_train'], saved['k'], anchor=False)
        safe.caption(st, "Seconds per epoch are each model's training time (`fit_seconds_`: its once-per-fit "
                         "preparation, such as numba-parallel's shuffle and grouping into blocks, plus every epoch) "
                         "divided by the epochs timed; JIT compile and test evaluation are not counted.")
        table = pd.DataFrame([result.as_dict() for result in saved["results"]])
        python = table.loc[table["engine"] == "python", "seconds_per_epoch"]
        table["speed-up"] = python.iloc[0] / table["seconds_per_epoch"] if len(python) else float("nan")
        table["µs/rating"] = 1e6 / table["updates_per_second"]
        fastest = table.loc[table["seconds_per_epoch"].idxmin()]
        if len(python) and fastest["engine"] != "python":
            slow = table.loc[table["engine"] == "python"].iloc[0]
            safe.markdown(st, "**In short:** {} trains {:,.0f} times faster than "
                              "the plain Python loop on these ratings: {:.3f} µs per rating "
                              "against {:.1f} µs.",
                              fastest['engine'], fastest['speed-up'], fastest['µs/rating'], slow['µs/rating'])
        else:
            safe.markdown(st, "**In short:** the fastest engine here is {}, at "
                              "{:.3f} µs per rating.", fastest['engine'], fastest['µs/rating'])
        shown = table.rename(columns={"seconds_per_epoch": "seconds/epoch", "updates_per_second": "updates/s",
                                      "epochs_timed": "epochs timed", "compile_seconds": "compile (s)"})
        shown["timed on"] = [f"a sample of {size:,} ratings, extrapolated" if flag
                             else f"{n} full epoch{'s' * (n > 1)}"
                             for flag, n, size in zip(shown["extrapolated"], shown["epochs timed"],
                                                      shown["ratings_timed"])]
        shown["test RMSE"] = [charts.rmse_after(rmse, n) for rmse, n in zip(shown["test_rmse"], shown["epochs timed"])]
        shown["speed-up"] = [charts.ratio_text(value) for value in shown["speed-up"]]
        st.dataframe(shown[["engine", "seconds/epoch", "µs/rating", "updates/s", "speed-up", "timed on",
                            "test RMSE"]], hide_index=True,
                     column_config={"seconds/epoch": st.column_config.NumberColumn(format="%.4f"),
                                    "updates/s": st.column_config.NumberColumn(format="compact"),
                                    "µs/rating": st.column_config.NumberColumn(format="%.3f")})
        if len(python):
            safe.plotly_chart(st, charts.speed_bars(table), key="speed_chart")
        else:
            safe.info(st, "Include the python engine to see the speed-up over it.")

        verdict = cython_verdict(dict(zip(table["engine"], table["seconds_per_epoch"])),
                                 dict(zip(table["engine"], table["compile_seconds"])))
        if verdict:
            safe.markdown(st, "{}", verdict)

        compiled = shown[shown["compile (s)"] > 0]
        if len(compiled):
            safe.markdown(st, "**Compile time** (Numba's just-in-time compilation; Cython's build of its C "
                              "extension, or its load when built before), paid once per process and excluded from "
                              "the timings above (near zero when the machine code comes from an on-disk cache):")
            cells = st.columns(max(len(compiled), 3))
            for cell, (_, row) in zip(cells, compiled.iterrows()):
                safe.metric(cell, row["engine"], f"{row['compile (s)']:.2f} s",
                            help="Cython: build or load" if row["engine"] == "cython" else "Numba: JIT compile")

        safe.markdown(st, "**Correctness check**: python and numba trained with the same random seed on the "
                          "same {:,} training ratings for "
                          "{} epochs should give the same factors.",
                          min(AGREEMENT_RATINGS, saved['n_train']), AGREEMENT_EPOCHS)
        agreement = saved["agreement"]
        if agreement is None:
            safe.info(st, "Needs both the python and the numba engine.")
        elif agreement <= AGREEMENT_TOLERANCE:
            safe.success(st, "Same factors: max |python - numba| = {:.2e} over P, Q, b_u, b_i "
                             "(float32 rounding; tolerance {:g}).", agreement, AGREEMENT_TOLERANCE)
        else:
            safe.error(st, "The engines disagree: max |python - numba| = {:.2e} "
                           "(tolerance {:g}).", agreement, AGREEMENT_TOLERANCE)

    for name, reason in UNAVAILABLE.items():
        safe.info(st, "The {} engine is unavailable here: {}", name, reason)

    safe.subheader(st, "Why each engine is as fast as it is")
    for name in ENGINES:
        safe.markdown(st, "**{}**: {}", name, texts.ENGINES[name])
