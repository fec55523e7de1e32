"""Error schedules: how often should SGD recompute the error? All four schedules, same data and seed."""

import time

import pandas as pd
import streamlit as st

from dashboard import data, jobs, settings, teaching
from mfcore import SGDFactorizer, TrainingDiverged, random_split
from mfcore.engines import SCHEDULES
from mfcore.resources import MemoryGuardError, check_training_memory
from mfcore.teach import NETFLIX_ITEMS, NETFLIX_USERS, dense_matrix_bytes

KEY = "schedule_results"
RENDER_EVERY = 0.25  # seconds between chart updates while training
NETFLIX_RATINGS = 100_480_507

st.set_page_config(page_title="Error schedules · Factorization Playground", layout="wide")
st.title("Error schedules")
dataset = data.current()
ratings = dataset.ratings
chosen = settings.current()
test_size = chosen["test"] if chosen["test"] > 0 else 0.1  # the curves need a test set
st.caption(f"Dataset: {dataset.name}, {len(ratings):,} ratings ({ratings.n_users:,} users x "
           f"{ratings.n_items:,} items). Change it on Home. Every schedule trains with the numba engine "
           f"on the same random split ({test_size:.0%} test, biases {'on' if chosen['bias'] else 'off'}, as on "
           "the Train page), from the same initial factors, visiting the ratings in the same orders.")

st.markdown(
    "The question the seed's code raised: **how often should the error e = r − r̂ be recomputed?** "
    "Four answers, each one epoch = one pass over the training ratings:\n"
    "- **per-rating** (the standard: Koren, Surprise, LibMF): compute the error of one rating, move its "
    "user's and item's biases and all K factors with it, go to the next rating.\n"
    "- **per-factor**: like per-rating, but after each single factor moves, the error is corrected for "
    "that move (cheaply, without a new dot product), so the next factor sees a fresher error.\n"
    "- **per-epoch** (the seed's first code): compute every rating's error once at the start of the "
    "epoch, then make all the moves with those stale errors. A user with 500 ratings gets 500 pushes "
    "in the same direction before anyone checks whether the first ones already fixed the error.\n"
    "- **funk** (Simon Funk, Netflix Prize 2006): train one feature at a time. Each epoch trains only "
    "the current feature (features take turns, *epochs per feature* each); the rest of every "
    "prediction is cached per rating, so an epoch costs O(1) per rating instead of O(K).")

with st.form("schedules_form"):
    row = st.columns(6)
    k = row[0].slider("Factors K", 1, 200, min(chosen["k"], 200), key="sch_k")
    epochs = row[1].slider("Epochs", 1, 100, min(chosen["epochs"], 100), key="sch_epochs")
    lr = row[2].number_input("Learning rate", 0.0001, 1.0, float(chosen["lr"]), step=0.001, format="%.4f",
                             key="sch_lr")
    reg = row[3].number_input("Regularization", 0.0, 1.0, float(chosen["reg"]), step=0.01, format="%.3f",
                              key="sch_reg")
    per_feature = row[4].number_input("funk: epochs per feature", 1, 100, 1, key="sch_per_feature")
    seed = row[5].number_input("Seed", 0, 2**31 - 1, int(chosen["seed"]), step=1, key="sch_seed")
    submitted = st.form_submit_button("Run all four schedules", type="primary")

status_slot, live = st.empty(), st.empty()
if submitted:
    try:
        check_training_memory(ratings.n_users, ratings.n_items, len(ratings), k, test_size, "funk",
                              timestamps=ratings.timestamps is not None)
    except MemoryGuardError as exc:
        st.error(f"Not started: {exc}")
        submitted = False
if submitted:
    params = {"n_factors": k, "n_epochs": epochs, "lr": lr, "reg": reg, "biased": chosen["bias"],
              "engine": "numba", "epochs_per_feature": int(per_feature), "seed": int(seed)}
    results = {}
    saved_now = {"results": results, "k": k, "epochs": epochs, "lr": lr, "dataset": dataset.name,
                 "n_train": 0}
    st.session_state[KEY] = saved_now

    def steps(job):
        """Each schedule in turn; yields (schedule, EpochResult) after every epoch."""
        train, test = random_split(ratings, test_size, seed=int(seed))
        saved_now["n_train"] = len(train)
        for name in SCHEDULES:
            results[name] = {"history": [], "status": "running"}
            try:
                for result in SGDFactorizer(**{**params, "schedule": name}).fit_iter(train, test):
                    results[name]["history"].append(result)
                    yield name, result
                results[name]["status"] = "finished"
            except TrainingDiverged as exc:
                results[name]["status"] = f"diverged at epoch {len(results[name]['history']) + 1}"
                results[name]["message"] = str(exc)

    job = jobs.submit(steps, "schedules", engines=("numba",))
    shown = {"steps": -1, "at": 0.0, "renders": 0}

    def render(job):
        name, result = job.results[-1] if job.results else (next(iter(SCHEDULES)), None)
        status_slot.caption(jobs.status_text(job) + "; pressing the button again cancels it."
                            if job.state == jobs.QUEUED else
                            jobs.status_text(job, f"{name}: epoch {result.epoch if result else 0}/{epochs}"))
        if len(job.results) == shown["steps"] or time.monotonic() - shown["at"] < RENDER_EVERY:
            return
        shown.update(steps=len(job.results), at=time.monotonic(), renders=shown["renders"] + 1)
        with live.container():
            columns = st.columns(2)
            columns[0].plotly_chart(teaching.schedule_curves(results, "epoch"), key=f"sch_le{shown['renders']}")
            columns[1].plotly_chart(teaching.schedule_curves(results, "seconds"),
                                    key=f"sch_ls{shown['renders']}")

    jobs.follow(job, render)
    status_slot.empty()
    live.empty()
    for name, outcome in results.items():
        if "message" in outcome:
            st.warning(f"{name}: {outcome['message']}")
    if job.state == jobs.FAILED:
        results.clear()
        st.error(f"Cannot train: {job.error}" if isinstance(job.error, ValueError)
                 else "Cannot train: an internal error ended the job.")
    elif job.state != jobs.DONE:
        limit = f" at the work limit of {job.max_seconds:g} s per job" if job.state == jobs.TIMED_OUT else ""
        st.info(f"The race was stopped{limit} after {len(job.results)} of {len(SCHEDULES) * epochs} "
                "epochs; the curves so far are kept.")

saved = st.session_state.get(KEY)
if not saved or not saved["results"]:
    st.info("Press **Run all four schedules**. On MovieLens 100k it takes a few seconds.")
else:
    results = saved["results"]
    st.subheader(f"{saved['dataset']}: {saved['n_train']:,} training ratings, K={saved['k']}, "
                 f"lr {saved['lr']}")
    columns = st.columns(2)
    columns[0].markdown("**Test RMSE per epoch**")
    columns[0].plotly_chart(teaching.schedule_curves(results, "epoch"), key="sch_epoch")
    columns[1].markdown("**Test RMSE against training time** (evaluation excluded)")
    columns[1].plotly_chart(teaching.schedule_curves(results, "seconds"), key="sch_seconds")
    st.dataframe(teaching.schedule_table(results), hide_index=True,
                 column_config={"last test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                "best test RMSE": st.column_config.NumberColumn(format="%.4f"),
                                "s/epoch": st.column_config.NumberColumn(format="%.4f"),
                                "training s": st.column_config.NumberColumn(format="%.3f")})
    for finding in teaching.schedule_findings(results):
        st.markdown(finding)
    st.markdown(
        "**Reading the curves.** Fresh errors (per-rating, per-factor) make every move correct the "
        "mistake as it stands now, so each epoch counts fully. Per-factor's fresher error changes "
        "little at small learning rates, because one factor's move barely changes the error; at high "
        "ones it overshoots less than per-rating. It costs more time: each "
        "factor's step waits for the previous one's correction, so the K-loop cannot use SIMD. "
        "Stale errors (per-epoch) make all of a user's or an item's moves from one old error: with "
        "many ratings per row that is a step many times larger than the learning rate says, so it "
        "needs a much smaller learning rate to stay stable, and then learns slowly. Funk's schedule "
        "spends whole epochs on one feature, so per epoch it improves slowly (only one feature moves), "
        "but its epochs are K times cheaper, which is what the time axis shows; run more epochs or "
        "more epochs per feature to see where it ends up.")

st.subheader("What the seed's dense error matrix would cost")
st.markdown("The seed kept the per-epoch errors in a dense users x items matrix, one cell per pair "
            "whether rated or not. mfcore's per-epoch kernel keeps one float32 per rating instead.")
rows = []
for label, users, items, n_ratings in (
        (f"{dataset.name}", ratings.n_users, ratings.n_items, len(ratings)),
        ("Netflix Prize size", NETFLIX_USERS, NETFLIX_ITEMS, NETFLIX_RATINGS)):
    rows.append({"data": label, "users x items": f"{users:,} x {items:,}",
                 "dense float64": teaching.human_bytes(dense_matrix_bytes(users, items, 8)),
                 "dense float32": teaching.human_bytes(dense_matrix_bytes(users, items, 4)),
                 "one float32 per rating": teaching.human_bytes(4 * n_ratings)})
st.table(pd.DataFrame(rows).set_index("data"))
