"""Factorization Playground home: choose the ratings every page works on, and look at them."""

import streamlit as st

from dashboard.render import boundary
from dashboard.render import charts
from dashboard.render import safe
from dashboard.server import datasets
from mfcore.data import DUPLICATE_POLICIES, DataError, sniff_columns

with boundary.page("Home"):  # one st.error sentence for any failure (dashboard/boundary.py)
    st.set_page_config(page_title="Factorization Playground", layout="wide")
    safe.title(st, "Factorization Playground")
    safe.markdown(
        st, "Learn and tune **SGD matrix factorization** of rating matrices (Funk SVD, Koren's biased MF) on "
        "the fast `mfcore` library. Pick the ratings here, then **Train** to watch the RMSE curves live "
        "and compare runs, **Speed** to measure how much faster the compiled engines are on these ratings, "
        "**Tune** to search hyperparameters and **Explore** to see what a trained model recommends and why."
    )

    SOURCES = ("Bundled sample", "Upload a file", "MovieLens from GroupLens")
    linked = datasets.current()
    datasets.store_warning()
    if datasets.missing():
        safe.warning(st, "The link names dataset {}, which this server no longer keeps (it stores recently loaded "
                         "datasets only): upload the file again. Meanwhile the pages use the bundled sample.",
                     datasets.missing())
    kept = st.session_state.get("home_source_kept", SOURCES[1] if linked.key or datasets.missing() else SOURCES[0])
    choice = safe.radio(st, "Dataset", SOURCES, index=SOURCES.index(kept), key="home_source", horizontal=True)
    st.session_state["home_source_kept"] = choice

    if choice == SOURCES[0]:
        datasets.use(datasets.sample())
    elif choice == SOURCES[2]:
        safe.caption(st, "Downloaded once from GroupLens (files.grouplens.org), checked against its pinned SHA-256 "
                         "and kept in the server's cache folder; titles and genres come with it. MovieLens is for "
                         "research and teaching: see GroupLens's terms of use.")
        for name, label in datasets.movielens_offer().items():
            if st.button(label, key=f"home_movielens_{name}"):
                progress = st.progress(0.0, text=safe.md("Downloading MovieLens {}...", name))
                try:
                    datasets.use(datasets.download_movielens(
                        name, lambda fraction, text, bar=progress: bar.progress(fraction, text=safe.md("{}", text))))
                except DataError as exc:
                    safe.error(st, "Could not get MovieLens {}: {} Still using {}.", name, exc,
                               datasets.current().name)
                progress.empty()
    else:
        limit = st.get_option("server.maxUploadSize")
        upload = st.file_uploader(
            safe.md("Ratings file, up to {} MB: CSV/TSV with or without a header, MovieLens u.data, "
                    "ratings.dat or ratings.csv, a .gz of one, or a .zip (a MovieLens zip brings its titles)", limit),
            key="home_upload")
        items_upload = st.file_uploader(
            "Items file with titles (optional): movies.csv, u.item, movies.dat or a CSV with id and title columns",
            key="home_items")
        safe.caption(st, "Size limit: {} MB per file. Columns are user, item, rating and an optional "
                         "timestamp; ids may be numbers or text. Loaded datasets are kept for a while in the "
                         "server's temporary store so that a reload or a copied link finds them again.",
                         limit)
        duplicates = st.selectbox("When a user rated the same item twice", DUPLICATE_POLICIES,
                                  format_func={"last": "keep the last rating", "mean": "average them",
                                               "error": "refuse the file"}.get, key="home_duplicates")
        if upload is not None:
            raw = upload.getvalue()
            guess = sniff_columns(raw)
            columns = None
            if guess.header and guess.ambiguous:
                safe.warning(st, "The header does not clearly name the user, item and rating columns: pick them.")
                positions = list(range(len(guess.fields)))
                label = dict(enumerate(guess.fields)).get
                picks = st.columns(4)
                columns = {role: picks[n].selectbox(safe.md("{} column", role.capitalize()), positions,
                                                    index=guess.roles.get(role, n), format_func=label,
                                                    key=f"home_map_{role}")
                           for n, role in enumerate(("user", "item", "rating"))}
                stamp = guess.roles.get("timestamp")
                columns["timestamp"] = picks[3].selectbox(
                    "Timestamp column", [None] + positions, format_func=lambda p: "(none)" if p is None
                    else label(p), index=0 if stamp is None else stamp + 1, key="home_map_timestamp")
            names = upload.name + (f" + {items_upload.name}" if items_upload is not None else "")
            try:
                with st.status(safe.md("Loading {}...", names), expanded=False) as status:
                    dataset = datasets.load(names, upload.name, raw, columns, duplicates,
                                        items_upload.getvalue() if items_upload is not None else None,
                                        report=lambda text: safe.markdown(status, "{}", text))
                    status.update(label=safe.md("Loaded {}: {:,} ratings", names, len(dataset.ratings)),
                                  state="complete")
                datasets.use(dataset)
            except DataError as exc:
                status.update(label=safe.md("Could not load {}", names), state="error")
                safe.error(st, "Could not load {}: {} Still using "
                               "{}.", names, exc, datasets.current().name)

    dataset = datasets.current()
    ratings = dataset.ratings
    safe.subheader(st, "Dataset in use: {}", dataset.name, anchor=False)
    cells = st.columns(6)
    safe.metric(cells[0], "Ratings", f"{len(ratings):,}")
    safe.metric(cells[1], "Users", f"{ratings.n_users:,}")
    safe.metric(cells[2], "Items", f"{ratings.n_items:,}")
    safe.metric(cells[3], "Density", f"{ratings.density:.2%}")
    safe.metric(cells[4], "Rating scale", f"{ratings.scale[0]:g} to {ratings.scale[1]:g}")
    safe.metric(cells[5], "Timestamps", "yes" if ratings.timestamps is not None else "no")

    left, right = st.columns(2)
    safe.plotly_chart(left, charts.rating_histogram(ratings), key="home_histogram")
    safe.plotly_chart(right, charts.long_tail(ratings), key="home_long_tail")
    for sentence in ratings.summary.sentences(len(ratings), ratings.n_items):
        (safe.warning if sentence in ratings.summary.warnings else safe.caption)(st, "{}", sentence)
    with st.expander("First rows"):
        st.dataframe(ratings.take(slice(0, 20)).to_frame(titles=True), hide_index=True)

    st.page_link("pages/1_Train.py", label="Train a model on these ratings", icon=":material/play_arrow:")
    st.page_link("pages/2_Speed.py", label="Time the engines", icon=":material/speed:")
