"""Factorization Playground home: choose the ratings every page works on, and look at them."""

import streamlit as st

from dashboard import charts, data
from mfcore.data import DUPLICATE_POLICIES, DataError, sniff_columns

st.set_page_config(page_title="Factorization Playground", layout="wide")
st.title("Factorization Playground")
st.markdown(
    "Learn and tune **SGD matrix factorization** of rating matrices (Funk SVD, Koren's biased MF) on "
    "the fast `mfcore` library. Pick the ratings here, then **Train** to watch the RMSE curves live "
    "and compare runs, and **Speed** to see why the compiled engines are hundreds of times faster."
)

SOURCES = ("Bundled sample", "Upload a file")
kept = st.session_state.get("home_source_kept", SOURCES[0])
choice = st.radio("Dataset", SOURCES, index=SOURCES.index(kept), key="home_source", horizontal=True)
st.session_state["home_source_kept"] = choice

if choice == SOURCES[0]:
    data.use(data.sample())
else:
    limit = st.get_option("server.maxUploadSize")
    upload = st.file_uploader(
        f"Ratings file, up to {limit} MB: CSV/TSV with or without a header, MovieLens u.data, "
        "ratings.dat or ratings.csv", key="home_upload")
    st.caption(f"Size limit: {limit} MB per file. Columns are user, item, rating and an optional "
               "timestamp; ids may be numbers or text. Files are read in memory, never stored.")
    duplicates = st.selectbox("When a user rated the same item twice", DUPLICATE_POLICIES,
                              format_func={"last": "keep the last rating", "mean": "average them",
                                           "error": "refuse the file"}.get, key="home_duplicates")
    if upload is not None:
        raw = upload.getvalue()
        guess = sniff_columns(raw)
        columns = None
        if guess.header and guess.ambiguous:
            st.warning("The header does not clearly name the user, item and rating columns: pick them.")
            positions = list(range(len(guess.fields)))
            label = dict(enumerate(guess.fields)).get
            picks = st.columns(4)
            columns = {role: picks[n].selectbox(f"{role.capitalize()} column", positions,
                                                index=guess.roles.get(role, n), format_func=label,
                                                key=f"home_map_{role}")
                       for n, role in enumerate(("user", "item", "rating"))}
            stamp = guess.roles.get("timestamp")
            columns["timestamp"] = picks[3].selectbox(
                "Timestamp column", [None] + positions, format_func=lambda p: "(none)" if p is None
                else label(p), index=0 if stamp is None else stamp + 1, key="home_map_timestamp")
        try:
            data.use(data.load(upload.name, upload.name, raw, columns, duplicates))
        except DataError as exc:
            st.error(f"Could not load {upload.name}: {exc} Still using {data.current().name}.")

dataset = data.current()
ratings = dataset.ratings
st.subheader(f"Dataset in use: {dataset.name}")
cells = st.columns(6)
cells[0].metric("Ratings", f"{len(ratings):,}")
cells[1].metric("Users", f"{ratings.n_users:,}")
cells[2].metric("Items", f"{ratings.n_items:,}")
cells[3].metric("Density", f"{ratings.density:.2%}")
cells[4].metric("Rating scale", f"{ratings.scale[0]:g} to {ratings.scale[1]:g}")
cells[5].metric("Timestamps", "yes" if ratings.timestamps is not None else "no")

left, right = st.columns(2)
left.plotly_chart(charts.rating_histogram(ratings), key="home_histogram")
right.plotly_chart(charts.long_tail(ratings), key="home_long_tail")
with st.expander("First rows"):
    st.dataframe(ratings.take(slice(0, 20)).to_frame(), hide_index=True)

st.page_link("pages/1_Train.py", label="Train a model on these ratings", icon=":material/play_arrow:")
st.page_link("pages/2_Speed.py", label="Time the engines", icon=":material/speed:")
